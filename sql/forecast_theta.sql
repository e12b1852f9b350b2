-- Theta, the baselines, and aiml.forecast over arrays (incl. 'auto').
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;
SET timezone = 'UTC';

-- a positive hourly series with a daily season and a slow trend
CREATE TABLE hourly AS SELECT timestamptz '2024-01-01' + i * interval '1 hour' AS ts,
       (50 + 0.05 * i) * (1 + 0.4 * sin(2 * pi() * i / 24)) + 2 * sin(i * 7.3) AS y
FROM generate_series(0, 335) i;

-- Theta detects the season from the hourly interval and adjusts for it
CREATE TABLE theta_model AS SELECT aiml.theta(ts, y) AS m FROM hourly;
SELECT d->>'model' AS model, d->>'season_length' AS season, d->>'seasonally_adjusted' AS adjusted,
       round((d->>'drift')::numeric, 3) AS drift, jsonb_array_length(d->'seasonal') AS indices
FROM (SELECT aiml.describe(m) d FROM theta_model) s;
-- forecasts follow the season: high around hour 6, low around hour 18 of the day
SELECT extract(hour FROM ts) AS hour, round(yhat::numeric, 1) AS yhat,
       lo_95 < yhat AND yhat < hi_95 AS inside
FROM theta_model, aiml.forecast(m, 24) WHERE step IN (6, 18) ORDER BY step;
-- Theta on a line: SES with drift, so the forecast keeps rising by half the slope per step
SELECT round((max(yhat) - min(yhat))::numeric / 9, 6) AS rise_per_step
FROM (SELECT aiml.theta(ts, y) m FROM (SELECT timestamptz '2024-01-01' + i * interval '1 day' ts, 2.0 * i y
                                     FROM generate_series(0, 49) i) l) s, aiml.forecast(s.m, 10);

-- baselines: exact values
CREATE TABLE small AS SELECT timestamptz '2024-01-01' + i * interval '1 day' AS ts,
       (ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15])[i + 1]::float8 AS y
FROM generate_series(0, 13) i;
SELECT method, array_agg(round(yhat::numeric, 6) ORDER BY step) AS yhat
FROM (VALUES ('naive'), ('snaive'), ('drift')) v(method),
     LATERAL (SELECT aiml.baseline(ts, y, jsonb_build_object('method', method, 'season', 7)) m FROM small) s,
     aiml.forecast(s.m, 8)
GROUP BY method ORDER BY method;
SELECT aiml.describe(aiml.baseline(ts, y, '{"season": 7}'))->>'model' AS default_method FROM small;
-- naive intervals grow with sqrt(h)
SELECT round(((hi_95 - lo_95) / first_value(hi_95 - lo_95) OVER (ORDER BY step))::numeric, 4) AS width_ratio
FROM (SELECT aiml.baseline(ts, y, '{"method": "naive"}') m FROM small) s, aiml.forecast(s.m, 4);

-- the array form: same methods, ts NULL
SELECT step, ts, yhat FROM aiml.forecast(ARRAY[1, 2, 3, 4, 5, 6, 7, 8]::float8[], 3, 'drift');
SELECT step, yhat FROM aiml.forecast(ARRAY[5, 1, 5, 1, 5, 1, 5, 1]::float8[], 3, 'snaive', 2);
SELECT max(abs(yhat - (ARRAY[3, 8, 1, 9, 4, 7])[(step - 1) % 6 + 1])) < 1e-6 AS ets_exact
FROM aiml.forecast(ARRAY(SELECT (ARRAY[3, 8, 1, 9, 4, 7])[i % 6 + 1] FROM generate_series(0, 119) i)::float8[], 12, 'ets', 6);
-- 'auto' on a pure pattern: every candidate is exact, so the combination is too
SELECT max(abs(yhat - (ARRAY[3, 8, 1, 9, 4, 7])[(step - 1) % 6 + 1])) < 1e-6 AS auto_exact, count(*) AS steps
FROM aiml.forecast(ARRAY(SELECT (ARRAY[3, 8, 1, 9, 4, 7])[i % 6 + 1] FROM generate_series(0, 119) i)::float8[], 12);
-- 'auto' on the hourly series stays close to the truth
SELECT round(avg(abs(f.yhat - ((50 + 0.05 * (335 + step)) * (1 + 0.4 * sin(2 * pi() * (335 + step) / 24)))))::numeric, 0) AS mae_rounded
FROM (SELECT array_agg(y ORDER BY ts) a FROM hourly) s, aiml.forecast(s.a, 24) f;
-- NULL series or horizon: no rows
SELECT count(*) FROM aiml.forecast(NULL::float8[], 3);
SELECT count(*) FROM aiml.forecast(ARRAY[1, 2, 3]::float8[], NULL);
