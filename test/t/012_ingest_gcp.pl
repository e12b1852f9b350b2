# The gcp provider against test/fixtures/gcp_fixture.py: a service-account
# key signs a JWT (RS256) that the fixture verifies, the access token is
# cached and refreshed after a 401, pages are followed, samples land with the
# right values and resources, every fault is recorded with nothing written, a
# crash in the middle of a batch loses and duplicates nothing, and neither the
# private key nor a token shows in the log or the status view.
use strict;
use warnings;
use AimlTest;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $email = 'aiml-test@proj-test.iam.gserviceaccount.com';
for my $cmd ("openssl genrsa -out $dir/key.pem 2048", "openssl rsa -in $dir/key.pem -pubout -out $dir/pub.pem",
	"openssl genrsa -out $dir/other.pem 2048")
{
	system("$cmd 2>/dev/null") == 0 or die "$cmd failed";
}
my $fx = start_fixture('gcp_fixture.py', "$dir/pub.pem", $email, 'proj-test');
my $pem = slurp_file("$dir/key.pem");

# Key files as Google issues them; the server reads them with pg_read_file,
# so no statement (log_statement = all here) carries a key.
sub key_file
{
	my ($name, $key_pem) = @_;
	open my $fh, '>', "$dir/$name" or die;
	print $fh encode_json({
		type => 'service_account', project_id => 'proj-test', private_key_id => 'k1',
		private_key => $key_pem, client_email => $email, client_id => '1234567890',
		token_uri => "$fx/token" });
	close $fh;
	chmod 0600, "$dir/$name";
	return "$dir/$name";
}
my $keyfile = key_file('key.json', $pem);

my $node = aiml_node('gcp');
sub sql { $node->safe_psql('postgres', $_[0]) }
sub samples { sql(q{SELECT count(*) FROM aiml.metric_samples}) }
sub stats { http_get_json("$fx/stats") }

