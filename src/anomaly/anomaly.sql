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

-- COST: a walk down every tree of the forest, a few hundred comparisons;
-- with the default 1 the planner would score rows before cheap conditions.
CREATE FUNCTION aiml.anomaly_score(model aiml.model, features float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_anomaly_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION aiml.anomaly_score(aiml.model, float8[]) IS 'isolation forest anomaly score in (0, 1]: near 1 is anomalous, well below 0.5 is normal';

CREATE FUNCTION aiml.is_anomaly(model aiml.model, features float8[]) RETURNS boolean
    AS 'MODULE_PATHNAME', 'aiml_is_anomaly' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION aiml.is_anomaly(aiml.model, float8[]) IS 'whether the anomaly score is above the model''s threshold (0.5, or set by the contamination option)';

CREATE FUNCTION aiml.anomaly_explain(model aiml.model, features float8[]) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'aiml_anomaly_explain' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    COST 100;
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
