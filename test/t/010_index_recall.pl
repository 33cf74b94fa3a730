# Recall of the vecgo index on real data (GloVe-100): for every operator
# class, recall@10 against an exact scan after the build (a DiskANN segment,
# and for L2 also a Flat one), after inserts (L0 log, sealed to Flat), after
# deletes + VACUUM (tombstones in every tier) and after compaction.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecgoData;

my $data = glove_path();
plan skip_all => "GloVe data not found at $data" unless -f $data;

my $nbuild = 15000;   # rows in the table at CREATE INDEX
my $ninsert = 5000;   # rows inserted afterwards
my $nquery = 50;      # held-out query vectors
my $k = 10;

my $node = PostgreSQL::Test::Cluster->new('recall');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vecgo'\nvecgo.worker = off\nvecgo.vacuum_compaction = off\nmaintenance_work_mem = '64MB'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecgo');

my @vecs = read_fvecs(0, $nbuild + $ninsert);
my @queries = read_fvecs(300000, $nquery);
my $csv = $node->basedir . '/glove.tsv';
write_rows($csv, @vecs);

$node->safe_psql('postgres', qq{
	CREATE TABLE items (id int PRIMARY KEY, v vector(100));
	CREATE TABLE stage (id int, v vector(100));
	COPY stage FROM '$csv';
	INSERT INTO items SELECT * FROM stage WHERE id <= $nbuild;
	CREATE TABLE queries (qid int, v vector(100));
});
$node->safe_psql('postgres', 'INSERT INTO queries VALUES ' .
	join(',', map { "($_, '$queries[$_]')" } 0 .. $#queries));

# Recall of the index's top-k against the exact top-k, all queries in one
# session: ties at the k-th distance count as hits.
sub recall {
	my ($op) = @_;
	my $hits = $node->safe_psql('postgres', qq{
		SET enable_indexscan = off;
		CREATE TEMP TABLE kth AS
		  SELECT q.qid, q.v, (SELECT max(d) FROM (SELECT v $op q.v AS d FROM items ORDER BY 1 LIMIT $k) s) AS d
		    FROM queries q;
		CREATE TEMP TABLE truth AS
		  SELECT kth.qid, i.id FROM kth, items i WHERE i.v $op kth.v <= kth.d;
		RESET enable_indexscan;
		SET enable_seqscan = off;
		SELECT count(*) FROM queries q,
		  LATERAL (SELECT id FROM items ORDER BY v $op q.v LIMIT $k) a
		 WHERE (q.qid, a.id) IN (SELECT qid, id FROM truth);
	});
	return $hits / ($k * @queries);
}

my %ops = (
	vector_l2_ops => '<->',
	vector_ip_ops => '<#>',
	vector_cosine_ops => '<=>',
	vector_l1_ops => '<+>');

sub check_recall {
	my ($r, $opclass, $kind, $what) = @_;
	cmp_ok($r, '>=', 0.95, "$opclass: recall\@$k $what = $r");
}

my @cases = map { [ $_, 1000 ] } sort keys %ops;
push @cases, [ 'vector_l2_ops', 1000000 ];  # Flat segments only
for my $case (@cases) {
	my ($opclass, $threshold) = @$case;
	my $op = $ops{$opclass};
	my $kind = $threshold <= $nbuild ? 'diskann' : 'flat';
	$node->safe_psql('postgres', qq{
		TRUNCATE items;
		INSERT INTO items SELECT * FROM stage WHERE id <= $nbuild;
		CREATE INDEX items_idx ON items USING vecgo (v $opclass)
		  WITH (compaction_threshold = 2, diskann_threshold = $threshold);
	});
	is($node->safe_psql('postgres', "SELECT kind FROM vecgo_index_info('items_idx') WHERE kind <> 'l0 log'"),
		$kind, "$opclass: the build wrote a $kind segment");
	$opclass .= " ($kind)";
	my $explain = $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		EXPLAIN SELECT count(*) FROM queries q,
		  LATERAL (SELECT id FROM items ORDER BY v $op q.v LIMIT $k) a});
	like($explain, qr/Index Scan using items_idx/, "$opclass: the planner uses the index");

	my $r = recall($op);
	check_recall($r, $opclass, $kind, 'after build');

	$node->safe_psql('postgres',
		"INSERT INTO items SELECT * FROM stage WHERE id > $nbuild");
	$r = recall($op);
	check_recall($r, $opclass, $kind, "after $ninsert inserts");

	$node->safe_psql('postgres', qq{
		SELECT vecgo_flush('items_idx');
		DELETE FROM items WHERE id % 5 = 0;
		VACUUM items;
	});
	$r = recall($op);
	check_recall($r, $opclass, $kind, 'after delete + VACUUM');

	my $replaced = $node->safe_psql('postgres', "SELECT vecgo_compact('items_idx')");
	cmp_ok($replaced, '>', 0, "$opclass: compaction replaced $replaced segments");
	$r = recall($op);
	check_recall($r, $opclass, $kind, 'after compaction');
	$node->safe_psql('postgres', "SELECT vecgo_verify('items_idx')");
	my $deleted = $node->safe_psql('postgres',
		"SELECT coalesce(sum(deleted), 0) FROM vecgo_index_info('items_idx')");
	is($deleted, '0', "$opclass: compaction dropped the deleted rows of every segment");
	# Both segments (a fifth of each deleted) are rewritten over their live
	# rows: DiskANN at or above diskann_threshold rows, Flat below.
	my $nlive = $nbuild - int($nbuild / 5);
	my $ninslive = $ninsert - int(($nbuild + $ninsert) / 5) + int($nbuild / 5);
	my $inskind = $threshold <= $ninslive ? 'diskann' : 'flat';
	is($node->safe_psql('postgres',
		"SELECT string_agg(format('%s:%s', kind, rows), ' ' ORDER BY rows DESC) FROM vecgo_index_info('items_idx') WHERE kind <> 'l0 log'"),
		"$kind:$nlive $inskind:$ninslive", "$opclass: segments after compaction");
	$node->safe_psql('postgres', 'DROP INDEX items_idx');
}

$node->stop;
done_testing();
