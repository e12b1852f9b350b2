-- The aiml.model type: round trips, corruption, forgery; named models.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

CREATE TABLE pts (id int, f float8[]);
INSERT INTO pts SELECT i, ARRAY[i, 2 * i + 1, 7] FROM generate_series(1, 10) i;
CREATE TABLE models AS SELECT aiml.scaler(f) AS m FROM pts;

-- text form: "kind:base64", and back to the same value
SELECT split_part(m::text, ':', 1) AS kind, length(m::text) AS text_length FROM models;
SELECT m::text::aiml.model::text = m::text AS text_round_trip FROM models;
SELECT aiml.describe(m::text::aiml.model) = aiml.describe(m) AS same_description FROM models;

-- binary form: COPY BINARY uses send and recv
SELECT current_setting('data_directory') || '/aiml_core_model.copy' AS copy_file \gset
COPY models TO :'copy_file' WITH (FORMAT binary);
CREATE TABLE models_copy (m aiml.model);
COPY models_copy FROM :'copy_file' WITH (FORMAT binary);
SELECT a.m::text = b.m::text AS binary_round_trip FROM models a, models_copy b;

-- describe and model_kind
SELECT aiml.model_kind(m), aiml.describe(m) FROM models;

-- the wire bytes: 12 header bytes (kind, version, length, checksum), then payload
CREATE FUNCTION wire(m aiml.model) RETURNS bytea LANGUAGE sql
    AS $$ SELECT decode(split_part(m::text, ':', 2), 'base64') $$;
CREATE FUNCTION model_of(b bytea) RETURNS aiml.model LANGUAGE sql
    AS $$ SELECT ('scaler:' || translate(encode(b, 'base64'), E'\n', ''))::aiml.model $$;
SELECT get_byte(wire(m), 0) AS kind, get_byte(wire(m), 2) AS version,
       length(wire(m)) - 12 = get_byte(wire(m), 4) + 256 * get_byte(wire(m), 5) AS length_ok
FROM models;

-- a flipped payload byte fails the checksum
SELECT model_of(set_byte(wire(m), 40, get_byte(wire(m), 40) # 1)) FROM models;
-- a flipped checksum byte too
SELECT model_of(set_byte(wire(m), 13, get_byte(wire(m), 13) # 128)) FROM models;
-- truncated values: payload cut short, and shorter than the header
SELECT model_of(substring(wire(m) FROM 1 FOR length(wire(m)) - 8)) FROM models;
SELECT model_of('\x0100010002'::bytea);
SELECT model_of(''::bytea);
-- trailing bytes the header does not announce
SELECT model_of(wire(m) || '\x00'::bytea) FROM models;
-- a forged kind, and a format version from the future
SELECT model_of(set_byte(wire(m), 0, 99)) FROM models;
SELECT model_of(set_byte(wire(m), 2, 9)) FROM models;
-- text that is not a model at all
SELECT 'scaler'::aiml.model;
SELECT 'banana:AAAA'::aiml.model;
SELECT 'scaler:not base64!'::aiml.model;
SELECT ''::aiml.model;

-- forged values with a correct checksum: the kind's reader rejects them
\set ECHO none
\i test/sql/forge.sql
\set ECHO all
SELECT forge.model('scaler', 1, forge.payload(m))::text = m::text AS forge_reproduces_checksum FROM models;
-- scaler payload: method, features, rows, then mean, stddev, min, max per feature
SELECT aiml.describe(forge.model('scaler', 1, forge.u32(0) || forge.u32(1) || forge.u64(4) ||
       forge.f64s(2, 1, 0, 5)));
SELECT aiml.describe(forge.model('scaler', 1, forge.u32(7) || forge.u32(1) || forge.u64(4) ||
       forge.f64s(2, 1, 0, 5)));
SELECT aiml.describe(forge.model('scaler', 1, forge.u32(0) || forge.u32(1) || forge.u64(4) ||
       forge.f64s(2, -1, 0, 5)));
SELECT aiml.describe(forge.model('scaler', 1, forge.u32(0) || forge.u32(1) || forge.u64(4) ||
       forge.f64s(2, 1, 0, 'NaN')));
SELECT aiml.scale(forge.model('scaler', 1, forge.u32(0) || forge.u32(1000000000) || forge.u64(4) ||
       forge.f64s(2, 1, 0, 5)), ARRAY[1.0]);
SELECT aiml.scale(forge.model('scaler', 1, forge.u32(0) || forge.u32(2) || forge.u64(4) ||
       forge.f64s(2, 1, 0, 5)), ARRAY[1.0]);
SELECT aiml.scale(forge.model('scaler', 1, forge.u32(0) || forge.u32(1) || forge.u64(4) ||
       forge.f64s(2, 1, 0, 5, 6)), ARRAY[1.0]);
SELECT aiml.scale(forge.model('scaler', 1, ''::bytea), ARRAY[1.0]);

-- a model of another kind is refused by name
SELECT aiml.scale(aiml.iforest(f), ARRAY[1, 2, 3]) FROM pts;
SELECT aiml.anomaly_score(m, ARRAY[1, 2, 3]) FROM models;

-- named models
SELECT aiml.model_kind(aiml.save_model('pts_scaler', m)) FROM models;
SELECT name, kind, owner = current_user AS mine FROM aiml.models;
SELECT aiml.load_model('pts_scaler')::text = m::text AS loaded_same FROM models;
-- saving again replaces
SELECT aiml.describe(aiml.save_model('pts_scaler', aiml.scaler(f)))->>'rows' FROM pts WHERE id <= 3;
SELECT aiml.describe(aiml.load_model('pts_scaler'))->>'rows' AS rows_after_replace;
SELECT aiml.load_model('nope');
SELECT aiml.save_model('', m) FROM models;
SELECT aiml.drop_model('pts_scaler'), aiml.drop_model('pts_scaler');
SELECT count(*) FROM aiml.models;

-- another role can read but not overwrite a saved model
SELECT aiml.model_kind(aiml.save_model('shared', m)) FROM models;
CREATE ROLE aiml_other;
SET ROLE aiml_other;
SELECT aiml.model_kind(aiml.load_model('shared'));
SELECT aiml.save_model('shared', aiml.load_model('shared'));
SELECT aiml.drop_model('shared');
RESET ROLE;
DROP ROLE aiml_other;
SELECT aiml.drop_model('shared');

-- the extension's settings
SHOW aiml.blas_threads;
SET aiml.blas_threads = 0;
SET aiml.blas_threads = 2;
SHOW aiml.blas_threads;
RESET aiml.blas_threads;
SET aiml.no_such_setting = 1;

DROP TABLE pts, models, models_copy;
DROP FUNCTION wire(aiml.model), model_of(bytea);
