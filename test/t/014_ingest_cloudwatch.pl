# The cloudwatch provider against a GetMetricData fixture that verifies every
# request's Signature V4 with botocore: values, pagination, batches of at
# most 500 queries, each credential source of the chain (secret,
# environment, shared credentials file, IMDSv2 with refresh), faults, secrets
# kept out of logs and status, and a crash mid-batch.
use strict;
use warnings;
use AimlTest;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;

my ($key_id, $secret) = ('AKIAAIMLTEST0001', 'wJalrXUtnFEMI-aiml-' . 'test-secret');
my $fx = start_fixture('cloudwatch_fixture.py', $key_id, $secret);
fixture_control($fx, page_size => 100);

# The environment of the postmaster is the server's environment.
local $ENV{AWS_ACCESS_KEY_ID} = $key_id;
local $ENV{AWS_SECRET_ACCESS_KEY} = $secret;
my $node = aiml_node('cloudwatch');
delete $ENV{AWS_ACCESS_KEY_ID};
delete $ENV{AWS_SECRET_ACCESS_KEY};

sub sql { $node->safe_psql('postgres', $_[0]) }

sub stats { decode_json(HTTP::Tiny->new->get("$fx/stats")->{content}) }

# Stores a source's credentials without the statement reaching the server
# log (the test cluster logs every statement; a user would pass them as bind
# parameters).
sub set_secret
{
	my ($source, $key, $secret_key) = @_;
	local $ENV{PGOPTIONS} = '-c log_statement=none';
	sql(qq{SELECT aiml.set_metric_source_secret('$source',
		'{"access_key_id": "$key", "secret_access_key": "$secret_key"}')});
}

# Samples a poll of the whole look-back window inserts: one per complete
# period, the same number for every series.
sub complete_window
{
	my ($inserted, $series, $periods) = @_;
	return $inserted % $series == 0 && $inserted / $series >= $periods - 1
	  && $inserted / $series <= $periods;
}

my $creds_file = PostgreSQL::Test::Utils::tempdir() . '/credentials';
open my $fh, '>', $creds_file or die;
print $fh "[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n"
  . "[aiml]\naws_access_key_id = $key_id\naws_secret_access_key = $secret\n";
close $fh;
chmod 0644, $creds_file;

