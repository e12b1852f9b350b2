-- Per-call costs: the planner runs cheap conditions before aiml's expensive
-- functions in the same WHERE clause (with COST 1, the default for C
-- functions, it kept the written order and ran grok on every row).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

SELECT p.oid::regprocedure AS function, p.procost
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'aiml'
WHERE p.procost > 1 AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
ORDER BY 1::text;

CREATE TEMP TABLE cost_lines AS
SELECT g AS id, 'GET /v1/models/m' || g || ' 200' AS line
FROM generate_series(1, 100) g;
ANALYZE cost_lines;
EXPLAIN (COSTS OFF)
SELECT id FROM cost_lines WHERE aiml.grok(line, '%{WORD:verb} %{URIPATH:path}') IS NOT NULL AND id = 3;
EXPLAIN (COSTS OFF)
SELECT id FROM cost_lines
WHERE EXISTS (SELECT FROM aiml.extract_entities(line, ARRAY['IP']) e) AND id < 5;
EXPLAIN (COSTS OFF)
SELECT id FROM cost_lines WHERE aiml.regex_extract(line, '(?<code>\d{3})$') ->> 'code' = '200' AND id = 7;
DROP TABLE cost_lines;
