# Recovery conflicts for recycled pages. A hot standby query whose scan still
# reads the manifest from before a compaction is cancelled by the replay of
# the REUSE_PAGE record the primary logs (nbtree's, naming the vecgo index)
# before replay recycles the replaced segment's pages, the way nbtree's own
# page reuse cancels queries: the session ends with PostgreSQL's snapshot
# conflict (counted in pg_stat_database_conflicts), not with vecgo's chain
# check (SQLSTATE 40001, "was recycled"). Afterwards the standby answers
# exactly as the primary and vecgo_verify passes there. The standby does not
# preload vecgo: every record vecgo writes replays on any server, and crash
# recovery of the primary without vecgo preloaded replays them too.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
# No autovacuum: a VACUUM of the table logs visibility-map records that raise
# snapshot conflicts of their own.
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'vecgo'\nvecgo.worker = off\nvecgo.vacuum_compaction = off\nautovacuum = off\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION vecgo');
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->append_conf('postgresql.conf', q{
shared_preload_libraries = ''
hot_standby_feedback = off
max_standby_streaming_delay = 100ms
});
$standby->start;

# Two Flat segments of the same size tier: compaction merges them.
$primary->safe_psql('postgres', q{
	CREATE TABLE t (id int, v vector(16));
	INSERT INTO t SELECT i, (SELECT array_agg(((i * 7 + j * 13) % 101)::real) FROM generate_series(1, 16) j)::vector
	  FROM generate_series(1, 3000) i;
	CREATE INDEX t_idx ON t USING vecgo (v) WITH (compaction_threshold = 2);
	INSERT INTO t SELECT i, (SELECT array_agg(((i * 3 + j * 17) % 89)::real) FROM generate_series(1, 16) j)::vector
	  FROM generate_series(3001, 6000) i;
	SELECT vecgo_flush('t_idx');
});
is($primary->safe_psql('postgres', "SELECT string_agg(format('%s:%s', kind, rows), ' ' ORDER BY segment) FROM vecgo_index_info('t_idx')"),
	'flat:3000 flat:3000 l0 log:0', 'two Flat segments to compact');
$primary->wait_for_catchup($standby);

my $q = '[' . join(',', map { ($_ * 5) % 23 } 1 .. 16) . ']';
my $plan = $standby->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN SELECT id FROM t ORDER BY v <-> '$q'");
like($plan, qr/Index Scan using t_idx/, 'the standby query is an index scan');

# On the standby: a repeatable-read transaction with an index scan in a
# cursor. Its first batch (ef_search rows) has read the current manifest; the
# next FETCH goes back to the same segments' pages for the second batch.
my ($in, $out, $err) = ('', '', '');
my $timer = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
my $session = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $standby->connstr('postgres') ],
	'<', \$in, '>', \$out, '2>', \$err, $timer);
$in .= q{
SET enable_seqscan = off;
SET vecgo.ef_search = 10;
BEGIN ISOLATION LEVEL REPEATABLE READ;
} . "DECLARE c CURSOR FOR SELECT id FROM t ORDER BY v <-> '$q';\n" . q{
FETCH 5 FROM c;
\echo first-fetch-done
};
pump_until($session, $timer, \$out, qr/first-fetch-done/);
my @first = grep { /^\d+$/ } split /\n/, $out;
is(scalar(@first), 5, 'the standby cursor returned its first rows') or diag($err);

# On the primary: compaction replaces both segments (their chains wait on the
# pending list), a transaction moves the horizon past their safexid, and the
# next compaction recycles their pages; new rows reuse them.
my $lsn_before = $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
is($primary->safe_psql('postgres', "SELECT vecgo_compact('t_idx')"), '2', 'compaction replaced both segments');
$primary->safe_psql('postgres', 'SELECT txid_current()');
$primary->safe_psql('postgres', "SELECT vecgo_compact('t_idx')");
my $size_before = $primary->safe_psql('postgres', "SELECT pg_relation_size('t_idx')");
$primary->safe_psql('postgres', q{
	INSERT INTO t SELECT i, (SELECT array_agg(((i * 5 + j) % 83)::real) FROM generate_series(1, 16) j)::vector
	  FROM generate_series(6001, 7000) i;
	SELECT vecgo_flush('t_idx');
});
is($primary->safe_psql('postgres', "SELECT pg_relation_size('t_idx')"), $size_before,
	'the replaced pages were recycled and reused on the primary (the index did not grow)');