my $dims = '[{"EndpointName": "fraud-scorer", "VariantName": "AllTraffic"}, {"EndpointName": "churn", "VariantName": "blue"}]';
sub add_source
{
	my ($name, $extra) = @_;
	# disabled: the worker leaves it to ingest_now
	sql(qq{SELECT aiml.add_metric_source('$name', 'cloudwatch', '{
		"region": "us-east-1", "endpoint": "$fx", "period": 60, "lookback": 3600,
		"interval": 3600, "timeout": 3, "dimensions": $dims $extra}', enabled => false)});
}

# 1. credentials from the stored secret
add_source('cw', '');
set_secret('cw', $key_id, $secret);
ok(complete_window(sql(q{SELECT aiml.ingest_now('cw')}), 12, 60),
	'secret: 6 SageMaker metrics x 2 variants x the periods of an hour');
is(sql(q{SELECT string_agg(DISTINCT metric, ',' ORDER BY metric) FROM aiml.metric_series WHERE source = 'cw'}),
	'cpu_utilization,gpu_memory_utilization,gpu_utilization,invocations,latency_ms,memory_utilization',
	'the SageMaker metrics under the standard names');
is(sql(q{SELECT string_agg(DISTINCT resource, ',' ORDER BY resource) FROM aiml.metric_series WHERE source = 'cw'}),
	'churn/blue,fraud-scorer/AllTraffic', 'the resource is the dimension values by name: EndpointName/VariantName');
cmp_ok(stats()->{data_calls}, '>=', 8, 'pages of 100 datapoints were followed with NextToken');
is(stats()->{bad_signatures}, 0, 'every request had a valid Signature V4');

# values: the fixture's formula, ModelLatency scaled from microseconds to ms
sub expected
{
	my ($metric, $dimvalues, $t) = @_;
	my $base = 0;
	$base += ord($_) for split //, $metric . $dimvalues;
	return ($base % 100) + int($t / 60) % 50;
}
my ($t, $cpu, $lat) = split /\|/, sql(q{
	SELECT extract(epoch FROM m.ts)::bigint, max(m.value) FILTER (WHERE s.metric = 'cpu_utilization'),
	       max(m.value) FILTER (WHERE s.metric = 'latency_ms')
	FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
	WHERE s.resource = 'fraud-scorer/AllTraffic' GROUP BY m.ts ORDER BY m.ts LIMIT 1});
is($cpu, expected('CPUUtilization', 'fraud-scorer/AllTraffic', $t), 'CPU values match');
cmp_ok(abs($lat - expected('ModelLatency', 'fraud-scorer/AllTraffic', $t) / 1000), '<', 1e-12,
	'latency is scaled from microseconds to ms');

# 2. the server's environment, 3. the shared credentials file
add_source('cw_env', ', "auth": "env", "metrics": {"invocations": {"metric": "Invocations", "stat": "Sum"}}');
ok(complete_window(sql(q{SELECT aiml.ingest_now('cw_env')}), 2, 60), 'credentials from the server environment');
add_source('cw_file', qq{, "auth": "profile", "profile": "aiml", "credentials_file": "$creds_file", "metrics": {"invocations": "Invocations"}});
ok(complete_window(sql(q{SELECT aiml.ingest_now('cw_file')}), 2, 60), 'credentials from the shared credentials file');
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT aiml.alter_metric_source('cw_file', config || '{"profile": "missing"}') FROM aiml.metric_sources WHERE name = 'cw_file'; SELECT aiml.ingest_now('cw_file')});
like($err, qr/no AWS credentials for the profile/, 'a missing profile is a clear error');

# 4. IMDSv2: credentials fetched once, reused, refreshed before expiry, and
# fetched again when the service revokes them
add_source('cw_imds', qq{, "auth": "imds", "imds_endpoint": "$fx", "metrics": {"invocations": "Invocations"}});
ok(complete_window(sql(q{SELECT aiml.ingest_now('cw_imds')}), 2, 60), 'IMDSv2 credentials');
my $fetches = stats()->{imds_credentials};
# one session: the cache lives in a backend
my $session = $node->background_psql('postgres');
$session->query_safe(q{SELECT aiml.ingest_now('cw_imds')});
$session->query_safe(q{SELECT aiml.ingest_now('cw_imds')});
is(stats()->{imds_credentials}, $fetches + 1, 'cached credentials are reused within a backend');
fixture_control($fx, revoke => JSON::PP::true);
$session->query_safe(q{SELECT aiml.ingest_now('cw_imds')});
is(stats()->{imds_credentials}, $fetches + 2, 'revoked credentials are fetched again after a 403');
$session->quit;
sql(q{SELECT aiml.drop_metric_source(name) FROM aiml.metric_sources WHERE name IN ('cw_env', 'cw_file')});

