-- ETS: model selection and parameters on series from known models, exact
-- forecasts of exact patterns, intervals, timestamps, gaps, parallel plans.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;
SET timezone = 'UTC';

-- Gaussian noise that is the same on every run
CREATE FUNCTION pg_temp.noise(n int, seed float8) RETURNS TABLE(t int, e float8) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM setseed(seed);
    RETURN QUERY SELECT i, sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())
                 FROM generate_series(1, n) i ORDER BY i;
END $$;

-- Holt's linear trend, ETS(A,A,N): alpha 0.3, beta 0.1, sigma 1, l0 100, b0 0.5
CREATE TABLE aan AS
WITH RECURSIVE e AS (SELECT * FROM pg_temp.noise(400, 0.11)),
sim(t, l, b, y) AS (
    SELECT 0, 100::float8, 0.5::float8, NULL::float8
    UNION ALL
    SELECT s.t + 1, s.l + s.b + 0.3 * e.e, s.b + 0.1 * e.e, s.l + s.b + e.e
    FROM sim s JOIN e ON e.t = s.t + 1
)
SELECT timestamptz '2024-01-01' + t * interval '1 day' AS ts, y FROM sim WHERE t > 0;
-- (the default offers trends N and Ad only; damped false offers N and A)
CREATE TABLE aan_model AS SELECT aiml.ets(ts, y, '{"model": "ZZN", "damped": false}') AS m FROM aan;
SELECT d->>'model' AS model, abs((d->>'alpha')::float8 - 0.3) < 0.1 AS alpha_near_0_3,
       abs((d->>'beta')::float8 - 0.1) < 0.07 AS beta_near_0_1,
       abs((d->>'sigma')::float8 - 1) < 0.1 AS sigma_near_1, d->>'n' AS n
FROM (SELECT aiml.describe(m) d FROM aan_model) s;

-- additive season of 12, ETS(A,N,A): alpha 0.2, gamma 0.15, sigma 0.5
CREATE TABLE ana AS
WITH RECURSIVE e AS (SELECT * FROM pg_temp.noise(480, 0.22)),
sim(t, l, s, y) AS (
    SELECT 0, 50::float8, ARRAY(SELECT 4 * sin(2 * pi() * k / 12) FROM generate_series(0, 11) k), NULL::float8
    UNION ALL
    SELECT x.t + 1, x.l + 0.2 * 0.5 * e.e, x.s[2:12] || (x.s[1] + 0.15 * 0.5 * e.e), x.l + x.s[1] + 0.5 * e.e
    FROM sim x JOIN e ON e.t = x.t + 1
)
SELECT timestamptz '2020-01-01' + t * interval '1 month' AS ts, y FROM sim WHERE t > 0;
CREATE TABLE ana_model AS SELECT aiml.ets(ts, y) AS m FROM ana;
SELECT d->>'model' AS model, d->>'season_length' AS season, d->>'interval' AS interval,
       abs((d->>'alpha')::float8 - 0.2) < 0.08 AS alpha_near_0_2,
       abs((d->>'gamma')::float8 - 0.15) < 0.1 AS gamma_near_0_15,
       abs((d->>'sigma')::float8 - 0.5) < 0.1 AS sigma_near_0_5
FROM (SELECT aiml.describe(m) d FROM ana_model) s;
-- monthly steps continue on the calendar
SELECT step, ts FROM ana_model, aiml.forecast(ana_model.m, 3) ORDER BY step;

-- a pure linear trend and a pure seasonal pattern are forecast exactly
CREATE TABLE line AS SELECT timestamptz '2024-03-01' + i * interval '1 hour' AS ts, 3 + 2.5 * i AS y
FROM generate_series(0, 99) i;
SELECT aiml.describe(min(m::text)::aiml.model)->>'model' AS model,
       max(abs(f.yhat - (3 + 2.5 * (99 + f.step)))) < 1e-6 AS exact,
       min(f.ts) = timestamptz '2024-03-01' + interval '100 hours' AS first_ts_next_hour