my $lsn_after = $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
$primary->wait_for_catchup($standby);

# The primary logged one page-reuse record, naming the vecgo index's
# relation file (there is no B-tree in this database but the catalogs').
my $relfile = $primary->safe_psql('postgres', "SELECT pg_relation_filenode('t_idx')");
my ($dump, $dump_err) = ('', '');
IPC::Run::run(
	[ 'pg_waldump', '-p', $primary->data_dir . '/pg_wal', '-s', $lsn_before, '-e', $lsn_after, '-r', 'Btree' ],
	'>', \$dump, '2>', \$dump_err);
my $nrecords = () = $dump =~ m{REUSE_PAGE.*/$relfile\b}mg;
is($nrecords, 1, 'the primary logged one REUSE_PAGE record for the recycled batch') or diag($dump . $dump_err);

# The standby session was ended by replay, while idle in its transaction,
# with PostgreSQL's snapshot conflict; it never met a recycled page.
$in .= "FETCH 100 FROM c;\n\\echo second-fetch-done\n";
eval { $session->finish; };
like($err, qr/terminating connection due to conflict with recovery/,
	'the standby session was terminated by a recovery conflict');
like($err, qr/User query might have needed to see row versions that must be removed/,
	'the conflict is a snapshot conflict raised by replay');
unlike($err, qr/was recycled/, 'the scan never met a recycled page');
unlike($out, qr/second-fetch-done/, 'the cursor was not fetched from again');
is($standby->safe_psql('postgres', "SELECT confl_snapshot FROM pg_stat_database_conflicts WHERE datname = 'postgres'"),
	'1', 'the standby counted one snapshot conflict');
like(slurp_file($standby->logfile), qr/FATAL:  terminating connection due to conflict with recovery/,
	'the standby log records the conflict');

# A fresh standby query returns the primary's rows, through every batch.
my @queries = map {
	my $i = $_;
	'[' . join(',', map { ($i * 11 + $_ * 5) % 97 } 1 .. 16) . ']'
} 1 .. 4;
sub results {
	my ($node) = @_;
	my $sql = "SET enable_seqscan = off; SET vecgo.ef_search = 10;\n";
	for my $v (@queries) {
		$sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <-> '$v' LIMIT 50) s;\n";
	}
	$sql .= "SELECT count(*), sum(id) FROM (SELECT id FROM t ORDER BY v <-> '$q' LIMIT 100000) s;\n";
	$sql .= "SELECT string_agg(format('%s:%s:%s', kind, rows, deleted), ' ' ORDER BY segment) FROM vecgo_index_info('t_idx');\n";
	return $node->safe_psql('postgres', $sql);
}
my $p = results($primary);
like($p, qr/^7000\|24503500$/m, 'the primary returns every row through the index');
is(results($standby), $p, 'a fresh standby query returns exactly the primary\'s rows');
for my $node ($primary, $standby) {
	my ($rc, $o, $e) = $node->psql('postgres', "SELECT vecgo_verify('t_idx')");
	is($rc, 0, 'vecgo_verify passes on the ' . $node->name) or diag($e);
}

# Crash recovery without vecgo preloaded replays the same WAL.
$primary->stop('immediate');
$primary->append_conf('postgresql.conf', "shared_preload_libraries = ''\n");
$primary->start;
is(results($primary), $p, 'after crash recovery without preload the primary returns the same rows');
my ($rc, $o, $e) = $primary->psql('postgres', "SELECT vecgo_verify('t_idx')");
is($rc, 0, 'vecgo_verify passes after that recovery') or diag($e);

$standby->stop;
$primary->stop;
done_testing();
