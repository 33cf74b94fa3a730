# Recall of the vecgo index on real data (GloVe-100) for the operator classes
# of the other column kinds: halfvec, sparsevec and bit (binary
# quantization). For each: recall@10 against an exact scan after the build
# (a DiskANN segment, or Flat for bit_jaccard_ops, which has no graph), after
# inserts (the L0 log and its MemTable), after deletes + VACUUM and after
# compaction. Ties at the k-th distance count as hits (Hamming distances are
# small integers: many rows tie).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecgoData;

my $data = glove_path();
plan skip_all => "GloVe data not found at $data" unless -f $data;

my $nbuild = 15000;
my $ninsert = 5000;
my $nquery = 50;
my $k = 10;

my $node = PostgreSQL::Test::Cluster->new('opclass_recall');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vecgo'\nvecgo.worker = off\nvecgo.vacuum_compaction = off\nmaintenance_work_mem = '64MB'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecgo');

my @vecs = read_fvecs(0, $nbuild + $ninsert);
my @queries = read_fvecs(300000, $nquery);
my $csv = $node->basedir . '/glove.tsv';
write_rows($csv, @vecs);

# Every case: operator class, the indexed expression (over the stage's
# vector v), the operator.
my @cases = (
	[ 'halfvec_l2_ops', 'v::halfvec(100)', '<->' ],
	[ 'halfvec_ip_ops', 'v::halfvec(100)', '<#>' ],
	[ 'halfvec_cosine_ops', 'v::halfvec(100)', '<=>' ],
	[ 'halfvec_l1_ops', 'v::halfvec(100)', '<+>' ],
	[ 'sparsevec_l2_ops', 'v::sparsevec(100)', '<->' ],
	[ 'sparsevec_ip_ops', 'v::sparsevec(100)', '<#>' ],
	[ 'sparsevec_cosine_ops', 'v::sparsevec(100)', '<=>' ],
	[ 'sparsevec_l1_ops', 'v::sparsevec(100)', '<+>' ],
	[ 'bit_hamming_ops', 'binary_quantize(v)::bit(100)', '<~>' ],
	[ 'bit_jaccard_ops', 'binary_quantize(v)::bit(100)', '<%>' ],
);

$node->safe_psql('postgres', qq{
	CREATE TABLE stage (id int, v vector(100));
	COPY stage FROM '$csv';
	CREATE TABLE qvec (qid int, v vector(100));
});
$node->safe_psql('postgres', 'INSERT INTO qvec VALUES ' .
	join(',', map { "($_, '$queries[$_]')" } 0 .. $#queries));

sub check {
	my ($r, $opclass, $what) = @_;
	cmp_ok($r, '>=', 0.95, "$opclass: recall\@$k $what = $r");
}

for my $case (@cases) {
	my ($opclass, $expr, $op) = @$case;
	my ($type) = $opclass =~ /^([a-z]+)_/;
	my $coltype = $expr =~ s/.*:://r;
	my $qexpr = $expr =~ s/\bv\b/q.v/r;
	$node->safe_psql('postgres', qq{
		DROP TABLE IF EXISTS items, queries;
		CREATE TABLE items (id int PRIMARY KEY, x $coltype);
		INSERT INTO items SELECT id, $expr FROM stage WHERE id <= $nbuild;
		CREATE TABLE queries AS SELECT q.qid, $qexpr AS x FROM qvec q;
		CREATE INDEX items_idx ON items USING vecgo (x $opclass)
		  WITH (compaction_threshold = 2, diskann_threshold = 1000);
	});
	my $kind = $opclass eq 'bit_jaccard_ops' ? 'flat' : 'diskann';
	is($node->safe_psql('postgres', "SELECT kind FROM vecgo_index_info('items_idx') WHERE kind <> 'l0 log'"),
		$kind, "$opclass: the build wrote a $kind segment");
	like($node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		EXPLAIN SELECT count(*) FROM queries q, LATERAL (SELECT id FROM items ORDER BY x $op q.x LIMIT $k) a}),
		qr/Index Scan using items_idx/, "$opclass: the planner uses the index");

	my $recall = sub {
		my $hits = $node->safe_psql('postgres', qq{
			SET enable_indexscan = off;
			CREATE TEMP TABLE kth AS
			  SELECT q.qid, q.x, (SELECT max(d) FROM (SELECT x $op q.x AS d FROM items ORDER BY 1 LIMIT $k) s) AS d
			    FROM queries q;
			CREATE TEMP TABLE truth AS SELECT kth.qid, i.id FROM kth, items i WHERE i.x $op kth.x <= kth.d;
			RESET enable_indexscan;
			SET enable_seqscan = off;
			SELECT count(*) FROM queries q, LATERAL (SELECT id FROM items ORDER BY x $op q.x LIMIT $k) a
			 WHERE (q.qid, a.id) IN (SELECT qid, id FROM truth);
		});
		return $hits / ($k * $nquery);
	};
	check($recall->(), $opclass, "after build");
	$node->safe_psql('postgres', "INSERT INTO items SELECT id, $expr FROM stage WHERE id > $nbuild");
	check($recall->(), $opclass, "after $ninsert inserts");
	$node->safe_psql('postgres', qq{
		SELECT vecgo_flush('items_idx');
		DELETE FROM items WHERE id % 5 = 0;
		VACUUM items;
	});
	check($recall->(), $opclass, "after delete + VACUUM");
	cmp_ok($node->safe_psql('postgres', "SELECT vecgo_compact('items_idx')"), '>', 0,
		"$opclass: compaction replaced segments");
	check($recall->(), $opclass, "after compaction");
	is($node->safe_psql('postgres', q{
		SET enable_seqscan = off;
		SELECT count(*) FROM (SELECT id FROM items ORDER BY x } . $op . q{ (SELECT x FROM items WHERE id = 1) LIMIT 100000) s}),
		$node->safe_psql('postgres', 'SELECT count(*) FROM items'), "$opclass: every live row once through the index");
	$node->safe_psql('postgres', "SELECT vecgo_verify('items_idx')");
}

$node->stop;
done_testing();
