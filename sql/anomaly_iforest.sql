-- aiml.iforest: isolation forests, their scores, explanations and errors.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

-- 1000 gaussian points (Box-Muller on a seeded random()) and 10 far outliers
SELECT setseed(0.42);
CREATE TABLE pts (id int, f float8[]);
INSERT INTO pts
SELECT i, ARRAY[sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()),
                sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()),
                sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())]
FROM generate_series(1, 1000) i;
INSERT INTO pts SELECT 1000 + i, ARRAY[6 + i / 5.0, -6 - i / 5.0, 6 * (-1) ^ i] FROM generate_series(1, 10) i;
CREATE TABLE models AS
SELECT aiml.iforest(f) AS m,
       aiml.iforest(f, '{"contamination": 0.05}') AS mc,
       aiml.iforest(f, '{"extension_level": 2, "seed": 7}') AS me
FROM pts;

SELECT aiml.describe(m) FROM models;

-- the outliers get the ten highest scores, standard and extended
SELECT count(*) FILTER (WHERE id > 1000) AS outliers_in_top_10,
       round(min(s)::numeric, 3) AS lowest_top_score
FROM (SELECT id, aiml.anomaly_score(m, f) s FROM pts, models ORDER BY s DESC LIMIT 10) t;
SELECT count(*) FILTER (WHERE id > 1000) AS outliers_in_top_10_extended
FROM (SELECT id, aiml.anomaly_score(me, f) s FROM pts, models ORDER BY s DESC LIMIT 10) t;
-- scores: outliers near 1, inliers well below 0.5
SELECT id > 1000 AS outlier, round(avg(aiml.anomaly_score(m, f))::numeric, 2) AS mean_score,
       round(max(aiml.anomaly_score(m, f))::numeric, 2) AS max_score
FROM pts, models GROUP BY 1 ORDER BY 1;
SELECT round(aiml.anomaly_score(m, ARRAY[0, 0, 0])::numeric, 2) AS center,
       round(aiml.anomaly_score(m, ARRAY[50, 50, 50])::numeric, 2) AS far
FROM models;

-- is_anomaly: threshold 0.5 by default; contamination 0.05 flags about 5%
SELECT (SELECT aiml.describe(m)->>'threshold' FROM models) AS default_threshold,
       count(*) FILTER (WHERE aiml.is_anomaly(m, f) = (aiml.anomaly_score(m, f) > 0.5)) AS consistent_default,
       count(*) FILTER (WHERE aiml.is_anomaly(mc, f)) BETWEEN 35 AND 65 AS flagged_about_5_percent,
       bool_and(aiml.is_anomaly(mc, f)) FILTER (WHERE id > 1000) AS outliers_flagged
FROM pts, models;
SELECT round((aiml.describe(mc)->>'threshold')::numeric, 2) AS contamination_threshold FROM models;

-- explain names the feature that isolates a point extreme in one feature
SELECT e->'top_feature' AS top_feature,
       (SELECT array_agg(round(x::numeric, 2)) FROM jsonb_array_elements_text(e->'feature_shares') x) AS shares,
       round((e->>'score')::numeric, 2) AS score, e->'is_anomaly' AS is_anomaly
FROM (SELECT aiml.anomaly_explain(m, ARRAY[0, 9, 0]) e FROM models) s;
SELECT e->'top_feature' AS top_feature_extended
FROM (SELECT aiml.anomaly_explain(me, ARRAY[0, 0, -9]) e FROM models) s;
SELECT round(sum(x::numeric), 6) AS shares_sum
FROM models, jsonb_array_elements_text(aiml.anomaly_explain(m, ARRAY[1, 2, 3])->'feature_shares') x;
SELECT abs((aiml.anomaly_explain(m, ARRAY[1, 2, 3])->>'score')::float8 - aiml.anomaly_score(m, ARRAY[1, 2, 3])) < 1e-12 AS explain_score_matches
FROM models;

-- determinism: same seed same bytes, other seed other bytes, row order irrelevant
SELECT aiml.iforest(f)::text = (SELECT m::text FROM models) AS same_bytes FROM pts;
SELECT aiml.iforest(f, '{"seed": 43}')::text <> (SELECT m::text FROM models) AS other_seed_other_bytes FROM pts;
SELECT aiml.iforest(f ORDER BY id DESC)::text = (SELECT m::text FROM models) AS order_independent FROM pts;
SELECT aiml.iforest(f, '{"trees": 3, "sample_size": 50}' ORDER BY id DESC)::text =
       (SELECT aiml.iforest(f, '{"trees": 3, "sample_size": 50}' ORDER BY f[2])::text FROM pts)
       AS order_independent_small_pool FROM pts;

