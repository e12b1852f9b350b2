# extract_entities in a LATIN1 database: positions count characters of the
# database encoding (one byte each), the rules see Latin-1 letters (Ñ is an
# upper-case letter after a title; é is a word character, so neither an
# address after it nor an e-mail address whose local part holds ü starts
# there), the scanner's shortcuts give the same rows as the patterns, and
# aiml.ner reads the text too.
use strict;
use warnings;
use utf8;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AimlTest;

my $node = aiml_node('latin1');
$node->safe_psql('postgres',
	"CREATE DATABASE l1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
$node->safe_psql('l1', 'CREATE EXTENSION aiml');

# runs SQL (a Perl string of characters) with a UTF8 client: the server converts
sub rows
{
	my ($sql) = @_;
	$sql = "SET client_encoding = 'UTF8'; $sql";
	utf8::encode($sql);
	my $out = $node->safe_psql('l1', $sql);
	utf8::decode($out);
	return $out;
}

my $text = 'Café für Jörg: jörg.müller@example.com, 10.0.0.1, 4111 1111 1111 1111, '
  . 'Acme Handels GmbH, Dr. Ñúñez, é10.0.0.2 und 2024-03-05.';
is(rows("SELECT string_agg(label || '=' || text || ' ' || start_pos || '-' || end_pos, ' | ' ORDER BY start_pos)
         FROM aiml.extract_entities('$text', NULL, '2024-03-01', NULL)"),
	'IP=10.0.0.1 41-49 | CREDIT_CARD=**** **** **** 1111 51-70 | '
	  . 'ORG=Acme Handels GmbH 72-89 | PERSON=Dr. Ñúñez 91-100 | DATE=2024-03-05 116-126',
	'rows and character positions in LATIN1');
is(rows("SELECT bool_and(substr(t, start_pos, end_pos - start_pos) = text OR label = 'CREDIT_CARD')
         FROM (SELECT '$text'::text AS t) x, aiml.extract_entities(t, NULL, NULL, NULL)"),
	't', 'substr(string, start_pos, end_pos - start_pos) is the text');
is(rows("SELECT octet_length('$text') = length('$text')"), 't',
	'one byte per character in the database');
# the model runs on LATIN1 text as well (its spans are characters too)
is(rows("SELECT count(*) > 0 AND bool_and(substr('$text', start_pos, end_pos - start_pos) = text)
         FROM aiml.ner(aiml.ner_default_model(), '$text')"),
	't', 'aiml.ner spans in LATIN1');

$node->stop;
done_testing();
