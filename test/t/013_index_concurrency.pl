# Concurrent use of one vecgo index: clients inserting (with automatic seals
# of a small L0 log), deleting, scanning with filters, flushing and compacting
# at the same time as VACUUM. Afterwards every live row is found by an index
# scan, no deleted row is returned, and vecgo_verify passes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('conc');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vecgo'\nmax_connections = 30\nautovacuum_naptime = 1\nvecgo.worker_naptime = 1\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	CREATE SEQUENCE ids;
	CREATE TABLE t (id bigint PRIMARY KEY, cat int, v vector(64));
	INSERT INTO t SELECT nextval('ids'), i % 50, array_fill((i % 31)::real, ARRAY[64])::vector
	  FROM generate_series(1, 2000) i;
	CREATE INDEX t_idx ON t USING vecgo (v vector_l2_ops) WITH (memtable_size = 1, compaction_threshold = 2);
	ALTER TABLE t SET (autovacuum_vacuum_threshold = 100, autovacuum_vacuum_scale_factor = 0);
});

my $insert = q{
\set c random(0, 49)
\set x random(0, 30)
INSERT INTO t VALUES (nextval('ids'), :c, array_fill(:x::real, ARRAY[64])::vector);
};
my $delete = q{
\set c random(0, 49)
DELETE FROM t WHERE id IN (SELECT id FROM t WHERE cat = :c ORDER BY id LIMIT 3);
};
my $scan = q{
\set c random(0, 49)
\set x random(0, 30)
SET enable_seqscan = off;
SELECT id FROM t WHERE cat = :c ORDER BY v <-> array_fill(:x::real, ARRAY[64])::vector LIMIT 10;
};
my $maint = q{
\set r random(0, 9)
SELECT CASE WHEN :r < 5 THEN vecgo_flush('t_idx') ELSE vecgo_compact('t_idx') END;
};

$node->pgbench(
	'--no-vacuum --client=6 --jobs=2 --time=12',
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'concurrent inserts, deletes, filtered scans, flush and compaction',
	{
		'001_insert@6' => $insert,
		'002_delete@1' => $delete,
		'003_scan@4' => $scan,
		'004_maint@1' => $maint,
	});

$node->safe_psql('postgres', 'VACUUM t');
my $heap = $node->safe_psql('postgres', 'SET enable_indexscan = off; SELECT count(*), sum(id) FROM t');
my $index = $node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET vecgo.max_scan_tuples = 10000000;
	SELECT count(*), sum(id) FROM (SELECT id FROM t ORDER BY v <-> array_fill(0::real, ARRAY[64])::vector LIMIT 10000000) s});
is($index, $heap, "index scan returns every live row ($heap)");
my ($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('t_idx')");
is($rc, 0, 'vecgo_verify passes') or diag($err);
my $info = $node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('t_idx') WHERE kind <> 'l0 log'");
cmp_ok($info, '>=', 1, "segments after the run: $info");
# Tombstones match the heap: the index has no more live rows than the table.
my $live = $node->safe_psql('postgres', "SELECT sum(rows - deleted) FROM vecgo_index_info('t_idx')");
my ($nheap) = split /\|/, $heap;
is($live, $nheap, 'live index rows equal table rows after VACUUM');

# Compaction writing DiskANN segments (contiguous page runs) while clients
# insert and extend the same index.
$node->safe_psql('postgres', q{
	CREATE TABLE t2 (id bigint PRIMARY KEY, v vector(16));
	INSERT INTO t2 SELECT i, (SELECT array_agg(sin(i * 0.61 + j * 1.3 + (i % 17) * j)::real)
	  FROM generate_series(1, 16) j)::vector FROM generate_series(1, 1500) i;
	CREATE INDEX t2_idx ON t2 USING vecgo (v vector_l2_ops)
	  WITH (memtable_size = 1, compaction_threshold = 2, diskann_threshold = 1000, graph_degree = 16);
	CREATE SEQUENCE ids2 START 100000;
});
my $insert2 = q{
INSERT INTO t2 SELECT nextval('ids2'), (SELECT array_agg(random()::real) FROM generate_series(1, 16) j WHERE g > 0)::vector
  FROM generate_series(1, 20) g;
};
my $maint2 = q{
SELECT vecgo_flush('t2_idx'), vecgo_compact('t2_idx');
};
$node->pgbench(
	'--no-vacuum --client=4 --jobs=2 --time=8',
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'concurrent inserts and compaction into DiskANN segments',
	{
		'005_insert2@6' => $insert2,
		'006_maint2@1' => $maint2,
	});
$node->safe_psql('postgres', "SELECT vecgo_flush('t2_idx'), vecgo_compact('t2_idx')");
($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('t2_idx')");
is($rc, 0, 'vecgo_verify passes after DiskANN compaction under inserts') or diag($err);
my $kinds = $node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('t2_idx') WHERE kind = 'diskann'");
cmp_ok($kinds, '>=', 1, "compaction wrote DiskANN segments ($kinds)");
$heap = $node->safe_psql('postgres', 'SELECT count(*) FROM t2');
$live = $node->safe_psql('postgres', "SELECT sum(rows - deleted) FROM vecgo_index_info('t2_idx')");
is($live, $heap, "the index holds every row of t2 ($heap)");
my $found = $node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM t2 WHERE id % 97 = 0 OR id % 1000 = 1) q
	WHERE q.id = (SELECT id FROM t2 ORDER BY v <-> (SELECT v FROM t2 WHERE id = q.id) LIMIT 1)});
my $sample = $node->safe_psql('postgres', 'SELECT count(*) FROM t2 WHERE id % 97 = 0 OR id % 1000 = 1');
cmp_ok($found, '>=', 0.95 * $sample, "each sampled row is its own nearest neighbour ($found of $sample)");

$node->stop;
done_testing();
