# The compaction worker: with vecgo preloaded it compacts the segments of an
# index no one compacts by hand, seals an idle L0 log worth a graph, shows in
# pg_stat_activity and vecgo_worker_jobs(); killed in the middle of a job, the
# server restarts, the index is intact and the pages the job had written are
# reclaimed. Without the worker (vecgo.worker = off, or not preloaded),
# VACUUM compacts.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecgoData;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
# The worker starts off, so that the segments below are made before it looks.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'vecgo'
restart_after_crash = on
vecgo.worker = off
vecgo.worker_naptime = 1
});
$node->start;

# Polls `$sql` until it returns 't', for at most $secs seconds.
sub wait_for {
	my ($sql, $secs, $db) = @_;
	my $deadline = time() + $secs;
	while (time() < $deadline) {
		my ($rc, $out) = $node->psql($db // 'postgres', $sql);
		return 1 if $rc == 0 && $out eq 't';
		usleep(100_000);
	}
	return 0;
}

sub set_conf {
	my ($settings) = @_;
	$node->safe_psql('postgres', join('', map { "ALTER SYSTEM SET $_;" } @$settings) . 'SELECT pg_reload_conf()');
}

sub segments {
	my ($idx) = @_;
	return $node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('$idx') WHERE kind <> 'l0 log'");
}

# Every row is returned by an index scan, in the order a seqscan gives.
sub check_index {
	my ($label, $table, $idx, $dims) = @_;
	my $q = "array_fill(0.5::real, ARRAY[$dims])::vector";
	my $exact = $node->safe_psql('postgres', "SET enable_indexscan = off; SELECT string_agg(id::text, ',') FROM (SELECT id FROM $table ORDER BY v <-> $q, id LIMIT 50) s");
	my $viaidx = $node->safe_psql('postgres', "SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM (SELECT id FROM $table ORDER BY v <-> $q LIMIT 50) s");
	is($viaidx, $exact, "$label: the index's top 50 equal a seqscan's");
	my $heap = $node->safe_psql('postgres', "SET enable_indexscan = off; SELECT count(*) FROM $table");
	my $count = $node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET vecgo.max_scan_tuples = 1000000;
		SELECT count(*) FROM (SELECT id FROM $table ORDER BY v <-> $q LIMIT 1000000) s});
	is($count, $heap, "$label: an index scan returns all $heap rows");
	my ($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('$idx')");
	is($rc, 0, "$label: vecgo_verify passes") or diag($err);
}

$node->safe_psql('postgres', 'CREATE EXTENSION vecgo');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vecgo launcher'"),
	'1', 'the launcher shows in pg_stat_activity');

# Fills table $t (ids from $first, default 1) with $n batches of $rows random
# $dims-dimensional rows, each sealed by hand into its own Flat segment of
# index ${t}_idx.
sub flat_segments {
	my ($t, $dims, $n, $rows, $first) = @_;
	$first //= 1;
	for my $batch (0 .. $n - 1) {
		my $lo = $first + $batch * $rows;
		my $hi = $lo + $rows - 1;
		$node->safe_psql('postgres', qq{
			INSERT INTO $t SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, $dims) WHERE i > 0)::vector
			  FROM generate_series($lo, $hi) i;
			SELECT vecgo_flush('${t}_idx');
		});
	}
}

# ---------------------------------------------------------------- (a) the worker compacts
# Six Flat segments of one size tier (sealed by hand) and some rows in the L0 log.
$node->safe_psql('postgres', q{
	SELECT setseed(0.18);
	CREATE TABLE a (id int PRIMARY KEY, v vector(16));
	CREATE INDEX a_idx ON a USING vecgo (v) WITH (compaction_threshold = 4);
});
flat_segments('a', 16, 6, 500);
$node->safe_psql('postgres', q{
	INSERT INTO a SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE i > 0)::vector
	  FROM generate_series(3001, 3100) i});
is(segments('a_idx'), '6', 'six segments before the worker runs');
check_index('before compaction', 'a', 'a_idx', 16);

set_conf(['vecgo.worker = on']);
ok(wait_for("SELECT count(*) < 6 FROM vecgo_index_info('a_idx') WHERE kind <> 'l0 log'", 60),
	'the worker merged the segments');
