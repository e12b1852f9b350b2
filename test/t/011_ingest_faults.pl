# The ingestion worker against a fixture that injects faults: each failure is
# recorded per source with backoff, nothing partial is written, the worker
# survives, secrets never show, SIGTERM is prompt, and a server crash in the
# middle of a batch loses and duplicates nothing.
use strict;
use warnings;
use AimlTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $fx = start_fixture();
my $node = aiml_node('faults', "aiml.ingest_max_response_bytes = '1MB'\n");

sub sql { $node->safe_psql('postgres', $_[0]) }

sub samples { sql(q{SELECT count(*) FROM aiml.metric_samples}) }

# Makes the source due now and waits for the worker's next attempt to finish.
sub poll_once
{
	my $before = sql(q{SELECT coalesce(last_attempt::text, '') FROM aiml.metric_source_state WHERE source = 'fx'});
	sql(q{UPDATE aiml.metric_source_state SET next_attempt = now() WHERE source = 'fx'});
	sql(q{UPDATE aiml.metric_sources SET enabled = true WHERE name = 'fx'});	# wakes the worker
	wait_until(40, sub {
		sql(q{SELECT coalesce(last_attempt::text, '') FROM aiml.metric_source_state WHERE source = 'fx'}) ne $before
	}) or die 'the worker did not poll';
}

sql(qq{SELECT aiml.add_metric_source('fx', 'prometheus', '{
	"endpoint": "$fx", "metrics": {"latency_ms": "fixture_latency"}, "step": 10,
	"interval": 3600, "lookback": 600, "timeout": 2, "dimensions": ["model"]}')});
poll_once();
is(sql(q{SELECT status || ' ' || samples_total || ' ' || series FROM aiml.metric_source_status}),
	'ok 180 3', 'a healthy poll ingests 3 series x 60 steps');
is(sql(q{SELECT count(*) FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
	WHERE m.value <> (extract(epoch FROM m.ts)::bigint % 1000) + 1000 * split_part(s.resource, '-', 2)::int}),
	'0', 'every sample has the fixture\'s value');

my %faults = (
	http500 => qr/HTTP 500/,
	http429 => qr/HTTP 429/,
	malformed => qr/malformed Prometheus API response/,
	truncated => qr/(transfer closed|Transferred a partial file|partial)/i,
	huge => qr/larger than aiml\.ingest_max_response_bytes/,
	timeout => qr/(timed out|Timeout)/i,
	unauthorized => qr/HTTP 401/,
);
for my $mode (sort keys %faults)
{
	my $count = samples();
	fixture_control($fx, mode => $mode, retry_after => 120);
	my $t0 = time;
	poll_once();
	my ($error, $failures, $wait) = split /\|/, sql(q{
		SELECT last_error, consecutive_failures, extract(epoch FROM next_attempt - last_attempt)::int
		FROM aiml.metric_source_status});
	like($error, $faults{$mode}, "$mode: the error is recorded");
	cmp_ok($failures, '>=', 1, "$mode: failures are counted");
	is(samples(), $count, "$mode: nothing is written");
	cmp_ok($wait, '>=', $mode eq 'http429' ? 120 : 1, "$mode: the next attempt backs off");
	fixture_control($fx, mode => 'ok');
}
ok(sql(q{SELECT aiml.ingest_worker_pid() IS NOT NULL}) eq 't', 'the worker survived every fault');
poll_once();
is(sql(q{SELECT status || ' ' || consecutive_failures FROM aiml.metric_source_status}), 'ok 0',
	'the source recovers and its failure count resets');

# ingest_now reports a failure as an error
fixture_control($fx, mode => 'http500', times => 1);
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT aiml.ingest_now('fx')});
like($err, qr/metric source "fx" failed: .*HTTP 500/, 'ingest_now raises the failure');

