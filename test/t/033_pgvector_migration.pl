# scripts/migrate-from-pgvector.sh end to end: a database using pgvector
# (vector columns, and halfvec, sparsevec and bit columns where the installed
# vecgo has those types and operator classes), with HNSW and IVFFlat indexes,
# is copied into a second database of the same cluster that uses vecgo. On
# the vecgo side: the same rows and column values (text form), every index
# recreated as vecgo with the same operator class, the indexes used by the
# planner, and top-10 results that match the exact (sequential) top-10 with
# recall >= 0.95. Then what the script must refuse: a partitioned pgvector
# index, and a target that is the source.
#
# pgvector is never part of this repository: the test runs only where it is
# installed (the extension's control file in the server's share directory).
# The server runs without shared_preload_libraries, so that no backend holds
# both libraries (pgvector's in the source database, vecgo's in the target).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecgoData;

my $sharedir = `pg_config --sharedir`;
chomp $sharedir;
plan skip_all => "pgvector is not installed ($sharedir/extension/vector.control missing)"
  unless -f "$sharedir/extension/vector.control";

# What the installed vecgo has of pgvector's other types: read from its
# install script (default version).
my ($vecgo_version) = slurp_file("$sharedir/extension/vecgo.control") =~ /default_version\s*=\s*'([^']+)'/;
my $vecgo_script = slurp_file("$sharedir/extension/vecgo--$vecgo_version.sql");
my %has;
$has{halfvec} = $vecgo_script =~ /CREATE TYPE halfvec\b/ && $vecgo_script =~ /OPERATOR CLASS halfvec_l2_ops\b/;
$has{sparsevec} = $vecgo_script =~ /CREATE TYPE sparsevec\b/ && $vecgo_script =~ /OPERATOR CLASS sparsevec_l2_ops\b/;
$has{bit} = $vecgo_script =~ /OPERATOR CLASS bit_hamming_ops\b/;
for my $t (qw(halfvec sparsevec bit)) {
	note($has{$t} ? "vecgo $vecgo_version has $t: its columns and indexes are migrated too"
		: "vecgo $vecgo_version has no $t (index) support: the $t columns and indexes are skipped");
}