my $jobs = q{SELECT j.* FROM vecgo_worker_jobs() j JOIN pg_database d ON d.oid = j.datid
	WHERE d.datname = current_database() AND j.indexrelid = 'a_idx'::regclass};
ok(wait_for("SELECT count(*) = 1 FROM ($jobs) j WHERE inputs >= 4 AND outputs >= 1 AND error IS NULL", 30),
	'vecgo_worker_jobs() lists the job');
note($node->safe_psql('postgres', $jobs));
check_index('after the worker compacted', 'a', 'a_idx', 16);
like(slurp_file($node->logfile), qr/vecgo worker: index "public\.a_idx": sealed 0 rows; compacted \d+ segments/,
	'the job is logged');
like($node->safe_psql('postgres', q{SELECT worker_finished IS NOT NULL, worker_job FROM vecgo_index_info('a_idx')
	WHERE kind = 'l0 log'}), qr/^t\|sealed \d+ rows; compacted \d+ segments into \d+/,
	'vecgo_index_info shows the worker\'s last job');

# An idle L0 log worth a graph (diskann_threshold) is sealed, then compacted.
$node->safe_psql('postgres', q{
	CREATE TABLE s (id int PRIMARY KEY, v vector(16));
	CREATE INDEX s_idx ON s USING vecgo (v) WITH (diskann_threshold = 1000);
	INSERT INTO s SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE i > 0)::vector
	  FROM generate_series(1, 1500) i;
});
ok(wait_for("SELECT rows = 0 FROM vecgo_index_info('s_idx') WHERE kind = 'l0 log'", 60),
	'the worker sealed the idle L0 log');
ok(wait_for(q{SELECT count(*) = 1 FROM vecgo_worker_jobs() WHERE indexrelid = 's_idx'::regclass AND sealed_rows = 1500}, 30),
	'the job reports the rows sealed');
