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
