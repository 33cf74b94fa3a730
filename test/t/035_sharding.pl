# A vecgo table sharded with PostgreSQL's own parts: a coordinator whose table
# is hash-partitioned over two foreign partitions (postgres_fdw, one server per
# shard, `extensions 'vecgo'` so that the distance operators ship), each shard
# with its own vecgo index, preloaded, compacting on its own.
#
# For every test query (GloVe-100, cosine), the coordinator's top 10 (the
# plain ORDER BY ... LIMIT and vecgo_shard_knn) is the merge of each shard's
# own top 10 (its index, same ef_search), and the merge of each shard's exact
# top 10 is the exact answer over all rows; the coordinator's recall is that of
# one server holding every row, within the index's own spread. Inserts,
# deletes and updates through the coordinator reach the right shard; each
# shard's compaction worker seals and compacts its part; hot standbys of the
# shards, behind a second set of foreign servers, return the primaries'
# answers; a shard that is down makes the query fail, never answer short.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use VecgoData;

my $data = glove_path();
plan skip_all => "GloVe data not found at $data" unless -f $data;

my $nrows = 20000;    # rows loaded through the coordinator
my $nmore = 3000;     # rows inserted later (enough for each shard's worker to seal a graph)
my $nquery = 30;
my $k = 10;
my $index_opts = 'WITH (diskann_threshold = 1000)';  # a DiskANN segment per shard
# A small search list, so that the index's answers are approximate and the
# coordinator must reproduce the shards' own answers, not the exact ones. The
# coordinator passes it to its shard sessions in the servers' `options`.
my $ef = 10;

my @shards;
for my $i (1, 2) {
	my $s = PostgreSQL::Test::Cluster->new("shard$i");
	$s->init(allows_streaming => 1);
	$s->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'vecgo'
vecgo.worker_naptime = 1
autovacuum = off
});
	$s->start;
	$s->safe_psql('postgres', qq{
		CREATE EXTENSION vecgo;
		CREATE TABLE items (id int PRIMARY KEY, embedding vector(100));
	});
	push @shards, $s;
}
my $coord = PostgreSQL::Test::Cluster->new('coordinator');
$coord->init;
$coord->append_conf('postgresql.conf', "shared_preload_libraries = 'vecgo'\nvecgo.worker = off\n");
$coord->start;

# The layout (README, "Sharding and read replicas").
sub foreign_servers {
	my ($prefix, $table, @nodes) = @_;
	my $sql = "CREATE TABLE $table (id int, embedding vector(100)) PARTITION BY HASH (id);\n";
	for my $i (0 .. $#nodes) {
		my ($host, $port) = ($nodes[$i]->host, $nodes[$i]->port);
		my $server = $prefix . ($i + 1);
		$sql .= qq{
		CREATE SERVER $server FOREIGN DATA WRAPPER postgres_fdw
		  OPTIONS (host '$host', port '$port', dbname 'postgres', extensions 'vecgo', async_capable 'true',
		           options '-c vecgo.ef_search=$ef -c jit=off');
		CREATE USER MAPPING FOR CURRENT_USER SERVER $server;
		CREATE FOREIGN TABLE ${table}_$i PARTITION OF $table FOR VALUES WITH (MODULUS 2, REMAINDER $i)
		  SERVER $server OPTIONS (table_name 'items');
		};
	}
	$coord->safe_psql('postgres', $sql);
}
$coord->safe_psql('postgres', 'CREATE EXTENSION vecgo; CREATE EXTENSION postgres_fdw;');
foreign_servers('shard', 'items', @shards);
my @servers = ('shard1', 'shard2');

# Rows 1..nrows through the coordinator (COPY routes each row to its shard);
# the same rows in one local table, the one-server reference.
my @vecs = read_fvecs(0, $nrows + $nmore);
my @queries = read_fvecs(300000, $nquery);
my $tsv = $coord->basedir . '/rows.tsv';
write_rows($tsv, @vecs[0 .. $nrows - 1]);
$coord->safe_psql('postgres', qq{
	COPY items FROM '$tsv';
	CREATE TABLE whole (id int PRIMARY KEY, embedding vector(100));
	COPY whole FROM '$tsv';
	CREATE INDEX whole_idx ON whole USING vecgo (embedding vector_cosine_ops) $index_opts;
	ANALYZE whole;
});
my @counts = map { $_->safe_psql('postgres', 'SELECT count(*) FROM items') } @shards;
is($counts[0] + $counts[1], $nrows, "the coordinator's COPY put every row on a shard ($counts[0] + $counts[1])");
ok($counts[0] > $nrows / 3 && $counts[1] > $nrows / 3, 'the hash spreads the rows over both shards');
for my $s (@shards) {
	$s->safe_psql('postgres', "CREATE INDEX items_idx ON items USING vecgo (embedding vector_cosine_ops) $index_opts; ANALYZE items");
	is($s->safe_psql('postgres', "SELECT string_agg(kind, ',' ORDER BY segment) FROM vecgo_index_info('items_idx')"),
		'diskann,l0 log', $s->name . ': its index is a DiskANN segment');
}