# The checkout's scripts (run-tap.sh sets VECGO_ROOT).
my $script = ($ENV{VECGO_ROOT} // '.') . '/scripts/migrate-from-pgvector.sh';
ok(-x $script, 'the migration script is there') or BAIL_OUT("no $script");

my $node = PostgreSQL::Test::Cluster->new('pgvector_migration');
$node->init;
$node->append_conf('postgresql.conf', "maintenance_work_mem = '256MB'\nautovacuum = off\n");
$node->start;

# ---------------------------------------------------------------- the source
my $rows = 12000;
my $glove = -f glove_path();
note($glove ? "data: $rows GloVe-100 vectors" : "data: $rows synthetic 100-d vectors (no GloVe file)");
my $rowfile = $node->basedir . '/rows.tsv';
if ($glove) {
	write_rows($rowfile, read_fvecs(0, $rows));
}
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION vector');
$node->safe_psql('src', 'CREATE TABLE items (id int PRIMARY KEY, v vector(100))');
if ($glove) {
	$node->safe_psql('src', "COPY items FROM '$rowfile'");
} else {
	$node->safe_psql('src', qq{
		INSERT INTO items SELECT i, (SELECT array_agg(round(sin(i * 0.7 + j * 1.3 + (i % 37) * j)::numeric, 4)::real)
		                               FROM generate_series(1, 100) j)::vector
		  FROM generate_series(1, $rows) i});
}
$node->safe_psql('src', q{
	INSERT INTO items VALUES (0, NULL);
	CREATE INDEX items_v_cos ON items USING hnsw (v vector_cosine_ops) WITH (m = 16, ef_construction = 64);
	CREATE INDEX items_v_l2 ON items USING ivfflat (v vector_l2_ops) WITH (lists = 40);
	CREATE INDEX items_v_ip ON items USING hnsw (v vector_ip_ops);
	CREATE INDEX "items v l1 even" ON items USING hnsw (v vector_l1_ops) WHERE id % 2 = 0;
	COMMENT ON INDEX items_v_cos IS 'cosine, for the search page';
	CREATE VIEW nearest_pairs AS SELECT a.id, a.v <-> b.v AS d FROM items a JOIN items b ON b.id = a.id + 1;
});
# Each index the target must have: name, operator class, table, the ORDER BY
# expression of a query (with $q for the query value) and its WHERE clause.
my @cases = (
	[ 'items_v_cos', 'vector_cosine_ops', 'items', 'v <=> $q', '' ],
	[ 'items_v_l2', 'vector_l2_ops', 'items', 'v <-> $q', '' ],
	[ 'items_v_ip', 'vector_ip_ops', 'items', 'v <#> $q', '' ],
	[ 'items v l1 even', 'vector_l1_ops', 'items', 'v <+> $q', 'id % 2 = 0' ],
);
my @tables = ('items');
if ($has{halfvec}) {
	$node->safe_psql('src', q{
		ALTER TABLE items ADD COLUMN h halfvec(100);
		UPDATE items SET h = v::halfvec(100);
		CREATE INDEX items_h_l2 ON items USING ivfflat (h halfvec_l2_ops) WITH (lists = 40);
		CREATE INDEX items_vh_cos ON items USING hnsw ((v::halfvec(100)) halfvec_cosine_ops);
	});
	push @cases, [ 'items_h_l2', 'halfvec_l2_ops', 'items', 'h <-> $q::halfvec(100)', '' ],
	  [ 'items_vh_cos', 'halfvec_cosine_ops', 'items', 'v::halfvec(100) <=> $q::halfvec(100)', '' ];
}
if ($has{bit}) {
	$node->safe_psql('src', q{
		ALTER TABLE items ADD COLUMN b bit(100);
		UPDATE items SET b = binary_quantize(v)::bit(100);
		CREATE INDEX items_b_hamming ON items USING hnsw (b bit_hamming_ops);
	});
	push @cases, [ 'items_b_hamming', 'bit_hamming_ops', 'items', 'b <~> binary_quantize($q::vector)::bit(100)', '' ];
}
if ($has{sparsevec}) {
	$node->safe_psql('src', q{
		CREATE TABLE sparse (id int PRIMARY KEY, s sparsevec(1000));
		INSERT INTO sparse SELECT i, (SELECT '{' || string_agg(format('%s:%s', k, round(((i * k) % 17 + 1)::numeric / 7, 3)), ',') || '}/1000'
		                              FROM (SELECT DISTINCT 1 + (i * j * 7919 + j * 104729) % 1000 AS k FROM generate_series(1, 12) j ORDER BY 1) ks)::sparsevec
		  FROM generate_series(1, 3000) i;
		CREATE INDEX sparse_s_l2 ON sparse USING hnsw (s sparsevec_l2_ops);
		CREATE INDEX sparse_s_ip ON sparse USING hnsw (s sparsevec_ip_ops);
	});
	push @cases, [ 'sparse_s_l2', 'sparsevec_l2_ops', 'sparse', 's <-> $q', '' ],
	  [ 'sparse_s_ip', 'sparsevec_ip_ops', 'sparse', 's <#> $q', '' ];
	push @tables, 'sparse';
}
$node->safe_psql('src', 'ANALYZE');

# ---------------------------------------------------------------- migration
my @conn = ('-h', $node->host, '-p', $node->port);
my ($stdout, $stderr);
my $ok = IPC::Run::run([ 'bash', $script, @conn, 'src', 'dst' ], '>', \$stdout, '2>', \$stderr);
ok($ok, 'the migration succeeds') or diag("stdout:\n$stdout\nstderr:\n$stderr");
note($stdout);
like($stdout, qr/lists=40 dropped/, 'the report says ivfflat lists was dropped');
like($stdout, qr/m=16 kept.*ef_construction=64 kept/, 'the report says hnsw m and ef_construction were kept');

is($node->safe_psql('dst', "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"), '0', 'no pgvector in the target');
is($node->safe_psql('src', "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"), '1', 'the source still has pgvector');

# Same rows, same values (text form of every column).
for my $t (@tables) {
	my $q = "SELECT count(*) || ' ' || md5(string_agg(x::text, E'\\n' ORDER BY x.id)) FROM $t x";
	is($node->safe_psql('dst', $q), $node->safe_psql('src', $q), "$t: same rows and column values");
}
# The view computes distances: vecgo's kernels may differ from pgvector's in
# the last bits, so they are compared within 1e-5 (relative).
my $vq = "SELECT string_agg(id || ' ' || d, E'\\n' ORDER BY id) FROM nearest_pairs";
my %src_d = map { split / / } split /\n/, $node->safe_psql('src', $vq);
my %dst_d = map { split / / } split /\n/, $node->safe_psql('dst', $vq);
my @off = grep { !defined $dst_d{$_} || abs($src_d{$_} - $dst_d{$_}) > 1e-5 * (1 + abs($src_d{$_})) } keys %src_d;
ok(keys %src_d == $rows - 1 && keys %dst_d == keys %src_d && !@off, 'the view over the vectors answers the same')
  or diag(scalar(@off) . ' distances differ, e.g. ' . join(', ', map { "$_: $src_d{$_} vs " . ($dst_d{$_} // 'none') } @off[0 .. ($#off < 4 ? $#off : 4)]));

# Every index recreated as vecgo with the same operator class.
my $indexes_q = q{
	SELECT string_agg(format('%s %s %s', ic.relname, am.amname, opc.opcname), E'\n' ORDER BY ic.relname)
	  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
	  JOIN pg_opclass opc ON opc.oid = i.indclass[0]
	 WHERE am.amname IN ('hnsw', 'ivfflat', 'vecgo')};
my $expected = join("\n", map { "$_->[0] vecgo $_->[1]" } sort { $a->[0] cmp $b->[0] } @cases);
is($node->safe_psql('dst', $indexes_q), $expected, 'every pgvector index is a vecgo index with the same operator class');
like($node->safe_psql('dst', "SELECT pg_get_indexdef('items_v_cos'::regclass)"), qr/WITH \(m='?16'?, ef_construction='?64'?\)/,
	'hnsw options carried over');
like($node->safe_psql('dst', q{SELECT pg_get_indexdef('"items v l1 even"'::regclass)}), qr/WHERE \(\(id % 2\) = 0\)/,
	'the partial index keeps its predicate');
is($node->safe_psql('dst', "SELECT obj_description('items_v_cos'::regclass)"), 'cosine, for the search page', 'index comment carried over');

# The planner uses each index; its top 10 matches the exact top 10.
for my $c (@cases) {
	my ($index, $opclass, $table, $expr, $where) = @$c;
	my $col = $table eq 'sparse' ? 's' : 'v';
	my $w = $where ? "WHERE $where" : '';
	my $qlit = $node->safe_psql('dst', "SELECT $col FROM $table WHERE id = 101");
	(my $e1 = $expr) =~ s/\$q/'$qlit'/g;
	my $plan = $node->safe_psql('dst', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM $table $w ORDER BY $e1 LIMIT 10");
	like($plan, qr/Index Scan using "?\Q$index\E"? on $table/, "$index: the query uses the vecgo index");

	# 20 query values taken from the table; recall counts the index's
	# results within the exact 10th distance (ties count as found).
	(my $e2 = $expr) =~ s/\$q/q.qv/g;
	my $recall = $node->safe_psql('dst', qq{
		CREATE TEMP TABLE queries AS SELECT id AS qid, $col AS qv FROM $table WHERE id % 150 = 7 AND $col IS NOT NULL LIMIT 20;
		SET enable_seqscan = off;
		CREATE TEMP TABLE got AS SELECT q.qid, r.d FROM queries q,
		  LATERAL (SELECT ($e2)::float8 AS d FROM $table $w ORDER BY $e2 LIMIT 10) r;
		SET enable_seqscan = on; SET enable_indexscan = off; SET enable_bitmapscan = off;
		CREATE TEMP TABLE kth AS SELECT q.qid, (SELECT ($e2)::float8 FROM $table $w ORDER BY $e2 OFFSET 9 LIMIT 1) AS d
		  FROM queries q;
		SELECT round(count(*) FILTER (WHERE g.d <= k.d + 1e-6)::numeric / (10 * (SELECT count(*) FROM queries)), 3)
		  FROM got g JOIN kth k USING (qid);
	});
	cmp_ok($recall, '>=', 0.95, "$index ($opclass): recall\@10 $recall against the exact top 10");
}
my ($rc, $out, $err) = $node->psql('dst', 'SELECT vecgo_verify(oid) FROM pg_class WHERE relam = (SELECT oid FROM pg_am WHERE amname = \'vecgo\')');
is($rc, 0, 'the vecgo indexes verify') or diag($err);

# ---------------------------------------------------------------- refusals
$node->safe_psql('postgres', 'CREATE DATABASE src2');
$node->safe_psql('src2', q{
	CREATE EXTENSION vector;
	CREATE TABLE parted (id int, v vector(3)) PARTITION BY RANGE (id);
	CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
	INSERT INTO parted SELECT i, format('[%s,1,2]', i)::vector FROM generate_series(0, 99) i;
	CREATE INDEX parted_v ON parted USING hnsw (v vector_l2_ops);
});
$ok = IPC::Run::run([ 'bash', $script, @conn, 'src2', 'dst2' ], '>', \$stdout, '2>', \$stderr);
ok(!$ok, 'a partitioned pgvector index stops the migration');
like($stderr, qr/ERROR: cannot carry over:.*partitioned hnsw index/s, 'the message names the partitioned index');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'dst2'"), '0', 'no target database is left behind');
is($node->safe_psql('src2', 'SELECT count(*) FROM parted'), '100', 'the source is untouched');

$ok = IPC::Run::run([ 'bash', $script, @conn, 'src', 'src' ], '>', \$stdout, '2>', \$stderr);
ok(!$ok, 'the source cannot be the target');
like($stderr, qr/the target is the source database itself/, 'the message says so');
is($node->safe_psql('src', 'SELECT count(*) FROM items'), $rows + 1, 'the source keeps its rows');

$ok = IPC::Run::run([ 'bash', $script, @conn, 'src', 'dst' ], '>', \$stdout, '2>', \$stderr);
ok(!$ok, 'a target that is not empty is refused');
like($stderr, qr/is not empty/, 'the message says so');

$node->stop;
done_testing();
