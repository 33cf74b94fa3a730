# Replication of the vecgo index: a streaming standby returns the same rows,
# in the same order, as the primary after the build, inserts (L0 log), deletes
# + VACUUM (tombstones), flush (seal) and compaction (manifest switch, page
# recycling); vecgo_verify passes on both.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'vecgo'\nvecgo.worker = off\nvecgo.vacuum_compaction = off\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION vecgo');
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->append_conf('postgresql.conf', "shared_preload_libraries = 'vecgo'\nvecgo.worker = off\nvecgo.vacuum_compaction = off\n");
$standby->start;

$primary->safe_psql('postgres', q{
	CREATE TABLE t (id int, v vector(48));
	INSERT INTO t SELECT i, (SELECT array_agg(((i * 7 + j * 13) % 101)::real) FROM generate_series(1, 48) j)::vector
	  FROM generate_series(1, 4000) i;
	CREATE INDEX t_l2 ON t USING vecgo (v vector_l2_ops) WITH (compaction_threshold = 2);
	CREATE INDEX t_cos ON t USING vecgo (v vector_cosine_ops) WITH (compaction_threshold = 2, diskann_threshold = 1000);
	CREATE UNLOGGED TABLE u (id int, v vector(48));
	CREATE INDEX u_idx ON u USING vecgo (v);
	INSERT INTO u SELECT id, v FROM t WHERE id <= 10;
});

my @queries = map {
	my $i = $_;
	'[' . join(',', map { ($i * 11 + $_ * 5) % 97 } 1 .. 48) . ']'
} 1 .. 5;

sub results {
	my ($node) = @_;
	my $sql = "SET enable_seqscan = off;\n";
	for my $q (@queries) {
		$sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <-> '$q' LIMIT 20) s;\n";
		$sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <=> '$q' LIMIT 20) s;\n";
	}
	$sql .= "SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> '$queries[0]' LIMIT 100000) s;\n";
	$sql .= "SELECT string_agg(format('%s:%s:%s:%s', kind, rows, deleted, pages), ' ' ORDER BY segment) FROM vecgo_index_info('t_l2');\n";
	return $node->safe_psql('postgres', $sql);
}

sub compare {
	my ($stage) = @_;
	$primary->wait_for_catchup($standby);
	my $p = results($primary);
	my $s = results($standby);
	is($s, $p, "$stage: standby returns the primary's rows");
	for my $idx ('t_l2', 't_cos') {
		my ($rc, $out, $err) = $standby->psql('postgres', "SELECT vecgo_verify('$idx')");
		is($rc, 0, "$stage: vecgo_verify($idx) passes on the standby") or diag($err);
	}
	my $plan = $standby->safe_psql('postgres',
		"SET enable_seqscan = off; EXPLAIN SELECT id FROM t ORDER BY v <=> '$queries[0]' LIMIT 5");
	like($plan, qr/Index Scan using t_cos/, "$stage: the standby uses the index");
	return $p;
}

compare('after build');
is($primary->safe_psql('postgres', "SELECT string_agg(kind, ',' ORDER BY segment) FROM vecgo_index_info('t_cos')"),
	'diskann,l0 log', 't_cos was built as a DiskANN segment');

$primary->safe_psql('postgres', q{
	INSERT INTO t SELECT i, (SELECT array_agg(((i * 3 + j * 17) % 89)::real) FROM generate_series(1, 48) j)::vector
	  FROM generate_series(4001, 6000) i});
compare('after inserts');

$primary->safe_psql('postgres', 'DELETE FROM t WHERE id % 3 = 0 OR id > 5500');
$primary->safe_psql('postgres', 'VACUUM t');
my $r = compare('after delete + VACUUM');
like($r, qr/flat:4000:1333:\d+ l0 log:2000:1000:/, 'the L0 log and the segment carry the tombstones');

$primary->safe_psql('postgres', "SELECT vecgo_flush('t_l2'), vecgo_flush('t_cos')");
compare('after flush');

$primary->safe_psql('postgres', "SELECT vecgo_compact('t_l2'), vecgo_compact('t_cos')");
$r = compare('after compaction');
is($primary->safe_psql('postgres', "SELECT string_agg(format('%s:%s:%s', kind, rows, deleted), ' ' ORDER BY segment) FROM vecgo_index_info('t_cos')"),
	'l0 log:0:0 diskann:2667:0 diskann:1000:0', 'compaction rewrote the DiskANN segment and the sealed L0 log without their deleted rows (both at or above diskann_threshold: new graphs)');
# Both segments had a third of their rows deleted: each is rewritten without
# them (they are in different size tiers, so they are not merged).
like($r, qr/^l0 log:0:0:1 flat:2667:0:\d+ flat:1000:0:\d+$/m, 'compaction rewrote the segments without their deleted rows');

# Freed pages are recycled and reused by later writes; the standby follows.
$primary->safe_psql('postgres', 'SELECT txid_current()');
$primary->safe_psql('postgres', 'VACUUM t');
$primary->safe_psql('postgres', q{
	INSERT INTO t SELECT i, (SELECT array_agg(((i * 5 + j) % 83)::real) FROM generate_series(1, 48) j)::vector
	  FROM generate_series(7001, 9000) i});
$primary->safe_psql('postgres', "SELECT vecgo_flush('t_l2'), vecgo_flush('t_cos')");
compare('after page reuse');

# Functions that write refuse to run on the standby.
my ($rc, $out, $err) = $standby->psql('postgres', "SELECT vecgo_flush('t_l2')");
like($err, qr/recovery is in progress/, 'vecgo_flush refuses to run on a standby');
($rc, $out, $err) = $standby->psql('postgres', "SELECT vecgo_compact('t_l2')");
like($err, qr/recovery is in progress/, 'vecgo_compact refuses to run on a standby');

# The standby, promoted, keeps answering and accepts writes.
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
is($standby->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM u ORDER BY v <-> v LIMIT 100) s}), '0',
	'the unlogged index is empty (init fork) after promotion');
$standby->safe_psql('postgres', q{INSERT INTO u SELECT id, v FROM t WHERE id <= 10});
is($standby->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM u ORDER BY v <-> '$queries[0]' LIMIT 100) s}), '7',
	'the unlogged index takes inserts after promotion');
$standby->safe_psql('postgres', q{
	INSERT INTO t SELECT i, (SELECT array_agg(((i + j) % 7)::real) FROM generate_series(1, 48) j)::vector
	  FROM generate_series(20001, 20100) i});
my ($rc2, $out2, $err2) = $standby->psql('postgres', "SELECT vecgo_verify('t_l2')");
is($rc2, 0, 'the promoted index verifies after writes') or diag($err2);

$standby->stop;
$primary->stop;
done_testing();
