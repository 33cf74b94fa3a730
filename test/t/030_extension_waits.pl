# No wait that no one can cancel while a segment is written. A DiskANN
# segment is one contiguous run of blocks: the writer reserves the run at the
# end of the relation under the extension lock, holding it only while the
# relation grows, and writes the pages afterwards (here slowed down by the
# worker's cost-based delay, so that the write lasts seconds). Inserts that
# need a new page meanwhile, planning and scans all go on: with
# statement_timeout = 1s, pgbench's inserts and searches during the write
# neither fail nor time out. Before, the writer held the extension lock for
# the whole write, and an insert waited for it holding the metapage and L0
# buffer locks: scans queued behind those, and no one could be cancelled.
# Last, an index scan that goes on long enough returns every row: a graph
# (DiskANN or HNSW) does not promise every node an incoming edge, and once
# the walk is exhausted the search starts again from a node it never reached
# (before, about one row in seven of these uniform random vectors was never
# returned).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecgoData;
use Time::HiRes qw(usleep time);

my $node = manual_compaction_node('extwait');

# Four Flat segments of 6,000 rows x 64 dimensions; one compaction merges
# them into a DiskANN segment of about 24,000 rows (about 1,400 pages).
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	CREATE TABLE t (id bigserial, v vector(64));
	CREATE INDEX t_idx ON t USING vecgo (v) WITH (compaction_threshold = 4, diskann_threshold = 1000);
});
for my $i (1 .. 4) {
	$node->safe_psql('postgres', qq{
		INSERT INTO t (v) SELECT ARRAY(SELECT random() + (g % 17) * 0 + $i * 0 FROM generate_series(1, 64))::vector
		  FROM generate_series(1, 6000) g;
		SELECT vecgo_flush('t_idx');
	});
}
is($node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('t_idx') WHERE kind = 'flat'"), '4',
	'four Flat segments to compact');
my $size_before = $node->safe_psql('postgres', "SELECT pg_relation_size('t_idx')");

# The worker compacts them, throttled: about 20 ms of sleep per 50 dirtied
# pages, so the page writes take seconds.
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET vecgo.worker = on;
	ALTER SYSTEM SET vecgo.worker_cost_delay = 20;
	ALTER SYSTEM SET vecgo.worker_cost_limit = 1000;
	SELECT pg_reload_conf();
});

# Meanwhile four clients insert (each row needs a new page now and then)
# and search, every statement under a 1 s timeout.
my $t0 = time();
$node->pgbench(
	'--no-vacuum --client=4 --jobs=2 --time=20',
	0,
	[qr{processed: [1-9]}, qr{number of failed transactions: 0|^(?!.*failed)}s],
	[qr{^$}],
	'inserts and searches during the compaction: none fails or times out',
	{
		'030_mixed' => q{
SET statement_timeout = '1s';
INSERT INTO t (v) SELECT ARRAY(SELECT random() FROM generate_series(1, 64))::vector FROM generate_series(1, 20);
SET enable_seqscan = off;
SELECT id FROM t ORDER BY v <-> (SELECT ARRAY(SELECT random() FROM generate_series(1, 64))::vector) LIMIT 10;
}
	});
my $t1 = time();

# The compaction ran inside the pgbench window and its writes took seconds.
ok($node->poll_query_until('postgres', "SELECT count(*) > 0 FROM vecgo_worker_jobs() WHERE graph_outputs > 0"),
	'the worker compacted the segments into a graph');
my ($finished, $secs) = split /\|/, $node->safe_psql('postgres',
	"SELECT extract(epoch FROM finished), seconds FROM vecgo_worker_jobs() WHERE graph_outputs > 0 ORDER BY finished LIMIT 1");
# It overlapped the pgbench window: it started before pgbench ended (on a
# loaded machine it may finish a moment after).
cmp_ok($finished - $secs, '<=', $t1, 'the compaction ran while pgbench ran');
cmp_ok($secs, '>=', 2, "the throttled compaction lasted seconds ($secs s)");
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('t_idx') WHERE kind = 'diskann'"), '>=', 1,
	'DiskANN segments');

$node->safe_psql('postgres', 'ALTER SYSTEM SET vecgo.worker = off; SELECT pg_reload_conf()');
my ($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('t_idx')");
is($rc, 0, 'vecgo_verify passes') or diag($err);
my $heap = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET vecgo.max_scan_tuples = 1000000;
	SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> (SELECT v FROM t LIMIT 1) LIMIT 1000000) s}),
	$heap, "an index scan returns every row ($heap), those no graph walk reaches included");
$node->stop;
done_testing();
