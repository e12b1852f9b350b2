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
