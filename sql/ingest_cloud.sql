-- Cloud providers (gcp, azure): config validation.  The worker against their
-- fixture servers is tested by test/t/012_ingest_gcp.pl and 013_ingest_azure.pl.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;
\set VERBOSITY terse

-- gcp: a valid source, with every base URL overridden
SELECT aiml.add_metric_source('vertex', 'gcp', '{
  "project": "my-project",
  "metrics": {"cpu_utilization": "metric.type = \"aiplatform.googleapis.com/prediction/online/cpu/utilization\"",
              "invocations": "metric.type = \"aiplatform.googleapis.com/prediction/online/prediction_count\""},
  "dimensions": ["endpoint_id"], "scale": {"cpu_utilization": 100}, "units": {"cpu_utilization": "percent"},
  "endpoint": "http://127.0.0.1:9/", "token_endpoint": "http://127.0.0.1:9/token",
  "metadata_endpoint": "http://127.0.0.1:9", "alignment_period": 60, "aligner": "ALIGN_MAX",
  "page_size": 100, "interval": 60}');
SELECT aiml.add_metric_source('vertex-md', 'gcp', '{"project": "p", "auth": "metadata",
  "metrics": {"gpu_utilization": "metric.type = \"x\""}}');
SELECT source, provider, status FROM aiml.metric_source_status ORDER BY source;

-- gcp: bad configs
\set VERBOSITY default
SELECT aiml.validate_metric_source('gcp', '{"metrics": {"cpu_utilization": "metric.type = \"x\""}}');
SELECT aiml.validate_metric_source('gcp', '{"project": "", "metrics": {"a": "b"}}');
SELECT aiml.validate_metric_source('gcp', '{"project": "a/b", "metrics": {"a": "b"}}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p"}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p", "metrics": {}}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p", "metrics": ["metric.type = \"x\""]}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p", "metrics": {"a": "b"}, "region": "x"}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p", "metrics": {"a": "b"}, "auth": "key"}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p", "metrics": {"a": "b"}, "endpoint": "ftp://x"}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p", "metrics": {"a": "b"}, "token_endpoint": "https://u:p@x/token"}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p", "metrics": {"a": "b"}, "alignment_period": 0}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p", "metrics": {"a": "b"}, "aligner": "MEAN"}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p", "metrics": {"a": "b"}, "dimensions": "endpoint_id"}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p", "metrics": {"a": "b"}, "scale": {"a": "100"}}');
SELECT aiml.validate_metric_source('gcp', '{"project": "p", "metrics": {"a": "b"}, "page_size": 0}');
\set VERBOSITY terse

-- polling without a key: an error naming what is missing, no samples
SELECT aiml.ingest_now('vertex');
SELECT count(*) FROM aiml.metric_samples;
SELECT aiml.set_metric_source_secret('vertex', '{"type": "service_account", "client_email": "x@p.iam.gserviceaccount.com"}');
SELECT aiml.ingest_now('vertex');
SELECT aiml.set_metric_source_secret('vertex', '{"client_email": "x@p", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}');
SELECT aiml.ingest_now('vertex');
SELECT aiml.drop_metric_source(name) FROM aiml.metric_sources WHERE provider = 'gcp';

-- azure: valid sources (client credentials; a managed identity over several resources)
\set VERBOSITY terse
SELECT aiml.add_metric_source('aml', 'azure', '{
  "resource_uri": "/subscriptions/SUB/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/fraud",
  "metrics": {"cpu_utilization": "CpuUtilizationPercentage", "memory_utilization": "CpuMemoryUtilizationPercentage",
              "gpu_utilization": "GpuUtilizationPercentage", "gpu_memory_utilization": "GpuMemoryUtilization",
              "invocations": "RequestsPerMinute", "latency_ms": "RequestLatency"},
  "aggregation": {"invocations": "Total"}, "granularity": "PT5M", "dimensions": ["resource_name", "deployment"],
  "tenant_id": "contoso.onmicrosoft.com", "client_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
  "endpoint": "http://127.0.0.1:9", "token_endpoint": "http://127.0.0.1:9/", "interval": 300}');
