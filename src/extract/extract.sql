-- extract: text to rows with regular expressions (PCRE2), grok patterns and
-- key=value pairs; entities (entities.c) and the NER tagger (ner.c) at the end.

-- The regex functions depend only on their arguments (aiml.regex_match_limit
-- can turn a result into an error, never into another result), so they are
-- IMMUTABLE and can back expression indexes and generated columns.
--
-- COST: a match costs about as much as a PL/pgSQL call (100), an entity
-- scan with the tagger ten times that; with the default 1 the planner would
-- run them before cheap conditions of the same WHERE clause.
CREATE FUNCTION aiml.regex_extract(string text, pattern text, flags text DEFAULT '')
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'aiml_regex_extract' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION aiml.regex_extract(text, text, text) IS
    'named groups of the first PCRE2 match as a jsonb object (groups "1", "2"... when none is named), NULL when nothing matches';

CREATE FUNCTION aiml.regex_extract_all(string text, pattern text, flags text DEFAULT '')
    RETURNS SETOF jsonb
    AS 'MODULE_PATHNAME', 'aiml_regex_extract_all' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    COST 100 ROWS 10;
COMMENT ON FUNCTION aiml.regex_extract_all(text, text, text) IS
    'named groups of every PCRE2 match, one jsonb row per match, left to right';

-- STABLE: jsonb_populate_record runs the columns' input functions, some of
-- which read settings (timestamptz and TimeZone).  Not STRICT: the first
-- argument is usually NULL::some_type.
CREATE FUNCTION aiml.regex_to_record(base anyelement, string text, pattern text, flags text DEFAULT '')
    RETURNS anyelement
    AS 'MODULE_PATHNAME', 'aiml_regex_to_record' LANGUAGE C STABLE PARALLEL SAFE
    COST 100;
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
    AS 'MODULE_PATHNAME', 'aiml_grok' LANGUAGE C STABLE STRICT PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION aiml.grok(text, text) IS
    'Logstash grok: %{SYNTAX:field:int|float} references expanded from aiml.grok_patterns and the shipped library; the first match''s fields as jsonb, NULL when nothing matches';

CREATE FUNCTION aiml.grok_library(OUT name text, OUT pattern text, OUT source text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'aiml_grok_library' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.grok_library() IS
    'the grok patterns shipped with aiml (name, definition, file), before the overrides in aiml.grok_patterns';

CREATE FUNCTION aiml.extract_kv(string text, options jsonb DEFAULT '{}')
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'aiml_extract_kv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    COST 100;
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
    AS 'MODULE_PATHNAME', 'aiml_ner' LANGUAGE C STABLE STRICT PARALLEL SAFE
    COST 1000 ROWS 10;
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
-- Not STRICT: NULL labels means every label, a NULL reference means now, a
-- NULL model no model (PERSON, ORG and LOCATION from rules and gazetteer).
-- The default model argument is the backend's loaded copy, not a copy per row.
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
