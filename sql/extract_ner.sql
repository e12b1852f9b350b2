-- The trainable NER tagger: training on a small hand-made set, determinism,
-- evaluation checked by hand, the CoNLL form, errors and forged models.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

-- support tickets with two labels of our own: PRODUCT and TEAM
CREATE TABLE ner_tickets (id int, body text, spans jsonb);
CREATE FUNCTION span(label text, body text, word text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('label', label, 'start', position(word IN body),
                              'end', position(word IN body) + length(word))
$$;
INSERT INTO ner_tickets
SELECT id, body, jsonb_build_array(span('PRODUCT', body, product), span('TEAM', body, team))
FROM (VALUES
 (1, 'The Billing Portal is down, please ask the payments team.', 'Billing Portal', 'payments'),
 (2, 'Login to Data Studio fails for the platform team since Monday.', 'Data Studio', 'platform'),
 (3, 'Escalate to the security team: Data Studio leaks tokens.', 'Data Studio', 'security'),
 (4, 'Billing Portal shows wrong totals; the finance team noticed.', 'Billing Portal', 'finance'),
 (5, 'The Report Builder export is slow, says the analytics team.', 'Report Builder', 'analytics'),
 (7, 'Report Builder crashed again; the platform team is on it.', 'Report Builder', 'platform'),
 (8, 'Please route this to the payments team, Billing Portal is affected.', 'Billing Portal', 'payments'),
 (9, 'The security team reviewed Report Builder permissions.', 'Report Builder', 'security'),
 (10, 'Data Studio dashboards are blank for the finance team.', 'Data Studio', 'finance')
) v(id, body, product, team);
INSERT INTO ner_tickets VALUES (6, 'Nothing to report today.', '[]');
-- the spans cover what they should
SELECT id, string_agg(a->>'label' || '=' || substr(body, (a->>'start')::int, (a->>'end')::int - (a->>'start')::int), ', ')
FROM ner_tickets, jsonb_array_elements(spans) a GROUP BY id ORDER BY id;

CREATE TABLE ner_models AS
SELECT aiml.ner_train('SELECT body, spans FROM ner_tickets ORDER BY id',
                      '{"epochs": 20, "seed": 7, "hash_bits": 12, "gazetteer": false}') AS m;
SELECT aiml.model_kind(m), aiml.describe(m) - 'size_bytes' AS description FROM ner_models;

-- new sentences: the labels are recognised
SELECT label, text, start_pos, end_pos, score > 0.5 AS confident
FROM ner_models, aiml.ner(m, 'Yesterday Data Studio was slow and the payments team complained.');
SELECT label, text, start_pos, end_pos
FROM ner_models, aiml.ner(m, 'Ask the finance team about Report Builder.');

-- the same seed gives the same model bytes; another seed another order
SELECT aiml.ner_train('SELECT body, spans FROM ner_tickets ORDER BY id',
                      '{"epochs": 20, "seed": 7, "hash_bits": 12, "gazetteer": false}')::text = m::text AS same_seed_same_bytes
FROM ner_models;

-- the domains option: one weight table for prose, one for short or social
-- texts (the tickets are short); gazetteer and lexicon features; the same
-- seed gives the same bytes too
CREATE TABLE ner_domain_models AS
SELECT aiml.ner_train('SELECT body, spans FROM ner_tickets ORDER BY id',
                      '{"epochs": 20, "seed": 7, "hash_bits": 12, "domains": true}') AS m;
SELECT aiml.describe(m)->'domains' AS domains, aiml.describe(m)->'gazetteer' AS gazetteer,
       aiml.describe(m)->'size_bytes' AS size_bytes FROM ner_domain_models;
SELECT label, text FROM ner_domain_models, aiml.ner(m, 'Ask the finance team about Report Builder.');
SELECT aiml.ner_train('SELECT body, spans FROM ner_tickets ORDER BY id',
                      '{"epochs": 20, "seed": 7, "hash_bits": 12, "domains": true}')::text = m::text AS same_seed_same_bytes
FROM ner_domain_models;

-- evaluation, by hand: the gold spans of three new tickets against what the
-- model finds (shown first)
CREATE TABLE ner_heldout (body text, spans jsonb);
INSERT INTO ner_heldout VALUES
 ('The Billing Portal needs the security team.',
  jsonb_build_array(span('PRODUCT', 'The Billing Portal needs the security team.', 'Billing Portal'),
                    span('TEAM', 'The Billing Portal needs the security team.', 'security'))),
 ('Data Studio is fine, thanks to the platform team.',
  jsonb_build_array(span('PRODUCT', 'Data Studio is fine, thanks to the platform team.', 'Data Studio'),
                    span('TEAM', 'Data Studio is fine, thanks to the platform team.', 'platform'))),
 ('Reports from Acme are late for the research group.',
  jsonb_build_array(span('PRODUCT', 'Reports from Acme are late for the research group.', 'Acme'),
                    span('TEAM', 'Reports from Acme are late for the research group.', 'research group')));
SELECT h.body, n.label, n.start_pos, n.end_pos
FROM ner_models, ner_heldout h, aiml.ner(m, h.body) n ORDER BY 1, 3;
SELECT label, round(precision::numeric, 4) AS precision, round(recall::numeric, 4) AS recall,
       round(f1::numeric, 4) AS f1, support
FROM ner_models, aiml.ner_evaluate(m, 'SELECT body, spans FROM ner_heldout') ORDER BY label NULLS LAST;
-- the same numbers computed in SQL from the rows above
WITH gold AS (
    SELECT h.body, a->>'label' AS label, (a->>'start')::int AS s, (a->>'end')::int AS e
    FROM ner_heldout h, jsonb_array_elements(h.spans) a
), pred AS (
    SELECT h.body, n.label, n.start_pos AS s, n.end_pos AS e FROM ner_models, ner_heldout h, aiml.ner(m, h.body) n
), c AS (
    SELECT l.label,
           (SELECT count(*) FROM gold g JOIN pred p USING (body, label, s, e) WHERE g.label = l.label) AS tp,
           (SELECT count(*) FROM pred p WHERE p.label = l.label) AS npred,
           (SELECT count(*) FROM gold g WHERE g.label = l.label) AS ngold
    FROM (VALUES ('PRODUCT'), ('TEAM')) l(label)
)
SELECT label, round(tp::numeric / nullif(npred, 0), 4) AS precision, round(tp::numeric / nullif(ngold, 0), 4) AS recall, ngold AS support
FROM c ORDER BY label;

-- the CoNLL form: pre-tokenized rows (document, position, token, tag), IOB1 accepted
CREATE TABLE ner_conll (doc int, pos int, token text, tag text);
INSERT INTO ner_conll
SELECT d, p, w, t FROM (VALUES
  (1, ARRAY['Alice', 'Moreau', 'works', 'at', 'Zentrix', 'in', 'Lyon', '.'], ARRAY['B-PER', 'I-PER', 'O', 'O', 'B-ORG', 'O', 'B-LOC', 'O']),
  (2, ARRAY['Bob', 'Okafor', 'left', 'Zentrix', 'for', 'Quanta', 'Labs', '.'], ARRAY['I-PER', 'I-PER', 'O', 'I-ORG', 'O', 'I-ORG', 'I-ORG', 'O']),
  (3, ARRAY['In', 'Lyon', ',', 'Alice', 'met', 'Bob', '.'], ARRAY['O', 'B-LOC', 'O', 'B-PER', 'O', 'B-PER', 'O']),
  (4, ARRAY['Quanta', 'Labs', 'opened', 'in', 'Oslo', '.'], ARRAY['B-ORG', 'I-ORG', 'O', 'O', 'B-LOC', 'O'])
) v(d, ws, ts), unnest(ws, ts) WITH ORDINALITY u(w, t, p);
CREATE TABLE ner_conll_models AS
SELECT aiml.ner_train_conll('SELECT doc, pos, token, tag FROM ner_conll',
                            '{"epochs": 15, "seed": 3, "hash_bits": 12, "gazetteer": false}') AS m;
SELECT aiml.describe(m)->'labels' AS labels, aiml.describe(m)->'tokens' AS tokens FROM ner_conll_models;
SELECT e.* FROM ner_conll_models, aiml.ner_evaluate(m, 'SELECT doc, pos, token, tag FROM ner_conll') e ORDER BY label NULLS LAST;
-- the labels option keeps only those labels
SELECT aiml.describe(aiml.ner_train_conll('SELECT doc, pos, token, tag FROM ner_conll',
                     '{"epochs": 2, "hash_bits": 10, "labels": ["PER"], "gazetteer": false}'))->'labels' AS only_per;

-- the default English model
SELECT aiml.describe(aiml.ner_default_model()) - 'size_bytes' AS default_model;
SELECT label, text FROM aiml.ner(aiml.ner_default_model(), 'Barack Obama met Angela Merkel in Berlin.');
-- per row, the default model (handed out without a copy) tags as the same
-- model read from a table does; both stay correct when mixed in one query
CREATE TEMP TABLE ner_default_copy AS SELECT aiml.ner_default_model() AS m;
CREATE TEMP TABLE ner_rows AS
SELECT g, 'Mr. John Smith' || g || ' of Acme Corp flew to Paris on day ' || g || '.' AS s
FROM generate_series(1, 50) g;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE a IS NOT NULL) AS tagged,
       count(*) FILTER (WHERE a IS NOT DISTINCT FROM b) AS same
