-- aiml.grok: Logstash grok patterns, the shipped library and users' patterns.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

-- Apache combined log line: the classic
SELECT jsonb_pretty(aiml.grok(
  '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"',
  '%{COMBINEDAPACHELOG}'));
-- common log format, with '-' for the size (the field is null) and an IPv6 client
SELECT aiml.grok('2001:db8::1 - - [05/Mar/2024:08:01:02 +0000] "POST /api/login HTTP/1.1" 401 -',
                 '%{COMMONAPACHELOG}');

-- syslog lines
SELECT aiml.grok('Mar  5 08:01:02 web-01 sshd[4242]: Accepted publickey for deploy from 10.0.0.7 port 51234',
                 '%{SYSLOGLINE}');
SELECT aiml.grok('<34>1 2024-03-05T08:01:02.003Z host.example.com app 1234 ID47 - started worker 3',
                 '%{SYSLOG5424LINE}') - 'syslog5424_sd' AS rfc5424;
SELECT aiml.grok('2024-03-05 08:01:02.345 UTC [4242] LOG:  checkpoint starting: time', '%{POSTGRESQL}');

-- type conversion: :int truncates to a whole number, :float keeps the fraction
SELECT aiml.grok('took 12.75 ms, 3 rows, status -1',
                 'took %{NUMBER:ms:float} ms, %{NUMBER:rows:int} rows, status %{INT:status:int}') AS typed;
SELECT jsonb_typeof(g->'ms') AS ms_type, jsonb_typeof(g->'rows') AS rows_type,
       (g->>'ms')::float8 + 1 AS ms_plus_one
FROM aiml.grok('took 12.75 ms, 3 rows', 'took %{NUMBER:ms:float} ms, %{NUMBER:rows:int} rows') g;
SELECT aiml.grok('took 1.9 ms', 'took %{NUMBER:ms:int} ms') AS truncated;
-- text that is not a number becomes null
SELECT aiml.grok('size=abc', 'size=%{WORD:size:int}') AS not_a_number;
SELECT aiml.grok('x', '%{WORD:w:bool}');

-- unnamed references match without a field; a user's own (?<name>...) is a field too
SELECT aiml.grok('user alice logged in from 10.1.2.3', '%{WORD} %{USER:user} logged in from %{IP:ip}');
SELECT aiml.grok('id=42 color=red', 'id=%{INT:id:int} color=(?<color>\w+)');
-- field names Logstash allows but PCRE2 does not
SELECT aiml.grok('GET /x', '%{WORD:[http][verb]} %{URIPATH:@path}');
-- no match gives NULL; NULL gives NULL; unanchored like Logstash
SELECT aiml.grok('nothing here', '%{IPV4:ip}') IS NULL AS no_match,
       aiml.grok(NULL, '%{IPV4:ip}') IS NULL AS null_text,
       aiml.grok('host 10.0.0.1 up', '%{IPV4:ip}') AS unanchored;
SELECT aiml.grok('', '%{DATA:d}') AS empty_text;

-- assorted library patterns
SELECT aiml.grok('550e8400-e29b-41d4-a716-446655440000 00:1A:2b:3C:4d:5E https://user@example.com:8443/a/b?q=1 /var/log/syslog',
                 '%{UUID:uuid} %{MAC:mac} %{URI:uri} %{PATH:path}');
SELECT aiml.grok('2024-03-05T08:01:02.5+01:00 WARNING "quoted \"string\"" ::ffff:10.0.0.1',
                 '%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{QUOTEDSTRING:q} %{IPV6:v6}$');
SELECT count(*) AS patterns, count(*) FILTER (WHERE name IN ('IP', 'IPV4', 'IPV6', 'HOSTNAME', 'NUMBER',
       'INT', 'WORD', 'DATA', 'GREEDYDATA', 'QUOTEDSTRING', 'UUID', 'MAC', 'URI', 'PATH',
       'TIMESTAMP_ISO8601', 'HTTPDATE', 'SYSLOGTIMESTAMP', 'LOGLEVEL', 'COMMONAPACHELOG',
       'COMBINEDAPACHELOG', 'SYSLOGLINE')) AS required
FROM aiml.grok_library();

