# aiml preloaded with pg_cron: the server starts, the log shows aiml's
# settings registered, and the extension works in that server.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('preload');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'aiml,pg_cron'
cron.database_name = 'postgres'
aiml.blas_threads = 2
});
$node->start;

my $log = slurp_file($node->logfile);
like($log, qr/aiml \d+\.\d+\.\d+ loaded, settings registered: aiml\.blas_threads/,
	'server log shows aiml loaded with its settings');

is($node->safe_psql('postgres', 'SHOW aiml.blas_threads'), '2',
	'postgresql.conf sets aiml.blas_threads');
is($node->safe_psql('postgres',
	"SELECT string_agg(name, ',' ORDER BY name) FROM pg_settings WHERE name LIKE 'aiml.%'"),
	'aiml.blas_threads,aiml.ingest_allowed_hosts,aiml.ingest_batch_rows,aiml.ingest_database,aiml.ingest_max_response_bytes,aiml.ingest_worker,aiml.regex_match_limit',
	'pg_settings lists aiml settings before CREATE EXTENSION');

$node->safe_psql('postgres', 'CREATE EXTENSION aiml; CREATE EXTENSION pg_cron;');
is($node->safe_psql('postgres', q{
	SELECT aiml.describe(aiml.scaler(ARRAY[x]))->>'rows'
	FROM generate_series(1, 5) x}), '5', 'aiml works in the preloaded server');

# a bad value in postgresql.conf is refused with the setting's name
my $offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "aiml.blas_threads = 1000\n");
$node->reload;
ok($node->wait_for_log(
		qr/1000 is outside the valid range for parameter "aiml\.blas_threads"/, $offset),
	'an out-of-range setting in postgresql.conf is reported');

$node->stop;
done_testing();