# A bearer token is sent, and never shown even when the server echoes it.
sql(q{SELECT aiml.alter_metric_source('fx', config || '{"auth": "bearer"}') FROM aiml.metric_sources});
sql(q{SELECT aiml.set_metric_source_secret('fx', 'tok-' || 'Zx81secret')});
fixture_control($fx, token => 'tok-Zx81secret');
poll_once();
is(sql(q{SELECT status FROM aiml.metric_source_status}), 'ok', 'the token is accepted');
fixture_control($fx, token => 'another-token');
poll_once();
my $status_error = sql(q{SELECT last_error FROM aiml.metric_source_status});
like($status_error, qr/\[redacted\]/, 'an echoed token is redacted in the status');
unlike($status_error . slurp_file($node->logfile), qr/Zx81secret(?!')/,
	'the token appears in no status column or log line');
fixture_control($fx, token => undef);

# A failing call (a mistyped source name) logs its error, not its statement
# (log_statement, which the test cluster sets to "all", is off as by default).
($ret, $out, $err) = $node->psql('postgres',
	q{SET log_statement = none; SELECT aiml.set_metric_source_secret('no-such-source', 'Qv7typoSecret')});
like($err, qr/metric source "no-such-source" does not exist/, 'a secret for an unknown source is refused');
my $log = slurp_file($node->logfile);
like($log, qr/ERROR:  metric source "no-such-source" does not exist/, 'the error is logged');
unlike($log, qr/Qv7typo/, 'without the statement that holds the secret');

sql(q{CREATE ROLE reader LOGIN; GRANT USAGE ON SCHEMA aiml TO reader});
($ret, $out, $err) = $node->psql('postgres', 'SELECT * FROM aiml.metric_source_secrets',
	extra_params => [ '-U', 'reader' ]);
like($err, qr/permission denied/, 'other roles cannot read secrets');
($ret, $out, $err) = $node->psql('postgres', q{SELECT aiml.ingest_now('fx')},
	extra_params => [ '-U', 'reader' ]);
like($err, qr/permission denied/, 'other roles cannot run ingest_now unless granted');

# SIGTERM while a transfer hangs: the worker exits promptly.
fixture_control($fx, mode => 'timeout');
sql(q{SELECT aiml.alter_metric_source('fx', config || '{"timeout": 30}') FROM aiml.metric_sources});
wait_until(10, sub { sql(q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'aiml ingest worker' AND state = 'active'}) eq '1' });
my $pid = sql(q{SELECT aiml.ingest_worker_pid()});
my $t0 = time;
sql(qq{SELECT pg_terminate_backend($pid)});
ok(wait_until(5, sub { sql(qq{SELECT count(*) FROM pg_stat_activity WHERE pid = $pid}) eq '0' }),
	'the worker exits on SIGTERM');
cmp_ok(time - $t0, '<', 1.5, 'within a second, although a transfer hangs');
fixture_control($fx, mode => 'ok');
sql(q{SELECT aiml.alter_metric_source('fx', config || '{"timeout": 2}') FROM aiml.metric_sources});
ok(wait_until(20, sub { sql(q{SELECT aiml.ingest_worker_pid() IS NOT NULL AND aiml.ingest_worker_pid() <> } . $pid) eq 't' }),
	'the postmaster restarts it');

# A crash in the middle of a big batch: nothing lost, nothing duplicated.
sql(q{DELETE FROM aiml.metric_sources});
fixture_control($fx, mode => 'ok', series => 40);
$node->append_conf('postgresql.conf', "aiml.ingest_batch_rows = 200\naiml.ingest_max_response_bytes = '64MB'\n");
$node->reload;
sql(qq{SELECT aiml.add_metric_source('big', 'prometheus', '{
	"endpoint": "$fx", "metrics": {"latency_ms": "fixture_latency"}, "step": 1,
	"interval": 1, "lookback": 3000, "dimensions": ["model"]}')});
ok(wait_until(30, sub { samples() > 2000 }), 'the big batch is being written');
$node->stop('immediate');
$node->start;
ok(wait_until(60, sub {
	sql(q{SELECT status = 'ok' AND samples_total > 0 FROM aiml.metric_source_status WHERE source = 'big'}) eq 't' }),
	'after the crash the worker completes the batch');
is(sql(q{
	SELECT count(*) FROM (
		SELECT s.id, count(*) AS n,
		       extract(epoch FROM max(m.ts) - min(m.ts))::bigint + 1 AS span
		FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
		GROUP BY s.id) x
	WHERE n <> span OR n < 3000}), '0',
	'every series has one sample per step over the whole window: no gap, no duplicate');
is(sql(q{SELECT count(*) FROM aiml.metric_series WHERE source = 'big'}), '40', 'all 40 series');

# DROP EXTENSION does not wait for the polling worker, which survives it
$t0 = time;
sql(q{DROP EXTENSION aiml});
cmp_ok(time - $t0, '<', 5, 'DROP EXTENSION is not blocked by the worker');
sleep 2;
ok(sql(q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'aiml ingest worker'}) eq '1',
	'the worker keeps running without the extension');
sql(q{CREATE EXTENSION aiml});
is(sql(q{SELECT count(*) FROM aiml.metric_sources}), '0', 'and the extension can be created again');

$node->stop;
done_testing();
