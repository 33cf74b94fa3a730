# Distances that are NaN or infinite for finite vectors: inner product and
# cosine overflow float for components near the float range (products that
# overflow to +inf and -inf in one sum give inf - inf = NaN). PostgreSQL
# orders float8 NaN after everything, +Infinity included; an index scan must
# return rows in that order too, in every tier (the L0 log scanned exactly
# and through its HNSW MemTable, Flat segments, DiskANN segments) and in the
# merge between tiers, and an iterative scan under a WHERE clause must
# neither stop early nor drop rows when it meets them.
#
# Each case runs a filtered query with the index (enable_seqscan = off) and
# without it (a sort), and compares: the rows come as runs of equal operator
# values (NaN equal to NaN), and the runs must be the same values with the
# same rows in the same order; within a run the order is free (ties), and the
# last run of a LIMIT may hold any of its tied rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('nan');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'vecgo'\nvecgo.worker = off\nvecgo.vacuum_compaction = off\n"
	  . "autovacuum = off\nmax_parallel_maintenance_workers = 0\n");
$node->start;

# 1,000 rows of 4 dimensions with components in [0, 1); every tenth row is
# special (the large components vary, so no two rows are the same vector).
# Inner product (query [2,2,1,1]): NaN ([3e38,-2e38,..]: +inf and -inf
# products), +Infinity ([-2e38,..]) and -Infinity ([2e38,..]).
# Cosine (query [1,1,1,1]): NaN ([-3e38,-2e38,..]: an infinite dot product
# over an infinite norm) and the zero vector (NaN by the operator). Under
# cosine the graph tiers work on unit vectors normalised in double, where
# the overflowing rows are finite and point away from the query (distance
# about 1.7, after every ordinary row), so their place is the same.
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	CREATE FUNCTION gen(metric text, n int) RETURNS TABLE (id int, v vector) LANGUAGE plpgsql AS $$
	BEGIN
	  PERFORM setseed(0.23);
	  RETURN QUERY SELECT i, CASE
	    WHEN i % 10 <> 0 THEN ARRAY[random(), random(), random(), random()]::vector
	    WHEN metric = 'ip' AND (i / 10) % 3 = 0 THEN ARRAY[3e38, -3e38 * (0.6 + 0.4 * random()), random(), random()]::vector
	    WHEN metric = 'ip' AND (i / 10) % 3 = 1 THEN ARRAY[-3e38 * (0.6 + 0.4 * random()), random(), random(), random()]::vector
	    WHEN metric = 'ip' THEN ARRAY[3e38 * (0.6 + 0.4 * random()), random(), random(), random()]::vector
	    WHEN (i / 10) % 3 = 2 THEN '[0,0,0,0]'::vector
	    ELSE ARRAY[-3e38, -3e38 * (0.6 + 0.4 * random()), random(), random()]::vector END
	  FROM generate_series(1, n) i;
	END $$;
});

my %op = (ip => '<#>', cosine => '<=>');
my %q = (ip => '[2,2,1,1]', cosine => '[1,1,1,1]');

# The data must give what the test is about.
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE d = 'NaN') || ' ' || count(*) FILTER (WHERE d = 'Infinity') || ' '
	  || count(*) FILTER (WHERE d = '-Infinity')
	FROM (SELECT v <#> '[2,2,1,1]' AS d FROM gen('ip', 1000)) s}), '33 34 33',
	'inner product: NaN, +Infinity and -Infinity distances');
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE d = 'NaN') FROM (SELECT v <=> '[1,1,1,1]' AS d FROM gen('cosine', 1000)) s}),
	'100', 'cosine: NaN distances');

sub rows_of {
	my ($sql) = @_;
	my $out = $node->safe_psql('postgres', $sql);
	return [ map { [ split /\|/ ] } grep { length } split /\n/, $out ];
}

# Runs of equal values: [value, [ids...]] in order.
sub runs {
	my ($rows) = @_;
	my @runs;
	for my $r (@$rows) {
		if (@runs && $runs[-1][0] eq $r->[1]) { push @{ $runs[-1][1] }, $r->[0]; }
		else { push @runs, [ $r->[1], [ $r->[0] ] ]; }
	}
	return \@runs;
}

# Compares an index scan's rows with the sort's. $cut: the query had a
# LIMIT that may end inside a run of ties.
sub same_rows {
	my ($name, $got, $want, $cut) = @_;
	my $g = runs($got);
	my $w = runs($want);
	my $why;
	if (scalar(@$got) != scalar(@$want)) {
		$why = sprintf('%d rows, expected %d', scalar(@$got), scalar(@$want));
	} elsif (scalar(@$g) != scalar(@$w)) {
		$why = sprintf('%d runs of equal distances, expected %d', scalar(@$g), scalar(@$w));
	} else {
		for my $i (0 .. $#$g) {
			my ($gv, $gids) = @{ $g->[$i] };
			my ($wv, $wids) = @{ $w->[$i] };
			if ($gv ne $wv || scalar(@$gids) != scalar(@$wids)) {
				$why = "run $i: distance $gv x" . scalar(@$gids) . ", expected $wv x" . scalar(@$wids);
				last;
			}
			next if $cut && $i == $#$g;
			my $gs = join(',', sort { $a <=> $b } @$gids);
			my $ws = join(',', sort { $a <=> $b } @$wids);
			if ($gs ne $ws) { $why = "run $i (distance $gv): rows $gs, expected $ws"; last; }
		}
	}
	ok(!defined $why, $name) or diag($why);
}

# The same rows in any order (a graph tier's continuation in small batches
# is only approximately ordered).
sub same_set {
	my ($name, $got, $want) = @_;
	my $gs = join(',', sort { $a <=> $b } map { $_->[0] } @$got);
	my $ws = join(',', sort { $a <=> $b } map { $_->[0] } @$want);
	is($gs, $ws, $name);
}

