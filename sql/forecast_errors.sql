-- Bad input to the forecasting functions: each gets its own clear error.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;
SET timezone = 'UTC';
CREATE TABLE s AS SELECT timestamptz '2024-01-01' + i * interval '1 hour' AS ts, 10 + i % 5 AS y
FROM generate_series(0, 47) i;

-- NULL timestamps and values, NaN, duplicates, irregular timestamps, too many gaps
SELECT aiml.ets(ts, y) FROM (SELECT ts, CASE WHEN ts = '2024-01-01 05:00' THEN NULL ELSE y END y FROM s) x;
SELECT aiml.ets(ts, y) FROM (SELECT CASE WHEN y = 12 THEN NULL ELSE ts END ts, y FROM s) x;
SELECT aiml.theta(ts, y) FROM (SELECT ts, CASE WHEN y = 12 THEN 'NaN' ELSE y::float8 END y FROM s) x;
SELECT aiml.ets(ts, y) FROM (SELECT ts, y FROM s UNION ALL SELECT '2024-01-01 03:00', 1) x;
SELECT aiml.ets(ts, y) FROM (SELECT ts, y FROM s UNION ALL SELECT '2024-01-01 03:30', 1) x;
SELECT aiml.ets(ts, y) FROM s WHERE ts < '2024-01-01 10:00' OR ts > '2024-01-02 10:00';
-- ... unless the options allow that many gaps
SELECT aiml.describe(aiml.ets(ts, y, '{"max_gap_fraction": 0.6, "model": "ANN"}'))->>'gaps_filled' AS gaps
FROM s WHERE ts < '2024-01-01 10:00' OR ts > '2024-01-02 10:00';
-- NULL values treated as gaps by filtering them out
SELECT aiml.describe(aiml.ets(ts, y, '{"model": "ANN"}'))->>'gaps_filled' AS gaps
FROM (SELECT ts, CASE WHEN ts = '2024-01-01 05:00' THEN NULL ELSE y END y FROM s) x WHERE y IS NOT NULL;

-- too few points
SELECT aiml.ets(ts, y) FROM s WHERE ts < '2024-01-01 03:00';
SELECT aiml.theta(ts, y) FROM s WHERE ts < '2024-01-01 02:00';
SELECT aiml.ets(ts, y, '{"model": "AAA", "season": 24}') FROM s WHERE ts < '2024-01-01 12:00';
SELECT * FROM aiml.forecast(ARRAY[1, 2]::float8[], 3, 'ets');
SELECT * FROM aiml.forecast(ARRAY[1, 2, 3, 4]::float8[], 3);
SELECT aiml.ets(ts, y) FROM s WHERE false;

-- horizon
SELECT * FROM aiml.forecast(ARRAY[1, 2, 3, 4, 5]::float8[], 0);
SELECT * FROM aiml.forecast(ARRAY[1, 2, 3, 4, 5]::float8[], 10001);
SELECT * FROM aiml.forecast((SELECT aiml.baseline(ts, y) FROM s), -1);

-- season length
SELECT aiml.ets(ts, y, '{"season": 1}') FROM s;
SELECT aiml.ets(ts, y, '{"season": 25}') FROM s;
SELECT * FROM aiml.forecast(ARRAY[1, 2, 3, 4, 5, 6]::float8[], 2, 'snaive', 4);
SELECT * FROM aiml.decompose(ARRAY[1, 2, 3, 4, 5, 6]::float8[], 1);
SELECT * FROM aiml.decompose(ARRAY[1, 2, 3, 4, 5, 6, 7, 8]::float8[]);

-- multiplicative models need positive data
SELECT aiml.ets(ts, y - 12, '{"model": "MNN"}') FROM s;
SELECT aiml.ets(ts, y - 12, '{"model": "ANM", "season": 5}') FROM s;
SELECT * FROM aiml.decompose(ARRAY[1, -2, 3, 4, -5, 6, 7, 8]::float8[], 2, true);
-- ... while automatic selection just leaves them out
SELECT aiml.describe(aiml.ets(ts, y - 12))->>'error' AS error FROM s;