# --- what each shard receives
my $q0 = $queries[0];
my $plan = $coord->safe_psql('postgres',
	"EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY embedding <=> '$q0' LIMIT $k");
like($plan, qr/Merge Append.*Foreign Scan on public.items_0.*Foreign Scan on public.items_1/s,
	'plain query: a Merge Append over the two foreign partitions');
like($plan, qr/Remote SQL: SELECT id, embedding FROM public.items ORDER BY \(embedding OPERATOR\(public.<=>\) '[^']+'\) ASC NULLS LAST\n/,
	'plain query: each shard receives the ORDER BY distance (the operator ships), without the LIMIT');
my ($rc, $out, $err) = $coord->psql('postgres', qq{
	LOAD 'auto_explain';
	SET auto_explain.log_min_duration = 0;
	SET auto_explain.log_nested_statements = on;
	SET auto_explain.log_verbose = on;
	SET auto_explain.log_level = notice;
	SELECT count(*) FROM vecgo_shard_knn(NULL::items, 'embedding', '$q0', $k);
});
is($out, $k, "vecgo_shard_knn returns $k rows");
like($err, qr/Append.*Async Foreign Scan on public.items_0.*Async Foreign Scan on public.items_1/s,
	'vecgo_shard_knn: a plain Append whose foreign scans run asynchronously');
like($err, qr/Remote SQL: SELECT id, embedding FROM public.items ORDER BY \(embedding OPERATOR\(public.<=>\) '[^']+'\) ASC NULLS LAST LIMIT $k\b/,
	"vecgo_shard_knn: each shard receives ORDER BY distance LIMIT $k");