FROM (SELECT g, (SELECT array_agg(row(n.*)::text ORDER BY n.start_pos) FROM aiml.ner(aiml.ner_default_model(), s) n) AS a,
             (SELECT array_agg(row(n.*)::text ORDER BY n.start_pos) FROM ner_default_copy c, aiml.ner(c.m, s) n) AS b
      FROM ner_rows) x;
SELECT aiml.model_send(m) = aiml.model_send(aiml.ner_default_model()) AS same_bytes FROM ner_default_copy;
DROP TABLE ner_default_copy, ner_rows;

-- errors: spans outside the text, overlapping, malformed
SELECT aiml.ner_train($$SELECT 'short text', '[{"label": "X", "start": 7, "end": 12}]'::jsonb$$);
SELECT aiml.ner_train($$SELECT 'short text', '[{"label": "X", "start": 0, "end": 3}]'::jsonb$$);
SELECT aiml.ner_train($$SELECT 'short text', '[{"label": "X", "start": 1, "end": 6}, {"label": "Y", "start": 3, "end": 8}]'::jsonb$$);
SELECT aiml.ner_train($$SELECT 'short text', '{"label": "X"}'::jsonb$$);
SELECT aiml.ner_train($$SELECT 'short text', '[{"label": "X", "start": 1}]'::jsonb$$);
SELECT aiml.ner_train_conll($$SELECT 1, 1, 'word', 'Z-THING'$$);
-- an empty training set, and one without any entity
SELECT aiml.ner_train('SELECT body, spans FROM ner_tickets WHERE false');
SELECT aiml.ner_train($$SELECT 'no entities here', '[]'::jsonb$$);
-- bad options
SELECT aiml.ner_train('SELECT body, spans FROM ner_tickets', '{"epochs": 0}');
SELECT aiml.ner_train('SELECT body, spans FROM ner_tickets', '{"labels": "TEAM"}');
SELECT aiml.ner_train('SELECT body, spans FROM ner_tickets', '{"labels": ["TEAM", "TEAM"]}');
SELECT aiml.ner_train('SELECT body, spans FROM ner_tickets', '{"colour": "red"}');
-- an unknown label in evaluation; a query of the wrong shape
SELECT e.* FROM ner_models, aiml.ner_evaluate(m, $$SELECT 'Billing Portal', '[{"label": "CUSTOMER", "start": 1, "end": 8}]'::jsonb$$) e;
SELECT e.* FROM ner_models, aiml.ner_evaluate(m, 'SELECT 1, 2, 3') e;
-- a model of another kind
SELECT * FROM aiml.ner((SELECT aiml.scaler(ARRAY[x, 1]) FROM generate_series(1, 3) x), 'text');
SELECT * FROM aiml.ner_evaluate((SELECT aiml.scaler(ARRAY[x, 1]) FROM generate_series(1, 3) x), 'SELECT 1, 2');

