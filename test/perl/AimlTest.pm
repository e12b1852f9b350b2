# Helpers for aiml's TAP tests: a cluster with aiml preloaded, and the
# external servers the ingestion tests talk to (all on 127.0.0.1).
package AimlTest;

use strict;
use warnings;
use Exporter 'import';
use File::Basename;
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(sleep time);

our @EXPORT = qw(aiml_node start_fixture fixture_control http_get_json
  start_prometheus wait_until);

my $root = $ENV{AIML_ROOT} // dirname(dirname(dirname(__FILE__)));
my @servers;

END { local $?; $_->kill_kill for @servers; }

# A started cluster with aiml (and pg_cron) preloaded and the extension
# created in database postgres, where the ingestion worker connects.
sub aiml_node
{
	my ($name, $extra_conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'aiml,pg_cron'
cron.database_name = 'postgres'
aiml.ingest_database = 'postgres'
} . ($extra_conf // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION aiml');
	return $node;
}

# Polls $check->() every 100 ms until it is true or $seconds pass.
sub wait_until
{
	my ($seconds, $check) = @_;
	my $deadline = time + $seconds;
	while (time < $deadline)
	{
		return 1 if $check->();
		sleep 0.1;
	}
	return 0;
}

sub http_get_json
{
	my ($url) = @_;
	my $r = HTTP::Tiny->new(timeout => 10)->get($url);
	die "GET $url: $r->{status} $r->{content}" unless $r->{success};
	return decode_json($r->{content});
}

# Starts a fixture server of test/fixtures/ (default: the Prometheus one)
# with Debian's python3, which has the Debian packages fixtures use
# (python3-botocore); returns its base URL.
sub start_fixture
{
	my ($script, @args) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my $portfile = "$dir/fixture.port";
	my $python = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';
	$script //= 'prometheus_fixture.py';
	push @servers, IPC::Run::start(
		[ $python, "$root/test/fixtures/$script", $portfile, @args ],
		'>', "$dir/fixture.log", '2>&1');
	wait_until(10, sub { -s $portfile }) or die "fixture $script did not start: "
	  . PostgreSQL::Test::Utils::slurp_file("$dir/fixture.log");
	return 'http://127.0.0.1:' . PostgreSQL::Test::Utils::slurp_file($portfile);
}

sub fixture_control
{
	my ($base, %settings) = @_;
	my $r = HTTP::Tiny->new->post("$base/control",
		{ content => encode_json(\%settings) });
	die "control: $r->{status}" unless $r->{success};
}

# Starts the Debian node exporter and a Prometheus scraping it every second;
# returns (prometheus URL, node exporter URL) once Prometheus has data.
sub start_prometheus
{
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my $ne_port = PostgreSQL::Test::Cluster::get_free_port();
	my $prom_port = PostgreSQL::Test::Cluster::get_free_port();
	push @servers, IPC::Run::start(
		[
			'prometheus-node-exporter', "--web.listen-address=127.0.0.1:$ne_port",
			'--collector.disable-defaults', '--collector.cpu', '--collector.loadavg',
			'--collector.meminfo'
		],
		'>', "$dir/node_exporter.log", '2>&1');
	open my $fh, '>', "$dir/prometheus.yml" or die;
	print $fh "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n"
	  . "    static_configs:\n      - targets: ['127.0.0.1:$ne_port']\n";
	close $fh;
	push @servers, IPC::Run::start(
		[
			'prometheus', "--config.file=$dir/prometheus.yml",
			"--storage.tsdb.path=$dir/data", "--web.listen-address=127.0.0.1:$prom_port"
		],
		'>', "$dir/prometheus.log", '2>&1');
	my $prom = "http://127.0.0.1:$prom_port";
	wait_until(60, sub {
		my $r = HTTP::Tiny->new(timeout => 2)->get("$prom/api/v1/query?query=node_load1");
		$r->{success} && decode_json($r->{content})->{data}{result}[0];
	}) or die "prometheus has no data; see $dir/prometheus.log";
	return ($prom, "http://127.0.0.1:$ne_port");
}

1;