# --- answers
# One line per query, "id@distance,..." (distances as float8 text, exact).
# $o{order}: the shards' vecgo.iterative_scan, in their own sessions and in
# the coordinator's (the servers' `options`).
sub topk {
	my ($node, $from, %o) = @_;
	my $order = $o{order} // 'relaxed_order';
	my $sql = "SET vecgo.ef_search = $ef;\nSET vecgo.iterative_scan = $order;\n" .
	  ($o{exact} ? "SET enable_indexscan = off;\n" : "SET enable_seqscan = off;\n");
	if ($node == $coord) {
		for my $server (@servers) {
			$sql .= "ALTER SERVER $server OPTIONS (SET options '-c vecgo.ef_search=$ef -c vecgo.iterative_scan=$order -c jit=off');\n";
		}
	}
	for my $q (@queries) {
		my $src = $o{helper}
		  ? "vecgo_shard_knn(NULL::$from, 'embedding', '$q', $k)"
		  : "(SELECT * FROM $from ORDER BY embedding <=> '$q' LIMIT $k)";
		$sql .= "SELECT coalesce(string_agg(id || '\@' || (embedding <=> '$q')::float8, ','), '') FROM $src s;\n";
	}
	return map { [ map { [ split /@/ ] } split /,/ ] } split /\n/, $node->safe_psql('postgres', $sql);
}
sub ids { my ($l) = @_; return join(',', sort { $a <=> $b } map { $_->[0] } @$l); }
# The k nearest of several lists of (id, distance).
sub merge {
	my @all = sort { $a->[1] <=> $b->[1] or $a->[0] <=> $b->[0] } map { @$_ } @_;
	return [ @all[0 .. ($#all < $k - 1 ? $#all : $k - 1)] ];
}
sub recall {
	my ($got, $truth) = @_;
	my $hits = 0;
	for my $i (0 .. $#$got) {
		my %t = map { $_->[0] => 1 } @{ $truth->[$i] };
		$hits += grep { $t{ $_->[0] } } @{ $got->[$i] };
	}
	return $hits / ($k * @$got);
}

# Compares the coordinator's answers with the merges of the shards' own
# answers, query by query; returns vecgo_shard_knn's recall against the exact
# merge and the exact merge. vecgo_shard_knn sorts the shards' top k again,
# so it is checked with the default relaxed_order (a shard's rows come in
# nearly sorted order). The plain plan's Merge Append takes each shard's rows
# in the order they come, so it is the merge of the shards' top k when the
# shards return them sorted: strict_order.
sub check_answers {
	my ($stage) = @_;
	my @helper = topk($coord, 'items', helper => 1);
	my @plain = topk($coord, 'items', order => 'strict_order');
	my @own = map { [ topk($_, 'items') ] } @shards;
	my @own_strict = map { [ topk($_, 'items', order => 'strict_order') ] } @shards;
	my @exact = map { [ topk($_, 'items', exact => 1) ] } @shards;
	my ($bad_plain, $bad_helper, $both, $approx) = (0, 0, 0, 0);
	my @truth;
	for my $i (0 .. $#queries) {
		my $want = ids(merge($own[0][$i], $own[1][$i]));
		$truth[$i] = merge($exact[0][$i], $exact[1][$i]);
		$bad_helper++ if ids($helper[$i]) ne $want;
		$bad_plain++ if ids($plain[$i]) ne ids(merge($own_strict[0][$i], $own_strict[1][$i]));
		# Queries whose top 10 takes rows from both shards (one shard's
		# answer alone fails the check), and queries the shards' indexes
		# answer approximately (an exact answer fails it).
		$both++ if ids(merge($own[0][$i])) ne $want;
		$approx++ if ids($truth[$i]) ne $want;
	}
	is($bad_helper, 0, "$stage: for every query, vecgo_shard_knn's top $k is the merge of the shards' top $k");
	is($bad_plain, 0, "$stage: for every query, the plain ORDER BY ... LIMIT $k is the merge of the shards' top $k (strict_order)");
	cmp_ok($both, '>', $nquery / 2, "$stage: $both queries take rows from both shards (one shard's answer would fail the check)");
	cmp_ok($approx, '>', 0, "$stage: $approx queries have approximate answers (an exact answer would fail the check)");
	my $r = recall(\@helper, \@truth);
	cmp_ok($r, '>=', 0.5, "$stage: vecgo_shard_knn's recall\@$k at ef_search $ef against the exact merge is $r");
	return ($r, \@truth);
}

my ($r, $truth) = check_answers('after load');
my @whole_exact = topk($coord, 'whole', exact => 1);
is(join(';', map { ids($_) } @whole_exact), join(';', map { ids($_) } @$truth),
	"the merge of each shard's exact top $k is the exact top $k of all rows");
my $r_whole = recall([ topk($coord, 'whole', helper => 1) ], $truth);
cmp_ok($r, '>=', $r_whole - 0.03,
	"the sharded recall ($r) is at least the one-server recall ($r_whole), within the index's spread");

# --- writes through the coordinator
# New rows whose vectors are test queries: each is its query's nearest row.
my $new = join(',', map { '(' . (900001 + $_) . ", '$queries[$_]')" } 0 .. 5);
$coord->safe_psql('postgres', "INSERT INTO items VALUES $new");
my @after = topk($coord, 'items');
my @after_h = topk($coord, 'items', helper => 1);
is(join(',', map { $after[$_][0][0] } 0 .. 5), '900001,900002,900003,900004,900005,900006',
	'rows inserted through the coordinator are found first (plain)');
is(join(',', map { $after_h[$_][0][0] } 0 .. 5), '900001,900002,900003,900004,900005,900006',
	'rows inserted through the coordinator are found first (vecgo_shard_knn)');
for my $id (900001 .. 900006) {
	my $where = $coord->safe_psql('postgres', "SELECT tableoid::regclass FROM items WHERE id = $id");
	my $on = join(',', map { $_->safe_psql('postgres', "SELECT count(*) FROM items WHERE id = $id") } @shards);
	is($on, $where eq 'items_0' ? '1,0' : '0,1', "row $id is on the shard of its partition ($where)");
}
# The vector of an existing row moved onto query 7: it becomes its nearest.
my $moved = $truth->[7][$k - 1][0];
$coord->safe_psql('postgres', "UPDATE items SET embedding = '$queries[7]' WHERE id = $moved");
is((topk($coord, 'items'))[7][0][0], $moved, 'a vector updated through the coordinator is found at its new place');
$coord->safe_psql('postgres', 'DELETE FROM items WHERE id > 900000');
@after = topk($coord, 'items');
@after_h = topk($coord, 'items', helper => 1);
is(scalar(grep { $_->[0] > 900000 } map { @$_ } @after, @after_h), 0,
	'rows deleted through the coordinator are not found');
is(join(',', map { $_->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id > 900000') } @shards), '0,0',
	'the deletes reached the shards');
$coord->safe_psql('postgres', "UPDATE items SET embedding = '$vecs[$moved - 1]' WHERE id = $moved");

# --- each shard compacts on its own: more rows through the coordinator, then
# the shards' workers seal their L0 logs (idle, worth a graph) into graphs.
write_rows($tsv, @vecs);
$coord->safe_psql('postgres', qq{
	CREATE TEMP TABLE more (id int, embedding vector(100));
	COPY more FROM '$tsv';
	INSERT INTO items SELECT * FROM more WHERE id > $nrows;
	INSERT INTO whole SELECT * FROM more WHERE id > $nrows;
});
for my $s (@shards) {
	my $settled = q{SELECT count(*) FILTER (WHERE kind = 'diskann') = 2
	                   AND sum(rows) FILTER (WHERE kind <> 'diskann') = 0
	                  FROM vecgo_index_info('items_idx')};
	my $ok = 0;
	for (1 .. 600) {
		last if ($ok = $s->safe_psql('postgres', $settled) eq 't');
		usleep(100_000);
	}
	ok($ok, $s->name . ': its worker sealed the new rows into a second DiskANN graph')
	  or diag($s->safe_psql('postgres', "SELECT * FROM vecgo_index_info('items_idx')"));
	is($s->safe_psql('postgres', "SELECT count(*) FROM vecgo_worker_jobs() WHERE indexrelid = 'items_idx'::regclass"),
		'1', $s->name . ': vecgo_worker_jobs() shows its job');
}
($r, $truth) = check_answers('after the shards compacted');

# --- read replicas: a standby per shard, a second partitioned table on the
# coordinator over them.
my @standbys;
for my $s (@shards) {
	$s->backup('b');
	my $sb = PostgreSQL::Test::Cluster->new($s->name . '_standby');
	$sb->init_from_backup($s, 'b', has_streaming => 1);
	$sb->start;
	$s->wait_for_catchup($sb);
	push @standbys, $sb;
}
foreign_servers('replica', 'items_ro', @standbys);
push @servers, 'replica1', 'replica2';
my @ro = topk($coord, 'items_ro');
my @ro_h = topk($coord, 'items_ro', helper => 1);
my @rw = topk($coord, 'items');
my @rw_h = topk($coord, 'items', helper => 1);
is(join(';', map { ids($_) } @ro), join(';', map { ids($_) } @rw), "over the standbys, the coordinator's answers are the primaries'");
is(join(';', map { ids($_) } @ro_h), join(';', map { ids($_) } @rw_h), "over the standbys, vecgo_shard_knn's answers are the primaries'");
like($standbys[0]->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN SELECT id FROM items ORDER BY embedding <=> '$q0' LIMIT $k"),
	qr/Index Scan using items_idx/, 'a standby uses the index');

# --- a shard that is down: an error naming it, no rows.
$shards[1]->stop('fast');
for my $case ([ 'plain', "SELECT id FROM items ORDER BY embedding <=> '$q0' LIMIT $k" ],
	[ 'vecgo_shard_knn', "SELECT id FROM vecgo_shard_knn(NULL::items, 'embedding', '$q0', $k)" ],
	[ 'insert', "INSERT INTO items SELECT id + 1000000, embedding FROM whole WHERE id <= 50" ]) {
	my ($name, $sql) = @$case;
	($rc, $out, $err) = $coord->psql('postgres', $sql);
	isnt($rc, 0, "shard down, $name: the statement fails");
	is($out, '', "shard down, $name: no rows");
	like($err, qr/could not connect to server "shard2"/, "shard down, $name: the error names the shard");
}
is($shards[0]->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id > 1000000'), '0',
	'shard down: the failed insert left no rows on the live shard');
my $live = $shards[0]->safe_psql('postgres', 'SELECT min(id) FROM items');
is($coord->safe_psql('postgres', "SELECT count(*) FROM items WHERE id = $live"), '1',
	'shard down: a query pruned to the live shard still answers');
$shards[1]->start;
is(join(';', map { ids($_) } topk($coord, 'items')), join(';', map { ids($_) } @rw),
	'the shard back, the coordinator answers as before');

$_->stop for @standbys, @shards, $coord;
done_testing();