SELECT aiml.add_metric_source('aml-mi', 'azure', '{"auth": "managed_identity", "metadata_endpoint": "http://127.0.0.1:9",
  "resources": ["/subscriptions/S/resourceGroups/rg/providers/P/x/a", "/subscriptions/S/resourceGroups/rg/providers/P/x/b"],
  "metrics": {"cpu_utilization": "CpuUtilizationPercentage"}, "aggregation": "maximum"}');
SELECT source, provider, status FROM aiml.metric_source_status WHERE provider = 'azure' ORDER BY source;

-- azure: bad configs
\set VERBOSITY default
SELECT aiml.validate_metric_source('azure', '{"metrics": {"a": "B"}, "tenant_id": "t", "client_id": "c"}');
SELECT aiml.validate_metric_source('azure', '{"resource_uri": "/s/x", "resources": ["/s/y"], "metrics": {"a": "B"}, "tenant_id": "t", "client_id": "c"}');
SELECT aiml.validate_metric_source('azure', '{"resource_uri": "subscriptions/x", "metrics": {"a": "B"}, "tenant_id": "t", "client_id": "c"}');
SELECT aiml.validate_metric_source('azure', '{"resources": [], "metrics": {"a": "B"}, "tenant_id": "t", "client_id": "c"}');
SELECT aiml.validate_metric_source('azure', '{"resource_uri": "/s/x", "tenant_id": "t", "client_id": "c"}');
SELECT aiml.validate_metric_source('azure', '{"resource_uri": "/s/x", "metrics": {"a": "B,C"}, "tenant_id": "t", "client_id": "c"}');
SELECT aiml.validate_metric_source('azure', '{"resource_uri": "/s/x", "metrics": {"a": "B"}}');
SELECT aiml.validate_metric_source('azure', '{"resource_uri": "/s/x", "metrics": {"a": "B"}, "tenant_id": "a/b", "client_id": "c"}');
SELECT aiml.validate_metric_source('azure', '{"resource_uri": "/s/x", "metrics": {"a": "B"}, "auth": "password"}');
SELECT aiml.validate_metric_source('azure', '{"resource_uri": "/s/x", "metrics": {"a": "B"}, "auth": "managed_identity", "aggregation": "Median"}');
SELECT aiml.validate_metric_source('azure', '{"resource_uri": "/s/x", "metrics": {"a": "B"}, "auth": "managed_identity", "granularity": "PT2M"}');
SELECT aiml.validate_metric_source('azure', '{"resource_uri": "/s/x", "metrics": {"a": "B"}, "auth": "managed_identity", "subscription": "x"}');
SELECT aiml.validate_metric_source('azure', '{"resource_uri": "/s/x", "metrics": {"a": "B"}, "auth": "managed_identity", "metadata_endpoint": "169.254.169.254"}');
\set VERBOSITY terse

-- polling without a client secret: an error naming what is missing
SELECT aiml.ingest_now('aml');
SELECT aiml.drop_metric_source(name) FROM aiml.metric_sources WHERE provider = 'azure';

-- the host allow-list applies to token requests too
SELECT aiml.add_metric_source('g', 'gcp', '{"project": "p", "auth": "metadata", "metadata_endpoint": "http://127.0.0.1:9",
  "metrics": {"cpu_utilization": "metric.type = \"x\""}}');
SELECT aiml.add_metric_source('a', 'azure', '{"auth": "managed_identity", "metadata_endpoint": "http://127.0.0.1:9",
  "resource_uri": "/subscriptions/S/resourceGroups/rg/providers/P/x/a", "metrics": {"cpu_utilization": "CpuUtilizationPercentage"}}');
SET aiml.ingest_allowed_hosts = 'monitoring.googleapis.com, management.azure.com';
SELECT aiml.ingest_now('g');
SELECT aiml.ingest_now('a');
RESET aiml.ingest_allowed_hosts;
SELECT aiml.drop_metric_source(name) FROM aiml.metric_sources;