FROM (SELECT aiml.ets(ts, y, '{"season": 24, "damped": false}') m FROM line) s, aiml.forecast(s.m, 48) f GROUP BY m::text;
CREATE TABLE pattern AS SELECT timestamptz '2024-03-01' + i * interval '1 day' AS ts,
       (ARRAY[10, 12, 15, 11, 9, 4, 3])[i % 7 + 1]::float8 AS y
FROM generate_series(0, 69) i;
SELECT aiml.describe(min(m::text)::aiml.model)->>'season_length' AS detected_season,
       max(abs(f.yhat - (ARRAY[10, 12, 15, 11, 9, 4, 3])[(69 + f.step) % 7 + 1])) < 1e-6 AS exact
FROM (SELECT aiml.ets(ts, y, '{"model": "AAA"}') m FROM pattern) s, aiml.forecast(s.m, 14) f GROUP BY m::text;

-- analytic intervals widen with the horizon and contain the forecast
SELECT bool_and(hi_95 - lo_95 > prev95 AND hi_80 - lo_80 > prev80) AS widen,
       bool_and(lo_95 < lo_80 AND lo_80 < yhat AND yhat < hi_80 AND hi_80 < hi_95) AS nested,
       aiml.describe((SELECT m FROM aan_model))->>'intervals' AS kind
FROM (SELECT *, lag(hi_95 - lo_95) OVER w AS prev95, lag(hi_80 - lo_80) OVER w AS prev80
      FROM aan_model, aiml.forecast(m, 24) WINDOW w AS (ORDER BY step)) f
WHERE step > 1;
-- the 80% interval of the known model: yhat +- 1.2816 sigma at step 1
SELECT round(((hi_80 - lo_80) / 2 / (aiml.describe(m)->>'sigma')::float8)::numeric, 4) AS z_80
FROM aan_model, aiml.forecast(m, 1);

-- simulated intervals (multiplicative season): the same seed gives the same intervals
CREATE TABLE pos AS SELECT timestamptz '2024-01-01' + i * interval '1 hour' AS ts,
       (100 + i * 0.1) * (1 + 0.3 * sin(2 * pi() * i / 24)) * (1 + 0.02 * sin(i * 12.9898)) AS y
FROM generate_series(0, 239) i;
CREATE TABLE sim_models AS
SELECT 1 AS seed, aiml.ets(ts, y, '{"model": "MAM", "seed": 1, "simulations": 500}') AS m FROM pos
UNION ALL
SELECT 1, aiml.ets(ts, y, '{"model": "MAM", "seed": 1, "simulations": 500}') FROM pos
UNION ALL
SELECT 2, aiml.ets(ts, y, '{"model": "MAM", "seed": 2, "simulations": 500}') FROM pos;
SELECT count(DISTINCT m::text) AS distinct_models FROM sim_models;
SELECT aiml.describe(m)->>'model' AS model, aiml.describe(m)->>'intervals' AS intervals FROM sim_models LIMIT 1;
WITH f AS (SELECT seed, k, array_agg(lo_95 ORDER BY step) lo
           FROM (SELECT *, row_number() OVER () AS k FROM sim_models) s, aiml.forecast(m, 24) GROUP BY seed, k)
SELECT count(*) AS forecasts, count(DISTINCT lo) FILTER (WHERE seed = 1) AS seed_1_results,
       count(DISTINCT lo) AS all_results FROM f;
SELECT bool_and(lo_95 < yhat AND yhat < hi_95) AS contains_forecast,
       (array_agg(hi_95 - lo_95 ORDER BY step))[48] > (array_agg(hi_95 - lo_95 ORDER BY step))[1] AS wider_later
FROM sim_models, aiml.forecast(m, 48) WHERE seed = 2;

-- requested levels: intervals holds every one
SELECT step, jsonb_object_keys(intervals) AS level
FROM (SELECT aiml.ets(ts, y, '{"levels": [50, 99.5], "model": "ANN"}') m FROM aan) s, aiml.forecast(s.m, 1);
SELECT (intervals->'50'->>0)::float8 > lo_80 AND (intervals->'99.5'->>0)::float8 < lo_95 AS ordered
FROM (SELECT aiml.ets(ts, y, '{"levels": [50, 99.5], "model": "ANN"}') m FROM aan) s, aiml.forecast(s.m, 1);

