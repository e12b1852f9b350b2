-- cloudwatch sources: config validation.  Fetching, signing, the credential
-- chain and faults are tested by test/t/014_ingest_cloudwatch.pl.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;
\set VERBOSITY terse

SELECT aiml.add_metric_source('sm', 'cloudwatch', '{"region": "eu-west-1",
    "dimensions": [{"EndpointName": "fraud-scorer", "VariantName": "AllTraffic"}]}', enabled => false);
SELECT aiml.add_metric_source('sm2', 'cloudwatch', '{"region": "eu-west-1", "period": 300, "auth": "imds",
    "metrics": {"invocations": {"namespace": "AWS/SageMaker", "metric": "Invocations", "stat": "Sum"},
                "latency_ms": {"metric": "ModelLatency", "scale": 0.001}, "cpu_utilization": "CPUUtilization"},
    "dimensions": [{"EndpointName": "a"}, {"EndpointName": "b"}]}', enabled => false);
SELECT name, provider, config->>'region' FROM aiml.metric_sources ORDER BY name;

SELECT aiml.add_metric_source('x', 'cloudwatch', '{"dimensions": [{"EndpointName": "a"}]}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1"}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": []}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": ["EndpointName"]}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": [{"EndpointName": 7}]}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": [{"E": "a"}], "auth": "sso"}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": [{"E": "a"}], "metrics": {}}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": [{"E": "a"}], "metrics": {"cpu": {"stat": "Sum"}}}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": [{"E": "a"}], "metrics": {"cpu": {"metric": "C", "unit": "x"}}}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": [{"E": "a"}], "metrics": {"cpu": {"metric": "C", "scale": "1000"}}}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": [{"E": "a"}], "endpoint": "http://key:secret@127.0.0.1"}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": [{"E": "a"}], "period": 0}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": [{"E": "a"}], "namespace": 1}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{"region": "us-east-1", "dimensions": [{"E": "a"}], "query": "up"}');

-- credentials that are asked for but missing are a clear error at poll time
SELECT aiml.alter_metric_source('sm', config || '{"auth": "secret", "endpoint": "http://127.0.0.1:9"}')
FROM aiml.metric_sources WHERE name = 'sm';
SELECT aiml.ingest_now('sm');
SELECT aiml.alter_metric_source('sm', config || '{"auth": "profile", "credentials_file": "/nonexistent/credentials"}')
FROM aiml.metric_sources WHERE name = 'sm';
SELECT aiml.ingest_now('sm');

SELECT aiml.drop_metric_source('sm'), aiml.drop_metric_source('sm2');
