-- aiml 0.1.0 -> 0.2.0 (ALTER EXTENSION aiml UPDATE TO '0.2.0').
-- Every change to the SQL of src/*/*.sql since 0.1.0, in the same order;
-- sql/core_upgrade.sql checks that an upgraded database equals a fresh one.
\echo Use "ALTER EXTENSION aiml UPDATE TO '0.2.0'" to load this file. \quit

-- ingest: an error inside set_metric_source_secret logs no STATEMENT line
ALTER FUNCTION aiml.set_metric_source_secret(text, text)
    SECURITY DEFINER SET log_min_error_statement = panic;

-- extract, anomaly: per-call costs, so the planner runs cheap conditions first
ALTER FUNCTION aiml.regex_extract(text, text, text) COST 100;
ALTER FUNCTION aiml.regex_extract_all(text, text, text) COST 100;
ALTER FUNCTION aiml.regex_to_record(anyelement, text, text, text) COST 100;
ALTER FUNCTION aiml.grok(text, text) COST 100;
ALTER FUNCTION aiml.extract_kv(text, jsonb) COST 100;
ALTER FUNCTION aiml.ner(aiml.model, text) COST 1000;
ALTER FUNCTION aiml.anomaly_score(aiml.model, float8[]) COST 100;
ALTER FUNCTION aiml.is_anomaly(aiml.model, float8[]) COST 100;
ALTER FUNCTION aiml.anomaly_explain(aiml.model, float8[]) COST 100;

-- forecast: an lstm model forecasts from a history the caller passes
CREATE FUNCTION aiml.forecast(model aiml.model, horizon int, history float8[])
RETURNS TABLE (step int, ts timestamptz, yhat float8, lo_80 float8, hi_80 float8,
               lo_95 float8, hi_95 float8)
    AS 'MODULE_PATHNAME', 'aiml_lstm_forecast_history' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 24;
COMMENT ON FUNCTION aiml.forecast(aiml.model, int, float8[]) IS
    'the next horizon values after a history (oldest first) from an lstm model, for a series it never saw or fresher data; ts is NULL';

-- extract: extract_entities takes the ner model it runs (default: the English
-- one, NULL: none, so PERSON, ORG and LOCATION come from rules and gazetteer);
-- a new argument changes the signature, so the function is created anew
DROP FUNCTION aiml.extract_entities(text, text[], timestamptz);
CREATE FUNCTION aiml.extract_entities(string text, labels text[] DEFAULT NULL,
                                      reference timestamptz DEFAULT NULL,
                                      model aiml.model DEFAULT aiml.ner_default_model(),
                                      OUT label text, OUT text text, OUT normalized text,
                                      OUT start_pos int, OUT end_pos int, OUT score float8)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'aiml_extract_entities' LANGUAGE C STABLE PARALLEL SAFE
    COST 1000 ROWS 10;
COMMENT ON FUNCTION aiml.extract_entities(text, text[], timestamptz, aiml.model) IS
    'entities of string from rules (EMAIL, URL, IP, PHONE, DATE, TIME, MONEY, PERCENT, QUANTITY, UUID, CREDIT_CARD, PERSON/ORG/LOCATION cues and gazetteer) and a ner model (default: the English one; NULL: none); overlaps resolved longest span first, then label priority; 1-based character positions, end exclusive';