-- options and methods
SELECT aiml.ets(ts, y, '{"model": "XYZ"}') FROM s;
SELECT aiml.ets(ts, y, '{"model": "AMN"}') FROM s;
SELECT aiml.ets(ts, y, '{"model": "AAdN", "damped": false}') FROM s;
SELECT aiml.ets(ts, y, '{"model": "ANN", "damped": true}') FROM s;
SELECT aiml.ets(ts, y, '{"seasons": 24}') FROM s;
SELECT aiml.theta(ts, y, '{"model": "ANN"}') FROM s;
SELECT aiml.ets(ts, y, '{"levels": [80, 100]}') FROM s;
SELECT aiml.ets(ts, y, '{"levels": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}') FROM s;
SELECT aiml.ets(ts, y, '{"levels": []}') FROM s;
SELECT aiml.ets(ts, y, '{"simulations": 10}') FROM s;
SELECT aiml.baseline(ts, y, '{"method": "mean"}') FROM s;
SELECT * FROM aiml.forecast(ARRAY[1, 2, 3, 4, 5]::float8[], 2, 'arima');
SELECT * FROM aiml.forecast(ARRAY[1, NULL, 3, 4, 5]::float8[], 2);
SELECT * FROM aiml.forecast(ARRAY[1, 'NaN', 3, 4, 5]::float8[], 2);
SELECT * FROM aiml.forecast('{}'::float8[], 2);

-- accuracy
SELECT aiml.mase(a, p, 0) FROM (VALUES (1.0, 2.0)) v(a, p);
SELECT aiml.mae(a, p) FROM (VALUES (1.0, 'Infinity'::float8)) v(a, p);
SELECT aiml.mase_scale(ARRAY[1, 2, 3]::float8[], 3);

-- a model of another kind
SELECT * FROM aiml.forecast((SELECT aiml.scaler(ARRAY[y]) FROM s), 3);
SELECT aiml.mase_scale((SELECT aiml.scaler(ARRAY[y]) FROM s));

-- forged models with a correct checksum: the reader rejects impossible contents
\set ECHO none
\i test/sql/forge.sql
\set ECHO all
CREATE FUNCTION common(n int, season int, nlevels int DEFAULT 2, sims int DEFAULT 1000) RETURNS bytea LANGUAGE sql AS $$
    SELECT forge.u32(n) || forge.u32(season) || forge.u32(0) || forge.u32(0) || forge.u64(0) || forge.u64(0)
        || forge.u64(0) || forge.u32(0) || forge.f64(1) || forge.u32(nlevels) || forge.f64s(80, 95)
        || forge.u64(42) || forge.u32(sims) $$;
-- baseline: method, m, n, slope, sigma2, last[m]
SELECT step, yhat FROM aiml.forecast(forge.model('baseline', 5, common(4, 2) || forge.u32(1) || forge.u32(2)
    || forge.u32(4) || forge.f64s(0, 1, 7, 9)), 3);
SELECT aiml.forecast(forge.model('baseline', 5, common(4, 2) || forge.u32(1) || forge.u32(1000000)
    || forge.u32(4) || forge.f64s(0, 1, 7, 9)), 3);
SELECT aiml.forecast(forge.model('baseline', 5, common(4, 2) || forge.u32(1) || forge.u32(2)
    || forge.u32(9) || forge.f64s(0, 1, 7, 9)), 3);
SELECT aiml.forecast(forge.model('baseline', 5, common(4, 2) || forge.u32(9) || forge.u32(2)
    || forge.u32(4) || forge.f64s(0, 1, 7, 9)), 3);
SELECT aiml.forecast(forge.model('baseline', 5, common(4, 2) || forge.u32(1) || forge.u32(2)
    || forge.u32(4) || forge.f64s(0, -1, 7, 9)), 3);
SELECT aiml.forecast(forge.model('baseline', 5, common(4, 2) || forge.u32(1) || forge.u32(2)
    || forge.u32(4) || forge.f64s(0, 1, 7, 'NaN')), 3);
SELECT aiml.forecast(forge.model('baseline', 5, common(4, 2) || forge.u32(1) || forge.u32(2)
    || forge.u32(4) || forge.f64s(0, 1, 7)), 3);
