# The HNSW MemTable over the L0 log: rows inserted after CREATE INDEX are
# searched through a graph in shared memory, with results that stay complete
# and correct when the graph misses rows (after a restart), after VACUUM
# frees TIDs that new rows reuse, under a memory bound, and without preload;
# DROP and TRUNCATE give the memory back.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('memtable');
$node->init;
# The worker stays off until the test turns it on: it would rebuild the
# MemTable the restart below takes away.
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'vecgo'\nmax_connections = 30\nautovacuum = off\nvecgo.worker = off\nvecgo.worker_naptime = 1\n");
$node->start;

# Clustered 32-dimensional data: 40 centres, rows scattered around them.
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	CREATE TABLE centre (c int PRIMARY KEY, v real[]);
	SELECT setseed(0.19);
	INSERT INTO centre SELECT c, ARRAY(SELECT random() * 4 - 2 + c * 0 FROM generate_series(1, 32)) FROM generate_series(0, 39) c;
	CREATE FUNCTION point(i int) RETURNS vector LANGUAGE sql VOLATILE AS $$
	  SELECT ARRAY(SELECT x + random() * 0.6 - 0.3 FROM unnest((SELECT v FROM centre WHERE c = i % 40)) x)::vector $$;
	CREATE SEQUENCE ids;
	CREATE TABLE t (id bigint PRIMARY KEY, v vector(32));
	CREATE INDEX t_idx ON t USING vecgo (v vector_cosine_ops);
	CREATE TABLE queries AS SELECT i AS qid, point(i) AS v FROM generate_series(1, 40) i;
	CREATE FUNCTION recall() RETURNS float8 LANGUAGE plpgsql AS $$
	DECLARE r record; got bigint[]; want bigint[]; hit int := 0; total int := 0;
	BEGIN
	  FOR r IN SELECT v FROM queries LOOP
	    SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on;
	    SELECT array_agg(id) INTO got FROM (SELECT id FROM t ORDER BY v <=> r.v LIMIT 10) s;
	    SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off;
	    SELECT array_agg(id) INTO want FROM (SELECT id FROM t ORDER BY v <=> r.v LIMIT 10) s;
	    hit := hit + (SELECT count(*) FROM unnest(got) g WHERE g = ANY (want));
	    total := total + coalesce(array_length(want, 1), 0);
	  END LOOP;
	  RETURN hit::float8 / total;
	END $$;
	-- The distances the scan returns rows in are their real distances: a
	-- row returned for a stale graph entry (a reused TID) would break it.
	CREATE FUNCTION ordered() RETURNS bool LANGUAGE plpgsql AS $$
	DECLARE r record; d float8[];
	BEGIN
	  SET LOCAL enable_seqscan = off;
	  FOR r IN SELECT v FROM queries LOOP
	    SELECT array_agg(dist) INTO d FROM (SELECT v <=> r.v AS dist FROM t ORDER BY v <=> r.v LIMIT 20) s;
	    IF EXISTS (SELECT 1 FROM generate_series(2, array_length(d, 1)) k WHERE d[k] < d[k - 1] - 1e-6) THEN
	      RETURN false;
	    END IF;
	  END LOOP;
	  RETURN true;
	END $$;
});

# Concurrent inserts into an index created on an empty table.
$node->pgbench(
	'--no-vacuum --client=4 --jobs=2 --transactions=1000',
	0,
	[qr{processed: 4000/4000}],
	[qr{^$}],
	'four clients insert 4,000 rows',
	{ '001_insert' => q{INSERT INTO t SELECT nextval('ids'), point(nextval('ids')::int);} });

# The MemTable worker inserts queued rows in the background: wait for it.
ok($node->poll_query_until('postgres', "SELECT rows = 4000 AND memtable_rows = 4000 FROM vecgo_index_info('t_idx') WHERE kind = 'l0 log'"),
	'every inserted row is in the MemTable');
is($node->safe_psql('postgres', "SELECT kind, memtable_state FROM vecgo_index_info('t_idx')"),
	'l0 log|live', 'the L0 log\'s MemTable is live');
