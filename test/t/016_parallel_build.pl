# Parallel graph builds: CREATE INDEX and vecgo_compact build a DiskANN
# segment's graph in the backend plus max_parallel_maintenance_workers
# PostgreSQL parallel workers sharing one block of dynamic shared memory.
# Checks: the workers really take part (the DEBUG1 report names the number of
# processes) and none are left afterwards; the graph they build has the
# recall of a one-process build; statement_timeout and a terminated worker
# stop the build with a clean ERROR, leave no index and no workers behind,
# and the next build succeeds.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecgoData;
use IPC::Run;

my $data = glove_path();
plan skip_all => "GloVe data not found at $data" unless -f $data;

my $nrows = 20000;
my $nquery = 50;
my $k = 10;

my $node = PostgreSQL::Test::Cluster->new('parallel');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'vecgo'
vecgo.worker = off
vecgo.vacuum_compaction = off
maintenance_work_mem = '256MB'
max_parallel_maintenance_workers = 2
max_worker_processes = 8
autovacuum = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecgo');

my @vecs = read_fvecs(0, $nrows);
my @queries = read_fvecs(300000, $nquery);
my $tsv = $node->basedir . '/glove.tsv';
write_rows($tsv, @vecs);
$node->safe_psql('postgres', qq{
	CREATE TABLE items (id int PRIMARY KEY, v vector(100));
	COPY items FROM '$tsv';
	CREATE TABLE queries (qid int, v vector(100));
});
$node->safe_psql('postgres', 'INSERT INTO queries VALUES ' .
	join(',', map { "($_, '$queries[$_]')" } 0 .. $#queries));
$node->safe_psql('postgres', q{
	CREATE TABLE truth AS
	  SELECT q.qid, t.id FROM queries q,
	    LATERAL (SELECT id FROM items ORDER BY v <=> q.v LIMIT 10) t;
});

sub recall {
	my $hits = $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SELECT count(*) FROM queries q,
		  LATERAL (SELECT id FROM items ORDER BY v <=> q.v LIMIT $k) a
		 WHERE (q.qid, a.id) IN (SELECT qid, id FROM truth);
	});
	return $hits / ($k * $nquery);
}

# Runs SQL with DEBUG1 messages and returns the number of processes the
# segment report names (undef when there is none).
sub build_processes {
	my ($sql) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"SET client_min_messages = debug1; $sql");
	is($ret, 0, "ran: $sql") or diag($stderr);
	return $stderr =~ /graph built in \d+ ms by (\d+) process\(es\)/ ? $1 : undef;
}

sub workers_alive {
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'");
}

# 1. CREATE INDEX with two workers, then with none.
is(build_processes('CREATE INDEX items_idx ON items USING vecgo (v vector_cosine_ops) WITH (diskann_threshold = 10000)'), 3,
	'CREATE INDEX built the graph in the backend and two parallel workers');
is(workers_alive(), 0, 'no parallel worker is left after the build');
my $r_parallel = recall();
cmp_ok($r_parallel, '>=', 0.95, "recall\@10 of the parallel build = $r_parallel");
{
	my ($rc, undef, $err) = $node->psql('postgres', "SELECT vecgo_verify('items_idx')");
	is($rc, 0, 'vecgo_verify passes on the parallel build') or diag($err);
}
is($node->safe_psql('postgres', "SELECT rows FROM vecgo_index_info('items_idx') WHERE kind = 'diskann'"),
	$nrows, 'the segment holds every row');

$node->safe_psql('postgres', 'DROP INDEX items_idx');
is(build_processes('SET max_parallel_maintenance_workers = 0; '
		. 'CREATE INDEX items_idx ON items USING vecgo (v vector_cosine_ops) WITH (diskann_threshold = 10000)'), 1,
	'with max_parallel_maintenance_workers = 0 the backend builds alone');
my $r_serial = recall();
cmp_ok($r_serial, '>=', 0.95, "recall\@10 of the one-process build = $r_serial");
cmp_ok(abs($r_parallel - $r_serial), '<=', 0.03, 'parallel and one-process builds have the same recall');

# 2. Compaction into a DiskANN segment runs in parallel too.
$node->safe_psql('postgres', q{
	DROP INDEX items_idx;
	TRUNCATE items;
	CREATE INDEX items_idx ON items USING vecgo (v vector_cosine_ops)
	  WITH (diskann_threshold = 10000, compaction_threshold = 2);
});
$node->safe_psql('postgres', "COPY items FROM '$tsv' WHERE id <= 10000; SELECT vecgo_flush('items_idx');");
$node->safe_psql('postgres', "COPY items FROM '$tsv' WHERE id > 10000; SELECT vecgo_flush('items_idx');");
is(build_processes("SELECT vecgo_compact('items_idx')"), 3,
	'vecgo_compact built the merged graph with two parallel workers');
is($node->safe_psql('postgres',
		"SELECT kind || ':' || rows FROM vecgo_index_info('items_idx') WHERE kind <> 'l0 log'"),
	"diskann:$nrows", 'compaction wrote one DiskANN segment of every row');
my $r_compact = recall();
cmp_ok($r_compact, '>=', 0.95, "recall\@10 after a parallel compaction = $r_compact");
is(workers_alive(), 0, 'no parallel worker is left after compaction');

# 3. statement_timeout stops a parallel build: a clean ERROR, no index, no workers.
$node->safe_psql('postgres', 'DROP INDEX items_idx');
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET statement_timeout = '400ms'; CREATE INDEX items_idx ON items USING vecgo (v vector_cosine_ops) WITH (diskann_threshold = 10000)");
isnt($ret, 0, 'a build over statement_timeout fails');
like($stderr, qr/canceling statement due to statement timeout/, 'with the timeout error');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'items_idx'"), 0,
	'the cancelled build left no index');
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'parallel worker'"),
	'the cancelled build left no parallel worker');

# 4. A worker terminated mid-build fails the build cleanly, the server stays up.
my ($in, $bout, $berr) = ('', '', '');
my $timer = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
my $h = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('postgres') ],
	'<', \$in, '>', \$bout, '2>', \$berr, $timer);
$in .= "CREATE INDEX items_idx ON items USING vecgo (v vector_cosine_ops) WITH (diskann_threshold = 10000);\n\\echo build-ended\n";
$h->pump;
# pg_stat_progress_create_index shows the graph being built, with its rows.
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pg_stat_progress_create_index
	 WHERE phase = 'building index: building graph' AND tuples_total = 20000 AND tuples_done > 0}),
	'the build reports its graph phase and progress');
# Between phases no worker runs for a moment: retry until one was signalled.
ok($node->poll_query_until('postgres', q{
	SELECT coalesce(bool_or(pg_terminate_backend(pid)), false)
	  FROM pg_stat_activity WHERE backend_type = 'parallel worker'}),
	'a parallel worker of the running build was terminated');
pump_until($h, $timer, \$bout, qr/build-ended/);
$in .= "\\q\n";
$h->finish;
like($berr, qr/ERROR/, 'the build with a terminated worker failed with an ERROR') or diag($berr);
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'items_idx'"), 0,
	'and left no index');
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'parallel worker'"),
	'and no parallel worker');

# 5. The next build succeeds and serves queries.
is(build_processes('CREATE INDEX items_idx ON items USING vecgo (v vector_cosine_ops) WITH (diskann_threshold = 10000)'), 3,
	'a new parallel build after the failures succeeds');
my $r_again = recall();
cmp_ok($r_again, '>=', 0.95, "recall\@10 of the rebuilt index = $r_again");

$node->stop;
done_testing();
