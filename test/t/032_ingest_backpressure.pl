# Back-pressure: when MemTable memory runs short while the compaction worker
# runs, inserts are slowed down (vecgo.ingest_max_delay) rather than leaving
# new rows without a graph; they still succeed, every row is found; with the
# worker off, or the delay set to 0, nothing waits.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('backpressure');
$node->init;
# Little MemTable memory, and a compaction worker slowed down so that the
# sealed logs keep theirs for a while.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'vecgo'
autovacuum = off
vecgo.memtable_memory = '32MB'
vecgo.worker_naptime = 1
vecgo.worker_cost_delay = 10
vecgo.worker_cost_limit = 50
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	SELECT setseed(0.32);
	CREATE TABLE b (id int PRIMARY KEY, v vector(128));
	-- L0 logs of 4 MB: graphs of about 8 MB, a quarter of the memory.
	CREATE INDEX b_idx ON b USING vecgo (v) WITH (diskann_threshold = 1000, memtable_size = 4);
});
my $rand = "(SELECT array_agg(random()::real) FROM generate_series(1, 128) WHERE i > 0)::vector";
sub usage {
	return $node->safe_psql('postgres', 'SELECT rows_delayed, delayed_ms FROM vecgo_memtable_usage()');
}
sub insert_batches {
	my ($first, $n, $settings) = @_;
	for my $b (0 .. $n - 1) {
		my $lo = $first + $b * 2000;
		my $hi = $lo + 1999;
		$node->safe_psql('postgres', "$settings INSERT INTO b SELECT i, $rand FROM generate_series($lo, $hi) i");
	}
	return $first + $n * 2000;
}

is(usage(), '0|0', 'no insert has waited yet');
# Far more rows than the MemTables can hold at once.
my $next = insert_batches(1, 20, 'SET vecgo.ingest_max_delay = 1;');
my ($delayed, $ms) = split /\|/, usage();
cmp_ok($delayed, '>', 0, "inserts were slowed down when memory ran short ($delayed rows, $ms ms)");
cmp_ok($ms, '>', 0, 'and waited');
note($node->safe_psql('postgres', 'SELECT * FROM vecgo_memtable_usage()'));

# Memory running short seals large logs only, never one just begun: no
# compaction had small segments to merge.
my @small;
for my $line (split /\n/, slurp_file($node->logfile)) {
	push @small, $line if $line =~ /compacted (\d+) segments into \d+ \(\d+ graphs\), (\d+) rows in/ && $2 < 1000 * $1;
}
is(scalar(@small), 0, 'no small L0 log was sealed for memory') or diag(join("\n", @small));

# Every row is found through the index.
my $q = 'array_fill(0.5::real, ARRAY[128])::vector';
is($node->safe_psql('postgres', qq{SET enable_seqscan = off; SET vecgo.max_scan_tuples = 1000000;
	SELECT count(*) FROM (SELECT id FROM b ORDER BY v <-> $q LIMIT 1000000) s}),
	$next - 1, 'an index scan returns every row');
my ($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('b_idx')");
is($rc, 0, 'vecgo_verify passes') or diag($err);

# A delay of 0 never waits, whatever the memory.
my $before = usage();
$next = insert_batches($next, 3, 'SET vecgo.ingest_max_delay = 0;');
is(usage(), $before, 'vecgo.ingest_max_delay = 0: no insert waits');

# Without the compaction worker nothing would free memory: no insert waits.
$node->safe_psql('postgres', "ALTER SYSTEM SET vecgo.worker = off; SELECT pg_reload_conf()");
sleep(1);
$before = usage();
$next = insert_batches($next, 3, 'SET vecgo.ingest_max_delay = 1;');
is(usage(), $before, 'without the compaction worker no insert waits');

# Sealed logs waiting for their graph slow inserts down too (every query
# searches each of them), memory or not: a worker that does not come round
# (a long naptime) leaves them waiting.
$node->safe_psql('postgres', q{
	DROP TABLE b;
	ALTER SYSTEM SET vecgo.worker = on;
	ALTER SYSTEM SET vecgo.memtable_memory = '1GB';
	ALTER SYSTEM SET vecgo.worker_naptime = 3600;
	SELECT pg_reload_conf();
	CREATE TABLE w (id int PRIMARY KEY, v vector(128));
	-- L0 logs of 1 MB (about 2,000 rows), sealed full, each worth a graph.
	CREATE INDEX w_idx ON w USING vecgo (v) WITH (diskann_threshold = 1000, memtable_size = 1);
});
sleep(1);
$before = usage();
for my $b (0 .. 3) {
	my ($lo, $hi) = ($b * 2000 + 1, $b * 2000 + 2000);
	$node->safe_psql('postgres', "SET vecgo.ingest_max_delay = 1; INSERT INTO w SELECT i, $rand FROM generate_series($lo, $hi) i");
}
my $waiting = $node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('w_idx') WHERE kind = 'flat' AND rows >= 1000");
cmp_ok($waiting, '>=', 3, "sealed logs wait for their graphs ($waiting)");
cmp_ok((split /\|/, usage())[0], '>', (split /\|/, $before)[0], 'inserts were slowed down while they waited');
cmp_ok($node->safe_psql('postgres', 'SELECT bytes FROM vecgo_memtable_usage()'), '<', 256 * 1024 * 1024,
	'with memory far from its limit');
is($node->safe_psql('postgres', qq{SET enable_seqscan = off; SET vecgo.max_scan_tuples = 1000000;
	SELECT count(*) FROM (SELECT id FROM w ORDER BY v <-> $q LIMIT 1000000) s}), '8000', 'every row is found');

# Only superusers may change the delay.
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
($rc, $out, $err) = $node->psql('postgres', 'SET vecgo.ingest_max_delay = 0', extra_params => [ '-U', 'plain' ]);
like($err, qr/permission denied to set parameter "vecgo.ingest_max_delay"/, 'a plain role cannot turn the delay off');

$node->stop;
done_testing();
