-- Time-series detectors: aiml.detect_anomalies and aiml.robust_zscore.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

-- three weeks of hourly data per series: daily season, slow trend,
-- deterministic noise, and injected spikes
CREATE TABLE ts_data AS
SELECT s AS series, '2026-01-01 00:00+00'::timestamptz + i * interval '1 hour' AS ts,
       100 + 0.05 * i + 20 * sin(2 * pi() * (i % 24) / 24) + 2 * sin(i * 12.9898) * cos(i * 78.233)
       + CASE WHEN s = 'a' AND i IN (100, 300) THEN 40
              WHEN s = 'a' AND i = 450 THEN -35
              WHEN s = 'b' AND i = 200 THEN 60 ELSE 0 END AS v
FROM generate_series(0, 503) i, (VALUES ('a'), ('b')) v(s);

-- seasonal hybrid ESD finds exactly the injected points, per series
SELECT series, p.ts, round(p.value::numeric, 1) AS value, round(p.expected::numeric, 1) AS expected,
       round(p.score::numeric, 1) AS score
FROM (SELECT series, aiml.detect_anomalies(ts, v) AS points FROM ts_data GROUP BY series) s,
     unnest(s.points) p
ORDER BY series, p.ts;

-- without the season, the rolling robust z-score finds them too
CREATE VIEW flat AS
SELECT series, ts, v - 20 * sin(2 * pi() * extract(hour FROM ts AT TIME ZONE 'UTC') / 24) AS v FROM ts_data;
SELECT series, p.ts, round(p.expected::numeric, 1) AS expected, round(p.score::numeric, 1) AS score
FROM (SELECT series, aiml.detect_anomalies(ts, v, '{"method": "robust_zscore", "window": 48, "threshold": 6}') AS points
      FROM flat GROUP BY series) s, unnest(s.points) p
ORDER BY series, p.ts;

-- all: every point, with its expected value; the anomalies marked
SELECT count(*) AS points, count(*) FILTER (WHERE p.anomaly) AS anomalies,
       count(*) FILTER (WHERE p.expected IS NULL) AS without_expectation,
       round(max(abs(p.value - p.expected)) FILTER (WHERE NOT p.anomaly)::numeric, 1) AS worst_normal_residual
FROM (SELECT aiml.detect_anomalies(ts, v, '{"all": true}') AS points FROM ts_data WHERE series = 'b') s,
     unnest(s.points) p;

-- a forced parallel plan gives the same answer
CREATE TABLE big_ts AS SELECT * FROM ts_data, generate_series(1, 20) copy;
UPDATE big_ts SET ts = ts + (copy - 1) * interval '504 hours';
ANALYZE big_ts;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE TABLE parallel_answer AS SELECT series, aiml.detect_anomalies(ts, v)::text AS a FROM big_ts GROUP BY series;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 0;
SELECT bool_and(p.a = s.a) AS same, min(cardinality(s.a::aiml.anomaly_point[])) AS anomalies_per_series
FROM parallel_answer p JOIN (SELECT series, aiml.detect_anomalies(ts, v)::text AS a FROM big_ts GROUP BY series) s USING (series);
RESET max_parallel_workers_per_gather;

-- gaps and irregular timestamps: missing days and hours are fine
SELECT p.ts FROM (SELECT aiml.detect_anomalies(ts, v) AS points
                  FROM ts_data WHERE series = 'b' AND extract(dow FROM ts) <> 2
                                     AND extract(hour FROM ts) <> 3) s, unnest(s.points) p;

-- constant series: no division by zero
SELECT cardinality(aiml.detect_anomalies(ts, 5.0)) AS constant_anomalies FROM ts_data WHERE series = 'a';
SELECT p.ts, p.score FROM (SELECT aiml.detect_anomalies(ts, CASE WHEN ts = '2026-01-10 00:00+00' THEN 6.0 ELSE 5.0 END,
                                                         '{"method": "robust_zscore"}') AS points
                           FROM ts_data WHERE series = 'a') s, unnest(s.points) p;

