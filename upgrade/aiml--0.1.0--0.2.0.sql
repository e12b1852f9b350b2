-- aiml 0.1.0 -> 0.2.0 (ALTER EXTENSION aiml UPDATE TO '0.2.0').
-- Every change to the SQL of src/*/*.sql since 0.1.0, in the same order;
-- sql/core_upgrade.sql checks that an upgraded database equals a fresh one.
\echo Use "ALTER EXTENSION aiml UPDATE TO '0.2.0'" to load this file. \quit

-- ingest: an error inside set_metric_source_secret logs no STATEMENT line
ALTER FUNCTION aiml.set_metric_source_secret(text, text)
    SECURITY DEFINER SET log_min_error_statement = panic;
