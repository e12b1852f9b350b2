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