-- gaps are interpolated linearly and counted; the input order does not matter
SELECT aiml.describe(min(m::text)::aiml.model)->>'gaps_filled' AS gaps_filled,
       aiml.describe(min(m::text)::aiml.model)->>'n' AS n,
       max(abs(f.yhat - (3 + 2.5 * (99 + f.step)))) < 1e-6 AS still_exact
FROM (SELECT aiml.ets(ts, y, '{"damped": false}' ORDER BY random()) m FROM line WHERE ts NOT IN
      (SELECT timestamptz '2024-03-01' + i * interval '1 hour' FROM generate_series(10, 14) i)) s,
     aiml.forecast(s.m, 3) f GROUP BY m::text;

-- one model per group, forecast in one query
SELECT g, aiml.describe(min(m::text)::aiml.model)->>'model' AS model, count(*) AS rows
FROM (SELECT g, aiml.ets(ts, y * g) m FROM line, (VALUES (1), (2)) v(g) GROUP BY g) s,
     aiml.forecast(s.m, 5) GROUP BY g, m::text ORDER BY g;

-- a parallel plan gives the same model as a serial one
CREATE TABLE big AS SELECT ts + g * interval '1 year' AS ts, y + g AS y, g FROM pattern, generate_series(1, 200) g;
ANALYZE big;
CREATE TABLE serial_models AS SELECT g, aiml.ets(ts, y, '{"model": "ANA", "season": 7}') m FROM big GROUP BY g;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT count(*) FILTER (WHERE p.m::text = s.m::text) AS same, count(*) AS models
FROM (SELECT g, aiml.ets(ts, y, '{"model": "ANA", "season": 7}') m FROM big GROUP BY g) p JOIN serial_models s USING (g);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- describe of a seasonal model
SELECT jsonb_object_keys(aiml.describe(m)) AS key FROM ana_model ORDER BY 1;

-- the initial seasonal states are fitted with the smoothing parameters, as R's
-- ets() does: on this series of growing amplitude (n 120, season 12) the fit
-- reaches R's likelihood; -2 loglik without constants (R's criterion) from
-- forecast::ets 8.20: AAA 1007.7235, ANA 1044.4115, AAdA 1008.1852
CREATE TABLE growing AS SELECT timestamptz '2024-01-01' + t * interval '1 month' AS ts,
       (100 + 0.3 * t) * (1 + (0.1 + 0.3 * t / 120.0) * sin(2 * pi() * t / 12)) + 3 * sin(t * t * 0.7) AS y
FROM generate_series(0, 119) t;
SELECT mod, -2 * (d->>'loglik')::float8 - 120 * (ln(2 * pi() / 120) + 1) <= r_lik AS reaches_r
FROM (VALUES ('AAA', 1007.7235), ('ANA', 1044.4115), ('AAdA', 1008.1852)) r(mod, r_lik),
     LATERAL (SELECT aiml.describe(aiml.ets(ts, y, jsonb_build_object('season', 12, 'model', mod))) d FROM growing) s
ORDER BY mod;
-- a smooth hourly series (season 24, n 480): R's ets() (bounds "both") reaches
-- AAdA 3456.141 and ANA 3540.486; its Nelder-Mead stops far from the optimum
CREATE TABLE smooth AS SELECT timestamptz '2024-01-01' + t * interval '1 hour' AS ts,
       50 + 10 * sin(2 * pi() * t / 24 + 2 * sin(2 * pi() * t / 300)) + 0.01 * t + 0.2 * sin(t * t * 0.7) AS y
FROM generate_series(0, 479) t;
SELECT mod, -2 * (d->>'loglik')::float8 - 480 * (ln(2 * pi() / 480) + 1) <= r_lik AS reaches_r,
       (d->>'alpha')::float8 BETWEEN 1e-4 AND 0.9999 AND (d->>'gamma')::float8 BETWEEN 1e-4 AND 1 - (d->>'alpha')::float8 AS in_bounds
FROM (VALUES ('AAdA', 3456.141), ('ANA', 3540.486)) r(mod, r_lik),
     LATERAL (SELECT aiml.describe(aiml.ets(ts, y, jsonb_build_object('season', 24, 'model', mod))) d FROM smooth) s
ORDER BY mod;
