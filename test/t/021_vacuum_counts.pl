# The manifest's deleted counts match the deletion flags whatever is
# interrupted, and the list of replaced chains waiting to be recycled never
# overflows, even under a snapshot that keeps it from draining.
#
# 1. A VACUUM cancelled in the middle of its index pass (throttled with
#    vacuum_cost_delay so that the cancel lands there), then a VACUUM that
#    completes: vecgo_verify passes and the live rows vecgo_index_info
#    reports equal count(*).
# 2. Under a REPEATABLE READ transaction held open in another session,
#    compactions fill the pending list, one of them over a segment whose
#    manifest count lags its flags (as an index whose counts drifted before
#    they were kept with the flags has it): nothing is written past the list,
#    compaction is deferred while it is full, INSERTs keep working, and once
#    the old snapshot is gone the list drains.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('vacuum_counts');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'vecgo'
vecgo.worker = off
vecgo.vacuum_compaction = off
autovacuum = off
max_parallel_maintenance_workers = 0
});
$node->start;

# Live rows per vecgo_index_info: rows minus deleted over every tier.
sub live_rows {
	my ($idx) = @_;
	return $node->safe_psql('postgres', "SELECT sum(rows - deleted) FROM vecgo_index_info('$idx')");
}

# --- 1. a VACUUM cancelled in its index pass

# Vectors of 2000 dimensions: each index record fills about a page, while
# the heap row is a small TOAST pointer, so VACUUM's heap pass takes a few
# pages and its index pass hundreds, each followed by a cost-based sleep.
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	CREATE TABLE t (id int, v vector(2000));
	ALTER TABLE t SET (autovacuum_enabled = off);
	INSERT INTO t SELECT i, array_fill(i::real, ARRAY[2000])::vector FROM generate_series(1, 200) i;
	CREATE INDEX t_idx ON t USING vecgo (v);
	INSERT INTO t SELECT i, array_fill(i::real, ARRAY[2000])::vector FROM generate_series(201, 400) i;
	DELETE FROM t WHERE id % 2 = 0;
});
is($node->safe_psql('postgres', "SELECT string_agg(kind, ',' ORDER BY kind) FROM vecgo_index_info('t_idx')"),
	'flat,l0 log', 'the index has an L0 log and a Flat segment');

my $bg = $node->background_psql('postgres', on_error_stop => 0);
my $vacpid = $bg->query_safe('SELECT pg_backend_pid()');
$bg->query_safe("SET vacuum_cost_delay = '20ms'; SET vacuum_cost_limit = 1");
$bg->query_until(qr/vacuum-started/, "\\echo vacuum-started\nVACUUM (INDEX_CLEANUP ON) t;\n");
ok($node->poll_query_until('postgres',
		"SELECT phase = 'vacuuming indexes' FROM pg_stat_progress_vacuum WHERE pid = $vacpid"),
	'VACUUM reaches its index pass');
# About a dozen index pages at 20 to 80 ms each: every second one flags a row.
usleep(1_000_000);
is($node->safe_psql('postgres', "SELECT phase FROM pg_stat_progress_vacuum WHERE pid = $vacpid"),
	'vacuuming indexes', 'VACUUM is still in its index pass when cancelled');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($vacpid)");
$bg->query('SELECT 1');
like($bg->{stderr}, qr/canceling statement due to user request/, 'the VACUUM was cancelled');
$bg->quit;

cmp_ok($node->safe_psql('postgres', "SELECT sum(deleted) FROM vecgo_index_info('t_idx')"), '>', 0,
	'the cancelled VACUUM had flagged rows, and they are counted');
my ($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('t_idx')");
is($rc, 0, 'vecgo_verify passes right after the cancelled VACUUM');
note($err) if $rc;

$node->safe_psql('postgres', 'VACUUM t');
($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('t_idx')");
is($rc, 0, 'vecgo_verify passes after a VACUUM that completes');
note($err) if $rc;
is(live_rows('t_idx'), $node->safe_psql('postgres', 'SELECT count(*) FROM t'),
	'the live rows of vecgo_index_info equal count(*)');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> array_fill(0::real, ARRAY[2000])::vector LIMIT 1000) s}),
	'200', 'an index scan returns every live row');
ok(!(slurp_file($node->logfile) =~ /count corrected/), 'no count had to be corrected');

# --- 2. the pending list under an old snapshot

# 64 segments whose rows are all deleted: segment S (first in the manifest)
# with 100 rows, then 63 of 10. None has live rows to merge, so one
# compaction rewrites or drops each on its own: 64 chains, the list's room.
$node->safe_psql('postgres', q{
	CREATE TABLE u (id int, v vector(4));
	CREATE INDEX u_idx ON u USING vecgo (v) WITH (compaction_threshold = 2);
	INSERT INTO u SELECT i, ARRAY[i, 1, 2, 3]::real[]::vector FROM generate_series(1, 100) i;
	SELECT vecgo_flush('u_idx');
});
$node->safe_psql('postgres', join("\n", map {
	my $lo = 100 + 10 * $_;
	"INSERT INTO u SELECT i, ARRAY[i, 1, 2, 3]::real[]::vector FROM generate_series($lo + 1, $lo + 10) i;"
	  . " SELECT vecgo_flush('u_idx');"
} 0 .. 62));
$node->safe_psql('postgres', 'DELETE FROM u; VACUUM u');
is($node->safe_psql('postgres', "SELECT count(*), sum(deleted) FROM vecgo_index_info('u_idx') WHERE kind = 'flat'"),
	'64|730', '64 Flat segments, every row flagged and counted');