-- forged models with a valid checksum: the reader refuses impossible contents
\set ECHO none
\i test/sql/forge.sql
\set ECHO all
-- payload: hash_bits, flags, nlabels, labels, epochs, seed, sentences, tokens,
-- then f32 transitions (4 x 3 for one label) and f32 weights (2^bits x 3)
CREATE FUNCTION ner_payload(bits int, flags int, labels text[], trans bytea, weights bytea)
RETURNS bytea LANGUAGE sql AS $$
    SELECT forge.u32(bits) || forge.u32(flags) || forge.u32(cardinality(labels)) ||
           coalesce((SELECT string_agg(forge.u32(length(l)) || convert_to(l, 'UTF8'), ''::bytea ORDER BY o)
                     FROM unnest(labels) WITH ORDINALITY u(l, o)), ''::bytea) ||
           forge.u32(1) || forge.u64(0) || forge.u64(1) || forge.u64(1) || trans || weights
$$;
CREATE FUNCTION zeros(n int) RETURNS bytea LANGUAGE sql AS $$ SELECT decode(repeat('00', n), 'hex') $$;
-- a well-formed forged model (all weights zero) reads and finds nothing
SELECT count(*) FROM aiml.ner(forge.model('ner', 10, ner_payload(10, 0, ARRAY['X'], zeros(48), zeros(4 * 3 * 1024))), 'Some Text');
SELECT aiml.describe(forge.model('ner', 10, ner_payload(40, 0, ARRAY['X'], zeros(48), zeros(4 * 3 * 1024))));
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 8, ARRAY['X'], zeros(48), zeros(4 * 3 * 1024))));
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 0, ARRAY[]::text[], zeros(4), zeros(4 * 1024))));
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 0, ARRAY['X', 'X'], zeros(4 * 6 * 5), zeros(4 * 5 * 1024))));
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 0, ARRAY['X'], zeros(48), zeros(4 * 3 * 1000))));
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 0, ARRAY['X'], zeros(48), zeros(4 * 3 * 1024) || '\x00'::bytea)));
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 0, ARRAY['X'], '\x0000c07f'::bytea || zeros(44), zeros(4 * 3 * 1024))));
SELECT count(*) FROM aiml.ner(forge.model('ner', 10, ner_payload(10, 0, ARRAY['X'], zeros(48), zeros(4 * 3 * 1024 - 4) || '\x0000807f'::bytea)), 'x');
SELECT aiml.describe(forge.model('ner', 10, '\x0a000000'::bytea));
-- format version 2: the same, then f64 scale and i16 weights, two tables
-- with flag 2 (domains); version 1 knows no flag 2
SELECT count(*) FROM aiml.ner(forge.model('ner', 10, ner_payload(10, 0, ARRAY['X'], zeros(48), forge.f64(0.001) || zeros(2 * 3 * 1024)), 2), 'Some Text');
SELECT count(*) FROM aiml.ner(forge.model('ner', 10, ner_payload(10, 2, ARRAY['X'], zeros(48), forge.f64(0.001) || zeros(2 * 3 * 2048)), 2), 'Some Text');
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 2, ARRAY['X'], zeros(48), forge.f64(0.001) || zeros(2 * 3 * 1024)), 2));
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 0, ARRAY['X'], zeros(48), forge.f64(0) || zeros(2 * 3 * 1024)), 2));
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 0, ARRAY['X'], zeros(48), forge.f64('NaN') || zeros(2 * 3 * 1024)), 2));
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 4, ARRAY['X'], zeros(48), forge.f64(0.001) || zeros(2 * 3 * 1024)), 2));
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 2, ARRAY['X'], zeros(48), zeros(4 * 3 * 2048))));
SELECT aiml.describe(forge.model('ner', 10, ner_payload(10, 0, ARRAY['X'], zeros(48), forge.f64(0.001) || zeros(2 * 3 * 1024)), 3));
-- the same readers behind extract_entities' model argument: a well-formed
-- model with zero weights adds no spans to the rules' (one e-mail), a forged
-- one is refused
SELECT label, text FROM aiml.extract_entities('Mail Some Person at a@example.com', model =>
    forge.model('ner', 10, ner_payload(10, 0, ARRAY['PERSON'], zeros(48), forge.f64(0.001) || zeros(2 * 3 * 1024)), 2));
SELECT * FROM aiml.extract_entities('Mail Some Person', model =>
    forge.model('ner', 10, ner_payload(10, 0, ARRAY['PERSON'], zeros(48), forge.f64('NaN') || zeros(2 * 3 * 1024)), 2));
DROP TABLE ner_tickets, ner_heldout, ner_models, ner_domain_models, ner_conll, ner_conll_models;
DROP FUNCTION span, zeros, ner_payload;