-- unknown patterns, bad references
SELECT aiml.grok('x', '%{NOSUCHPATTERN:x}');
INSERT INTO aiml.grok_patterns VALUES ('USES_MISSING', '%{WORD} %{ALSO_MISSING}');
SELECT aiml.grok('x', '%{USES_MISSING}');
SELECT aiml.grok('x', '%{WO-RD}');
SELECT aiml.grok('x', '%{WORD:w}(');
-- a literal %{ via backslash; an unclosed %{ is literal too
SELECT aiml.grok('100%{x}', '%{INT:n}\%\{x\}') AS escaped, aiml.grok('a %{', '(?<all>.*)') AS unclosed;

-- user-defined patterns extend and override the library
INSERT INTO aiml.grok_patterns VALUES
  ('TICKET', 'TCK-%{INT}', 'support ticket id'),
  ('WORD', '[a-z]+', 'override: lower-case words only');
SELECT aiml.grok('see TCK-1042 please', '%{TICKET:ticket}') AS user_pattern;
SELECT aiml.grok('Hello world', '%{WORD:w}') AS overridden;
DELETE FROM aiml.grok_patterns WHERE name = 'WORD';
SELECT aiml.grok('Hello world', '%{WORD:w}') AS restored;

-- cycles and runaway nesting
INSERT INTO aiml.grok_patterns VALUES ('LOOP_A', 'a%{LOOP_B}'), ('LOOP_B', 'b%{LOOP_A}'), ('SELF', '%{SELF}');
SELECT aiml.grok('ab', '%{LOOP_A}');
SELECT aiml.grok('x', '%{SELF:s}');
INSERT INTO aiml.grok_patterns
SELECT 'DEEP' || i, '%{DEEP' || (i + 1) || '}' FROM generate_series(1, 70) i;
INSERT INTO aiml.grok_patterns VALUES ('DEEP71', 'x');
SELECT aiml.grok('x', '%{DEEP1}');
INSERT INTO aiml.grok_patterns
SELECT 'WIDE' || i, '%{WIDE' || (i + 1) || '}%{WIDE' || (i + 1) || '}' FROM generate_series(1, 30) i;
INSERT INTO aiml.grok_patterns VALUES ('WIDE31', 'x');
SELECT aiml.grok('x', '%{WIDE1}');
-- a broken user pattern is reported as a grok pattern error
INSERT INTO aiml.grok_patterns VALUES ('BROKEN', '(unclosed');
SELECT aiml.grok('x', 'id %{BROKEN:b}');
-- pattern names are checked
INSERT INTO aiml.grok_patterns VALUES ('bad name', 'x');
DELETE FROM aiml.grok_patterns;

-- catastrophic backtracking in a grok pattern is stopped too
SELECT aiml.grok(repeat('a', 40) || 'b', '(?<x>(a+)+)$');

-- a table of lines, one compiled pattern per query
CREATE TABLE access_log AS
SELECT format('10.0.%s.%s - - [05/Mar/2024:08:%s:00 +0000] "GET /item/%s HTTP/1.1" %s %s "-" "curl/8.0"',
              i % 256, i % 200, lpad((i % 60)::text, 2, '0'), i, CASE WHEN i % 10 = 0 THEN 404 ELSE 200 END, i) AS line
FROM generate_series(1, 2000) i;
SELECT g->>'response' AS response, count(*), sum((g->>'bytes')::int)
FROM (SELECT aiml.grok(line, '%{COMBINEDAPACHELOG}') g FROM access_log) s
GROUP BY 1 ORDER BY 1;
SELECT count(*) FROM access_log
WHERE aiml.grok(line, '%{IPORHOST:ip} .* %{INT:status:int} %{INT:bytes:int}') @> '{"status": 404}';
DROP TABLE access_log;

-- the examples of docs/extract.md
INSERT INTO aiml.grok_patterns (name, pattern, description) VALUES
  ('MODELLOG', '%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} model=%{NOTSPACE:model} latency=%{NUMBER:ms:float}ms', NULL);
SELECT aiml.grok('2026-10-15T08:00:01Z INFO model=fraud-scorer latency=35.2ms', '%{MODELLOG}');
SELECT aiml.grok('127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "-" "curl/8.0"',
                 '%{COMBINEDAPACHELOG}');
DELETE FROM aiml.grok_patterns;
