# Crash safety of the vecgo index: a client inserts and commits rows one by
# one (the L0 log sealing itself into segments as it fills) while the
# postmaster is killed with SIGKILL; after restart every committed row is
# found by an index scan, vecgo_verify passes and inserting continues. Then a
# backend is killed in the middle of a compaction.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;
use VecgoData;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vecgo'\nvecgo.worker = off\nvecgo.vacuum_compaction = off\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	CREATE TABLE t (id int PRIMARY KEY, v vector(128));
	INSERT INTO t SELECT i, array_fill((i % 97)::real, ARRAY[128])::vector FROM generate_series(1, 1000) i;
	CREATE INDEX t_idx ON t USING vecgo (v) WITH (memtable_size = 1);
});

# Every committed row is returned by an index scan, and nothing else.
sub check_all_found {
	my ($label) = @_;
	my ($heap, $index) = (
		$node->safe_psql('postgres', 'SET enable_indexscan = off; SELECT count(*), coalesce(sum(id), 0) FROM t'),
		$node->safe_psql('postgres', q{
			SET enable_seqscan = off; SET vecgo.max_scan_tuples = 1000000;
			SELECT count(*), coalesce(sum(id), 0) FROM
			  (SELECT id FROM t ORDER BY v <-> array_fill(0::real, ARRAY[128])::vector LIMIT 1000000) s}));
	is($index, $heap, "$label: index scan finds every committed row ($heap)");
	my $plan = $node->safe_psql('postgres', q{
		SET enable_seqscan = off;
		EXPLAIN SELECT id FROM t ORDER BY v <-> array_fill(0::real, ARRAY[128])::vector LIMIT 10});
	like($plan, qr/Index Scan using t_idx/, "$label: that was an index scan");
	my ($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('t_idx')");
	is($rc, 0, "$label: vecgo_verify passes") or diag($err);
}

# A client committing one row per statement (autocommit).
my $script = join('', map { "INSERT INTO t VALUES ($_, array_fill(($_ % 89)::real, ARRAY[128])::vector);\n" } 1001 .. 60000);
my $script_file = $node->basedir . '/inserts.sql';
open(my $sf, '>', $script_file) or die;
print $sf $script;
close $sf;
my ($stdout, $stderr) = ('', '');
my $client = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('postgres'), '-f', $script_file ],
	'>', \$stdout, '2>', \$stderr);

# Let it run until a few seals have happened, then kill the postmaster.
my $deadline = time() + 60;
while (time() < $deadline) {
	usleep(200_000);
	my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
	last if $n > 6000;
}
my $segments_before = $node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('t_idx') WHERE kind = 'flat'");
cmp_ok($segments_before, '>', 1, "L0 log sealed into segments while inserting ($segments_before segments)");
$node->kill9;
$client->finish;
my $acked = () = $stdout =~ /^INSERT 0 1$/mg;
cmp_ok($acked, '>', 1000, "client had $acked rows acknowledged before the crash");
sleep 2;  # let the orphaned backends notice and exit
$node->start;

my $max_acked = 1000 + $acked;
my $present = $node->safe_psql('postgres', "SELECT count(*) FROM t WHERE id <= $max_acked");
is($present, $max_acked, 'every acknowledged row survived the crash');
check_all_found('after postmaster kill -9');

# Inserting continues, through the same L0 log.
$node->safe_psql('postgres', q{
	INSERT INTO t SELECT i, array_fill((i % 89)::real, ARRAY[128])::vector
	  FROM generate_series(100001, 101000) i});
check_all_found('after more inserts');

# A backend killed in the middle of a compaction: the manifest switch is one
# WAL record, so either the old or the new segments are live, never both.
$node->safe_psql('postgres', q{
	DELETE FROM t WHERE id % 3 = 0; VACUUM t;
	ALTER INDEX t_idx SET (compaction_threshold = 2)});
my $bg = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $bg->query_safe('SELECT pg_backend_pid()');
$bg->query_until(qr/compacting/, "\\echo compacting\nSELECT vecgo_compact('t_idx');\n");
usleep(30_000);
kill 'KILL', $pid;
eval { $bg->quit };
$node->poll_query_until('postgres', 'SELECT true') or die 'server did not come back';
check_all_found('after a backend was killed during compaction');
my ($rc) = $node->psql('postgres', "SELECT vecgo_compact('t_idx')");
is($rc, 0, 'compaction runs again after the crash');
check_all_found('after compaction');

# An index whose metapage carries an unknown format version is refused with
# a hint to REINDEX, and REINDEX repairs it.
set_format_version($node, 't_idx', 99);
my ($rc2, $out2, $err2) = $node->psql('postgres', q{
	SET enable_seqscan = off;
	SELECT id FROM t ORDER BY v <-> array_fill(0::real, ARRAY[128])::vector LIMIT 1});
isnt($rc2, 0, 'a scan of an unknown format version fails');
like($err2, qr/on-disk format version 99/, 'the error names the version');
like($err2, qr/HINT:\s+REINDEX INDEX t_idx/, 'the hint says REINDEX');
$node->safe_psql('postgres', 'REINDEX INDEX t_idx');
check_all_found('after REINDEX');

$node->stop;
done_testing();