# $exact: every tier of the index is exact (or the first batch covers the
# whole graph), so the order must be the sort's.
sub check {
	my ($table, $metric, $label, $exact) = @_;
	my $d = "v $op{$metric} '$q{$metric}'";
	my $plan = $node->safe_psql('postgres',
		"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM $table WHERE id % 7 = 0 ORDER BY $d LIMIT 5");
	like($plan, qr/Index Scan using ${table}_idx/, "$label: the query is an index scan");
	for my $limit (5, 40, 1000) {
		my $sql = "SELECT id, $d FROM $table WHERE id % 7 = 0 ORDER BY $d LIMIT $limit";
		my $want = rows_of("SET enable_indexscan = off; $sql");
		for my $mode ('relaxed_order', 'strict_order') {
			# ef_search 10: batches of 10, 20, 40, ... (an iterative scan);
			# 1000: one batch holds every row of a graph.
			for my $ef (10, 1000) {
				my $got = rows_of(
					"SET enable_seqscan = off; SET vecgo.iterative_scan = $mode; SET vecgo.ef_search = $ef; $sql");
				my $name = "$label: LIMIT $limit, $mode, ef_search $ef";
				if ($exact || $ef == 1000) {
					same_rows($name, $got, $want, $limit < 1000);
				} elsif ($mode eq 'relaxed_order' && $limit == 1000) {
					same_set("$name (as a set)", $got, $want);
				}
			}
		}
	}
}

sub tiers {
	my ($table) = @_;
	return $node->safe_psql('postgres',
		"SELECT string_agg(kind || ':' || rows || ':' || coalesce(memtable_rows, 0), ' ' ORDER BY kind) "
		  . "FROM vecgo_index_info('${table}_idx')");
}

for my $metric ('ip', 'cosine') {
	my $ops = "vector_${metric}_ops";

	# The L0 log scanned exactly: no MemTable (memtable_memory 0).
	$node->safe_psql('postgres', "ALTER SYSTEM SET vecgo.memtable_memory = 0; SELECT pg_reload_conf()");
	$node->poll_query_until('postgres', 'SHOW vecgo.memtable_memory', '0') or die 'reload';
	$node->safe_psql('postgres', qq{
		CREATE TABLE l0_$metric (id int, v vector(4));
		CREATE INDEX l0_${metric}_idx ON l0_$metric USING vecgo (v $ops);
		INSERT INTO l0_$metric SELECT * FROM gen('$metric', 1000);
	});
	is(tiers("l0_$metric"), 'l0 log:1000:0', "$metric: every row in the L0 log, no MemTable");
	check("l0_$metric", $metric, "$metric, L0 log (exact)", 1);

	# The L0 log through its MemTable.
	$node->safe_psql('postgres', "ALTER SYSTEM RESET vecgo.memtable_memory; SELECT pg_reload_conf()");
	$node->poll_query_until('postgres', 'SHOW vecgo.memtable_memory', '1GB') or die 'reload';
	$node->safe_psql('postgres', qq{
		CREATE TABLE mem_$metric (id int, v vector(4));
		CREATE INDEX mem_${metric}_idx ON mem_$metric USING vecgo (v $ops);
		INSERT INTO mem_$metric SELECT * FROM gen('$metric', 1000);
	});
	is(tiers("mem_$metric"), 'l0 log:1000:1000', "$metric: every row in the L0 log's MemTable");
	check("mem_$metric", $metric, "$metric, MemTable", 0);

	# A Flat segment: the exact L0 log sealed (small: no MemTable kept).
	$node->safe_psql('postgres', qq{
		CREATE TABLE flat_$metric (id int, v vector(4));
		CREATE INDEX flat_${metric}_idx ON flat_$metric USING vecgo (v $ops);
		INSERT INTO flat_$metric SELECT * FROM gen('$metric', 1000);
		SELECT vecgo_flush('flat_${metric}_idx');
	});
	is(tiers("flat_$metric"), 'flat:1000:0 l0 log:0:0', "$metric: one Flat segment");
	check("flat_$metric", $metric, "$metric, Flat", 1);

	# A DiskANN segment.
	$node->safe_psql('postgres', qq{
		CREATE TABLE dann_$metric AS SELECT * FROM gen('$metric', 1000);
		CREATE INDEX dann_${metric}_idx ON dann_$metric USING vecgo (v $ops) WITH (diskann_threshold = 1000);
	});
	is(tiers("dann_$metric"), 'diskann:1000:0 l0 log:0:0', "$metric: one DiskANN segment");
	check("dann_$metric", $metric, "$metric, DiskANN", 0);

	# All of them in one index: the merge between tiers.
	$node->safe_psql('postgres', qq{
		CREATE TABLE mix_$metric AS SELECT * FROM gen('$metric', 1000);
		CREATE INDEX mix_${metric}_idx ON mix_$metric USING vecgo (v $ops) WITH (diskann_threshold = 1000);
		INSERT INTO mix_$metric SELECT id + 1000, v FROM gen('$metric', 600);
		SELECT vecgo_flush('mix_${metric}_idx');
		INSERT INTO mix_$metric SELECT id + 2000, v FROM gen('$metric', 600);
	});
	is(tiers("mix_$metric"), 'diskann:1000:0 flat:600:0 l0 log:600:600', "$metric: L0 log, DiskANN and Flat");
	check("mix_$metric", $metric, "$metric, every tier", 0);
}

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');
ok(!(slurp_file($node->logfile) =~ /terminated by signal/), 'no backend crashed');
$node->stop;
done_testing();
