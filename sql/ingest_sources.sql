-- Metric sources: validation, management, permissions, views.  The worker
-- itself is tested by test/t/010_ingest_prometheus.pl and 011_ingest_faults.pl.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

SELECT aiml.add_metric_source('prom', 'prometheus',
    '{"endpoint": "http://127.0.0.1:9/", "metrics": {"cpu_utilization": "avg by (model) (rate(cpu[1m]))"},
      "step": 30, "interval": 60, "dimensions": ["model"]}');
SELECT aiml.add_metric_source('scrape', 'prometheus',
    '{"endpoint": "http://127.0.0.1:9/metrics", "scrape": true, "metrics": ["nv_gpu_utilization"]}', enabled => false);
SELECT source, provider, enabled, status, consecutive_failures, samples_total, series
FROM aiml.metric_source_status ORDER BY source;

-- bad configs are refused with the key named
SELECT aiml.add_metric_source('x', 'prometheus', '[]');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "ftp://host/", "query": "up"}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://user:pw@host:9090", "query": "up"}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://", "query": "up"}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://host:9090"}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://host:9090", "query": "up", "scrape": true}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://host:9090", "query": "up", "intervall": 5}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://host:9090", "query": "up", "interval": 0}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://host:9090", "query": "up", "step": "1m"}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://host:9090", "query": 1}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://host:9090", "metrics": ["up"]}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://host:9090", "query": "up", "dimensions": "model"}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://host:9090", "query": "up", "auth": "digest"}');
SELECT aiml.add_metric_source('x', 'prometheus', '{"endpoint": "http://host:9090", "query": "up", "auth": "basic"}');
SELECT aiml.add_metric_source('x', 'datadog', '{}');
SELECT aiml.add_metric_source('x', 'cloudwatch', '{}');
SELECT aiml.add_metric_source('prom', 'prometheus', '{"endpoint": "http://host:9090", "query": "up"}');
UPDATE aiml.metric_sources SET config = '{"endpoint": "http://host:9090"}' WHERE name = 'prom';

-- management
SELECT aiml.disable_metric_source('prom');
SELECT aiml.enable_metric_source('scrape');
SELECT name, enabled FROM aiml.metric_sources ORDER BY name;
SELECT aiml.enable_metric_source('nope');
SELECT aiml.alter_metric_source('prom', '{"endpoint": "http://127.0.0.1:9", "query": "up", "step": 15}');
SELECT config->>'step' FROM aiml.metric_sources WHERE name = 'prom';

-- polling now: connection refused is an error naming the URL, no samples
-- (the connect time in libcurl's message varies, so it is masked)
CREATE FUNCTION ingest_error(source text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM aiml.ingest_now(source);
    RETURN 'no error';
EXCEPTION WHEN connection_failure THEN
    RETURN regexp_replace(SQLERRM, 'after \d+ ms', 'after N ms');
END $$;
SELECT ingest_error('prom');
SELECT aiml.ingest_now('nope');
SELECT count(*) FROM aiml.metric_samples;

-- the host allow-list
SET aiml.ingest_allowed_hosts = 'prometheus.internal, 10.0.0.7';
SELECT ingest_error('prom');
RESET aiml.ingest_allowed_hosts;

-- secrets: stored apart, readable only by the extension owner
SELECT aiml.set_metric_source_secret('prom', 'not-in-any-view');
SELECT source FROM aiml.metric_source_secrets;
SELECT count(*) FROM aiml.metric_source_status WHERE last_error LIKE '%not-in-any-view%';
CREATE ROLE aiml_reader;
GRANT USAGE ON SCHEMA aiml TO aiml_reader;
SET ROLE aiml_reader;
SELECT * FROM aiml.metric_source_secrets;
SELECT aiml.add_metric_source('mine', 'prometheus', '{"endpoint": "http://h:1", "query": "up"}');
SELECT aiml.ingest_now('prom');
RESET ROLE;
REVOKE USAGE ON SCHEMA aiml FROM aiml_reader;
DROP ROLE aiml_reader;
SELECT aiml.set_metric_source_secret('prom', NULL);
SELECT count(*) FROM aiml.metric_source_secrets;

-- samples and the usage view, filled by hand as the worker would
INSERT INTO aiml.metric_series (source, metric, resource, labels, unit)
VALUES ('prom', 'cpu_utilization', 'fraud-scorer', '{}', 'percent'),
       ('prom', 'invocations', 'fraud-scorer', '{}', NULL),
       ('prom', 'latency_ms', 'fraud-scorer', '{}', 'ms');
INSERT INTO aiml.metric_samples (series_id, ts, value)
SELECT s.id, '2026-11-01 10:00+00'::timestamptz + i * interval '1 minute',
       CASE s.metric WHEN 'cpu_utilization' THEN i WHEN 'invocations' THEN 10 ELSE 100 + i END
FROM aiml.metric_series s, generate_series(0, 119) i;
SELECT model, hour, cpu_avg, cpu_p95, requests, latency_p50_ms, latency_p95_ms, gpu_avg
FROM aiml.model_resource_usage ORDER BY hour;
INSERT INTO aiml.instance_prices VALUES ('ml.g5.xlarge', 1.408);
INSERT INTO aiml.model_deployments VALUES ('prom', 'fraud-scorer', 'ml.g5.xlarge', 2);
SELECT model, hour, instance_type, usd, round(usd_per_request, 6) AS usd_per_request FROM aiml.model_cost ORDER BY hour;
SELECT aiml.prune_metric_samples(interval '100 years');
SELECT aiml.prune_metric_samples(now() - '2026-11-01 11:00+00'::timestamptz);
SELECT count(*) FROM aiml.metric_samples;

-- dropping a source drops its series and samples
SELECT aiml.drop_metric_source('prom');
SELECT aiml.drop_metric_source('prom');
SELECT (SELECT count(*) FROM aiml.metric_series) AS series, (SELECT count(*) FROM aiml.metric_samples) AS samples,
       (SELECT count(*) FROM aiml.metric_source_state) AS states;
SELECT aiml.drop_metric_source('scrape');
DELETE FROM aiml.model_deployments;
DELETE FROM aiml.instance_prices;
DROP FUNCTION ingest_error(text);
