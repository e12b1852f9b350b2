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
