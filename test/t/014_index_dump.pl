# pg_dump / pg_restore round trip of a table with vecgo indexes: the index
# definitions (operator classes, options, partial predicate) come back and
# the restored indexes answer like the originals.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vecgo'\nvecgo.worker = off\nvecgo.vacuum_compaction = off\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	CREATE TABLE items (id int PRIMARY KEY, cat int, v vector(16));
	INSERT INTO items SELECT i, i % 10, (SELECT array_agg(cos(i * 0.3 + j * 0.7)::real) FROM generate_series(1, 16) j)::vector
	  FROM generate_series(1, 3000) i;
	CREATE INDEX items_cos ON items USING vecgo (v vector_cosine_ops) WITH (diskann_threshold = 1000, graph_degree = 32);
	CREATE INDEX items_l1 ON items USING vecgo (v vector_l1_ops) WHERE cat = 3;
});

my $query = q{
	SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <=> '[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]' LIMIT 10) s;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items WHERE cat = 3 ORDER BY v <+> '[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]' LIMIT 10) s;
	SELECT string_agg(indexdef, E'\n' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'items';
};
my $before = $node->safe_psql('postgres', $query);

my $dump = $node->basedir . '/items.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');

my $after = $node->safe_psql('restored', $query);
is($after, $before, 'restored indexes have the same definitions and answers');
like($after, qr/WITH \(diskann_threshold='?1000'?, graph_degree='?32'?\)/, 'options survive the round trip');
is($node->safe_psql('restored', "SELECT string_agg(kind, ',' ORDER BY segment) FROM vecgo_index_info('items_cos')"),
	'diskann,l0 log', 'the restored index was rebuilt as a DiskANN segment');
my ($rc, $out, $err) = $node->psql('restored', "SELECT vecgo_verify('items_cos'), vecgo_verify('items_l1')");
is($rc, 0, 'restored indexes verify') or diag($err);

$node->stop;
done_testing();
