-- Generated log and support-ticket text for aiml.extract_entities and
-- aiml.grok: pg_temp.extract_text(seed, n) returns n documents (kind, body)
-- in a deterministic mix: access-log, application-log and syslog lines
-- (IPs, timestamps, URLs, UUIDs, durations, sizes) and ticket prose (names,
-- organizations, places, e-mails, phones, dates, money, percentages, cards)
-- among ordinary words.  Used by sql/extract_entities.sql (1 MB) and
-- bench/extract (100 MB); the same seed gives the same text.  Ends with
-- pg_temp.extract_soup, adversarial text for the entity scanner.
CREATE FUNCTION pg_temp.pick(a text[]) RETURNS text LANGUAGE sql VOLATILE
    AS $$ SELECT a[1 + floor(random() * cardinality(a))::int] $$;

CREATE FUNCTION pg_temp.extract_text(seed float8, n int)
RETURNS TABLE (doc int, kind text, body text) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    first text[] := '{Maria,John,Wei,Aisha,Carlos,Emma,Liam,Sofia,Raj,Olga,Kenji,Fatima,Lucas,Chloe,Ahmed,Anna,Peter,Mei,Jorge,Sarah}';
    last text[] := '{Gonzalez,Smith,Chen,Khan,Silva,Müller,Johnson,Rossi,Patel,Ivanova,Tanaka,Okafor,Dubois,Nguyen,Brown,Schmidt,García,Kowalski}';
    org text[] := '{"Acme Widgets GmbH","Globex Corporation","Initech LLC","Umbrella Ltd","Stark Industries Inc.","Hooli","Microsoft","Google","Deutsche Bank","University of Toronto","Boston University","Vandelay Industries","Wayne Enterprises","Siemens","Contoso Ltd."}';
    place text[] := '{"Springfield, IL","Austin, TX","Seattle, WA",Berlin,Paris,London,Tokyo,"São Paulo","New York",Toronto,Mumbai,Sydney,Germany,France,Canada,Brazil,Japan,California,Bavaria,Madrid}';
    title text[] := '{Mr.,Ms.,Dr.,Prof.,Mrs.}';
    word text[] := '{the,export,job,keeps,timing,out,and,nobody,on,our,side,changed,anything,in,configuration,since,last,release,dashboard,shows,stale,numbers,users,report,errors,when,they,open,report,page,we,tried,clearing,cache,restarting,service,but,it,did,not,help,please,advise,thanks,again,for,quick,reply,model,predictions,look,wrong,for,some,customers}';
    verb text[] := '{GET,GET,GET,POST,PUT,DELETE}';
    path text[] := '{api/v1/models,static/js,img/avatars,app/settings,v2/predict,health}';
    lvl text[] := '{INFO,INFO,INFO,WARN,ERROR,DEBUG}';
    mon text[] := '{Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec}';
    monthname text[] := '{January,February,March,April,May,June,July,August,September,October,November,December}';
    rel text[] := '{yesterday,today,tomorrow,"next Monday","last Friday","3 days ago","in two weeks","next month"}';
    unit text[] := '{ms,MB,GB,GiB,s,min,KB,%,cores,GHz}';
    cur text[] := '{$,€,£,USD ,EUR }';