my $s_id = $node->safe_psql('postgres',
	"SELECT segment FROM vecgo_index_info('u_idx') WHERE kind = 'flat' LIMIT 1");

# Segment S's count lags its flags: 50 of its 100 rows counted. Compaction
# then expects 50 live rows, finds none, and (as 20% or more is deleted)
# rewrites it into an output of no rows.
# With the server stopped, so that the file is what the server reads.
# Also t_idx's L0 log count: 0, for the repair by VACUUM below.
my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('u_idx')");
my $tfile = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('t_idx')");
$node->stop;
open(my $fh, '+<:raw', $file) or die "open $file: $!";
my $seg0 = 24 + 88;    # page header, then MetaData.segments[0]
seek($fh, $seg0, 0) or die;
read($fh, my $id_bytes, 4) == 4 or die;
is(unpack('V', $id_bytes), $s_id, 'segments[0] of the metapage is segment S');
seek($fh, $seg0 + 32, 0) or die;    # SegmentEntry.deleted
print $fh pack('Q<', 50);
close $fh;
open($fh, '+<:raw', $tfile) or die "open $tfile: $!";
seek($fh, 24 + 80, 0) or die;    # MetaData.l0_deleted
print $fh pack('Q<', 0);
close $fh;
$node->start;
like(($node->psql('postgres', "SELECT vecgo_verify('u_idx')"))[2],
	qr/manifest says 50 deleted rows, chain has 100/, 'vecgo_verify sees the lagging count');

# A VACUUM sees every flag: it sets a count that had drifted right.
like(($node->psql('postgres', "SELECT vecgo_verify('t_idx')"))[2],
	qr/L0 log: \d+ deleted rows, manifest says 0/, 'vecgo_verify sees the L0 log count of t_idx at 0');
$node->safe_psql('postgres', 'DELETE FROM t WHERE id = 1; VACUUM t');
($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('t_idx')");
is($rc, 0, 'the next VACUUM repairs it');
note($err) if $rc;
ok(slurp_file($node->logfile) =~ /vecgo index "t_idx": segment \d+ counted 0 deleted rows, its pages flag \d+; count corrected/,
	'and logs the correction');
is(live_rows('t_idx'), $node->safe_psql('postgres', 'SELECT count(*) FROM t'),
	'the live rows of t_idx equal count(*) again');

my $old = $node->background_psql('postgres');
$old->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM u');

# One compaction replaces all 64 segments: their chains fill the list.
($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_compact('u_idx')");
is($rc, 0, 'the compaction that fills the pending list succeeds');
note($err) if $rc;
is($out, '64', 'it replaced the 64 segments');
($rc, $out, $err) = $node->psql('postgres',
	"INSERT INTO u SELECT i, ARRAY[i, 1, 2, 3]::real[]::vector FROM generate_series(1001, 1010) i");
is($rc, 0, 'INSERT works with the pending list full');
note($err) if $rc;
($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('u_idx')");
is($rc, 0, 'vecgo_verify passes with the pending list full');
note($err) if $rc;

# More work while the old snapshot holds the list full: each round seals a
# segment of the same size tier, which compaction would merge but has no
# room to, so it waits. (The deleted rows stay until the snapshot is gone:
# VACUUM cannot remove them yet.)
for my $round (1 .. 3) {
	my $lo = 2000 + 100 * $round;
	($rc, $out, $err) = $node->psql('postgres', qq{
		INSERT INTO u SELECT i, ARRAY[i, 1, 2, 3]::real[]::vector FROM generate_series($lo, $lo + 49) i;
		SELECT vecgo_flush('u_idx');
		DELETE FROM u WHERE id BETWEEN $lo AND $lo + 24;
		VACUUM u;
		SELECT vecgo_compact('u_idx');});
	is($rc, 0, "round $round: insert, flush, delete, VACUUM and compaction succeed");
	note($err) if $rc;
}
like($err, qr/compaction of index "u_idx" deferred/, 'compaction says it is deferred');
is((split /\n/, $out)[-1], '0', 'and replaces nothing');
($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('u_idx')");
is($rc, 0, 'vecgo_verify passes after the deferred compactions');
note($err) if $rc;

# The old snapshot ends: the list drains and compaction resumes.
$old->query_safe('COMMIT');
$old->quit;
$node->safe_psql('postgres', 'VACUUM u');
cmp_ok($node->safe_psql('postgres', "SELECT vecgo_compact('u_idx')"), '>', 0,
	'compaction resumes once the old snapshot is gone');
($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('u_idx')");
is($rc, 0, 'vecgo_verify passes at the end');
note($err) if $rc;
is(live_rows('u_idx'), $node->safe_psql('postgres', 'SELECT count(*) FROM u'),
	'the live rows of vecgo_index_info equal count(*) at the end');

ok(!(slurp_file($node->logfile) =~ /terminated by signal/), 'no backend crashed');
$node->stop;
done_testing();
