-- anomaly: an isolation forest per endpoint over the sample metrics, the
-- injected incidents it finds, and a pg_cron job that keeps scoring.
\echo
\echo '=== anomaly: features per hour (the hour of day as a point on a circle, so night is not odd) ==='
CREATE VIEW metric_features AS
SELECT endpoint, ts,
       ARRAY[requests, latency_ms, cpu, memory,
             sin(2 * pi() * extract(hour FROM ts) / 24),
             cos(2 * pi() * extract(hour FROM ts) / 24)] AS features
FROM model_metrics;

\echo
\echo '=== one isolation forest per endpoint, trained by one aggregate; 1% of hours expected odd ==='
CREATE TABLE metric_iforest AS
SELECT endpoint, aiml.iforest(features, '{"contamination": 0.01}') AS model
FROM metric_features GROUP BY endpoint;
SELECT endpoint, d->'rows' AS hours, d->'trees' AS trees, d->'sample_used' AS sample,
       round((d->>'threshold')::numeric, 3) AS threshold, pg_column_size(model) AS bytes
FROM metric_iforest, aiml.describe(model) d ORDER BY endpoint;

\echo
\echo '=== the strangest hours of each endpoint: the injected incidents rank at the top ==='
SELECT s.endpoint, s.ts, round(s.score::numeric, 3) AS score, s.rank, i.what AS injected_incident,
       (ARRAY['requests', 'latency_ms', 'cpu', 'memory', 'hour', 'hour'])[(e->>'top_feature')::int] AS isolated_by
FROM (SELECT f.endpoint, f.ts, aiml.anomaly_score(m.model, f.features) AS score,
             aiml.anomaly_explain(m.model, f.features) AS e,
             rank() OVER (PARTITION BY f.endpoint ORDER BY aiml.anomaly_score(m.model, f.features) DESC) AS rank
      FROM metric_features f JOIN metric_iforest m USING (endpoint)) s
LEFT JOIN incidents i USING (endpoint, ts)
WHERE s.rank <= 4 OR i.what IS NOT NULL
ORDER BY s.endpoint, s.rank;

\echo
\echo '=== alerts: a table, a backfill, and a pg_cron job that scores new hours every minute ==='
CREATE TABLE metric_alerts (
    endpoint    text NOT NULL,
    ts          timestamptz NOT NULL,
    score       float8 NOT NULL,
    explain     jsonb NOT NULL,
    alerted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (endpoint, ts)
);
INSERT INTO metric_alerts (endpoint, ts, score, explain)
SELECT f.endpoint, f.ts, aiml.anomaly_score(m.model, f.features), aiml.anomaly_explain(m.model, f.features)
FROM metric_features f JOIN metric_iforest m USING (endpoint)
WHERE aiml.is_anomaly(m.model, f.features)
ON CONFLICT DO NOTHING;
SELECT a.endpoint, count(*) AS alerts, count(i.what) AS of_them_injected_incidents,
       (SELECT count(*) FROM incidents j WHERE j.endpoint = a.endpoint) AS incidents
FROM metric_alerts a LEFT JOIN incidents i USING (endpoint, ts)
GROUP BY a.endpoint ORDER BY a.endpoint;

SELECT cron.schedule('score-metrics', '* * * * *', $$
    INSERT INTO metric_alerts (endpoint, ts, score, explain)
    SELECT f.endpoint, f.ts, aiml.anomaly_score(m.model, f.features),
           aiml.anomaly_explain(m.model, f.features)
    FROM metric_features f JOIN metric_iforest m USING (endpoint)
    WHERE f.ts > now() - interval '2 hours' AND aiml.is_anomaly(m.model, f.features)
    ON CONFLICT DO NOTHING
$$) IS NOT NULL AS scheduled;
SELECT jobname, schedule FROM cron.job WHERE jobname = 'score-metrics';

\echo
\echo '=== time series: seasonal hybrid ESD per endpoint and metric, in one query ==='
SELECT m.endpoint, m.metric, p.ts, round(p.value::numeric, 1) AS value,
       round(p.expected::numeric, 1) AS expected, round(p.score::numeric, 1) AS score,
       i.what AS injected
FROM (SELECT endpoint, 'latency_ms' AS metric, aiml.detect_anomalies(ts, latency_ms) AS points
      FROM model_metrics GROUP BY endpoint
      UNION ALL
      SELECT endpoint, 'requests', aiml.detect_anomalies(ts, requests) FROM model_metrics GROUP BY endpoint) m
     CROSS JOIN LATERAL unnest(m.points) p
     LEFT JOIN incidents i ON i.endpoint = m.endpoint AND i.ts = p.ts
ORDER BY m.endpoint, m.metric, p.ts;