# more than 500 queries: split into calls of at most 500 (the fixture refuses more)
my $many = join ',', map { qq{{"EndpointName": "e$_"}} } 1 .. 90;
sql(qq{SELECT aiml.add_metric_source('cw_many', 'cloudwatch', '{
	"region": "us-east-1", "endpoint": "$fx", "period": 60, "lookback": 120, "interval": 3600,
	"dimensions": [$many]}', enabled => false)});
set_secret('cw_many', $key_id, $secret);
cmp_ok(sql(q{SELECT aiml.ingest_now('cw_many')}), '>=', 540, '540 queries in calls of at most 500');
sql(q{SELECT aiml.drop_metric_source('cw_many')});

# the worker: faults are recorded, nothing partial is written
sub poll_once
{
	my $before = sql(q{SELECT coalesce(last_attempt::text, '') FROM aiml.metric_source_state WHERE source = 'cw'});
	sql(q{UPDATE aiml.metric_source_state SET next_attempt = now() WHERE source = 'cw'});
	sql(q{UPDATE aiml.metric_sources SET enabled = true WHERE name = 'cw'});
	wait_until(40, sub {
		sql(q{SELECT coalesce(last_attempt::text, '') FROM aiml.metric_source_state WHERE source = 'cw'}) ne $before
	}) or die 'the worker did not poll';
}
sql(q{UPDATE aiml.metric_sources SET enabled = false WHERE name = 'cw_imds'});
set_secret('cw', $key_id, $secret);
poll_once();
is(sql(q{SELECT status FROM aiml.metric_source_status WHERE source = 'cw'}), 'ok', 'the worker polls cloudwatch');
my %faults = (http500 => qr/HTTP 500/, http429 => qr/HTTP 429/, malformed => qr/malformed CloudWatch response/,
	truncated => qr/(partial|transfer closed)/i, timeout => qr/timed out/i);
for my $mode (sort keys %faults)
{
	my $count = sql(q{SELECT count(*) FROM aiml.metric_samples});
	fixture_control($fx, mode => $mode, retry_after => 90);
	poll_once();
	like(sql(q{SELECT last_error FROM aiml.metric_source_status WHERE source = 'cw'}), $faults{$mode},
		"$mode: recorded");
	is(sql(q{SELECT count(*) FROM aiml.metric_samples}), $count, "$mode: nothing written");
	fixture_control($fx, mode => 'ok');
}
cmp_ok(sql(q{SELECT extract(epoch FROM next_attempt - last_attempt) FROM aiml.metric_source_state WHERE source = 'cw'}),
	'>=', 1, 'failures back off');

# a wrong secret: the fixture refuses the signature
set_secret('cw', $key_id, 'wrong-but-long-secret');
poll_once();
like(sql(q{SELECT last_error FROM aiml.metric_source_status WHERE source = 'cw'}), qr/HTTP 403.*(InvalidSignature|signature mismatch)/,
	'a bad signature is refused and recorded');

# no secret anywhere: log, status view, activity
my $visible = slurp_file($node->logfile) . sql(q{SELECT string_agg(coalesce(last_error, ''), ' ') FROM aiml.metric_source_status})
  . sql(q{SELECT string_agg(coalesce(query, ''), ' ') FROM pg_stat_activity WHERE backend_type = 'aiml ingest worker'});
my @leaks = grep { index($visible, $_) >= 0 } ($secret, 'wrong-but-long-secret', 'temporary-secret-1', 'session-token-1');
is(scalar @leaks, 0, 'no secret or session token appears in the log, status or activity') or diag "@leaks";

# a crash in the middle of a big batch loses and duplicates nothing
sql(q{DELETE FROM aiml.metric_sources});
$node->append_conf('postgresql.conf', "aiml.ingest_batch_rows = 100\n");
$node->reload;
sql(qq{SELECT aiml.add_metric_source('big', 'cloudwatch', '{
	"region": "us-east-1", "endpoint": "$fx", "period": 60, "lookback": 43200, "interval": 1, "timeout": 30,
	"dimensions": $dims}')});
set_secret('big', $key_id, $secret);
ok(wait_until(30, sub { sql(q{SELECT count(*) FROM aiml.metric_samples}) > 1000 }), 'the big batch is being written');
$node->stop('immediate');
$node->start;
ok(wait_until(60, sub {
	sql(q{SELECT status = 'ok' FROM aiml.metric_source_status WHERE source = 'big'}) eq 't' }),
	'after the crash the batch completes');
is(sql(q{
	SELECT count(*) FROM (
		SELECT s.id, count(*) AS n, extract(epoch FROM max(m.ts) - min(m.ts))::bigint / 60 + 1 AS span
		FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
		GROUP BY s.id) x WHERE n <> span OR n < 700}), '0', 'every series is complete: no gap, no duplicate');
is(sql(q{SELECT count(*) FROM aiml.metric_series WHERE source = 'big'}), '12', 'all 12 series');

$node->stop;
done_testing();