SELECT aiml.forecast(forge.model('baseline', 5, common(4, 2) || forge.u32(1) || forge.u32(2)
    || forge.u32(4) || forge.f64s(0, 1, 7, 9, 10)), 3);
-- common header: observations, season, levels, simulations
SELECT aiml.describe(forge.model('baseline', 5, common(0, 1) || forge.u32(0) || forge.u32(1)
    || forge.u32(0) || forge.f64s(0, 1, 7)));
SELECT aiml.describe(forge.model('baseline', 5, common(4, 9) || forge.u32(0) || forge.u32(1)
    || forge.u32(4) || forge.f64s(0, 1, 7)));
SELECT aiml.describe(forge.model('baseline', 5, common(4, 1, 500) || forge.u32(0) || forge.u32(1)
    || forge.u32(4) || forge.f64s(0, 1, 7)));
SELECT aiml.describe(forge.model('baseline', 5, common(4, 1, 2, 0) || forge.u32(0) || forge.u32(1)
    || forge.u32(4) || forge.f64s(0, 1, 7)));
-- ets: error, trend, season, m; alpha, beta, gamma, phi, level, slope; seas[m]; sigma2 ... ; nparams
CREATE FUNCTION ets(error int, trend int, season int, m int, alpha float8, seas bytea) RETURNS aiml.model LANGUAGE sql AS $$
    SELECT forge.model('ets', 3, common(10, 2) || forge.u32(error) || forge.u32(trend) || forge.u32(season)
        || forge.u32(m) || forge.f64s(alpha, 'NaN', 0.1, 'NaN', 5, 0) || seas
        || forge.f64s(1, 0, 0, 0, 0, 1) || forge.u32(5)) $$;
SELECT aiml.describe(ets(1, 0, 1, 2, 0.5, forge.f64s(1, -1)))->>'model' AS valid;
SELECT aiml.describe(ets(1, 0, 1, 2, 1.5, forge.f64s(1, -1)));
SELECT aiml.describe(ets(1, 0, 1, 2, 'NaN', forge.f64s(1, -1)));
SELECT aiml.describe(ets(7, 0, 1, 2, 0.5, forge.f64s(1, -1)));
SELECT aiml.describe(ets(0, 0, 1, 2, 0.5, forge.f64s(1, -1)));
SELECT aiml.describe(ets(1, 0, 1, 1, 0.5, forge.f64s(1)));
SELECT aiml.describe(ets(1, 0, 1, 2000000000, 0.5, forge.f64s(1, -1)));
SELECT aiml.describe(ets(1, 0, 2, 2, 0.5, forge.f64s(1, 0)));
SELECT * FROM aiml.forecast(ets(1, 0, 1, 2, 0.5, forge.f64s(1, 'Infinity')), 2);
-- theta: alpha, level, drift, offset, sigma2, m, seas[m]
SELECT aiml.describe(forge.model('theta', 4, common(10, 2) || forge.f64s(0.5, 5, 0.1, 2, 1) || forge.u32(2)
    || forge.f64s(1.1, 0.9)))->>'seasonally_adjusted' AS valid;
SELECT aiml.describe(forge.model('theta', 4, common(10, 2) || forge.f64s(0.5, 5, 0.1, 2, 1) || forge.u32(2)
    || forge.f64s(1.1, 0)));
SELECT aiml.describe(forge.model('theta', 4, common(10, 2) || forge.f64s(0.5, 5, 0.1, 2, -1) || forge.u32(2)
    || forge.f64s(1.1, 0.9)));
SELECT aiml.describe(forge.model('theta', 4, common(10, 2) || forge.f64s(0.5, 5, 0.1, 2, 1) || forge.u32(20)
    || forge.f64s(1.1, 0.9)));
-- the aggregates' serialized state is read back with the same care (exercised by parallel plans in
-- forecast_ets); a truncated model value is caught by the checksum
SELECT aiml.forecast(('ets:' || substr(split_part(m::text, ':', 2), 1, 40))::aiml.model, 2)
FROM (SELECT aiml.ets(ts, y) m FROM s) x;
