-- aiml.extract_entities: every label with positive and negative cases,
-- normalization, overlaps, UTF-8 offsets, errors, a large text.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;
SET TimeZone = 'UTC';

-- rule labels only (the model's labels are tested below)
CREATE FUNCTION ents(s text, ref timestamptz DEFAULT '2026-11-23 10:00+00')
RETURNS TABLE (label text, text text, normalized text, start_pos int, end_pos int)
LANGUAGE sql AS $$
    SELECT label, text, normalized, start_pos, end_pos
    FROM aiml.extract_entities(s, ARRAY['EMAIL', 'URL', 'UUID', 'CREDIT_CARD', 'IP', 'PHONE',
                                        'MONEY', 'PERCENT', 'QUANTITY', 'DATE', 'TIME'], ref)
$$;

-- EMAIL, URL (trailing punctuation belongs to the sentence)
SELECT * FROM ents('Mail Bob.Smith+ops@Example.COM, see https://example.com/a?b=1. or www.example.org/x).');
SELECT * FROM ents('not mail: bob@ or @handle or a@b');
-- IP: v4 with leading zeros normalized, octets over 255 refused, v6 compressed
SELECT * FROM ents('from 010.000.000.001 and 2001:0db8:0000:0000:0000:0000:0000:0001, not 300.1.1.1 or 1.2.3');
SELECT * FROM ents('clock 10:30:00 is a time, not an IPv6 address');
-- IPv6 written as inet_ntop writes it: the first longest run of zero groups as ::, IPv4-mapped and -compatible tails as dotted quads
SELECT text, normalized FROM ents('1:0:0:1:0:0:0:1 1::0:2 0:0:0:0:0:ffff:102:304 0:0:0:0:0:0:102:304 ::ffff:0:1 1:: :: FE80:0:0:0:0:0:0:0 0:1:0:0:0:1:0:0');
-- an IPv4 tail is part of the address (not a hex group and then an IPv4
-- address), and an address followed by a dot and a digit is none
SELECT label, text, normalized FROM aiml.extract_entities('a ::ffff:1.2.3.4 b ::1.2.3.4 c 2001:db8::10.0.0.1 d fe80::1. e ::ffff:1.2.3.4.5 f fe80::1192.168.0.1 g ::ffff:300.1.1.1 h ::ffff:1.2.3.4x', model => NULL);
-- PHONE: E.164 with a country code, NANP formats; unformatted digits are not phones
SELECT * FROM ents('call +1 (415) 555-0100, +49 30 901820, 415.555.0199 or 1-800-555-0123');
SELECT * FROM ents('order 12345678901 and 4155550100 and 555-0100');
-- DATE: ISO, US and European slashes, month names, relative to the reference
SELECT * FROM ents('on 2024-02-29, 2024-03-15T14:30:00+02:00, 03/15/2024, 15/03/2024, 5 Jan 2025, December 1st, 2023 and Dec 24');
SELECT * FROM ents('yesterday, today, tomorrow, next Monday, last Friday, this Sunday, 3 days ago, in two weeks, next month');
-- in any case, with the caseless long s (U+017F) of the pattern; words that only begin like them are not dates
SELECT * FROM ents('TODAY, Twelve Years From Now, A Day ago, thiſ week; not todays, tod, intwo days, ones days ago');
-- a version number, an invalid date, a dotted date are not dates
SELECT * FROM ents('version 1.2.3 and v2.10.2024 and 2023-02-30 and 13/13/2024');
-- TIME
SELECT * FROM ents('at 09:05, 23:59:58, 7 pm, 12:15 am and 11am; not 25:00 or 3:7');
-- MONEY, PERCENT, QUANTITY
SELECT * FROM ents('costs $1,299.99, €50, £3.5m, USD 200, 1.2 billion dollars, 40 EUR');
SELECT * FROM ents('up 12.5%, down 3 percent; 512 MB, 2.5 GHz, 30 ms, 10 km, 75 kg; the 1990s; 15 apples');
-- signs, per cent, one space at most, units in full; not: two decimal points, two spaces, a unit the pattern lacks
SELECT * FROM ents('up 5 per cent, +2.5 % and -3%; 7 percentage points, 1.2.3% and 1.2.3 ms are neither; 10 km/h, 3 GiB, 5 kmh, 2 secs, 2 hrs, 1990s, 1.5s, x5ms, 5  ms, 7 MBps');
-- rules that start with a word, in any case where the pattern allows it: codes, US$, months, schemes (case-sensitive), titles, University of, relative dates
SELECT label, text, normalized, start_pos, end_pos
FROM aiml.extract_entities('paid USD100 and US$5 on Sept. 5 or JANUARY 3, 2025; see www.example.com, HTTPS://x.org, wwwx.org and ftp://files.example.org; Dr. Jane Doe of University of Paris; In two days, IN 3 WEEKS; Mrs Smith; usd 5',
                           ARRAY['MONEY', 'DATE', 'URL', 'PERSON', 'ORG'], '2026-11-23 10:00+00', NULL);
-- UUID, CREDIT_CARD (Luhn-checked, masked); a Luhn-failing number is not a card
SELECT * FROM ents('id 123E4567-E89B-12D3-A456-426614174000 card 4111-1111-1111-1111 amex 378282246310005');
SELECT * FROM ents('card 4111 1111 1111 1112 and 1234567812345678');

-- PERSON, ORG, LOCATION: rules, gazetteer and the default model together
SELECT label, text, normalized, start_pos, end_pos FROM aiml.extract_entities(
    'Dr. Maria Gonzalez of Acme Widgets GmbH met Prof. J. R. Smith at the University of Toronto. '
    'She flew from Springfield, IL to France and then to New York.',
    ARRAY['PERSON', 'ORG', 'LOCATION']);
SELECT label, text FROM aiml.extract_entities('Angela Merkel visited Microsoft in Seattle last week.',
                                              ARRAY['PERSON', 'ORG', 'LOCATION']);
-- the model argument: NULL runs no model, so PERSON, ORG and LOCATION come
-- from the rules and the gazetteer alone (Seattle is in it, Angela Merkel is
-- no rule's); the rule labels are the same either way
SELECT label, text FROM aiml.extract_entities('Angela Merkel visited Microsoft in Seattle last week.',
                                              ARRAY['PERSON', 'ORG', 'LOCATION'], model => NULL);
SELECT label, text FROM aiml.extract_entities('Dr. Maria Gonzalez of Acme Widgets GmbH, Springfield, IL.',
                                              model => NULL);
SELECT (SELECT array_agg(e ORDER BY e) FROM aiml.extract_entities(t, ARRAY['EMAIL', 'DATE', 'IP', 'MONEY']) e) =
       (SELECT array_agg(e ORDER BY e) FROM aiml.extract_entities(t, ARRAY['EMAIL', 'DATE', 'IP', 'MONEY'], model => NULL) e)
       AS rules_same_without_model
FROM (VALUES ('Paid $12.50 on 2024-03-01 from 10.0.0.1, mail a@b.org')) v(t);
-- a model trained on our own examples takes the default model's place; its
-- labels that extract_entities does not know (PRODUCT) stay with aiml.ner
CREATE TABLE own_ner AS
SELECT aiml.ner_train($$
    SELECT body, jsonb_build_array(
        jsonb_build_object('label', 'ORG', 'start', position(org IN body), 'end', position(org IN body) + length(org)),
        jsonb_build_object('label', 'PRODUCT', 'start', position(product IN body), 'end', position(product IN body) + length(product)))
    FROM (VALUES ('Our invoices moved to Zorblax and they run on Quibbit.', 'Zorblax', 'Quibbit'),
                 ('Ask Zorblax why Quibbit is slow today.', 'Zorblax', 'Quibbit'),
                 ('The Quibbit dashboards of Vantrel are blank.', 'Vantrel', 'Quibbit'),
                 ('Vantrel support says Flomp is deprecated.', 'Vantrel', 'Flomp'),
                 ('We pay Zorblax for Flomp every month.', 'Zorblax', 'Flomp'),
                 ('Flomp crashed, Vantrel is looking into it.', 'Vantrel', 'Flomp')) v(body, org, product)
    $$, '{"epochs": 20, "seed": 7, "hash_bits": 12, "gazetteer": false}') AS m;
SELECT e.label, e.text FROM own_ner, aiml.extract_entities('Vantrel says Quibbit is fine.', model => m) e;
SELECT n.label, n.text FROM own_ner, aiml.ner(m, 'Vantrel says Quibbit is fine.') n;
-- labels, reference and a trained model together, row after row (each is kept per call site)
SELECT t.i, e.label, e.text, e.normalized
FROM own_ner, generate_series(1, 3) t(i),
     aiml.extract_entities(CASE WHEN t.i = 2 THEN 'Flomp by Zorblax' ELSE 'Vantrel, tomorrow' END,
                           ARRAY['ORG', 'DATE'], '2024-02-28 12:00+00', m) e
ORDER BY 1, e.start_pos;
-- lower-case words that look like places are not places
SELECT count(*) FROM aiml.extract_entities('we ate turkey and china plates in the rain', ARRAY['LOCATION']);

-- overlaps: the longest span wins (a URL holding an e-mail, a date inside a timestamp)
SELECT label, text FROM aiml.extract_entities('see https://example.com/u/bob@example.com and 2024-05-01T10:00:00Z',
                                              ARRAY['URL', 'EMAIL', 'DATE', 'TIME']);
-- equal spans: label priority decides (a 1.2.3.4 IP, not a QUANTITY)
SELECT label, text FROM aiml.extract_entities('host 10.1.2.3', ARRAY['IP', 'QUANTITY', 'DATE']);

-- character offsets, not bytes: non-ASCII text before the entity
SELECT label, text, start_pos, end_pos,
       substr('Café ñandú — 東京 mail: user@example.com', start_pos, end_pos - start_pos) = text AS substr_matches
FROM aiml.extract_entities('Café ñandú — 東京 mail: user@example.com', ARRAY['EMAIL']);

-- empty string, NULL string, an empty label list, every label with nothing to find
SELECT count(*) FROM aiml.extract_entities('');
SELECT count(*) FROM aiml.extract_entities(NULL);
SELECT count(*) FROM aiml.extract_entities('mail a@example.com', ARRAY[]::text[]);
SELECT count(*) FROM aiml.extract_entities('nothing to see here, just words');
-- the default reference is the transaction's start: today is today
SELECT normalized = to_char(current_date, 'YYYY-MM-DD') AS today_is_today
FROM aiml.extract_entities('done today', ARRAY['DATE']);

-- errors
SELECT * FROM aiml.extract_entities('x', ARRAY['PERSONS']);
SELECT * FROM aiml.extract_entities('today', NULL, 'infinity');
SELECT * FROM aiml.extract_entities('Vantrel', NULL, NULL,
                                    (SELECT aiml.scaler(ARRAY[x, 1]) FROM generate_series(1, 3) x));

-- a large text (about 10 MB) in linear time: every 300th line holds an entity
CREATE TABLE entities_big AS
SELECT string_agg(CASE WHEN i % 300 = 0 THEN format('line %s mail user%s@example.com on 2024-01-%s', i, i, lpad((1 + i % 28)::text, 2, '0'))
                       ELSE 'the quick brown fox jumps over the lazy dog again and again and again and again' END, E'\n') AS t
FROM generate_series(1, 130000) i;
SELECT length(t) > 10000000 AS over_10_mb FROM entities_big;
SELECT label, count(*) FROM entities_big, aiml.extract_entities(t, ARRAY['EMAIL', 'DATE']) GROUP BY label ORDER BY label;
DROP TABLE entities_big;
DROP FUNCTION ents;

-- An address at the very end of a text: the text is not NUL-terminated, and in
-- a heap tuple the next column follows it directly (a 23-byte text's header
-- byte is the digit 1), so reading past its end saw "10.0.0.251999..."
CREATE TEMP TABLE entities_tuple (a text, b text);
INSERT INTO entities_tuple VALUES ('login from 10.0.0.25', repeat('9', 23)),
                                  ('login from 2001:db8::25', repeat('9', 23));
SELECT e.label, e.text, e.normalized, e.end_pos = length(t.a) + 1 AS at_end
FROM entities_tuple t, aiml.extract_entities(t.a, ARRAY['IP']) e;
DROP TABLE entities_tuple;

-- One scanner instead of one pass per rule: the rows must not change.  About
-- 1.6 MB of generated log and ticket text (test/sql/extract_text.sql) and of
-- a token soup made to sit on the edges of the rules; the per-label counts
-- and digests of every row below are those of the implementation that ran
-- each rule's pattern over the whole text (computed with it before the
-- scanner replaced it), but for the soup's 27 IP rows that the IPv6 rule's
-- fix in 0.2.0 changed (an IPv4 tail is read whole, ::ffff:1.2.3.4, and an
-- address followed by a dot and a digit is none).  The rule-label digests
-- depend on the rules only; the all-label ones also on the default model
-- (its digest is printed), so a new model changes them.
\set ECHO none
\i test/sql/extract_text.sql
\set ECHO all
CREATE TABLE entities_docs AS
SELECT 'text' AS src, doc, body FROM pg_temp.extract_text(0.5, 2800)
UNION ALL SELECT 'soup', doc, body FROM pg_temp.extract_soup(0.25, 3000);
SELECT src, count(*), sum(octet_length(body)) AS bytes FROM entities_docs GROUP BY src ORDER BY src;
CREATE TABLE entities_rule_rows AS
SELECT d.src, d.doc, e.*
FROM entities_docs d,
     aiml.extract_entities(d.body, ARRAY['EMAIL', 'URL', 'UUID', 'CREDIT_CARD', 'IP', 'PHONE',
                                         'MONEY', 'PERCENT', 'QUANTITY', 'DATE', 'TIME'],
                           '2026-11-23 10:00+00') e;
CREATE TABLE entities_all_rows AS
SELECT d.src, d.doc, e.*
FROM entities_docs d, aiml.extract_entities(d.body, NULL, '2026-11-23 10:00+00') e;
SELECT src, label, count(*) FROM entities_all_rows GROUP BY src, label ORDER BY src, label;
SELECT 'rule labels' AS labels, src,
       md5(string_agg(concat_ws('|', doc, label, text, normalized, start_pos, end_pos, score), E'\n'
                      ORDER BY doc, start_pos))
           = CASE src WHEN 'text' THEN 'b8cdbcb3a851d2638b19846bd6f177fa'
                      ELSE '9efce943b46a1d2a8b91f95a8e924f23' END AS unchanged
FROM entities_rule_rows GROUP BY src
UNION ALL
SELECT 'all labels', src,
       md5(string_agg(concat_ws('|', doc, label, text, normalized, start_pos, end_pos, score), E'\n'
                      ORDER BY doc, start_pos))
           = CASE src WHEN 'text' THEN 'bb2aa0b2264f8feebae369c5858c7204'
                      ELSE 'e302d49cd1a73be009592ad589911a57' END
FROM entities_all_rows GROUP BY src
ORDER BY 1 DESC, 2;
SELECT md5(aiml.model_send(aiml.ner_default_model())) AS default_model_md5;
DROP TABLE entities_docs, entities_rule_rows, entities_all_rows;

-- inputs that would make a scanner quadratic (runs it must not rescan from
-- every position, names far from their suffix) finish in linear time
SELECT n, count(e.label)
FROM (VALUES ('run', repeat('a', 400000) || '@example.com'),
             ('dots', repeat('1.', 200000)),
             ('colons', repeat('ab:', 140000)),
             ('names', repeat('Abc Def ', 60000) || 'Inc'),
             ('commas', repeat('Abc, ', 80000)),
             ('digits', repeat('4111 ', 80000)),
             ('signs', repeat('$1,0', 100000))) t(n, s)
LEFT JOIN LATERAL aiml.extract_entities(s) e ON true
GROUP BY n ORDER BY n;

-- the rows are formed for their declared type: a C declaration of another
-- row type gets an error, not misread rows
CREATE FUNCTION pg_temp.entities_wrong_type(string text, labels text[], reference timestamptz,
                                            model aiml.model, OUT label text, OUT start_pos int)
    RETURNS SETOF record AS '$libdir/aiml', 'aiml_extract_entities' LANGUAGE C;
SELECT * FROM pg_temp.entities_wrong_type('mail x@example.com', NULL, NULL, NULL);

-- \d is any script's decimal digit: a text whose only digits are not ASCII
-- still has its numbers, and accented letters next to numbers (tried for a
-- digit first) change nothing
SELECT label, text, normalized, start_pos, end_pos
FROM aiml.extract_entities('Preis ٣٤% und ١٢٣ kg, ２ GB', model => NULL);
SELECT label, text, normalized, start_pos, end_pos
FROM aiml.extract_entities('Müller zahlte €1670.54 für 12 GiB; García: 5%, é12 kg, 7é', model => NULL);

-- e-mail domains are read without the pattern: the labels are given back
-- from the last until one has two letters and a boundary after them, as
-- PCRE2 backtracks (each row as the pattern alone gave it)
SELECT t, e.text, e.start_pos, e.end_pos
FROM (VALUES ('a@b.co-uk.org'), ('a@b.com-x1'), ('a@b.com.'), ('a@localhost'), ('a@b.c'),
             ('x@y.com_z'), ('a@b.comé'), ('éa@b.com'), ('a@b.c.de.f'), ('a@b.ccc.dd5'),
             ('a@b.xn--p1ai'), ('a@b@c.com'), ('a@b..com'), ('A@B.Com!')) v(t)
LEFT JOIN LATERAL aiml.extract_entities(t, ARRAY['EMAIL'], NULL, NULL) e ON true
ORDER BY t;

-- m/d/y dates are read without the pattern too (each row as the pattern
-- alone gave it)
SELECT t, e.text, e.normalized
FROM (VALUES ('4/12/2026'), ('04/12/26'), ('4/12/20261'), ('4/12/202'), ('4/12/2026.5'),
             ('4/12/2026.'), ('4/12/2026/'), ('4/12/2026x'), ('4/12/2026é'), ('é4/12/2026'),
             ('123/1/2026'), ('1/123/2026'), ('2/30/2026'), ('1/1/2026_'), ('1/1/2026:')) v(t)
LEFT JOIN LATERAL aiml.extract_entities(t, ARRAY['DATE'], NULL, NULL) e ON true
ORDER BY t;

-- times are read without the pattern as well, in the order it tries them
-- (each row as the pattern alone gave it)
SELECT t, e.text, e.normalized
FROM (VALUES ('1:05'), ('22:04:06'), ('24:00'), ('12:60'), ('9:05pm'), ('9:05 p.m.'),
             ('9:05 p.m'), ('9:05 pm.'), ('9:05 pmx'), ('9:05 p.mx'), ('9:05 PM:'), ('13:05 pm'),
             ('0:05 am'), ('10:30:45x'), ('10:30:4'), ('10:30:45.123'), ('7:15  pm'), ('7:15 pmé'),
             ('2:15:59 p.m.x'), ('3:04:05 a.m.:'), ('08:00-17:00'), ('19:30h')) v(t)
LEFT JOIN LATERAL aiml.extract_entities(t, ARRAY['TIME'], NULL, NULL) e ON true
ORDER BY t, e.start_pos;

-- a title's name is read without the pattern when it is ASCII, initials
-- given back as the pattern backtracks (each row as the pattern alone gave it)
SELECT t, e.text, e.normalized
FROM (VALUES ('Mrs. Jane Doe asked'), ('Dr. A.'), ('Dr. A.B. c'), ('Dr. J.R.R. Tolkien wrote'),
             ('Prof. John A. Smith Jr. Esq'), ('Senator Ann O''Neil'), ('Drake Smith'),
             ('Dr.Smith'), ('Dr. smith'), ('Dr. ' || repeat('A', 50) || ' Bee'), ('Dr. A. É'),
             ('Mr. X Y Z W V'), ('Mr. X. Y. Z. W. V.'), ('Rev. Dr. King'), ('Mr. A.b'),
             ('Dr. Smith’s')) v(t)
LEFT JOIN LATERAL aiml.extract_entities(t, ARRAY['PERSON'], NULL, NULL) e ON true
ORDER BY t;
