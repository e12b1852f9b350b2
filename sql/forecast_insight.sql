-- Decomposition, strength, season detection, sparklines, accuracy aggregates.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

-- trend 2t plus a season of 4 (sums to 0): classical decomposition recovers both
SELECT i, observed, round(trend::numeric, 6) AS trend, round(seasonal::numeric, 6) AS seasonal,
       round(remainder::numeric, 6) AS remainder
FROM aiml.decompose(ARRAY(SELECT 2 * t + (ARRAY[3, -1, -4, 2])[t % 4 + 1] FROM generate_series(0, 11) t)::float8[], 4);
-- multiplicative: the seasonal indices average 1
SELECT round(avg(seasonal)::numeric, 6) AS mean_index, round(min(seasonal)::numeric, 4) AS lowest
FROM aiml.decompose(ARRAY(SELECT (10 + t) * (ARRAY[1.2, 0.8, 1.1, 0.9])[t % 4 + 1] FROM generate_series(0, 39) t)::float8[],
                    4, multiplicative => true) WHERE i <= 4;
-- season detected when not given
SELECT count(*) AS rows, count(trend) AS with_trend
FROM aiml.decompose(ARRAY(SELECT sin(2 * pi() * t / 12) + t / 50.0 FROM generate_series(0, 119) t)::float8[]);

-- detected season lengths
SELECT aiml.detect_season(ARRAY(SELECT sin(2 * pi() * t / 12) FROM generate_series(0, 119) t)::float8[]) AS sine_12,
       aiml.detect_season(ARRAY(SELECT (ARRAY[5, 1, 1, 1, 1, 1, 9])[t % 7 + 1] + t FROM generate_series(0, 69) t)::float8[]) AS weekly_with_trend,
       aiml.detect_season(ARRAY(SELECT t * 1.5 FROM generate_series(0, 99) t)::float8[]) AS line_none;

-- strength: a pure season, a pure trend, noise (a hash, the same on every run)
CREATE FUNCTION pg_temp.hash_noise(t int) RETURNS float8 LANGUAGE sql IMMUTABLE
    AS $$ SELECT sin(t * 78.233) * 43758.5453 - floor(sin(t * 78.233) * 43758.5453) - 0.5 $$;
SELECT 'season' AS series, season_length, round(trend_strength::numeric, 2) AS trend,
       round(seasonal_strength::numeric, 2) AS seasonal
FROM aiml.strength(ARRAY(SELECT 10 + sin(2 * pi() * t / 12) + 0.1 * pg_temp.hash_noise(t) FROM generate_series(0, 119) t)::float8[])
UNION ALL
SELECT 'trend', season_length, round(trend_strength::numeric, 2), round(seasonal_strength::numeric, 2)
FROM aiml.strength(ARRAY(SELECT t + 0.1 * pg_temp.hash_noise(t) FROM generate_series(0, 119) t)::float8[])
UNION ALL
SELECT 'noise', season_length, round(trend_strength::numeric, 2), round(seasonal_strength::numeric, 2)
FROM aiml.strength(ARRAY(SELECT pg_temp.hash_noise(t) FROM generate_series(0, 119) t)::float8[], 12);

-- sparklines
SELECT aiml.sparkline(ARRAY[1, 2, 3, 4, 5, 6, 7, 8]) AS rising,
       aiml.sparkline(ARRAY[3, NULL, 1, 'NaN', 5]::float8[]) AS with_gaps,
       aiml.sparkline(ARRAY[2, 2, 2]::float8[]) AS flat,
       aiml.sparkline('{}'::float8[]) AS empty;

-- accuracy: actual 10, 20, 30, 0 against predicted 12, 18, 33, 1
CREATE TABLE acc (g int, actual float8, predicted float8);
INSERT INTO acc VALUES (1, 10, 12), (1, 20, 18), (1, 30, 33), (1, 0, 1), (2, 5, 5), (2, NULL, 7);
SELECT g, aiml.mae(actual, predicted), round(aiml.rmse(actual, predicted)::numeric, 6) AS rmse,
       round(aiml.mape(actual, predicted)::numeric, 6) AS mape,
       round(aiml.smape(actual, predicted)::numeric, 6) AS smape,
       aiml.mase(actual, predicted, 2) AS mase
FROM acc GROUP BY g ORDER BY g;
SELECT aiml.mae(actual, predicted) FROM acc WHERE false;
-- MASE scale: in-sample MAE of the seasonal naive forecast
SELECT aiml.mase_scale(ARRAY[1, 2, 4, 8]::float8[]) AS lag1, aiml.mase_scale(ARRAY[1, 2, 4, 8]::float8[], 2) AS lag2;
SELECT aiml.mase_scale(aiml.baseline(ts, v, '{"method": "naive"}'))
FROM (SELECT timestamptz '2024-01-01' + t * interval '1 day' ts, t * 3.0 v FROM generate_series(0, 9) t) s;
-- parallel: the same results as serial
CREATE TABLE acc_big AS SELECT t % 10 AS g, t::float8 AS actual, t + (t % 7) - 3.0 AS predicted FROM generate_series(1, 100000) t;
ANALYZE acc_big;
CREATE TABLE acc_serial AS SELECT aiml.mae(actual, predicted), aiml.smape(actual, predicted) FROM acc_big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT round(p.mae::numeric, 9) = round(s.mae::numeric, 9) AS same_mae,
       round(p.smape::numeric, 9) = round(s.smape::numeric, 9) AS same_smape
FROM (SELECT aiml.mae(actual, predicted), aiml.smape(actual, predicted) FROM acc_big) p, acc_serial s;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
