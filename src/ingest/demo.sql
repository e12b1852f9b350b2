-- ingest: a real Prometheus and node exporter (started by `make demo` on
-- loopback) feed the usage views.  psql variables: prometheus, exporter.
\echo
\echo '=== ingest: pull resource usage from Prometheus (query API) and an exporter (scrape) ==='
SELECT aiml.add_metric_source('demo-prometheus', 'prometheus', jsonb_build_object(
    'endpoint', :'prometheus', 'resource', 'demo-host', 'step', 5, 'interval', 10, 'lookback', 120,
    'metrics', jsonb_build_object(
        'cpu_utilization', '100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[10s])))',
        'memory_utilization', '100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)'),
    'units', '{"cpu_utilization": "percent", "memory_utilization": "percent"}'::jsonb));
SELECT aiml.add_metric_source('demo-exporter', 'prometheus', jsonb_build_object(
    'endpoint', :'exporter' || '/metrics', 'scrape', true, 'interval', 5,
    'metrics', '["node_load1", "node_memory_MemAvailable_bytes"]'::jsonb));

-- give Prometheus a few scrapes, then poll once more by hand
SELECT pg_sleep(6);
SELECT aiml.ingest_now('demo-prometheus') >= 0 AS polled, aiml.ingest_now('demo-exporter') > 0 AS scraped;

SELECT source, status, series, samples_total > 0 AS has_samples, last_error
FROM aiml.metric_source_status ORDER BY source;
SELECT source, metric, resource, unit, count(*) AS samples, round(avg(value)::numeric, 2) AS mean
FROM aiml.metric_series s JOIN aiml.metric_samples m ON m.series_id = s.id
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2;
\echo '--- per model and hour, as a BI tool reads it:'
SELECT model, hour, round(cpu_avg::numeric, 1) AS cpu_avg, round(cpu_p95::numeric, 1) AS cpu_p95,
       round(memory_avg::numeric, 1) AS memory_avg
FROM aiml.model_resource_usage ORDER BY hour DESC LIMIT 3;
\echo '--- the worker keeps polling every 10 s; watch with:'
\echo '    SELECT * FROM aiml.metric_source_status;'