BEGIN
    PERFORM setseed(seed);
    RETURN QUERY
    SELECT i, k, CASE k
        WHEN 'access' THEN format('%s.%s.%s.%s - %s [%s/%s/2026:%s:%s:%s +0000] "%s /%s/%s?id=%s HTTP/1.1" %s %s "https://www.example.com/%s" "Mozilla/5.0 (X11; Linux x86_64) Firefox/%s.0"',
            10 + (random() * 200)::int, (random() * 255)::int, (random() * 255)::int, 1 + (random() * 253)::int,
            pg_temp.pick('{-,-,alice,bob,svc-batch}'), lpad((1 + (random() * 27)::int)::text, 2, '0'), pg_temp.pick(mon),
            lpad((random() * 23)::int::text, 2, '0'), lpad((random() * 59)::int::text, 2, '0'), lpad((random() * 59)::int::text, 2, '0'),
            pg_temp.pick(verb), pg_temp.pick(path), substr(md5(i::text), 1, 10), i,
            pg_temp.pick('{200,200,200,304,404,500}'), (random() * 90000)::int, substr(md5((i * 7)::text), 1, 8), 100 + i % 30)
        WHEN 'app' THEN format('2026-%s-%sT%s:%s:%s.%sZ %s [worker-%s] request %s user=%s@%s.example.com took %s ms, heap %s MB, cpu %s%% from %s',
            lpad((1 + (random() * 11)::int)::text, 2, '0'), lpad((1 + (random() * 27)::int)::text, 2, '0'),
            lpad((random() * 23)::int::text, 2, '0'), lpad((random() * 59)::int::text, 2, '0'), lpad((random() * 59)::int::text, 2, '0'),
            lpad((random() * 999)::int::text, 3, '0'), pg_temp.pick(lvl), (random() * 16)::int,
            md5(i::text)::uuid, lower(pg_temp.pick(first)), pg_temp.pick('{mail,corp,eu,us}'), (random() * 3000)::int,
            (random() * 4096)::int, round((random() * 100)::numeric, 1),
            CASE WHEN random() < 0.2 THEN format('2001:db8::%s:%s', to_hex((random() * 65535)::int), to_hex((random() * 65535)::int))
                 ELSE format('192.168.%s.%s', (random() * 255)::int, (random() * 255)::int) END)
        WHEN 'syslog' THEN format('%s %s %s:%s:%s web-%s sshd[%s]: %s for %s from 10.%s.%s.%s port %s ssh2',
            pg_temp.pick(mon), 1 + (random() * 27)::int, lpad((random() * 23)::int::text, 2, '0'),
            lpad((random() * 59)::int::text, 2, '0'), lpad((random() * 59)::int::text, 2, '0'), (random() * 20)::int,
            1000 + (random() * 30000)::int, pg_temp.pick('{"Accepted publickey","Failed password","Connection closed"}'),
            pg_temp.pick('{root,deploy,alice,git}'), (random() * 255)::int, (random() * 255)::int, (random() * 255)::int,
            1024 + (random() * 60000)::int)
        ELSE concat_ws(' ',
            format('Hi team, this is %s %s from %s in %s.', pg_temp.pick(first), pg_temp.pick(last), pg_temp.pick(org), pg_temp.pick(place)),
            format('Since %s our dashboard at https://app.%s.example.com/reports/%s has been %s %s %s %s for about %s minutes.',
                   CASE WHEN random() < 0.5 THEN format('%s %s, 2026', pg_temp.pick(monthname), 1 + (random() * 27)::int)
                        ELSE format('%s/%s/2026', 1 + (random() * 11)::int, 1 + (random() * 27)::int) END,
                   lower(pg_temp.pick(last)), (random() * 9999)::int, pg_temp.pick(word), pg_temp.pick(word), pg_temp.pick(word),
                   pg_temp.pick(word), (random() * 300)::int),
            format('%s %s %s %s %s %s %s %s %s %s.', initcap(pg_temp.pick(word)), pg_temp.pick(word), pg_temp.pick(word), pg_temp.pick(word),
                   pg_temp.pick(word), pg_temp.pick(word), pg_temp.pick(word), pg_temp.pick(word), pg_temp.pick(word), pg_temp.pick(word)),
            CASE WHEN random() < 0.5 THEN format('Please call me at +1 (%s) 555-%s or write to %s.%s@%s.com.',
                   200 + (random() * 799)::int, lpad((random() * 9999)::int::text, 4, '0'), lower(pg_temp.pick(first)),
                   lower(pg_temp.pick(last)), pg_temp.pick('{acme,globex,initech,hooli}'))
                 ELSE format('You can reach me on +44 20 7946 %s or %s@example.org %s.', lpad((random() * 9999)::int::text, 4, '0'),
                   lower(pg_temp.pick(first)), pg_temp.pick(rel)) END,
            CASE WHEN random() < 0.4 THEN format('We were charged %s%s twice on %s %s, card %s.', pg_temp.pick(cur),
                   round((random() * 2000)::numeric, 2), (1 + (random() * 27)::int), pg_temp.pick(mon),
                   pg_temp.pick('{"4111 1111 1111 1111","5500-0000-0000-0004","4111 1111 1111 1112","378282246310005"}')) END,
            format('%s %s %s asked whether the %s %s limit applies to all %s users, latency went up %s%% after %s:%s.',
                   pg_temp.pick(title), pg_temp.pick(first), pg_temp.pick(last), (random() * 512)::int, pg_temp.pick(unit),
                   (random() * 900)::int, (random() * 80)::int, lpad((random() * 23)::int::text, 2, '0'), lpad((random() * 59)::int::text, 2, '0')),
            CASE WHEN random() < 0.5 THEN format('Ticket ref %s, build 2.%s.%s, server %s.%s.%s.%s.', md5((i * 3)::text)::uuid,
                   (random() * 20)::int, (random() * 9)::int, 10 + (random() * 200)::int, (random() * 255)::int, (random() * 255)::int, (random() * 255)::int) END,
            format('%s %s %s %s %s %s %s %s.', initcap(pg_temp.pick(word)), pg_temp.pick(word), pg_temp.pick(word), pg_temp.pick(word),
                   pg_temp.pick(word), pg_temp.pick(word), pg_temp.pick(word), pg_temp.pick(word)),
            format('Regards, %s', pg_temp.pick(first)))
        END
    FROM generate_series(1, n) i,
         LATERAL (SELECT (ARRAY['access', 'app', 'syslog', 'ticket', 'access', 'app', 'ticket'])[1 + (i::bigint * 7919) % 7] AS k) kk;
