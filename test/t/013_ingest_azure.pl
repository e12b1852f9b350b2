# The azure provider against test/fixtures/azure_fixture.py: client
# credentials (and a managed identity) give a token that is cached and
# refreshed after a 401, @nextLink pages are followed, samples land with the
# right values, aggregations and resources (endpoint/deployment), every fault
# is recorded with nothing written, a crash in the middle of a batch loses and
# duplicates nothing, and neither the client secret nor a token shows in the
# log, the status view or pg_stat_activity.
use strict;
use warnings;
use AimlTest;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;

my $tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
my $client_id = '0f8fad5b-d9cb-469f-a165-70867728950e';
my $secret = 'Qx8~fixture' . 'SecretValue.42';
my $wrong_secret = 'Wr0ng~' . 'secretValue';
my $fx = start_fixture('azure_fixture.py', $tenant, $client_id, $secret);

my $node = aiml_node('azure');
sub sql { $node->safe_psql('postgres', $_[0]) }
sub samples { sql(q{SELECT count(*) FROM aiml.metric_samples}) }
sub stats { http_get_json("$fx/stats") }
sub quote { my $s = shift; $s =~ s/'/''/g; return "'$s'" }

# Secrets go in pieces concatenated by the server, so that no statement
# (log_statement = all here) carries one.
sub add_source
{
	my ($name, $config, $client_secret) = @_;
	sql('SELECT aiml.add_metric_source(' . quote($name) . q{, 'azure', }
		  . quote(encode_json($config)) . ', enabled => false)');
	return unless defined $client_secret;
	my $half = int(length($client_secret) / 2);
	sql('SELECT aiml.set_metric_source_secret(' . quote($name) . ', '
		  . quote(substr($client_secret, 0, $half)) . ' || ' . quote(substr($client_secret, $half)) . ')');
}

# Makes the source due now and waits for the worker's next attempt to finish.
sub poll_once
{
	my ($name) = @_;
	my $q = quote($name);
	my $before = sql(qq{SELECT coalesce(last_attempt::text, '') FROM aiml.metric_source_state WHERE source = $q});
	sql(qq{UPDATE aiml.metric_source_state SET next_attempt = now() WHERE source = $q});
	sql(qq{UPDATE aiml.metric_sources SET enabled = true WHERE name = $q});
	wait_until(40, sub {
		sql(qq{SELECT coalesce(last_attempt::text, '') FROM aiml.metric_source_state WHERE source = $q}) ne $before
	}) or die "the worker did not poll $name";
}

sub status
{
	my $q = quote($_[0]);
	return sql(qq{SELECT status || ' ' || coalesce(last_error, '') FROM aiml.metric_source_status WHERE source = $q});
}

my $ws = '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/ml-rg/providers/'
  . 'Microsoft.MachineLearningServices/workspaces/ml-ws/onlineEndpoints';
my %aml = (
	resources => [ "$ws/ep-0", "$ws/ep-1" ],
	metrics => {
		cpu_utilization => 'CpuUtilizationPercentage',
		gpu_memory_utilization => 'GpuMemoryUtilization',
		invocations => 'RequestsPerMinute',
		latency_ms => 'RequestLatency',
	},
	aggregation => { invocations => 'Total' },
	dimensions => [ 'resource_name', 'deployment' ],
	tenant_id => $tenant, client_id => $client_id,
	endpoint => $fx, token_endpoint => $fx,
	interval => 3600, lookback => 600, timeout => 2);
add_source('aml', \%aml, $secret);
poll_once('aml');
is(status('aml'), 'ok ', 'a healthy poll succeeds');
is(sql(q{SELECT samples_total || ' ' || series FROM aiml.metric_source_status WHERE source = 'aml'}),
	'160 16', '2 endpoints x 2 deployments x 4 metrics x 10 minutes');
is(sql(q{SELECT string_agg(DISTINCT resource, ',' ORDER BY resource) FROM aiml.metric_series}),
	'ep-0/blue,ep-0/green,ep-1/blue,ep-1/green', 'endpoint and deployment name the resource');
is(sql(qq{SELECT labels->>'resource_uri' || ' ' || unit FROM aiml.metric_series
	WHERE resource = 'ep-1/green' AND metric = 'latency_ms'}),
	"$ws/ep-1 MilliSeconds", 'the resource URI and the unit are kept');
is(sql(q{SELECT count(*) FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
	WHERE m.value <> (CASE s.metric WHEN 'invocations' THEN 2 ELSE 1 END) *
		((extract(epoch FROM m.ts)::bigint / 60) % 1000
		 + 1000 * (split_part(s.resource, '/', 2) = 'green')::int
		 + 10000 * split_part(split_part(s.resource, '/', 1), '-', 2)::int)
	   OR extract(second FROM m.ts) <> 0}),
	'0', 'every sample has the fixture\'s value, Average or Total as configured');
is(sql(q{SELECT count(*) FROM aiml.model_resource_usage
	WHERE cpu_avg IS NOT NULL AND gpu_memory_avg IS NOT NULL AND requests IS NOT NULL AND latency_p95_ms IS NOT NULL}) > 0
	  ? 't' : 'f', 't', 'aiml.model_resource_usage shows the deployments');
my $s = stats();
is($s->{data_requests}, 8, 'one page per metric through @nextLink (4 per endpoint)');
is($s->{token_requests}, 1, 'one token request');

poll_once('aml');
poll_once('aml');
is(stats()->{token_requests}, 1, 'the token is cached across polls');

fixture_control($fx, expire_tokens => JSON::PP::true);
poll_once('aml');
is(status('aml'), 'ok ', 'a token refused with 401 is refreshed and the poll succeeds');
my $refreshes = stats()->{token_requests} - 1;
ok($refreshes >= 1 && $refreshes <= 2, 'with one new token request per refused request at most');
poll_once('aml');
is(stats()->{token_requests}, 1 + $refreshes, 'and the new token is cached');

my %faults = (
	http500 => [ qr/HTTP 500/, undef ],
	http429 => [ qr/HTTP 429/, undef ],
	malformed => [ qr/malformed Azure Monitor response: a data point has no valid timeStamp/, 1 ],
	truncated => [ qr/(transfer closed|partial)/i, 1 ],
	timeout => [ qr/(timed out|Timeout)/i, undef ],
	unauthorized => [ qr/HTTP 401.*Bearer \[redacted\]/, undef ],
);
for my $mode (sort keys %faults)
{
	my ($pattern, $times) = @{ $faults{$mode} };
	sql(q{DELETE FROM aiml.metric_samples});
	my $tokens = stats()->{token_requests};
	fixture_control($fx, mode => $mode, retry_after => 120, times => $times);
	poll_once('aml');
	my ($error, $failures, $wait) = split /\|/, sql(q{
		SELECT last_error, consecutive_failures, extract(epoch FROM next_attempt - last_attempt)::int
		FROM aiml.metric_source_status WHERE source = 'aml'});
	like($error, $pattern, "$mode: the error is recorded");
	cmp_ok($failures, '>=', 1, "$mode: failures are counted");
	is(samples(), 0, "$mode: nothing is written");
	cmp_ok($wait, '>=', $mode eq 'http429' ? 120 : 1, "$mode: the next attempt backs off");
	ok(stats()->{token_requests} > $tokens && stats()->{token_requests} <= $tokens + 2,
		'unauthorized: refreshed once per request, then the failure')
	  if $mode eq 'unauthorized';
	fixture_control($fx, mode => 'ok', times => undef);
}
poll_once('aml');
is(status('aml') . ' ' . samples(), 'ok  160', 'the source recovers');

# An @nextLink to another host would receive the token: refused.
(my $elsewhere = $fx) =~ s{^http://127\.0\.0\.1}{localhost};
$elsewhere =~ s{^http://}{};
fixture_control($fx, next_link_host => $elsewhere);
poll_once('aml');
like(status('aml'), qr/failing Azure Monitor answered an \@nextLink outside its endpoint/,
	'an @nextLink outside the endpoint is refused');
fixture_control($fx, next_link_host => undef);
poll_once('aml');
is(status('aml'), 'ok ', 'and the source recovers');

# A managed identity's token from the instance metadata service.
my %mi = (%aml, auth => 'managed_identity', metadata_endpoint => $fx, resource_uri => "$ws/ep-0");
delete @mi{qw(tenant_id client_id resources)};
add_source('mi', \%mi);
poll_once('mi');
is(status('mi'), 'ok ', 'auth "managed_identity" works');
cmp_ok(stats()->{metadata_requests}, '>=', 1, 'with the metadata service\'s token');
is(sql(q{SELECT series FROM aiml.metric_source_status WHERE source = 'mi'}), '8', 'one endpoint\'s series');

# A wrong client secret, echoed back by the token endpoint, is redacted.
add_source('wrong', \%aml, $wrong_secret);
poll_once('wrong');
like(status('wrong'), qr/failing .*HTTP 401.*AADSTS7000215.*\[redacted\]/, 'a wrong client secret is refused, and redacted');
add_source('nosecret', \%aml);
poll_once('nosecret');
like(status('nosecret'), qr/azure source "nosecret" has no client secret/, 'a missing secret is named as such');
sql(q{SELECT aiml.disable_metric_source(name) FROM aiml.metric_sources WHERE name <> 'aml'});

my @secrets = ($secret, $wrong_secret, @{ stats()->{tokens} });
my $visible = slurp_file($node->logfile)
  . sql(q{SELECT string_agg(coalesce(last_error, ''), ' ') FROM aiml.metric_source_status})
  . sql(q{SELECT string_agg(coalesce(query, ''), ' ') FROM pg_stat_activity});
cmp_ok(scalar(@secrets), '>=', 4, 'secrets to look for');
is(scalar(grep { index($visible, $_) >= 0 } @secrets), 0,
	'no secret or token in the server log, the status view or pg_stat_activity');

# A crash in the middle of a big batch: nothing lost, nothing duplicated.  (A
# generous timeout: on a loaded machine the fixture takes seconds to answer.)
sql(q{DELETE FROM aiml.metric_sources});
fixture_control($fx, deployments => 20, page_size => 5);
$node->append_conf('postgresql.conf', "aiml.ingest_batch_rows = 200\n");
$node->reload;
add_source('big', { %aml, metrics => { cpu_utilization => 'CpuUtilizationPercentage' },
	dimensions => ['resource_name', 'deployment'], interval => 60, lookback => 180000, timeout => 30 }, $secret);
sql(q{SELECT aiml.enable_metric_source('big')});
ok(wait_until(30, sub { samples() > 2000 }), 'the big batch is being written');
$node->stop('immediate');
$node->start;
ok(wait_until(60, sub {
	sql(q{SELECT status = 'ok' AND samples_total > 0 FROM aiml.metric_source_status WHERE source = 'big'}) eq 't' }),
	'after the crash the worker completes the batch');
is(sql(q{
	SELECT count(*) FROM (
		SELECT s.id, count(*) AS n,
		       extract(epoch FROM max(m.ts) - min(m.ts))::bigint / 60 + 1 AS span
		FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
		GROUP BY s.id) x
	WHERE n <> span OR n < 3000}), '0',
	'every series has one sample per minute over the whole window: no gap, no duplicate');
is(sql(q{SELECT count(*) FROM aiml.metric_series WHERE source = 'big'}), '40', 'all 40 series');

$node->stop;
done_testing();
