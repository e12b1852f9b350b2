# DROP DATABASE of another database waits for every backend, the worker
# included, to absorb a procsignal barrier: the worker must answer it both
# while it sleeps on its latch and while a transfer hangs, or DROP DATABASE
# hangs with it (pg_net's bug).  The worker's own database cannot be dropped
# while it is connected, with a clear error, and WITH (FORCE) still works.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use AimlTest;

my $node = aiml_node('dropdb', "aiml.ingest_database = 'ingestdb'\n");
$node->safe_psql('postgres', 'CREATE DATABASE ingestdb');
$node->safe_psql('ingestdb', 'CREATE EXTENSION aiml');
$node->restart;
sub sql { $node->safe_psql('ingestdb', $_[0]) }

ok(wait_until(20, sub { sql(q{SELECT aiml.ingest_worker_pid() IS NOT NULL}) eq 't' }),
	'the worker runs in ingestdb');

# Times DROP DATABASE of a fresh database; a hang ends at the statement timeout.
sub timed_drop
{
	my ($name) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $name");
	my $t0 = time;
	my ($rc, $out, $err) = $node->psql('postgres',
		"SET statement_timeout = '30s'; DROP DATABASE $name");
	return ($rc, time - $t0, $err);
}

my ($rc, $seconds, $err) = timed_drop('scratch1');
is($rc, 0, 'DROP DATABASE of another database succeeds while the worker sleeps') or diag $err;
cmp_ok($seconds, '<', 5, 'and does not wait for the worker\'s next wake-up');

# A source whose transfer hangs keeps the worker inside libcurl's loop.
my $fx = start_fixture();
fixture_control($fx, mode => 'timeout');
sql(qq{SELECT aiml.add_metric_source('fx', 'prometheus', '{
	"endpoint": "$fx", "metrics": {"latency_ms": "fixture_latency"}, "step": 10,
	"interval": 3600, "lookback": 600, "timeout": 30}')});
ok(wait_until(20, sub { sql(q{SELECT count(*) FROM pg_stat_activity
	WHERE backend_type = 'aiml ingest worker' AND state = 'active'}) eq '1' }),
	'the worker is in a hanging transfer');
($rc, $seconds, $err) = timed_drop('scratch2');
is($rc, 0, 'DROP DATABASE of another database succeeds during a hanging transfer') or diag $err;
cmp_ok($seconds, '<', 5, 'promptly');
fixture_control($fx, mode => 'ok');

# The worker's own database: refused while it is connected, FORCE works.
($rc, undef, $err) = $node->psql('postgres', 'DROP DATABASE ingestdb');
isnt($rc, 0, 'DROP DATABASE of the ingest database is refused while the worker is connected');
like($err, qr/being accessed by other users/, 'with PostgreSQL\'s error');
($rc, undef, $err) = $node->psql('postgres',
	"SET statement_timeout = '30s'; DROP DATABASE ingestdb WITH (FORCE)");
is($rc, 0, 'DROP DATABASE ... WITH (FORCE) drops it') or diag $err;
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|TRAP:/, 'no backend crashed');

$node->stop;
done_testing();