cmp_ok($node->safe_psql('postgres', 'SELECT recall()'), '>=', 0.9, 'recall@10 through the MemTable');
is($node->safe_psql('postgres', 'SELECT ordered()'), 't', 'rows come in real distance order');

is($node->safe_psql('postgres', 'SELECT worker_pid IS NOT NULL, rows_queued > 0, rows_waiting FROM vecgo_memtable_usage()'),
	't|t|0', 'the MemTable worker took the queued rows');

# A restart loses shared memory: the rows are still found (exactly), and
# rows inserted afterwards go to a new graph that does not cover the old ones.
# From here on sessions insert into the graphs themselves (no MemTable worker).
$node->append_conf('postgresql.conf', "vecgo.memtable_worker = off\n");
$node->restart;
is($node->safe_psql('postgres', 'SELECT worker_pid IS NULL FROM vecgo_memtable_usage()'), 't',
	'no MemTable worker with vecgo.memtable_worker = off');
is($node->safe_psql('postgres', "SELECT memtable_rows IS NULL FROM vecgo_index_info('t_idx') WHERE kind = 'l0 log'"),
	't', 'no MemTable after a restart');
cmp_ok($node->safe_psql('postgres', 'SELECT recall()'), '>=', 0.99, 'complete results from the L0 log alone');
$node->safe_psql('postgres', "INSERT INTO t SELECT nextval('ids'), point(i) FROM generate_series(1, 500) i");
cmp_ok($node->safe_psql('postgres', 'SELECT recall()'), '>=', 0.9, 'recall with a graph that covers part of the log');
is($node->safe_psql('postgres', 'SELECT rows_direct, rows_queued FROM vecgo_memtable_usage()'), '500|0',
	'without the worker, the session inserted its rows into the graph itself');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM t ORDER BY v <=> (SELECT v FROM t WHERE id = 17) LIMIT 1) s
	WHERE id = 17 OR (SELECT v FROM t WHERE id = 17) = (SELECT v FROM t t2 WHERE t2.id = s.id)}),
	'1', 'an old row finds itself');

# VACUUM frees TIDs that new rows reuse: the graph must not answer for them.
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 2 = 0');
$node->safe_psql('postgres', 'VACUUM t');
$node->safe_psql('postgres', "INSERT INTO t SELECT nextval('ids'), point(i + 7) FROM generate_series(1, 1500) i");
is($node->safe_psql('postgres', 'SELECT ordered()'), 't', 'rows come in real distance order after TID reuse');
cmp_ok($node->safe_psql('postgres', 'SELECT recall()'), '>=', 0.9, 'recall after delete, VACUUM and reuse');
is($node->safe_psql('postgres', 'SELECT vecgo_verify(\'t_idx\')'), '', 'index verifies');

# The worker completes the graph the restart took away, from the L0 log.
$node->safe_psql('postgres', 'ALTER SYSTEM SET vecgo.worker = on');
$node->reload;
ok($node->poll_query_until('postgres', q{
	SELECT memtable_rows = rows FROM vecgo_index_info('t_idx') WHERE kind = 'l0 log'}),
	'the worker rebuilds the MemTable of the L0 log');
cmp_ok($node->safe_psql('postgres', 'SELECT recall()'), '>=', 0.9, 'recall through the rebuilt MemTable');
is($node->safe_psql('postgres', 'SELECT ordered()'), 't', 'rows in real distance order through the rebuilt MemTable');
$node->safe_psql('postgres', 'ALTER SYSTEM SET vecgo.worker = off');
$node->reload;

# DROP and TRUNCATE give the memory back: 1,000 indexes created, filled and
# dropped leave the MemTables where they were.
my $before = $node->safe_psql('postgres', 'SELECT memtables, bytes FROM vecgo_memtable_usage()');
# One transaction per cycle, as a user's loop would run them.
$node->safe_psql('postgres', join('', map { q{
	CREATE TABLE churn (v vector(8));
	CREATE INDEX churn_idx ON churn USING vecgo (v);
	INSERT INTO churn SELECT ARRAY(SELECT random() FROM generate_series(1, 8))::vector FROM generate_series(1, 5);
	DROP TABLE churn;} } 1 .. 1000));
