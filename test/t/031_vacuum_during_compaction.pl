# VACUUM runs while the compaction worker merges segments: it is neither
# blocked nor skipped, and the rows it removes from the inputs after they
# were copied do not come back through the output, even once their heap
# slots hold new rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('vacuum_during_compaction');
$node->init;
# A slow job: a cost delay on every page the worker reads and writes.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'vecgo'
autovacuum = off
vecgo.worker = off
vecgo.worker_naptime = 1
vecgo.worker_cost_delay = 5
vecgo.worker_cost_limit = 20
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecgo');

sub wait_for {
	my ($sql, $secs) = @_;
	my $deadline = time() + $secs;
	while (time() < $deadline) {
		my ($rc, $out) = $node->psql('postgres', $sql);
		return 1 if $rc == 0 && $out eq 't';
		usleep(100_000);
	}
	return 0;
}

my $dims = 32;
my $rand = "(SELECT array_agg(random()::real) FROM generate_series(1, $dims) WHERE i > 0)::vector";
# Four segments of one size tier, sealed by hand; the output is a graph.
$node->safe_psql('postgres', q{
	SELECT setseed(0.31);
	CREATE TABLE c (id int PRIMARY KEY, v vector(32));
	CREATE INDEX c_idx ON c USING vecgo (v) WITH (compaction_threshold = 4, diskann_threshold = 1000);
});
for my $b (0 .. 3) {
	my ($lo, $hi) = ($b * 6000 + 1, $b * 6000 + 6000);
	$node->safe_psql('postgres', "INSERT INTO c SELECT i, $rand FROM generate_series($lo, $hi) i; SELECT vecgo_flush('c_idx')");
}
is($node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('c_idx') WHERE kind <> 'l0 log'"),
	'4', 'four segments before the worker runs');

$node->safe_psql('postgres', 'ALTER SYSTEM SET vecgo.worker = on; SELECT pg_reload_conf()');
my $busy = q{SELECT count(*) = 1 FROM pg_stat_activity WHERE query = 'vecgo: compacting index "public.c_idx"'};
ok(wait_for($busy, 60), 'the worker is compacting the index');
# Past the copy of the inputs, into the graph build and its page writes.
usleep(2_000_000);

# A tenth of the rows, from every input, deleted and vacuumed meanwhile.
my ($rc, $out, $err) = $node->psql('postgres', q{
	SET lock_timeout = '5s';
	DELETE FROM c WHERE id % 10 = 0;
	VACUUM c;
});
is($rc, 0, 'VACUUM is not blocked by the compaction') or diag($err);
is($node->safe_psql('postgres', $busy), 't', 'the compaction was still running when VACUUM ended');
# Their heap slots take new rows.
$node->safe_psql('postgres', "INSERT INTO c SELECT i, $rand FROM generate_series(24001, 26400) i");

ok(wait_for(q{SELECT count(*) = 1 FROM vecgo_index_info('c_idx') WHERE kind = 'diskann'}, 120),
	'the worker switched in its output');
my $log = slurp_file($node->logfile);
my ($replayed) = $log =~ /index "public\.c_idx": sealed \d+ rows; compacted 4 segments into 1 \(1 graphs\), \d+ rows in, \d+ rows out \((\d+) deleted meanwhile\)/;
ok(defined $replayed && $replayed > 0, 'the output took the deletions VACUUM made while it was written')
	or diag("replayed: " . ($replayed // 'no job line'));

# The index returns every row once, none of the deleted ones.
my $q = "array_fill(0.5::real, ARRAY[$dims])::vector";
my $heap = $node->safe_psql('postgres', 'SELECT count(*) FROM c');
is($heap, '24000', 'the table holds 24000 rows');
my $scan = qq{SET enable_seqscan = off; SET vecgo.max_scan_tuples = 1000000;
	SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE id <= 24000 AND id % 10 = 0)
	FROM (SELECT id FROM c ORDER BY v <-> $q LIMIT 1000000) s};
is($node->safe_psql('postgres', $scan), '24000|24000|0',
	'an index scan returns every row once and no deleted row');
my $exact = $node->safe_psql('postgres', "SET enable_indexscan = off; SELECT string_agg(id::text, ',') FROM (SELECT id FROM c ORDER BY v <-> $q, id LIMIT 20) s");
my $viaidx = $node->safe_psql('postgres', "SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM (SELECT id FROM c ORDER BY v <-> $q LIMIT 20) s");
is($viaidx, $exact, "the index's top 20 equal a seqscan's");
($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('c_idx')");
is($rc, 0, 'vecgo_verify passes') or diag($err);

# The next VACUUM finds the counts right (no correction logged).
$node->safe_psql('postgres', 'VACUUM c');
unlike(slurp_file($node->logfile), qr/c_idx.*count corrected/, 'no deleted count needed correcting');

$node->stop;
done_testing();
