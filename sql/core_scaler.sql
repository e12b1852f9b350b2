-- aiml.scaler: the reference model kind, and the array and option checks
-- every module shares.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

CREATE TABLE obs (g int, f float8[]);
INSERT INTO obs SELECT i % 2, ARRAY[i, i * i, 5] FROM generate_series(1, 1000) i;

-- values: mean and sample standard deviation per feature
SELECT d->'rows' AS rows, d->'mean' AS mean, d->'min' AS min, d->'max' AS max,
       round((d->'stddev'->>0)::numeric, 6) AS sd1, round(sd1::numeric, 6) AS expected_sd1,
       round((d->'stddev'->>1)::numeric, 3) AS sd2, round(sd2::numeric, 3) AS expected_sd2,
       (d->'stddev'->>2)::float8 AS sd_constant
FROM (SELECT aiml.describe(aiml.scaler(f)) d, stddev_samp(f[1]) sd1, stddev_samp(f[2]) sd2
      FROM obs) s;

-- scale and unscale invert each other; a constant feature is only centred
WITH m AS (SELECT aiml.scaler(f) m FROM obs)
SELECT aiml.scale(m, ARRAY[500.5, 333833.5, 5]) AS at_mean,
       aiml.unscale(m, aiml.scale(m, ARRAY[10, 20, 30])) AS back
FROM m;
WITH m AS (SELECT aiml.scaler(f, '{"method": "minmax"}') m FROM obs)
SELECT aiml.scale(m, ARRAY[1, 1, 5]) AS lowest, aiml.scale(m, ARRAY[1000, 1000000, 5]) AS highest
FROM m;

-- one model per group
SELECT g, aiml.describe(aiml.scaler(f))->'mean'->0 AS mean1 FROM obs GROUP BY g ORDER BY g;

-- a parallel plan builds the same model as a serial one
CREATE TABLE big AS SELECT ARRAY[random() * 100, random()] AS f FROM generate_series(1, 200000);
ANALYZE big;
CREATE TABLE serial_model AS SELECT aiml.scaler(f) m FROM big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT aiml.scaler(f) FROM big;
SELECT bool_and(abs((p->'mean'->>i)::float8 - (s->'mean'->>i)::float8) < 1e-9
            AND abs((p->'stddev'->>i)::float8 - (s->'stddev'->>i)::float8) < 1e-9
            AND p->'min' = s->'min' AND p->'max' = s->'max' AND p->'rows' = s->'rows') AS same_model
FROM (SELECT aiml.describe(aiml.scaler(f)) p FROM big) pm,
     (SELECT aiml.describe(m) s FROM serial_model) sm,
     generate_series(0, 1) i;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- NULL rows are skipped; no rows give NULL
SELECT aiml.describe(aiml.scaler(f))->'rows' FROM (VALUES (ARRAY[1.0::float8]), (NULL), (ARRAY[3.0])) v(f);
SELECT aiml.scaler(f) IS NULL AS empty_is_null FROM obs WHERE false;

-- bad arrays
SELECT aiml.scaler(f) FROM (VALUES (ARRAY[1, NULL]::float8[])) v(f);
SELECT aiml.scaler(f) FROM (VALUES (ARRAY[1, 'NaN']::float8[])) v(f);
SELECT aiml.scaler(f) FROM (VALUES (ARRAY[1, '-Infinity']::float8[])) v(f);
SELECT aiml.scaler(f) FROM (VALUES (ARRAY[[1, 2], [3, 4]]::float8[])) v(f);
SELECT aiml.scaler(f) FROM (VALUES ('{}'::float8[])) v(f);
SELECT aiml.scaler(f) FROM (VALUES (ARRAY[1, 2]::float8[]), (ARRAY[1, 2, 3])) v(f);
WITH m AS (SELECT aiml.scaler(f) m FROM obs)
SELECT aiml.scale(m, ARRAY[1, 2]) FROM m;
WITH m AS (SELECT aiml.scaler(f) m FROM obs)
SELECT aiml.scale(m, ARRAY[1, NULL, 3]) FROM m;
WITH m AS (SELECT aiml.scaler(f) m FROM obs)
SELECT aiml.scale(m, NULL) IS NULL AS strict FROM m;

-- bad options
SELECT aiml.scaler(f, '{"methd": "minmax"}') FROM obs;
SELECT aiml.scaler(f, '{"method": 3}') FROM obs;
SELECT aiml.scaler(f, '{"method": "robust"}') FROM obs;
SELECT aiml.scaler(f, '[1, 2]') FROM obs;
SELECT aiml.describe(aiml.scaler(f, '{"method": null}'))->>'method' FROM obs;

DROP TABLE obs, big, serial_model;
