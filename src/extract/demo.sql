-- extract: text to rows with grok, regular expressions and key=value pairs.
\echo
\echo '=== grok: raw access log lines to fields, errors per endpoint ==='
SELECT g->>'request' AS request, g->>'response' AS status, count(*)
FROM (SELECT aiml.grok(line, '%{COMBINEDAPACHELOG}') g FROM access_log) s
WHERE (g->>'response')::int >= 500
GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5;
SELECT count(*) AS lines, count(*) FILTER (WHERE aiml.grok(line, '%{COMBINEDAPACHELOG}') IS NULL) AS unparsed
FROM access_log;

\echo
\echo '=== regex_to_record: the same lines as typed columns ==='
CREATE TYPE access_entry AS (ip inet, ts timestamptz, verb text, endpoint text, status int, bytes int);
SELECT (aiml.regex_to_record(NULL::access_entry, line,
        '^(?<ip>\S+) \S+ \S+ \[(?<ts>[^\]]+)\] "(?<verb>\w+) /v1/models/(?<endpoint>[^/]+)\S* [^"]*" (?<status>\d+) (?<bytes>\d+)')).*
FROM access_log ORDER BY id LIMIT 3;

\echo
\echo '=== extract_kv: support tickets to jsonb, grouped ==='
SELECT kv->>'endpoint' AS endpoint, kv->>'priority' AS priority, count(*),
       round(avg((kv->>'minutes_open')::int)) AS avg_minutes_open
FROM (SELECT aiml.extract_kv(body) kv FROM tickets) t
GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 6;

\echo
\echo '=== pg_cron: parse new log lines every minute into a typed table ==='
CREATE TABLE access_parsed (
    log_id bigint PRIMARY KEY, ip inet, ts timestamptz, verb text, request text,
    status int, bytes bigint, agent text
);
CREATE OR REPLACE PROCEDURE extract_new_access_lines() LANGUAGE sql AS $$
    INSERT INTO access_parsed
    SELECT l.id, (g->>'clientip')::inet, to_timestamp(g->>'timestamp', 'DD/Mon/YYYY:HH24:MI:SS TZHTZM'),
           g->>'verb', g->>'request', (g->>'response')::int, (g->>'bytes')::bigint, g->>'agent'
    FROM access_log l, aiml.grok(l.line, '%{COMBINEDAPACHELOG}') g
    WHERE g IS NOT NULL AND l.id > (SELECT coalesce(max(log_id), 0) FROM access_parsed)
    ON CONFLICT (log_id) DO NOTHING
$$;
SELECT cron.schedule('extract-logs', '* * * * *', 'CALL extract_new_access_lines()') > 0 AS scheduled;
CALL extract_new_access_lines();
SELECT status, count(*), sum(bytes) AS bytes FROM access_parsed GROUP BY status ORDER BY status;

\echo
\echo '=== extract_entities: free-text support messages to a table of entities ==='
CREATE TABLE messages (id int PRIMARY KEY, body text);
INSERT INTO messages VALUES
 (1, 'Hi, this is Dr. Priya Raman from Northwind Traders Ltd. in Portland, OR. Since 2024-06-03 09:15 '
     'the fraud-scorer endpoint at https://api.example.com/v1/fraud returns 502 for 12% of calls. '
     'Call me at +1 (503) 555-0142 or mail priya.raman@northwind.example.'),
 (2, 'Invoice 7731 for $1,240.50 was charged twice to card 4111 1111 1111 1111 yesterday; '
     'please refund by next Friday. Request id 9b2f4c1e-3d5a-4f8e-9c7b-2a1d0e6f5b43.'),
 (3, 'Angela Weber (Contoso GmbH, Berlin) reports p99 latency of 850 ms from 10.20.30.40 after the '
     'upgrade on March 3, 2025 at 4 pm.');
CREATE TABLE message_entities AS
SELECT m.id, e.* FROM messages m, aiml.extract_entities(m.body, reference => '2025-03-05 12:00+00') e;
SELECT id, label, text, normalized FROM message_entities ORDER BY id, start_pos;

\echo
\echo '=== ner_train: a model for our own labels from a handful of labelled messages ==='
CREATE TABLE labelled (body text, spans jsonb);
INSERT INTO labelled
SELECT body, jsonb_build_array(
    jsonb_build_object('label', 'PRODUCT', 'start', position(product IN body), 'end', position(product IN body) + length(product)),
    jsonb_build_object('label', 'TEAM', 'start', position(team IN body), 'end', position(team IN body) + length(team)))
FROM (VALUES
 ('The Billing Portal is down, please ask the payments team.', 'Billing Portal', 'payments'),
 ('Login to Data Studio fails for the platform team since Monday.', 'Data Studio', 'platform'),
 ('Escalate to the security team: Data Studio leaks tokens.', 'Data Studio', 'security'),
 ('Billing Portal shows wrong totals; the finance team noticed.', 'Billing Portal', 'finance'),
 ('The Report Builder export is slow, says the analytics team.', 'Report Builder', 'analytics'),
 ('Report Builder crashed again; the platform team is on it.', 'Report Builder', 'platform')
) v(body, product, team);
SELECT aiml.save_model('ticket_ner', aiml.ner_train('SELECT body, spans FROM labelled',
                                                  '{"epochs": 20, "seed": 1, "gazetteer": false}')) IS NOT NULL AS saved;
SELECT label, text, start_pos, end_pos
FROM aiml.ner(aiml.load_model('ticket_ner'), 'The finance team cannot open Report Builder today.');
