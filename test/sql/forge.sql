-- Helpers for tests that forge aiml.model values with a correct checksum, so
-- a kind's own reader, not the checksum, must reject impossible contents.
-- Include with \i test/sql/forge.sql (tests run from the project root); everything lives in schema forge.
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS forge;
RESET client_min_messages;

-- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit.
CREATE OR REPLACE FUNCTION forge.crc32c(b bytea) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    crc bigint := 4294967295;
BEGIN
    FOR i IN 0 .. length(b) - 1 LOOP
        crc := crc # get_byte(b, i);
        FOR k IN 1 .. 8 LOOP
            IF (crc & 1) = 1 THEN
                crc := (crc >> 1) # 2197175160;
            ELSE
                crc := crc >> 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN crc # 4294967295;
END $$;

-- little-endian encodings of integers and doubles
CREATE OR REPLACE FUNCTION forge.u16(x bigint) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT set_byte(set_byte('\x0000'::bytea, 0, (x & 255)::int), 1, ((x >> 8) & 255)::int) $$;
CREATE OR REPLACE FUNCTION forge.u32(x bigint) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT forge.u16(x & 65535) || forge.u16((x >> 16) & 65535) $$;
CREATE OR REPLACE FUNCTION forge.u64(x bigint) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT forge.u32(x & 4294967295) || forge.u32((x >> 32) & 4294967295) $$;
CREATE OR REPLACE FUNCTION forge.f64(x float8) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT string_agg(substring(float8send(x) FROM i FOR 1), ''::bytea ORDER BY i DESC)
    FROM generate_series(1, 8) i
$$;
CREATE OR REPLACE FUNCTION forge.f64s(VARIADIC xs float8[]) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT string_agg(forge.f64(x), ''::bytea ORDER BY o) FROM unnest(xs) WITH ORDINALITY u(x, o) $$;

-- A model of the named kind (its number given) with a valid checksum.
CREATE OR REPLACE FUNCTION forge.model(kind_name text, kind int, payload bytea, version int DEFAULT 1)
RETURNS aiml.model LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT (kind_name || ':' || translate(encode(
        h || forge.u32(forge.crc32c(h || payload)) || payload, 'base64'), E'\n', ''))::aiml.model
    FROM (SELECT forge.u16(kind) || forge.u16(version) || forge.u32(length(payload)) AS h) s
$$;

-- The payload bytes of a model.
CREATE OR REPLACE FUNCTION forge.payload(m aiml.model) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT substring(decode(split_part(m::text, ':', 2), 'base64') FROM 13) $$;