-- short series: auto falls back to the robust z-score; seasonal_esd refuses
SELECT cardinality(aiml.detect_anomalies(ts, v)) FROM ts_data WHERE series = 'b' AND ts < '2026-01-02 12:00+00';
SELECT aiml.detect_anomalies(ts, v, '{"method": "seasonal_esd"}') FROM ts_data WHERE series = 'b' AND ts < '2026-01-02 12:00+00';
SELECT aiml.detect_anomalies(ts, v, '{"method": "robust_zscore", "window": 100}') FROM ts_data WHERE series = 'b' AND ts < '2026-01-02';
SELECT aiml.detect_anomalies(ts, v, '{"method": "seasonal_esd"}')
FROM (SELECT '2026-01-01'::timestamptz + i * interval '7 minutes' AS ts, i::float8 AS v FROM generate_series(1, 500) i) x;
SELECT cardinality(aiml.detect_anomalies(ts, v, '{"method": "seasonal_esd", "season": 10}'))
FROM (SELECT '2026-01-01'::timestamptz + i * interval '7 minutes' AS ts, (i % 10)::float8 AS v FROM generate_series(1, 500) i) x;
SELECT aiml.detect_anomalies(ts, v) IS NULL AS empty_is_null FROM ts_data WHERE false;

-- bad input
SELECT aiml.detect_anomalies(ts, v) FROM (VALUES ('2026-01-01'::timestamptz, 1.0::float8), ('2026-01-01', 2.0)) x(ts, v);
SELECT aiml.detect_anomalies(ts, v) FROM (VALUES (NULL::timestamptz, 1.0::float8)) x(ts, v);
SELECT aiml.detect_anomalies(ts, v) FROM (VALUES ('2026-01-01'::timestamptz, NULL::float8)) x(ts, v);
SELECT aiml.detect_anomalies(ts, v) FROM (VALUES ('2026-01-01'::timestamptz, 'NaN'::float8)) x(ts, v);
SELECT aiml.detect_anomalies(ts, v, '{"method": "prophet"}') FROM ts_data;
SELECT aiml.detect_anomalies(ts, v, '{"window": 1}') FROM ts_data;
SELECT aiml.detect_anomalies(ts, v, '{"season": 1}') FROM ts_data;
SELECT aiml.detect_anomalies(ts, v, '{"alpha": 0}') FROM ts_data;
SELECT aiml.detect_anomalies(ts, v, '{"windows": 5}') FROM ts_data;

-- as a window function: each hour against the 24 before it
SELECT series, ts, round(z::numeric, 1) AS z
FROM (SELECT series, ts, aiml.robust_zscore(v) OVER (PARTITION BY series ORDER BY ts
                                                     ROWS BETWEEN 24 PRECEDING AND CURRENT ROW) AS z
      FROM flat) x
WHERE abs(z) > 6 OR (series = 'a' AND ts < '2026-01-01 04:00+00')
ORDER BY series, ts;
SELECT i, aiml.robust_zscore(v) OVER (ORDER BY i ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS z
FROM (VALUES (1, 1.0::float8), (2, 1.0), (3, 1.0), (4, 1.0), (5, 2.0), (6, 1.0), (7, NULL)) x(i, v);
SELECT aiml.robust_zscore(v) OVER (ORDER BY i) FROM (VALUES (1, 1.0::float8), (2, 'NaN')) x(i, v);

-- forecast intervals as a detector: train on the history, flag what falls
-- outside the 95% interval of the next day's forecast
WITH m AS (SELECT aiml.ets(ts, v) AS model FROM ts_data WHERE series = 'b' AND ts < '2026-01-09 00:00+00')
SELECT bool_or(f.ts = '2026-01-09 08:00+00') AS spike_flagged, count(*) <= 3 AS few_flags
FROM m, aiml.forecast(m.model, 24) f JOIN ts_data d ON d.ts = f.ts AND d.series = 'b'
WHERE d.v NOT BETWEEN f.lo_95 AND f.hi_95;

DROP VIEW flat;
DROP TABLE ts_data, big_ts, parallel_answer;