END
$fn$;

-- pg_temp.extract_soup(seed, n): n documents of random tokens chosen to sit
-- on the edges of the entity rules (digits next to letters, Unicode digits,
-- U+017F, no-break spaces, half-formed cards, phones and addresses).
CREATE FUNCTION pg_temp.extract_soup(seed float8, n int)
RETURNS TABLE (doc int, body text) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    tok text[] := ARRAY[
        '4111', '1111', '5500', '0004', '-', ' ', ' ', ' ', '.', ',', ':', '/', '@', 'a', 'Bob',
        'Smith', 'ſep', '٣٤', '２', '$', '€', '£', '+', '(', ')', '1', '12', '123', '2024', '07',
        '255', '0', 'USD', 'EUR', 'am', 'pm', 'p.m.', 'Dr.', 'Mr', 'Inc', 'Ltd.', '&', 'www.',
        'http://', 'https://x.', 'ff', 'dead', 'beef', 'Jan', 'March', 'next', 'in', 'two', 'days',
        'ago', 'today', '%', 'percent', 'MB', 'ms', 'k', 'million', 'dollars', E'\u00a0', E'\n',
        'é', 'Ünal', 'University', 'of', 'Paris', 'France', 'New', 'York', 'Springfield', 'IL',
        'TX', 'st', 'th', 'T', 'Z', 'e', '_', '::', 'db8', 'x', '"', '<', '°C', 'µs', 'km/h', '1st',
        'Sept', 'Dec.', '4111-1111-1111-1111', '123e4567-E89B-12d3-a456-426614174000',
        '192.168.0.1', '2024-05-01T10:00:00Z', '10:30', '+1 (415) 555-0100', 'a@b.co', '03/15/2024',
        '+49 30 901820', '415.555.0199', 'fe80::1', '1.2.3', '5 Jan 2025', '&'];
BEGIN
    PERFORM setseed(seed);
    -- (WHERE i > 0 makes the subquery run again for every document)
    RETURN QUERY
    SELECT i, (SELECT string_agg(tok[1 + floor(random() * cardinality(tok))::int],
                                 CASE WHEN random() < 0.3 THEN ' ' ELSE '' END)
               FROM generate_series(1, 40 + (i % 40)) g WHERE i > 0)
    FROM generate_series(1, n) i;
END
$fn$;