my ($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('s_idx')");
is($rc, 0, 'vecgo_verify passes after the seal') or diag($err);

# vecgo_worker_jobs() is for pg_monitor.
$node->safe_psql('postgres', 'CREATE ROLE nobody LOGIN; CREATE ROLE mon LOGIN IN ROLE pg_monitor');
($rc, $out, $err) = $node->psql('postgres', 'SELECT count(*) FROM vecgo_worker_jobs()', extra_params => [ '-U', 'nobody' ]);
isnt($rc, 0, 'vecgo_worker_jobs() is not for everyone');
($rc, $out, $err) = $node->psql('postgres', 'SELECT count(*) > 0 FROM vecgo_worker_jobs()', extra_params => [ '-U', 'mon' ]);
is($out, 't', 'pg_monitor may read vecgo_worker_jobs()');

# ---------------------------------------------------------------- (b) killed mid-job
# A slow job (a cost delay on every page read) that rewrites three segments
# with many deleted rows, one after the other; the worker is killed once the
# first rewrite's pages are written and before the manifest switch: those
# pages are orphans after the restart.
set_conf(['vecgo.worker = off']);
$node->safe_psql('postgres', q{
	CREATE TABLE c (id int PRIMARY KEY, v vector(128));
	CREATE INDEX c_idx ON c USING vecgo (v) WITH (compaction_threshold = 4);
});
flat_segments('c', 128, 3, 1000);
$node->safe_psql('postgres', q{
	DELETE FROM c WHERE id % 10 < 3;
	SET vecgo.vacuum_compaction = off;
	VACUUM c;
});
is($node->safe_psql('postgres', "SELECT string_agg(deleted::text, ',') FROM vecgo_index_info('c_idx') WHERE kind <> 'l0 log'"),
	'300,300,300', 'three segments with deleted rows, not compacted by VACUUM');
my $pages_before = $node->safe_psql('postgres', "SELECT pg_relation_size('c_idx') / 8192");
set_conf(['vecgo.worker = on', 'vecgo.worker_cost_delay = 30', 'vecgo.worker_cost_limit = 1']);
my $job = q{SELECT pid FROM pg_stat_activity
	WHERE backend_type = 'vecgo compaction worker' AND query = 'vecgo: compacting index "public.c_idx"'};
ok(wait_for("SELECT count(*) = 1 FROM ($job) j", 60), 'the job shows in pg_stat_activity');
ok(wait_for("SELECT count(*) = 1 FROM ($job) j WHERE pg_relation_size('c_idx') / 8192 > $pages_before + 20", 120),
	'the job writes its first output');
my $pid = $node->safe_psql('postgres', $job);
ok($pid =~ /^\d+$/, "worker pid $pid");
is(segments('c_idx'), '3', 'killed before its manifest switch');
kill 'KILL', $pid;
$node->poll_query_until('postgres', 'SELECT true') or die 'server did not come back';
set_conf(['vecgo.worker_cost_delay = 0']);
ok(wait_for(q{SELECT count(*) = 1 FROM vecgo_worker_jobs() WHERE indexrelid = 'c_idx'::regclass AND reclaimed_pages > 0}, 120),
	'after the restart the worker reclaims the orphaned pages');
note($node->safe_psql('postgres', "SELECT * FROM vecgo_worker_jobs() WHERE indexrelid = 'c_idx'::regclass"));
ok(wait_for("SELECT sum(deleted) = 0 FROM vecgo_index_info('c_idx') WHERE kind <> 'l0 log'", 60),
	'and rewrites the segments');
check_index('after the crash', 'c', 'c_idx', 128);

# ---------------------------------------------------------------- a failing job
# An index the job cannot read (an unknown format version) is logged and
# recorded; the other indexes are still maintained.
set_format_version($node, 's_idx', 99);
ok(wait_for(q{SELECT count(*) = 1 FROM vecgo_worker_jobs()
	WHERE indexrelid = 's_idx'::regclass AND error LIKE '%on-disk format version 99%'}, 60),
	'the failed job is recorded with its error');
like(slurp_file($node->logfile), qr/ERROR:.*format version 99.*\n.*\n.*CONTEXT:\s+vecgo worker job on index "public\.s_idx"/,
	'and logged with the index named');
flat_segments('a', 16, 4, 500, 5001);
ok(wait_for(q{SELECT count(*) = 1 FROM vecgo_worker_jobs() WHERE indexrelid = 'a_idx'::regclass AND inputs >= 4}, 60),
	'other indexes are still compacted');
$node->safe_psql('postgres', 'REINDEX INDEX s_idx');
($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('s_idx')");
is($rc, 0, 'REINDEX repairs it') or diag($err);

# ---------------------------------------------------------------- (c) VACUUM without the worker
set_conf(['vecgo.worker = off']);
$node->safe_psql('postgres', q{
	CREATE TABLE d (id int PRIMARY KEY, v vector(16));
	CREATE INDEX d_idx ON d USING vecgo (v) WITH (compaction_threshold = 2);
});
sub fill_d {
	my ($n) = @_;
	for my $batch (0 .. 2) {
		my $lo = $n + $batch * 200 + 1;
		my $hi = $lo + 199;
		$node->safe_psql('postgres', qq{
			INSERT INTO d SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE i > 0)::vector
			  FROM generate_series($lo, $hi) i;
			SELECT vecgo_flush('d_idx');
		});
	}
}
fill_d(0);
is(segments('d_idx'), '3', 'three segments');
$node->safe_psql('postgres', 'SET vecgo.vacuum_compaction = off; VACUUM d');
is(segments('d_idx'), '3', 'VACUUM leaves them with vecgo.vacuum_compaction off');
$node->safe_psql('postgres', 'VACUUM d');
cmp_ok(segments('d_idx'), '<', 3, 'with vecgo.worker off, VACUUM compacts');
check_index('after VACUUM compacted', 'd', 'd_idx', 16);

# Not preloaded: no worker, VACUUM compacts.
$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''\nvecgo.worker = on\n");
$node->start;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'vecgo%'"),
	'0', 'no launcher without shared_preload_libraries');
fill_d(1000);
my $before = segments('d_idx');
cmp_ok($before, '>=', 3, "$before segments");
$node->safe_psql('postgres', 'VACUUM d');
cmp_ok(segments('d_idx'), '<', $before, 'not preloaded, VACUUM compacts');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vecgo_worker_jobs()'), '0', 'vecgo_worker_jobs() is empty');
check_index('after VACUUM without preload', 'd', 'd_idx', 16);

$node->stop;
done_testing();
