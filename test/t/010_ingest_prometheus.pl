# The ingestion worker against the real Prometheus and node exporter: samples
# ingested through the query API match what Prometheus itself returns, and
# scraping the exporter's /metrics yields its series.
use strict;
use warnings;
use AimlTest;
use PostgreSQL::Test::Utils;
use Test::More;

my ($prom, $exporter) = start_prometheus();
my $node = aiml_node('prometheus');

ok($node->safe_psql('postgres', 'SELECT aiml.ingest_worker_pid() IS NOT NULL') eq 't',
	'the ingestion worker runs');

$node->safe_psql('postgres', qq{
	SELECT aiml.add_metric_source('prom', 'prometheus', '{
		"endpoint": "$prom", "step": 1, "interval": 1, "lookback": 30,
		"metrics": {"load1": "node_load1", "cpu_seconds": "sum by (instance, mode) (node_cpu_seconds_total)"},
		"dimensions": ["instance"], "units": {"cpu_seconds": "s"}}');
	SELECT aiml.add_metric_source('exporter', 'prometheus', '{
		"endpoint": "$exporter/metrics", "scrape": true, "interval": 1,
		"metrics": {"load1": "node_load1", "cpu_seconds": "node_cpu_seconds"}}');
});

ok(wait_until(30, sub {
	$node->safe_psql('postgres', q{
		SELECT count(*) = 2 FROM aiml.metric_source_status
		WHERE status = 'ok' AND samples_total > 0}) eq 't' }),
	'both sources ingest without errors');

# Compare a window the worker has covered with Prometheus' own answer.
my $window = $node->safe_psql('postgres', q{
	SELECT floor(extract(epoch FROM watermark)) - 10 || ' ' || floor(extract(epoch FROM watermark))
	FROM aiml.metric_source_state WHERE source = 'prom'});
my ($start, $end) = split ' ', $window;
my $answer = http_get_json("$prom/api/v1/query_range?query=node_load1&start=$start&end=$end&step=1");
my $expected = join ',', map { sprintf '%d=%s', $_->[0], $_->[1] }
  @{ $answer->{data}{result}[0]{values} };
my $got = $node->safe_psql('postgres', qq{
	SELECT string_agg(extract(epoch FROM m.ts)::bigint || '=' || m.value, ',' ORDER BY m.ts)
	FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
	WHERE s.source = 'prom' AND s.metric = 'load1'
	  AND m.ts BETWEEN to_timestamp($start) AND to_timestamp($end)});
ok(length($expected) > 0, 'prometheus returned samples for the window');
is($got, $expected, 'query API samples equal what Prometheus returns');

is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT unit, ',') || ' ' || count(DISTINCT labels->>'mode')
	FROM aiml.metric_series WHERE source = 'prom' AND metric = 'cpu_seconds'}),
	's 8', 'one series per CPU mode, with the configured unit');
like($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT resource, ',') FROM aiml.metric_series WHERE source = 'prom'}),
	qr/^127\.0\.0\.1:\d+$/, 'the resource is the instance label (dimensions)');

# Scraped series: the same label sets as the exporter exposes.
my $metrics = HTTP::Tiny->new->get("$exporter/metrics")->{content};
my %modes = map { /mode="(\w+)"/ ? ("cpu=$1" => 1) : () }
  grep { /^node_cpu_seconds_total\{cpu="0"/ } split /\n/, $metrics;
my $scraped = $node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT 'cpu=' || (labels->>'mode'), ',' ORDER BY 'cpu=' || (labels->>'mode'))
	FROM aiml.metric_series WHERE source = 'exporter' AND metric = 'cpu_seconds_total'
	  AND labels->>'cpu' = '0'});
is($scraped, join(',', sort keys %modes), 'scraped series match the exporter\'s label sets');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM aiml.metric_series WHERE source = 'exporter' AND metric = 'load1'}),
	'1', 'a renamed gauge is one series');

# Scraping again through ingest_now adds one sample per series.
my $before = $node->safe_psql('postgres', q{
	SELECT count(*) FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
	WHERE s.source = 'exporter' AND s.metric = 'load1'});
$node->safe_psql('postgres', q{SELECT aiml.ingest_now('exporter')});
cmp_ok($node->safe_psql('postgres', q{
	SELECT count(*) FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
	WHERE s.source = 'exporter' AND s.metric = 'load1'}), '>', $before, 'ingest_now scrapes once more');

# The worker keeps going: samples keep arriving.
my $total = $node->safe_psql('postgres', q{SELECT sum(samples_total) FROM aiml.metric_source_status});
ok(wait_until(10, sub {
	$node->safe_psql('postgres', q{SELECT sum(samples_total) FROM aiml.metric_source_status}) > $total }),
	'later polls add samples');

$node->stop;
done_testing();
