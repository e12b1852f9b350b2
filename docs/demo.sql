-- The aiml demo: run by `make demo` with psql from the project root, after
-- test/data/load.sql loaded the sample data.  Each module's part lives in its
-- folder as demo.sql.
\pset footer off
\echo
\echo '=== aiml demo: sample data ==='
SELECT endpoint, count(*) AS hours, min(ts) AS first, max(ts) AS last
FROM model_metrics GROUP BY endpoint ORDER BY endpoint;

\ir ../src/core/demo.sql
\ir ../src/anomaly/demo.sql
\ir ../src/forecast/demo.sql
\ir ../src/extract/demo.sql
\ir ../src/ingest/demo.sql