-- a parallel plan gives the same bytes as a serial one
CREATE TABLE serial AS
SELECT aiml.iforest(f)::text AS a, aiml.iforest(f, '{"trees": 2, "sample_size": 64}')::text AS b,
       aiml.iforest(f, '{"extension_level": 1}')::text AS c
FROM pts;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT aiml.iforest(f) FROM pts;
SELECT aiml.iforest(f)::text = a AS parallel_same_bytes,
       aiml.iforest(f, '{"trees": 2, "sample_size": 64}')::text = b AS parallel_same_bytes_small_pool,
       aiml.iforest(f, '{"extension_level": 1}')::text = c AS parallel_same_bytes_extended
FROM pts, serial GROUP BY a, b, c;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- per group, with fewer rows than sample_size, and the options in describe
SELECT id % 2 AS g, d->'rows' AS rows, d->'sample_used' AS sample_used, d->'max_depth' AS max_depth
FROM (SELECT id, aiml.describe(aiml.iforest(f) OVER (PARTITION BY id % 2)) d FROM pts WHERE id <= 40) s
GROUP BY 1, 2, 3, 4 ORDER BY 1;
SELECT d->'trees' AS trees, d->'sample_size' AS sample_size, d->'sample_used' AS sample_used,
       d->'max_depth' AS max_depth, d->'seed' AS seed, d->'extension_level' AS extension_level,
       round((d->>'contamination')::numeric, 3) AS contamination
FROM (SELECT aiml.describe(aiml.iforest(f, '{"trees": 5, "sample_size": 16, "max_depth": 3, "seed": 9, "contamination": 0.1}')) d FROM pts) s;
SELECT round(aiml.anomaly_score(aiml.iforest(ARRAY[1.0, 2.0]), ARRAY[5.0, 5.0])::numeric, 2) AS one_row_score;
SELECT aiml.iforest(f) IS NULL AS no_rows_no_model FROM pts WHERE false;
SELECT aiml.anomaly_score(m, NULL) AS null_features FROM models;

-- missing values: an error by default, or the sample's means
SELECT aiml.iforest(ARRAY[1, NULL, 3]::float8[]);
SELECT d->'missing' AS missing, d->'means' AS means, aiml.anomaly_score(m, ARRAY[NULL, 2]) = aiml.anomaly_score(m, ARRAY[2, 2]) AS imputed
FROM (SELECT m, aiml.describe(m) d
      FROM (SELECT aiml.iforest(f, '{"missing": "impute_mean"}') m
            FROM (VALUES (ARRAY[1, 2]::float8[]), (ARRAY[3, NULL]), (ARRAY[NULL, 2])) v(f)) s) t;
SELECT aiml.anomaly_score(m, ARRAY[NULL, 1, 2]) FROM models;

-- bad input
SELECT aiml.iforest(ARRAY['NaN', 1]::float8[]);
SELECT aiml.iforest(ARRAY[1, 'Infinity']::float8[]);
SELECT aiml.iforest(ARRAY[]::float8[]);
SELECT aiml.iforest(f) FROM (VALUES (ARRAY[1, 2]::float8[]), (ARRAY[1, 2, 3])) v(f);
SELECT aiml.anomaly_score(m, ARRAY[1, 2]) FROM models;
SELECT aiml.anomaly_score(m, ARRAY['NaN', 1, 2]::float8[]) FROM models;
SELECT aiml.anomaly_score(aiml.scaler(f), ARRAY[1, 2, 3]) FROM pts;
SELECT aiml.iforest(f, '{"sample_size": 1}') FROM pts;
SELECT aiml.iforest(f, '{"trees": 0}') FROM pts;
SELECT aiml.iforest(f, '{"trees": 10001}') FROM pts;
SELECT aiml.iforest(f, '{"contamination": 0}') FROM pts;
SELECT aiml.iforest(f, '{"contamination": 0.6}') FROM pts;
SELECT aiml.iforest(f, '{"extension_level": 3}') FROM pts;
SELECT aiml.iforest(f, '{"missing": "zero"}') FROM pts;
SELECT aiml.iforest(f, '{"tree": 10}') FROM pts;

-- corrupted and forged models
\set ECHO none
\i test/sql/forge.sql
\set ECHO all
CREATE FUNCTION wire(m aiml.model) RETURNS bytea LANGUAGE sql
    AS $$ SELECT decode(split_part(m::text, ':', 2), 'base64') $$;
