-- aiml.extract_kv: key=value and key: value pairs.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

-- both separators, by default pairs end at whitespace, ',' or ';'
SELECT aiml.extract_kv('user=alice action=login status: ok, took=15ms; ip=10.0.0.1');
-- spaces around the separator; words that are not pairs are skipped
SELECT aiml.extract_kv('ERROR in worker 3 retries = 5 reason: timeout (see log) code=E42');
-- quoting: double and single quotes, backslash escapes, separators inside quotes
SELECT aiml.extract_kv($$msg="disk full, retry; later" path='/var/lib/pg data' q="say \"hi\"" esc='it\'s' nl="a\nb" bs="c:\\tmp"$$);
SELECT aiml.extract_kv($$"quoted key"=1 'other key': two$$);
-- values keep ':' and '=' after the first separator (URLs, times)
SELECT aiml.extract_kv('url=http://example.com/a?b=c at=12:30:05');
-- empty values, unterminated quotes, a key seen twice (the last wins)
SELECT aiml.extract_kv('a="" b= c="open ended');
SELECT aiml.extract_kv('x=1 =2 ""=3 y: 4 z= ');
SELECT aiml.extract_kv('k=1 k=2');
-- UTF-8 keys and values
SELECT aiml.extract_kv('ciudad=Zürich 名前="東京 タワー" café: ouvert');
-- nothing to find, empty text, NULL
SELECT aiml.extract_kv('no pairs here') AS none, aiml.extract_kv('') AS empty,
       aiml.extract_kv(NULL) IS NULL AS null_text;

-- options: custom separators; with pair_sep "," values may contain spaces
SELECT aiml.extract_kv('name = Jane Doe, role = db admin , team=core', '{"pair_sep": ","}');
SELECT aiml.extract_kv('a:1|b:2|c:x y', '{"pair_sep": "|", "kv_sep": ":"}');
SELECT aiml.extract_kv('a=1&b=2&c=', '{"pair_sep": "&", "kv_sep": "="}');
SELECT aiml.extract_kv('a=1 b:2', '{"kv_sep": "="}') AS only_equals;
SELECT aiml.extract_kv('a=1 b=2', '{"pair_sep": null}') AS null_is_default;
-- bad options
SELECT aiml.extract_kv('a=1', '{"pair_sep": ""}');
SELECT aiml.extract_kv('a=1', '{"pair_sep": "x"}');
SELECT aiml.extract_kv('a=1', '{"pair_sep": "=", "kv_sep": "="}');
SELECT aiml.extract_kv('a=1', '{"pair_sep": 1}');
SELECT aiml.extract_kv('a=1', '{"sep": ","}');

-- many rows: tickets
SELECT count(*) AS tickets, count(*) FILTER (WHERE kv->>'priority' = 'high') AS high,
       sum((kv->>'id')::int) AS id_sum
FROM (SELECT aiml.extract_kv(format('id=%s priority=%s customer="Customer %s" note: ok', i,
             CASE WHEN i % 4 = 0 THEN 'high' ELSE 'low' END, i)) kv
      FROM generate_series(1, 1000) i) t;
