-- aiml 0.1.0 as released, frozen: the base script of CREATE EXTENSION aiml VERSION '0.1.0' (upgrade with ALTER EXTENSION aiml UPDATE). Never edit it.
\echo Use "CREATE EXTENSION aiml" to load this file. \quit

-- ---- src/core/core.sql ----
-- core: the aiml.model type, describe, named models, and the scaler kind.

CREATE SCHEMA aiml;
COMMENT ON SCHEMA aiml IS 'aiml: forecasting, anomaly detection, text extraction, model resource usage';
GRANT USAGE ON SCHEMA aiml TO PUBLIC;

CREATE TYPE aiml.model;

CREATE FUNCTION aiml.model_in(cstring) RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_model_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION aiml.model_out(aiml.model) RETURNS cstring
    AS 'MODULE_PATHNAME', 'aiml_model_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION aiml.model_recv(internal) RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_model_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION aiml.model_send(aiml.model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'aiml_model_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE aiml.model (
    INPUT = aiml.model_in,
    OUTPUT = aiml.model_out,
    RECEIVE = aiml.model_recv,
    SEND = aiml.model_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE aiml.model IS 'a trained model: kind, format version, checksum and payload; text form "kind:base64"';

CREATE FUNCTION aiml.describe(model aiml.model) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'aiml_describe' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.describe(aiml.model) IS 'what a model is: kind, size and the parameters it learned';

CREATE FUNCTION aiml.model_kind(model aiml.model) RETURNS text
    AS 'MODULE_PATHNAME', 'aiml_model_kind' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.model_kind(aiml.model) IS 'the kind of a model, e.g. scaler or iforest';

-- Named models.  Everyone may read them; a row can be changed only by the role
-- that saved it (row level security), or by the table's owner.
CREATE TABLE aiml.models (
    name        text PRIMARY KEY CHECK (name <> ''),
    kind        text NOT NULL GENERATED ALWAYS AS (aiml.model_kind(model)) STORED,
    model       aiml.model NOT NULL,
    owner       name NOT NULL DEFAULT current_user,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE aiml.models IS 'named models, saved with aiml.save_model and read with aiml.load_model';
ALTER TABLE aiml.models ENABLE ROW LEVEL SECURITY;
CREATE POLICY models_read ON aiml.models FOR SELECT USING (true);
CREATE POLICY models_write ON aiml.models FOR ALL
    USING (owner = current_user) WITH CHECK (owner = current_user);
GRANT SELECT, INSERT, UPDATE, DELETE ON aiml.models TO PUBLIC;
-- pg_dump dumps the rows users saved, not only the table definition
SELECT pg_catalog.pg_extension_config_dump('aiml.models', '');

CREATE FUNCTION aiml.save_model(name text, model aiml.model) RETURNS aiml.model
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF save_model.name = '' THEN
        RAISE EXCEPTION 'a model name cannot be empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name models like tables, e.g. ''orders_iforest''.';
    END IF;
    INSERT INTO aiml.models AS m (name, model) VALUES (save_model.name, save_model.model)
    ON CONFLICT ON CONSTRAINT models_pkey
    DO UPDATE SET model = EXCLUDED.model, updated_at = now();
    RETURN save_model.model;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'model "%" belongs to another role', save_model.name
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Save it under another name, or ask its owner to drop it.';
END
$$;
COMMENT ON FUNCTION aiml.save_model(text, aiml.model) IS 'store a model under a name, replacing an older model of that name';

CREATE FUNCTION aiml.load_model(name text) RETURNS aiml.model
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result aiml.model;
BEGIN
    SELECT m.model INTO result FROM aiml.models m WHERE m.name = load_model.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', load_model.name
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name, kind FROM aiml.models lists the saved models.';
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION aiml.load_model(text) IS 'the model saved under a name';

CREATE FUNCTION aiml.drop_model(name text) RETURNS boolean
    LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH gone AS (DELETE FROM aiml.models m WHERE m.name = drop_model.name RETURNING 1)
    SELECT count(*) > 0 FROM gone
$$;
COMMENT ON FUNCTION aiml.drop_model(text) IS 'delete a saved model; false when there was none of that name';

-- the state of every aggregate over a time series (core/series.c)
CREATE FUNCTION aiml.series_accum(internal, timestamptz, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_series_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION aiml.series_accum(internal, timestamptz, float8, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_series_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.series_accum(internal, timestamptz, float8) IS 'transition function of the time-series aggregates (forecasting, detect_anomalies): collects (ts, value)';
COMMENT ON FUNCTION aiml.series_accum(internal, timestamptz, float8, jsonb) IS 'transition function of the time-series aggregates: collects (ts, value) and the options';
CREATE FUNCTION aiml.series_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_series_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.series_combine(internal, internal) IS 'combine function of the time-series aggregates: concatenates partial series';
CREATE FUNCTION aiml.series_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'aiml_series_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.series_serialize(internal) IS 'serialize function of the time-series aggregates';
CREATE FUNCTION aiml.series_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_series_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.series_deserialize(bytea, internal) IS 'deserialize function of the time-series aggregates';

-- scaler: per-feature standardization, the reference model kind
CREATE FUNCTION aiml.scaler_accum(internal, float8[]) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_scaler_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION aiml.scaler_accum(internal, float8[], jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_scaler_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION aiml.scaler_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_scaler_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION aiml.scaler_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'aiml_scaler_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION aiml.scaler_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_scaler_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION aiml.scaler_final(internal) RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_scaler_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE aiml.scaler(features float8[]) (
    SFUNC = aiml.scaler_accum, STYPE = internal,
    COMBINEFUNC = aiml.scaler_combine,
    SERIALFUNC = aiml.scaler_serialize, DESERIALFUNC = aiml.scaler_deserialize,
    FINALFUNC = aiml.scaler_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.scaler(float8[]) IS 'learn per-feature mean and standard deviation (a scaler model)';

CREATE AGGREGATE aiml.scaler(features float8[], options jsonb) (
    SFUNC = aiml.scaler_accum, STYPE = internal,
    COMBINEFUNC = aiml.scaler_combine,
    SERIALFUNC = aiml.scaler_serialize, DESERIALFUNC = aiml.scaler_deserialize,
    FINALFUNC = aiml.scaler_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.scaler(float8[], jsonb) IS 'learn per-feature location and scale; options: {"method": "standard" | "minmax"}';

CREATE FUNCTION aiml.scale(model aiml.model, features float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'aiml_scale' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.scale(aiml.model, float8[]) IS 'standardize features with a scaler model';

CREATE FUNCTION aiml.unscale(model aiml.model, features float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'aiml_unscale' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.unscale(aiml.model, float8[]) IS 'undo aiml.scale: map standardized values back to the original units';

-- ---- src/anomaly/anomaly.sql ----
-- anomaly: isolation forests (aiml.iforest) and their scoring functions.

CREATE FUNCTION aiml.iforest_accum(internal, float8[]) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_iforest_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.iforest_accum(internal, float8[]) IS 'state function of aiml.iforest: keeps a bounded, order-independent sample of the rows';
CREATE FUNCTION aiml.iforest_accum(internal, float8[], jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_iforest_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.iforest_accum(internal, float8[], jsonb) IS 'state function of aiml.iforest with options';
CREATE FUNCTION aiml.iforest_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_iforest_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.iforest_combine(internal, internal) IS 'combine function of aiml.iforest: merges two samples';
CREATE FUNCTION aiml.iforest_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'aiml_iforest_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.iforest_serialize(internal) IS 'serial function of aiml.iforest';
CREATE FUNCTION aiml.iforest_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_iforest_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.iforest_deserialize(bytea, internal) IS 'deserial function of aiml.iforest';
CREATE FUNCTION aiml.iforest_final(internal) RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_iforest_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.iforest_final(internal) IS 'final function of aiml.iforest: grows the trees';

CREATE AGGREGATE aiml.iforest(features float8[]) (
    SFUNC = aiml.iforest_accum, STYPE = internal,
    COMBINEFUNC = aiml.iforest_combine,
    SERIALFUNC = aiml.iforest_serialize, DESERIALFUNC = aiml.iforest_deserialize,
    FINALFUNC = aiml.iforest_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.iforest(float8[]) IS 'train an isolation forest (100 trees, samples of 256 rows, seed 42)';

CREATE AGGREGATE aiml.iforest(features float8[], options jsonb) (
    SFUNC = aiml.iforest_accum, STYPE = internal,
    COMBINEFUNC = aiml.iforest_combine,
    SERIALFUNC = aiml.iforest_serialize, DESERIALFUNC = aiml.iforest_deserialize,
    FINALFUNC = aiml.iforest_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.iforest(float8[], jsonb) IS 'train an isolation forest; options: trees, sample_size, max_depth, seed, contamination, extension_level, missing';

CREATE FUNCTION aiml.anomaly_score(model aiml.model, features float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_anomaly_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.anomaly_score(aiml.model, float8[]) IS 'isolation forest anomaly score in (0, 1]: near 1 is anomalous, well below 0.5 is normal';

CREATE FUNCTION aiml.is_anomaly(model aiml.model, features float8[]) RETURNS boolean
    AS 'MODULE_PATHNAME', 'aiml_is_anomaly' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.is_anomaly(aiml.model, float8[]) IS 'whether the anomaly score is above the model''s threshold (0.5, or set by the contamination option)';

CREATE FUNCTION aiml.anomaly_explain(model aiml.model, features float8[]) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'aiml_anomaly_explain' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.anomaly_explain(aiml.model, float8[]) IS 'score, path length and each feature''s share of the splits that isolated the row';

-- time-series detectors (detect.c)
CREATE TYPE aiml.anomaly_point AS (ts timestamptz, value float8, expected float8, score float8, anomaly boolean);
COMMENT ON TYPE aiml.anomaly_point IS 'a point of a series as a detector saw it: its value, the expected value, a robust z-like score and the verdict';

CREATE FUNCTION aiml.detect_anomalies_final(internal) RETURNS aiml.anomaly_point[]
    AS 'MODULE_PATHNAME', 'aiml_detect_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.detect_anomalies_final(internal) IS 'final function of aiml.detect_anomalies: orders the series and runs the detector';

CREATE AGGREGATE aiml.detect_anomalies(ts timestamptz, value float8) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.detect_anomalies_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.detect_anomalies(timestamptz, float8) IS 'the anomalous points of a time series (seasonal hybrid ESD, or a rolling robust z-score for short series)';
CREATE AGGREGATE aiml.detect_anomalies(ts timestamptz, value float8, options jsonb) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.detect_anomalies_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.detect_anomalies(timestamptz, float8, jsonb) IS 'the anomalous points of a time series; options: method, window, threshold, season, alpha, max_anomalies, all';

CREATE FUNCTION aiml.robust_zscore_accum(internal, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'aiml_robust_zscore_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.robust_zscore_accum(internal, float8) IS 'state function of aiml.robust_zscore';
CREATE FUNCTION aiml.robust_zscore_final(internal) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_robust_zscore_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.robust_zscore_final(internal) IS 'final function of aiml.robust_zscore';
CREATE AGGREGATE aiml.robust_zscore(value float8) (
    SFUNC = aiml.robust_zscore_accum, STYPE = internal,
    FINALFUNC = aiml.robust_zscore_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.robust_zscore(float8) IS 'as a window function over (ORDER BY ts ROWS BETWEEN n PRECEDING AND CURRENT ROW): the current value against the median and MAD of the rows before it';

-- ---- src/extract/extract.sql ----
-- extract: text to rows with regular expressions (PCRE2), grok patterns and
-- key=value pairs; entities (entities.c) and the NER tagger (ner.c) at the end.

-- The regex functions depend only on their arguments (aiml.regex_match_limit
-- can turn a result into an error, never into another result), so they are
-- IMMUTABLE and can back expression indexes and generated columns.
CREATE FUNCTION aiml.regex_extract(string text, pattern text, flags text DEFAULT '')
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'aiml_regex_extract' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.regex_extract(text, text, text) IS
    'named groups of the first PCRE2 match as a jsonb object (groups "1", "2"... when none is named), NULL when nothing matches';

CREATE FUNCTION aiml.regex_extract_all(string text, pattern text, flags text DEFAULT '')
    RETURNS SETOF jsonb
    AS 'MODULE_PATHNAME', 'aiml_regex_extract_all' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    ROWS 10;
COMMENT ON FUNCTION aiml.regex_extract_all(text, text, text) IS
    'named groups of every PCRE2 match, one jsonb row per match, left to right';

-- STABLE: jsonb_populate_record runs the columns' input functions, some of
-- which read settings (timestamptz and TimeZone).  Not STRICT: the first
-- argument is usually NULL::some_type.
CREATE FUNCTION aiml.regex_to_record(base anyelement, string text, pattern text, flags text DEFAULT '')
    RETURNS anyelement
    AS 'MODULE_PATHNAME', 'aiml_regex_to_record' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.regex_to_record(anyelement, text, text, text) IS
    'the first PCRE2 match filled into a row of the type of base, named groups to columns as jsonb_populate_record does; NULL when nothing matches';

-- Users' grok patterns: they extend the shipped library and override it.
CREATE TABLE aiml.grok_patterns (
    name        text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_]{1,63}$'),
    pattern     text NOT NULL,
    description text
);
COMMENT ON TABLE aiml.grok_patterns IS
    'grok patterns of this database, used by aiml.grok before the shipped library (same name: this one wins)';
GRANT SELECT ON aiml.grok_patterns TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('aiml.grok_patterns', '');

-- STABLE: it reads aiml.grok_patterns.
CREATE FUNCTION aiml.grok(string text, pattern text)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'aiml_grok' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.grok(text, text) IS
    'Logstash grok: %{SYNTAX:field:int|float} references expanded from aiml.grok_patterns and the shipped library; the first match''s fields as jsonb, NULL when nothing matches';

CREATE FUNCTION aiml.grok_library(OUT name text, OUT pattern text, OUT source text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'aiml_grok_library' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.grok_library() IS
    'the grok patterns shipped with aiml (name, definition, file), before the overrides in aiml.grok_patterns';

CREATE FUNCTION aiml.extract_kv(string text, options jsonb DEFAULT '{}')
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'aiml_extract_kv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.extract_kv(text, jsonb) IS
    'key=value and key: value pairs (quoted values with backslash escapes) as a jsonb object of strings; options pair_sep, kv_sep';

-- ---- trainable named-entity recognition (ner.c) ----

-- Training runs the caller's query, so it is VOLATILE and PARALLEL UNSAFE.
CREATE FUNCTION aiml.ner_train(query text, options jsonb DEFAULT '{}')
    RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_ner_train' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION aiml.ner_train(text, jsonb) IS
    'trains a named-entity tagger (averaged structured perceptron) on the rows (text, annotations jsonb) of query; annotations are [{"label", "start", "end"}] with 1-based character positions, end exclusive; options epochs, seed, labels, hash_bits, gazetteer';

CREATE FUNCTION aiml.ner_train_conll(query text, options jsonb DEFAULT '{}')
    RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_ner_train_conll' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION aiml.ner_train_conll(text, jsonb) IS
    'trains a named-entity tagger on pre-tokenized CoNLL-style rows (document, position, token, tag) with BIO (or IOB1) tags; options as for aiml.ner_train';

-- STABLE: a model trained with gazetteer features reads the installed
-- gazetteer files, which an upgrade of aiml may change.
CREATE FUNCTION aiml.ner(model aiml.model, string text,
                         OUT label text, OUT text text, OUT normalized text,
                         OUT start_pos int, OUT end_pos int, OUT score float8)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'aiml_ner' LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION aiml.ner(aiml.model, text) IS
    'entities a ner model finds in string: label, text, normalized text, 1-based character positions (end exclusive) and a confidence in 0..1';

CREATE FUNCTION aiml.ner_evaluate(model aiml.model, query text,
                                  OUT label text, OUT "precision" float8, OUT recall float8,
                                  OUT f1 float8, OUT support bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'aiml_ner_evaluate' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION aiml.ner_evaluate(aiml.model, text) IS
    'entity-level precision, recall, F1 and support per label of a ner model on labelled rows (either training form), then the micro average in a row with label NULL';

CREATE FUNCTION aiml.ner_default_model()
    RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_ner_default_model' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.ner_default_model() IS
    'the English PERSON/ORG/LOCATION model shipped with aiml (used by aiml.extract_entities), as a value to describe, evaluate or compare';

-- ---- entities (entities.c) ----

-- STABLE: relative dates default to the transaction's start time and follow
-- the session's TimeZone, and the default model and gazetteer are data files.
-- Not STRICT: NULL labels means every label, a NULL reference means now.
CREATE FUNCTION aiml.extract_entities(string text, labels text[] DEFAULT NULL,
                                      reference timestamptz DEFAULT NULL,
                                      OUT label text, OUT text text, OUT normalized text,
                                      OUT start_pos int, OUT end_pos int, OUT score float8)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'aiml_extract_entities' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION aiml.extract_entities(text, text[], timestamptz) IS
    'entities of string from rules (EMAIL, URL, IP, PHONE, DATE, TIME, MONEY, PERCENT, QUANTITY, UUID, CREDIT_CARD, PERSON/ORG/LOCATION cues and gazetteer) and the default English NER model; overlaps resolved longest span first, then label priority; 1-based character positions, end exclusive';

-- ---- src/forecast/forecast.sql ----
-- forecast: ETS, Theta and baseline models over (ts, value), aiml.forecast,
-- decomposition, strength, sparklines, accuracy.  See docs/forecast.md.

-- training aggregates: the state is the series; combine concatenates, the
-- final function sorts, regularizes and fits
CREATE FUNCTION aiml.ets_final(internal) RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_ets_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.ets_final(internal) IS 'final function of aiml.ets: fits and selects the ETS model';
CREATE FUNCTION aiml.theta_final(internal) RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_theta_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.theta_final(internal) IS 'final function of aiml.theta: fits the Theta method';
CREATE FUNCTION aiml.baseline_final(internal) RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_baseline_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.baseline_final(internal) IS 'final function of aiml.baseline: fits naive, seasonal naive or drift';

CREATE AGGREGATE aiml.ets(ts timestamptz, value float8) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.ets_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.ets(timestamptz, float8) IS 'fit an ETS model, chosen by AICc among all admissible ones, to a time series';
CREATE AGGREGATE aiml.ets(ts timestamptz, value float8, options jsonb) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.ets_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.ets(timestamptz, float8, jsonb) IS 'fit an ETS model to a time series; options: season, model ("ZZZ", "AAdA"...), damped, levels, seed, simulations, max_gap_fraction';

CREATE AGGREGATE aiml.theta(ts timestamptz, value float8) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.theta_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.theta(timestamptz, float8) IS 'fit the Theta method (SES with drift, seasonally adjusted when the data is seasonal) to a time series';
CREATE AGGREGATE aiml.theta(ts timestamptz, value float8, options jsonb) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.theta_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.theta(timestamptz, float8, jsonb) IS 'fit the Theta method to a time series; options: season, levels, max_gap_fraction';

CREATE AGGREGATE aiml.baseline(ts timestamptz, value float8) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.baseline_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.baseline(timestamptz, float8) IS 'a seasonal naive model of a time series, the baseline to compare forecasts with';
CREATE AGGREGATE aiml.baseline(ts timestamptz, value float8, options jsonb) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.baseline_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.baseline(timestamptz, float8, jsonb) IS 'a baseline model of a time series; options: method ("naive", "snaive", "drift"), season, levels, max_gap_fraction';

-- forecasting
CREATE FUNCTION aiml.forecast(model aiml.model, horizon int)
RETURNS TABLE(step int, ts timestamptz, yhat float8, lo_80 float8, hi_80 float8,
              lo_95 float8, hi_95 float8, intervals jsonb)
    AS 'MODULE_PATHNAME', 'aiml_forecast_model' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 24;
COMMENT ON FUNCTION aiml.forecast(aiml.model, int) IS 'forecast horizon steps from a forecasting model (ets, theta, baseline, or a one-series lstm), with 80% and 95% intervals and every further level the model was trained with in intervals';

CREATE FUNCTION aiml.forecast(series float8[], horizon int, method text DEFAULT 'auto', season int DEFAULT NULL)
RETURNS TABLE(step int, ts timestamptz, yhat float8, lo_80 float8, hi_80 float8,
              lo_95 float8, hi_95 float8, intervals jsonb)
    AS 'MODULE_PATHNAME', 'aiml_forecast_values' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 24;
COMMENT ON FUNCTION aiml.forecast(float8[], int, text, int) IS 'forecast a series given as an array; method auto (backtested combination), ets, theta, naive, snaive or drift; season detected when NULL';

-- insight
CREATE FUNCTION aiml.decompose(series float8[], season int DEFAULT NULL, multiplicative boolean DEFAULT false)
RETURNS TABLE(i int, observed float8, trend float8, seasonal float8, remainder float8)
    AS 'MODULE_PATHNAME', 'aiml_decompose' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.decompose(float8[], int, boolean) IS 'classical decomposition of a series into trend (centred moving average), seasonal and remainder';

CREATE FUNCTION aiml.strength(series float8[], season int DEFAULT NULL,
                              OUT season_length int, OUT trend_strength float8, OUT seasonal_strength float8)
    AS 'MODULE_PATHNAME', 'aiml_strength' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.strength(float8[], int) IS 'season length and the strength (0..1) of trend and season (Wang, Smith & Hyndman)';

CREATE FUNCTION aiml.detect_season(series float8[]) RETURNS int
    AS 'MODULE_PATHNAME', 'aiml_detect_season' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.detect_season(float8[]) IS 'the season length of a series from its autocorrelation; 1 when it has none';

CREATE FUNCTION aiml.sparkline(series float8[]) RETURNS text
    AS 'MODULE_PATHNAME', 'aiml_sparkline' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.sparkline(float8[]) IS 'a series as a line of Unicode blocks, NULLs as spaces';

-- accuracy
CREATE FUNCTION aiml.accuracy_accum(float8[], float8, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'aiml_accuracy_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.accuracy_accum(float8[], float8, float8) IS 'transition function of the accuracy aggregates';
CREATE FUNCTION aiml.mase_accum(float8[], float8, float8, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'aiml_mase_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mase_accum(float8[], float8, float8, float8) IS 'transition function of aiml.mase';
CREATE FUNCTION aiml.accuracy_combine(float8[], float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'aiml_accuracy_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.accuracy_combine(float8[], float8[]) IS 'combine function of the accuracy aggregates';
CREATE FUNCTION aiml.mae_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_mae_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mae_final(float8[]) IS 'final function of aiml.mae';
CREATE FUNCTION aiml.rmse_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_rmse_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.rmse_final(float8[]) IS 'final function of aiml.rmse';
CREATE FUNCTION aiml.mape_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_mape_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mape_final(float8[]) IS 'final function of aiml.mape';
CREATE FUNCTION aiml.smape_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_smape_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.smape_final(float8[]) IS 'final function of aiml.smape';
CREATE FUNCTION aiml.mase_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_mase_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mase_final(float8[]) IS 'final function of aiml.mase';

CREATE AGGREGATE aiml.mae(actual float8, predicted float8) (
    SFUNC = aiml.accuracy_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0}',
    COMBINEFUNC = aiml.accuracy_combine, FINALFUNC = aiml.mae_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE aiml.mae(float8, float8) IS 'mean absolute error of forecasts';
CREATE AGGREGATE aiml.rmse(actual float8, predicted float8) (
    SFUNC = aiml.accuracy_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0}',
    COMBINEFUNC = aiml.accuracy_combine, FINALFUNC = aiml.rmse_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE aiml.rmse(float8, float8) IS 'root mean squared error of forecasts';
CREATE AGGREGATE aiml.mape(actual float8, predicted float8) (
    SFUNC = aiml.accuracy_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0}',
    COMBINEFUNC = aiml.accuracy_combine, FINALFUNC = aiml.mape_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE aiml.mape(float8, float8) IS 'mean absolute percentage error of forecasts (rows with actual = 0 left out)';
CREATE AGGREGATE aiml.smape(actual float8, predicted float8) (
    SFUNC = aiml.accuracy_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0}',
    COMBINEFUNC = aiml.accuracy_combine, FINALFUNC = aiml.smape_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE aiml.smape(float8, float8) IS 'symmetric mean absolute percentage error of forecasts, 0..200 (M4 definition)';
CREATE AGGREGATE aiml.mase(actual float8, predicted float8, scale float8) (
    SFUNC = aiml.mase_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0}',
    COMBINEFUNC = aiml.accuracy_combine, FINALFUNC = aiml.mase_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE aiml.mase(float8, float8, float8) IS 'mean absolute scaled error: MAE divided by scale, the in-sample seasonal naive MAE (aiml.mase_scale)';

CREATE FUNCTION aiml.mase_scale(series float8[], season int DEFAULT 1) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_mase_scale_values' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mase_scale(float8[], int) IS 'in-sample MAE of the seasonal naive forecast of a training series: the scale of MASE';
CREATE FUNCTION aiml.mase_scale(model aiml.model) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_mase_scale_model' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mase_scale(aiml.model) IS 'the MASE scale of the series a forecasting model was fitted to (seasonal naive MAE at its season length)';

-- ---- src/forecast/forecast_lstm.sql ----
-- forecast, LSTM part: aiml.lstm_train, the global-model form of
-- aiml.forecast and the gradient-check diagnostic (C in lstm*.c).

CREATE FUNCTION aiml.lstm_train(query text, options jsonb DEFAULT '{}') RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_lstm_train' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION aiml.lstm_train(text, jsonb) IS
    'train an LSTM forecaster on the rows (series text, ts timestamptz, value float8) of a query; options: layers, hidden, window, horizon, epochs, batch, learning_rate, patience, seed, clip, validation, calendar, normalize, threads';

CREATE FUNCTION aiml.forecast(model aiml.model, horizon int, series text)
RETURNS TABLE (step int, ts timestamptz, yhat float8, lo_80 float8, hi_80 float8,
               lo_95 float8, hi_95 float8)
    AS 'MODULE_PATHNAME', 'aiml_lstm_forecast_series' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 24;
COMMENT ON FUNCTION aiml.forecast(aiml.model, int, text) IS
    'the next horizon values of one series of a global (lstm) model, with 80% and 95% intervals; series NULL means the model''s only series';

CREATE FUNCTION aiml.lstm_gradient_check(seed int) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_lstm_gradient_check' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.lstm_gradient_check(int) IS
    'diagnostic: largest relative difference between the LSTM backward pass and finite differences on a tiny random network (about 1e-9 when correct)';

-- ---- src/ingest/ingest.sql ----
-- ingest: resource metrics of deployed models, pulled into tables by a
-- background worker.  Managing sources is for the extension owner (and the
-- roles it grants EXECUTE to): a source makes the server fetch URLs.

CREATE TABLE aiml.metric_sources (
    name        text PRIMARY KEY CHECK (name <> ''),
    provider    text NOT NULL CHECK (provider IN ('prometheus', 'cloudwatch', 'gcp', 'azure')),
    config      jsonb NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE aiml.metric_sources IS 'where the ingestion worker pulls metrics from; managed with aiml.add_metric_source and friends';

-- Secrets (bearer tokens, passwords): no grant to anyone, so only the
-- extension owner (and superusers) can read them.
CREATE TABLE aiml.metric_source_secrets (
    source      text PRIMARY KEY REFERENCES aiml.metric_sources (name) ON DELETE CASCADE ON UPDATE CASCADE,
    secret      text NOT NULL
);
COMMENT ON TABLE aiml.metric_source_secrets IS 'tokens and passwords of metric sources; readable only by the extension owner';
REVOKE ALL ON aiml.metric_source_secrets FROM PUBLIC;

CREATE TABLE aiml.metric_source_state (
    source                text PRIMARY KEY REFERENCES aiml.metric_sources (name) ON DELETE CASCADE ON UPDATE CASCADE,
    watermark             timestamptz,
    last_attempt          timestamptz,
    last_success          timestamptz,
    last_error            text,
    consecutive_failures  int NOT NULL DEFAULT 0,
    next_attempt          timestamptz,
    samples_total         bigint NOT NULL DEFAULT 0,
    last_samples          bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE aiml.metric_source_state IS 'per source: what was ingested up to when, and how the last attempts went (written by the worker)';

CREATE TABLE aiml.metric_series (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      text NOT NULL REFERENCES aiml.metric_sources (name) ON DELETE CASCADE ON UPDATE CASCADE,
    metric      text NOT NULL,
    resource    text NOT NULL,
    labels      jsonb NOT NULL DEFAULT '{}',
    unit        text,
    UNIQUE (source, metric, resource, labels)
);
COMMENT ON TABLE aiml.metric_series IS 'one row per ingested series: source, metric name, resource (model, endpoint, instance) and labels';

CREATE TABLE aiml.metric_samples (
    series_id   bigint NOT NULL REFERENCES aiml.metric_series (id) ON DELETE CASCADE,
    ts          timestamptz NOT NULL,
    value       float8 NOT NULL,
    PRIMARY KEY (series_id, ts)
);
CREATE INDEX metric_samples_ts ON aiml.metric_samples (ts);
COMMENT ON TABLE aiml.metric_samples IS 'ingested samples; (series_id, ts) is unique, so re-reading a window never duplicates';

SELECT pg_catalog.pg_extension_config_dump('aiml.metric_sources', '');
SELECT pg_catalog.pg_extension_config_dump('aiml.metric_source_secrets', '');

-- Hourly prices a user fills in, and which instances serve which model.
CREATE TABLE aiml.instance_prices (
    instance_type  text PRIMARY KEY,
    usd_per_hour   numeric NOT NULL CHECK (usd_per_hour >= 0)
);
COMMENT ON TABLE aiml.instance_prices IS 'hourly price per instance type, filled by the user; used by aiml.model_cost';
CREATE TABLE aiml.model_deployments (
    source          text NOT NULL,
    resource        text NOT NULL,
    instance_type   text NOT NULL REFERENCES aiml.instance_prices (instance_type),
    instance_count  int NOT NULL DEFAULT 1 CHECK (instance_count > 0),
    PRIMARY KEY (source, resource)
);
COMMENT ON TABLE aiml.model_deployments IS 'which instance type (and how many) serves each resource, filled by the user; used by aiml.model_cost';
SELECT pg_catalog.pg_extension_config_dump('aiml.instance_prices', '');
SELECT pg_catalog.pg_extension_config_dump('aiml.model_deployments', '');

CREATE FUNCTION aiml.validate_metric_source(provider text, config jsonb) RETURNS void
    AS 'MODULE_PATHNAME', 'aiml_validate_metric_source' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.validate_metric_source(text, jsonb) IS 'raise an error naming what is wrong with a metric source config';

CREATE FUNCTION aiml.metric_sources_validate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM aiml.validate_metric_source(NEW.provider, NEW.config);
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION aiml.metric_sources_validate() IS 'trigger: a source row always holds a valid config';
CREATE TRIGGER validate BEFORE INSERT OR UPDATE ON aiml.metric_sources
    FOR EACH ROW EXECUTE FUNCTION aiml.metric_sources_validate();

CREATE FUNCTION aiml.wake_ingest_worker() RETURNS trigger
    AS 'MODULE_PATHNAME', 'aiml_wake_ingest_worker' LANGUAGE C;
COMMENT ON FUNCTION aiml.wake_ingest_worker() IS 'trigger: wake the ingestion worker when the transaction commits';
CREATE TRIGGER wake AFTER INSERT OR UPDATE OR DELETE ON aiml.metric_sources
    FOR EACH STATEMENT EXECUTE FUNCTION aiml.wake_ingest_worker();
CREATE TRIGGER wake AFTER INSERT OR UPDATE OR DELETE ON aiml.metric_source_secrets
    FOR EACH STATEMENT EXECUTE FUNCTION aiml.wake_ingest_worker();

CREATE FUNCTION aiml.ingest_worker_pid() RETURNS int
    AS 'MODULE_PATHNAME', 'aiml_ingest_worker_pid' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.ingest_worker_pid() IS 'process id of the ingestion worker, NULL when it is not running';

CREATE FUNCTION aiml.add_metric_source(name text, provider text, config jsonb, enabled boolean DEFAULT true)
RETURNS void LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO aiml.metric_sources (name, provider, config, enabled) VALUES (name, provider, config, enabled);
    -- a new source is due at once
    INSERT INTO aiml.metric_source_state (source, next_attempt) VALUES (name, now());
$$;
COMMENT ON FUNCTION aiml.add_metric_source(text, text, jsonb, boolean) IS 'add a metric source (provider prometheus, gcp or azure; cloudwatch planned); the config is validated';

CREATE FUNCTION aiml.alter_metric_source(name text, config jsonb)
RETURNS void LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE aiml.metric_sources s SET config = alter_metric_source.config WHERE s.name = alter_metric_source.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'metric source "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    UPDATE aiml.metric_source_state st SET next_attempt = now() WHERE st.source = alter_metric_source.name;
END
$$;
COMMENT ON FUNCTION aiml.alter_metric_source(text, jsonb) IS 'replace a metric source''s config; it is polled again at once';

CREATE FUNCTION aiml.set_metric_source_enabled(name text, enabled boolean)
RETURNS void LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE aiml.metric_sources s SET enabled = set_metric_source_enabled.enabled
    WHERE s.name = set_metric_source_enabled.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'metric source "%" does not exist', name
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM aiml.metric_sources lists them.';
    END IF;
    UPDATE aiml.metric_source_state st SET next_attempt = now(), consecutive_failures = 0
    WHERE st.source = set_metric_source_enabled.name;
END
$$;
COMMENT ON FUNCTION aiml.set_metric_source_enabled(text, boolean) IS 'enable or disable a metric source';

CREATE FUNCTION aiml.enable_metric_source(name text) RETURNS void
    LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
    AS $$ SELECT aiml.set_metric_source_enabled(name, true) $$;
COMMENT ON FUNCTION aiml.enable_metric_source(text) IS 'enable a metric source; it is polled at once';
CREATE FUNCTION aiml.disable_metric_source(name text) RETURNS void
    LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
    AS $$ SELECT aiml.set_metric_source_enabled(name, false) $$;
COMMENT ON FUNCTION aiml.disable_metric_source(text) IS 'stop polling a metric source; its samples stay';

CREATE FUNCTION aiml.drop_metric_source(name text, keep_samples boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF keep_samples THEN
        RAISE EXCEPTION 'keep_samples is not supported: samples belong to their source'
            USING ERRCODE = 'feature_not_supported', HINT = 'Disable the source instead to stop polling and keep its samples.';
    END IF;
    DELETE FROM aiml.metric_sources s WHERE s.name = drop_metric_source.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'metric source "%" does not exist', name
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM aiml.metric_sources lists them.';
    END IF;
END
$$;
COMMENT ON FUNCTION aiml.drop_metric_source(text, boolean) IS 'delete a metric source with its series and samples';

CREATE FUNCTION aiml.set_metric_source_secret(name text, secret text)
RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM aiml.metric_sources s WHERE s.name = set_metric_source_secret.name) THEN
        RAISE EXCEPTION 'metric source "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    IF secret IS NULL THEN
        DELETE FROM aiml.metric_source_secrets s WHERE s.source = name;
    ELSE
        INSERT INTO aiml.metric_source_secrets AS s (source, secret) VALUES (name, secret)
        ON CONFLICT (source) DO UPDATE SET secret = EXCLUDED.secret;
    END IF;
    UPDATE aiml.metric_source_state st SET next_attempt = now() WHERE st.source = name;
END
$$;
COMMENT ON FUNCTION aiml.set_metric_source_secret(text, text) IS 'store (or with NULL remove) the bearer token or password of a metric source; pass it as a bind parameter';

CREATE FUNCTION aiml.ingest_now(source text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'aiml_ingest_now' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION aiml.ingest_now(text) IS 'poll one metric source now, in this transaction; returns the samples inserted';

CREATE FUNCTION aiml.prune_metric_samples(older_than interval) RETURNS bigint
LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
    WITH gone AS (DELETE FROM aiml.metric_samples WHERE ts < now() - older_than RETURNING 1)
    SELECT count(*) FROM gone
$$;
COMMENT ON FUNCTION aiml.prune_metric_samples(interval) IS 'retention: delete samples older than the interval (schedule it with pg_cron)';

REVOKE ALL ON FUNCTION aiml.add_metric_source(text, text, jsonb, boolean), aiml.alter_metric_source(text, jsonb),
    aiml.set_metric_source_enabled(text, boolean), aiml.enable_metric_source(text),
    aiml.disable_metric_source(text), aiml.drop_metric_source(text, boolean),
    aiml.set_metric_source_secret(text, text), aiml.ingest_now(text),
    aiml.prune_metric_samples(interval) FROM PUBLIC;

CREATE VIEW aiml.metric_source_status AS
SELECT s.name AS source, s.provider, s.enabled,
       st.last_attempt, st.last_success, st.last_error, coalesce(st.consecutive_failures, 0) AS consecutive_failures,
       st.next_attempt, st.watermark, coalesce(st.samples_total, 0) AS samples_total,
       coalesce(st.last_samples, 0) AS last_samples,
       (SELECT count(*) FROM aiml.metric_series m WHERE m.source = s.name) AS series,
       CASE WHEN NOT s.enabled THEN 'disabled'
            WHEN st.last_attempt IS NULL THEN 'pending'
            WHEN st.consecutive_failures > 0 THEN 'failing'
            ELSE 'ok' END AS status
FROM aiml.metric_sources s LEFT JOIN aiml.metric_source_state st ON st.source = s.name;
COMMENT ON VIEW aiml.metric_source_status IS 'per metric source: status, last error, failures in a row, next attempt, samples ingested';

-- Per model (resource) and hour: the standard metric names every provider maps to.
CREATE VIEW aiml.model_resource_usage AS
SELECT s.source, s.resource AS model, date_trunc('hour', m.ts) AS hour,
       avg(m.value) FILTER (WHERE s.metric = 'cpu_utilization') AS cpu_avg,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'cpu_utilization') AS cpu_p95,
       avg(m.value) FILTER (WHERE s.metric = 'memory_utilization') AS memory_avg,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'memory_utilization') AS memory_p95,
       avg(m.value) FILTER (WHERE s.metric = 'gpu_utilization') AS gpu_avg,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'gpu_utilization') AS gpu_p95,
       avg(m.value) FILTER (WHERE s.metric = 'gpu_memory_utilization') AS gpu_memory_avg,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'gpu_memory_utilization') AS gpu_memory_p95,
       sum(m.value) FILTER (WHERE s.metric = 'invocations') AS requests,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'latency_ms') AS latency_p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'latency_ms') AS latency_p95_ms
FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
WHERE s.metric IN ('cpu_utilization', 'memory_utilization', 'gpu_utilization',
                   'gpu_memory_utilization', 'invocations', 'latency_ms')
GROUP BY s.source, s.resource, date_trunc('hour', m.ts);
COMMENT ON VIEW aiml.model_resource_usage IS 'per model and hour: CPU, memory, GPU (avg, p95), requests, latency (p50, p95)';

CREATE VIEW aiml.model_cost AS
SELECT u.source, u.model, u.hour, d.instance_type, d.instance_count,
       d.instance_count * p.usd_per_hour AS usd,
       CASE WHEN u.requests > 0 THEN d.instance_count * p.usd_per_hour / u.requests::numeric END AS usd_per_request
FROM aiml.model_resource_usage u
JOIN aiml.model_deployments d ON d.source = u.source AND d.resource = u.model
JOIN aiml.instance_prices p ON p.instance_type = d.instance_type;
COMMENT ON VIEW aiml.model_cost IS 'per model and hour: instance cost from aiml.instance_prices and aiml.model_deployments, and cost per request';