sub quote { my $s = shift; $s =~ s/'/''/g; return "'$s'" }

sub add_source
{
	my ($name, $config, $secret_file) = @_;
	sql('SELECT aiml.add_metric_source(' . quote($name) . q{, 'gcp', }
		  . quote(encode_json($config)) . ', enabled => false)');
	sql('SELECT aiml.set_metric_source_secret(' . quote($name) . ', pg_read_file(' . quote($secret_file) . '))')
	  if $secret_file;
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

my %vertex = (
	project => 'proj-test', endpoint => $fx, interval => 3600, lookback => 600, timeout => 2,
	metrics => {
		cpu_utilization => 'metric.type = "aiplatform.googleapis.com/prediction/online/cpu/utilization" '
		  . 'AND resource.type = "aiplatform.googleapis.com/Endpoint"',
		invocations => 'metric.type = "aiplatform.googleapis.com/prediction/online/prediction_count"',
	},
	scale => { cpu_utilization => 100 });
add_source('vertex', \%vertex, $keyfile);
poll_once('vertex');
is(status('vertex'), 'ok ', 'a healthy poll succeeds');
is(sql(q{SELECT samples_total || ' ' || series FROM aiml.metric_source_status WHERE source = 'vertex'}),
	'60 6', '2 metrics x 3 series x 10 alignment periods');
is(sql(q{SELECT string_agg(DISTINCT resource, ',' ORDER BY resource) FROM aiml.metric_series}),
	'ep-0,ep-1,ep-2', 'the endpoint_id label names the resource');
is(sql(q{SELECT labels->>'deployed_model_id' || ' ' || (labels->>'location') FROM aiml.metric_series
	WHERE resource = 'ep-1' AND metric = 'invocations'}),
	'dm-1 us-central1', 'metric and resource labels are kept');
is(sql(q{SELECT count(*) FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
	WHERE m.value <> (CASE s.metric WHEN 'cpu_utilization' THEN 100 ELSE 1 END) *
		((extract(epoch FROM m.ts)::bigint / 60) % 1000 + 1000 * split_part(s.resource, '-', 2)::int)
	   OR extract(second FROM m.ts) <> 0}),
	'0', 'every sample has the fixture\'s value (doubleValue scaled, int64Value) at its period end');
is(sql(q{SELECT count(*) FROM aiml.model_resource_usage WHERE cpu_avg IS NOT NULL AND requests IS NOT NULL}) > 0
	  ? 't' : 'f', 't', 'aiml.model_resource_usage shows the endpoints');
my $s = stats();
is($s->{data_requests}, 4, 'two pages per metric (3 series, pages of 2)');
is($s->{token_requests}, 1, 'one token request');

poll_once('vertex');
poll_once('vertex');
is(stats()->{token_requests}, 1, 'the token is cached across polls');
is(status('vertex'), 'ok ', 'still ok');

fixture_control($fx, expire_tokens => JSON::PP::true);
poll_once('vertex');
is(status('vertex'), 'ok ', 'a token refused with 401 is refreshed and the poll succeeds');
my $refreshes = stats()->{token_requests} - 1;
ok($refreshes >= 1 && $refreshes <= 2, 'with one new token request per refused request at most');
poll_once('vertex');
is(stats()->{token_requests}, 1 + $refreshes, 'and the new token is cached');

# Faults: each is recorded and nothing of the poll is written, not even the
# pages that succeeded.
my %faults = (
	http500 => [ qr/HTTP 500/, undef ],
	http429 => [ qr/HTTP 429/, undef ],
	malformed => [ qr/malformed Cloud Monitoring response: a point has no valid interval\.endTime/, 1 ],
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
	poll_once('vertex');
	my ($error, $failures, $wait) = split /\|/, sql(q{
		SELECT last_error, consecutive_failures, extract(epoch FROM next_attempt - last_attempt)::int
		FROM aiml.metric_source_status WHERE source = 'vertex'});
	like($error, $pattern, "$mode: the error is recorded");
	cmp_ok($failures, '>=', 1, "$mode: failures are counted");
	is(samples(), 0, "$mode: nothing is written");
	cmp_ok($wait, '>=', $mode eq 'http429' ? 120 : 1, "$mode: the next attempt backs off");
	ok(stats()->{token_requests} > $tokens && stats()->{token_requests} <= $tokens + 2,
		'unauthorized: refreshed once per request, then the failure')
	  if $mode eq 'unauthorized';
	fixture_control($fx, mode => 'ok', times => undef);
}
poll_once('vertex');
is(status('vertex') . ' ' . samples(), 'ok  60', 'the source recovers');

# The metadata server's token instead of a key.
add_source('meta', { %vertex, auth => 'metadata', metadata_endpoint => $fx });
poll_once('meta');
is(status('meta'), 'ok ', 'auth "metadata" works');
cmp_ok(stats()->{metadata_requests}, '>=', 1, 'with the metadata server\'s token');

# Keys that cannot sign in give clear errors without their content.
add_source('forged', \%vertex, key_file('forged.json', slurp_file("$dir/other.pem")));
poll_once('forged');
like(status('forged'), qr/failing .*HTTP 400.*Invalid JWT Signature/, 'a key the fixture does not know is refused');
open my $fh, '>', "$dir/garbage.json" or die;
print $fh "not json at all";
close $fh;
add_source('garbage', \%vertex, "$dir/garbage.json");
poll_once('garbage');
like(status('garbage'), qr/failing the secret of gcp source "garbage" is not a service account key/,
	'a secret that is no key is named as such');
add_source('nokey', \%vertex);
poll_once('nokey');
like(status('nokey'), qr/has no service account key/, 'a missing key is named as such');
sql(q{SELECT aiml.disable_metric_source(name) FROM aiml.metric_sources WHERE name <> 'vertex'});

# No secret anywhere: the key's body, the tokens issued.
my @secrets = @{ stats()->{tokens} };
my @lines = grep { length($_) == 64 } split /\n/, $pem;
push @secrets, @lines[ 2, 10 ];
my $visible = slurp_file($node->logfile)
  . sql(q{SELECT string_agg(coalesce(last_error, ''), ' ') FROM aiml.metric_source_status})
  . sql(q{SELECT string_agg(coalesce(query, ''), ' ') FROM pg_stat_activity});
cmp_ok(scalar(@secrets), '>=', 4, 'secrets to look for');
is(scalar(grep { index($visible, $_) >= 0 } @secrets), 0,
	'no token or key line in the server log, the status view or pg_stat_activity');

# A changed config or key is not served a token obtained with the old one.
my $before = stats()->{token_requests};
sql(q{SELECT aiml.alter_metric_source('vertex', config || '{"lookback": 900}') FROM aiml.metric_sources WHERE name = 'vertex'});
poll_once('vertex');
is(status('vertex') . ' ' . (stats()->{token_requests} - $before), 'ok  1', 'a new config gets a new token');

# A crash in the middle of a big batch: nothing lost, nothing duplicated.
sql(q{DELETE FROM aiml.metric_sources});
fixture_control($fx, series => 40, page_size => 10);
$node->append_conf('postgresql.conf', "aiml.ingest_batch_rows = 200\n");
$node->reload;
add_source('big', { %vertex, metrics => { cpu_utilization => $vertex{metrics}{cpu_utilization} },
	alignment_period => 1, interval => 1, lookback => 3000, timeout => 30 }, $keyfile);
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
		       extract(epoch FROM max(m.ts) - min(m.ts))::bigint + 1 AS span
		FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
		GROUP BY s.id) x
	WHERE n <> span OR n < 3000}), '0',
	'every series has one sample per second over the whole window: no gap, no duplicate');
is(sql(q{SELECT count(*) FROM aiml.metric_series WHERE source = 'big'}), '40', 'all 40 series');

$node->stop;
done_testing();