is($node->safe_psql('postgres', 'SELECT memtables, bytes FROM vecgo_memtable_usage()'), $before,
	'create, fill and drop 1,000 indexes: MemTable memory back to its starting level');
$node->safe_psql('postgres', q{
	CREATE TABLE tr (v vector(8));
	CREATE INDEX tr_idx ON tr USING vecgo (v);
	INSERT INTO tr SELECT ARRAY(SELECT random() FROM generate_series(1, 8))::vector FROM generate_series(1, 50);
	TRUNCATE tr;
	INSERT INTO tr SELECT ARRAY(SELECT random() FROM generate_series(1, 8))::vector FROM generate_series(1, 50);
	TRUNCATE tr;
	INSERT INTO tr SELECT ARRAY(SELECT random() FROM generate_series(1, 8))::vector FROM generate_series(1, 50);
});
my ($n_after_truncate) = $node->safe_psql('postgres', 'SELECT memtables FROM vecgo_memtable_usage()');
my ($n_before) = split /\|/, $before;
is($n_after_truncate, $n_before + 1, 'after TRUNCATE only the new relfilenode keeps a MemTable');
$node->safe_psql('postgres', 'DROP TABLE tr');

# A memory bound: inserts never fail, memory stays under it, the L0 log
# whose graph is largest is sealed, and every row stays reachable.
$node->safe_psql('postgres', "ALTER SYSTEM SET vecgo.memtable_memory = '24MB'");
$node->reload;
$node->safe_psql('postgres', q{
	CREATE TABLE big (id int, v vector(64));
	CREATE INDEX big_idx ON big USING vecgo (v vector_l2_ops);
});
my $peak = 0;
for my $round (1 .. 12) {
	$node->safe_psql('postgres', "INSERT INTO big SELECT i, ARRAY(SELECT random() + i % 9 FROM generate_series(1, 64))::vector FROM generate_series(($round - 1) * 5000 + 1, $round * 5000) i");
	my $bytes = $node->safe_psql('postgres', 'SELECT bytes FROM vecgo_memtable_usage()');
	$peak = $bytes if $bytes > $peak;
}
cmp_ok($peak, '<=', 24 * 1024 * 1024, "MemTable memory stays under vecgo.memtable_memory (peak $peak bytes)");
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('big_idx') WHERE kind = 'flat'"),
	'>=', 1, 'the L0 log was sealed when memory ran short');
is($node->safe_psql('postgres', "SELECT sum(rows) FROM vecgo_index_info('big_idx')"), '60000', 'all rows in the index');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 59999) LIMIT 1}), '59999',
	'a row inserted after memory ran out is found');
is($node->safe_psql('postgres', 'SELECT vecgo_verify(\'big_idx\')'), '', 'index verifies');
$node->stop;

# Without preload everything works (exactly); the first insert says so once.
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
my (undef, undef, $create_err) = $plain->psql('postgres', 'CREATE EXTENSION vecgo');
like($create_err, qr/WARNING:  vecgo is not in shared_preload_libraries.*\n.*HINT:  Add vecgo to shared_preload_libraries/,
	'CREATE EXTENSION warns that vecgo is not preloaded, with a hint');
is($plain->safe_psql('postgres', 'SELECT preloaded, worker_pid IS NULL FROM vecgo_memtable_usage()'), 'f|t',
	'vecgo_memtable_usage reports no preload and no MemTable worker');
$plain->safe_psql('postgres', 'CREATE TABLE p (v vector(3)); CREATE INDEX p_idx ON p USING vecgo (v)');
my ($ret, $out, $err) = $plain->psql('postgres', q{
	INSERT INTO p VALUES ('[1,2,3]');
	INSERT INTO p VALUES ('[1,2,4]');
	SET enable_seqscan = off;
	SELECT v FROM p ORDER BY v <-> '[1,2,4]' LIMIT 1;});
is($ret, 0, 'inserts and scans work without preload');
is($out, '[1,2,4]', 'the scan finds the row');
my @notices = ($err =~ /not in shared_preload_libraries/g);
is(scalar(@notices), 1, 'the first insert says once that vecgo is not preloaded');
like($err, qr/HINT:  Add vecgo to shared_preload_libraries/, 'with a hint');
$plain->stop;

done_testing();
