-- aiml.regex_extract, regex_extract_all, regex_to_record: PCRE2 named groups.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

-- named groups of the first match
SELECT aiml.regex_extract('10.0.0.1 - alice [GET /index.html]',
                          '(?<ip>\S+) - (?<user>\S+) \[(?<verb>[A-Z]+) (?<path>\S+)\]');
-- only named groups are keys when some are named
SELECT aiml.regex_extract('key=42', '(\w+)=(?<value>\d+)');
-- no named group: groups by number; no group at all: the whole match as "0"
SELECT aiml.regex_extract('2024-03-05', '(\d+)-(\d+)-(\d+)');
SELECT aiml.regex_extract('order 1234 shipped', '\d+');
-- no match gives NULL; NULL inputs give NULL
SELECT aiml.regex_extract('abc', '(?<d>\d+)') IS NULL AS no_match;
SELECT aiml.regex_extract(NULL, '(?<d>\d+)') IS NULL AS null_text,
       aiml.regex_extract('1', NULL) IS NULL AS null_pattern,
       aiml.regex_extract('1', '1', NULL) IS NULL AS null_flags;
-- an optional group that did not take part is JSON null; an empty capture is ""
SELECT aiml.regex_extract('user=bob', 'user=(?<user>\w+)(?: id=(?<id>\d+))?(?<rest>.*)');
-- the same name in two alternatives ((?J)) gives one key, from the branch that matched
SELECT aiml.regex_extract('b:2', '(?J)a:(?<n>\d)|b:(?<n>\d)');

-- empty string
SELECT aiml.regex_extract('', '(?<all>.*)') AS empty_text;
SELECT aiml.regex_extract('abc', '(?<nothing>)') AS empty_pattern_group;

-- flags: i, m, s, x, U, n, u
SELECT aiml.regex_extract('Hello', '(?<w>hello)') IS NULL AS case_sensitive,
       aiml.regex_extract('Hello', '(?<w>hello)', 'i') AS ignore_case;
SELECT aiml.regex_extract(E'a\nb', '^(?<line>b)$') IS NULL AS single_line,
       aiml.regex_extract(E'a\nb', '^(?<line>b)$', 'm') AS multiline;
SELECT aiml.regex_extract(E'a\nb', '(?<all>a.b)') IS NULL AS dot_no_newline,
       aiml.regex_extract(E'a\nb', '(?<all>a.b)', 's') AS dotall;
SELECT aiml.regex_extract('2024-03', '(?<year> \d{4} ) - (?<month> \d{2} )  # a comment', 'x');
SELECT aiml.regex_extract('<a><b>', '<(?<tag>.+)>', 'U') AS ungreedy;
SELECT aiml.regex_extract('ab', '(a)(?<b>b)', 'n') AS no_auto_capture;
-- UTF-8 text: captures are whole characters; u makes \w cover all letters
SELECT aiml.regex_extract('Zoë Šťastná, 東京', '(?<first>\S+) (?<last>[^,]+), (?<city>.+)');
SELECT aiml.regex_extract('Šťastná', '^(?<w>\w+)$') IS NULL AS ascii_word,
       aiml.regex_extract('Šťastná', '^(?<w>\w+)$', 'u') AS unicode_word;
SELECT aiml.regex_extract('naïve', '(?<c>.)ve') AS one_character;
-- bad flags
SELECT aiml.regex_extract('a', 'a', 'q');
SELECT aiml.regex_extract('a', 'a', 'g');

-- every match, one row each, left to right
SELECT * FROM aiml.regex_extract_all('a=1, b=22, c=333', '(?<k>\w)=(?<v>\d+)');
SELECT count(*) FROM aiml.regex_extract_all('no digits here', '(?<d>\d)');
-- empty matches advance one character at a time (also over multibyte characters)
SELECT * FROM aiml.regex_extract_all('baa', 'a*');
SELECT * FROM aiml.regex_extract_all('é€x', '(?<c>)');
SELECT aiml.regex_extract_all('x1y2', '\d');

-- record filling with types
CREATE TYPE access AS (ip inet, status int, bytes bigint, took interval, path text, missing text);
SELECT (aiml.regex_to_record(NULL::access,
        '192.168.1.20 GET /api/v1/items 200 5120 15ms',
        '(?<ip>\S+) \S+ (?<path>\S+) (?<status>\d+) (?<bytes>\d+) (?<took>\d+ms)')).*;
SELECT pg_typeof(aiml.regex_to_record(NULL::access, 'x', 'x')) AS type;
SELECT aiml.regex_to_record(NULL::access, 'nothing', '(?<ip>\d+\.\d+\.\d+\.\d+)') IS NULL AS no_match;
SELECT aiml.regex_to_record(NULL::access, NULL, 'x') IS NULL AS null_text;
SELECT aiml.regex_to_record(NULL::int, '1', '(?<x>1)');
-- a value the column's type rejects is that type's error
SELECT aiml.regex_to_record(NULL::access, 'status=ok', 'status=(?<status>\w+)');
-- many rows, one compiled pattern, typed columns
CREATE TABLE lines AS
SELECT format('10.0.%s.%s GET /p/%s %s %s 1ms', i % 256, i % 100, i, 200 + i % 3, i * 10) AS line
FROM generate_series(1, 1000) i;
SELECT count(*), sum(status), sum(bytes), count(DISTINCT ip)
FROM (SELECT (aiml.regex_to_record(NULL::access, line,
              '(?<ip>\S+) \S+ (?<path>\S+) (?<status>\d+) (?<bytes>\d+) (?<took>\d+ms)', 'i')).*
      FROM lines) r;
-- several patterns in one call site (the per-query cache holds a few)
SELECT p, aiml.regex_extract('abc123', p)
FROM unnest(ARRAY['(?<l>[a-z]+)', '(?<d>\d+)', '(?<l>[a-z]+)', '(?<x>c1)', '(?<y>b)', '(?<z>3)', '(?<l>[a-z]+)']) p;

-- invalid regular expressions: PCRE2's message and the offset
SELECT aiml.regex_extract('abc', '(?<ip>\d+');
SELECT aiml.regex_extract('abc', 'a[b');
SELECT aiml.regex_extract('abc', '(?<1x>a)');
SELECT * FROM aiml.regex_extract_all('abc', '*a');

-- catastrophic backtracking is stopped by aiml.regex_match_limit, quickly
SELECT aiml.regex_extract(repeat('a', 40) || 'b', '(a+)+$');
SELECT * FROM aiml.regex_extract_all('x ' || repeat('a', 40) || 'b', '(a+)+$');
SET aiml.regex_match_limit = 1000;
SELECT aiml.regex_extract(repeat('a', 20) || 'b', '(?<a>(a+)+$)');
RESET aiml.regex_match_limit;
SHOW aiml.regex_match_limit;

-- 10 MB of text: one match at the end, every match, no quadratic time
CREATE TABLE big AS SELECT repeat('lorem ipsum dolor ', 582542) || 'id=12345' AS t;
SELECT length(t) FROM big;
SELECT aiml.regex_extract(t, 'id=(?<id>\d+)') FROM big;
SELECT aiml.regex_extract(t, '(?<last>\w+)=') FROM big;
SELECT aiml.regex_extract(t, 'missing=(?<v>\d+)') IS NULL AS not_found FROM big;
SELECT count(*) AS words, count(*) FILTER (WHERE m->>'w' = 'ipsum') AS ipsum
FROM big, aiml.regex_extract_all(t, '(?<w>\w+)') m;

DROP TABLE lines, big;
DROP TYPE access;