SELECT aiml.anomaly_score(('iforest:' || translate(encode(set_byte(wire(m), 200, get_byte(wire(m), 200) # 1), 'base64'), E'\n', ''))::aiml.model, ARRAY[1, 2, 3])
FROM models;
SELECT forge.model('iforest', 2, forge.payload(m))::text = m::text AS forge_reproduces_checksum FROM models;
-- a tiny forest on one feature: header, means, no planes, one tree of 3 nodes
-- (sample of 2 rows: at most 3 nodes a tree; 4 rows with max_depth 1: still 3 reachable)
CREATE FUNCTION tiny(nodes bytea, sizes bytea DEFAULT forge.u32(3), nfeatures int DEFAULT 1,
                     max_depth int DEFAULT 1, sample int DEFAULT 2,
                     rows bytea DEFAULT forge.u32(2) || forge.u32(1) || forge.u32(1)) RETURNS aiml.model
LANGUAGE sql AS $$
    SELECT forge.model('iforest', 2,
        forge.u32(nfeatures) || forge.u32(1) || forge.u32(sample) || forge.u32(sample) || forge.u32(max_depth) ||
        forge.u32(0) || forge.u64(42) || forge.u32(0) || forge.f64(0) || forge.f64(0.5) ||
        forge.u64(sample) || forge.u32(sample) || forge.f64s(1, 1, 1) || forge.f64(0) ||
        forge.u32(0) || sizes || nodes || rows)
$$;
CREATE FUNCTION node(value float8, feature bigint, rightchild bigint) RETURNS bytea LANGUAGE sql
    AS $$ SELECT forge.f64(value) || forge.u32(feature) || forge.u32(rightchild) $$;
-- the well-formed one scores
SELECT round(aiml.anomaly_score(tiny(node(0.5, 0, 2) || node(1, -1, 0) || node(1, -1, 0)), ARRAY[0])::numeric, 3) AS tiny_score,
       aiml.describe(tiny(node(0.5, 0, 2) || node(1, -1, 0) || node(1, -1, 0)))->'nodes' AS tiny_nodes;
-- child index out of range, pointing backwards, or at the left child
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 3) || node(1, -1, 0) || node(1, -1, 0)), ARRAY[0]);
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 0) || node(1, -1, 0) || node(1, -1, 0)), ARRAY[0]);
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 1) || node(1, -1, 0) || node(1, -1, 0)), ARRAY[0]);
-- split feature >= nfeatures, and a negative one
SELECT aiml.anomaly_score(tiny(node(0.5, 1, 2) || node(1, -1, 0) || node(1, -1, 0)), ARRAY[0]);
SELECT aiml.anomaly_score(tiny(node(0.5, -5, 2) || node(1, -1, 0) || node(1, -1, 0)), ARRAY[0]);
-- node count larger than the payload, or than a tree on 2 rows can have
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 2) || node(1, -1, 0), forge.u32(3)), ARRAY[0]);
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 2) || node(1, -1, 0) || node(1, -1, 0), forge.u32(4000000000)), ARRAY[0]);
-- a tree deeper than max_depth
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 4) || node(0.2, 0, 3) || node(2, -1, 0) || node(2, -1, 0) || node(1, -1, 0),
       forge.u32(5), sample => 4, rows => forge.u32(4) || forge.u32(3) || forge.u32(2) || forge.u32(1) || forge.u32(1)), ARRAY[0]);
-- a node reached twice (right child shared with the left subtree); an absurd max_depth
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 3) || node(0.2, 0, 3) || node(2, -1, 0) || node(1, -1, 0),
       forge.u32(4), max_depth => 2, sample => 3, rows => forge.u32(3) || forge.u32(2) || forge.u32(1) || forge.u32(1)), ARRAY[0]);
-- row counts that do not add up, or a root that did not see the whole sample
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 2) || node(1, -1, 0) || node(1, -1, 0),
       rows => forge.u32(2) || forge.u32(1) || forge.u32(7)), ARRAY[0]);
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 2) || node(1, -1, 0) || node(1, -1, 0),
       rows => forge.u32(3) || forge.u32(2) || forge.u32(1)), ARRAY[0]);
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 2) || node(1, -1, 0) || node(1, -1, 0),
       rows => forge.u32(2) || forge.u32(1)), ARRAY[0]);
SELECT aiml.anomaly_score(tiny(node(1, -1, 0), forge.u32(1), max_depth => 1000), ARRAY[0]);
-- a non-finite leaf
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 2) || node(1, -1, 0) || node('NaN', -1, 0)), ARRAY[0]);
-- a huge feature count, and trailing bytes, and nothing at all
SELECT aiml.anomaly_score(tiny(node(1, -1, 0), forge.u32(1), nfeatures => 2000000000), ARRAY[0]);
SELECT aiml.anomaly_score(tiny(node(0.5, 0, 2) || node(1, -1, 0) || node(1, -1, 0) || '\x00'::bytea), ARRAY[0]);
SELECT aiml.anomaly_score(forge.model('iforest', 2, ''::bytea), ARRAY[0]);

DROP TABLE pts, models, serial;
DROP FUNCTION wire(aiml.model), tiny(bytea, bytea, int, int, int, bytea), node(float8, bigint, bigint);
DROP SCHEMA forge CASCADE;
