# A DiskANN segment is copied into the backend's segment cache on first use
# (am_segcache.cpp). A cancel or statement_timeout in the middle of that copy
# must not leak it: one session times out again and again while loading a
# 30 MB segment, and its private memory (VmData of /proc/self/status, read by
# the backend itself: it counts what is allocated whether or not the copy got
# to touch it) must grow by less than three segments (one complete copy may
# be cached by the end, and the allocator keeps freed memory for reuse).
# Then the same session loads the segment for good and answers from it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => 'needs /proc/self/status with VmData' unless -r '/proc/self/status'
  && slurp_file('/proc/self/status') =~ /VmData/;

my $node = PostgreSQL::Test::Cluster->new('segcache');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'vecgo'\nvecgo.worker = off\nautovacuum = off\n"
	  . "max_parallel_maintenance_workers = 0\nshared_buffers = '128MB'\nmaintenance_work_mem = '256MB'\n");
$node->start;

# 3,600 rows of 2,000 dimensions: a 30 MB segment. A small graph (R 8, L
# 16) keeps the build short.
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	CREATE TABLE t (id int, v vector(2000));
	SELECT setseed(0.7);
	INSERT INTO t SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 2000) WHERE i > 0)::vector
	  FROM generate_series(1, 3600) i;
	CREATE INDEX t_idx ON t USING vecgo (v) WITH (diskann_threshold = 1000, graph_degree = 8, build_list_size = 16);
});
is($node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('t_idx') WHERE kind = 'diskann'"), '1',
	'one DiskANN segment');
my $bytes = $node->safe_psql('postgres', "SELECT bytes FROM vecgo_index_info('t_idx') WHERE kind = 'diskann'");
cmp_ok($bytes, '>', 16 << 20, "of $bytes bytes");

my $rss = q{SELECT 'rss ' || substring(pg_read_file('/proc/self/status') from 'VmData:\s*(\d+)')};
# A literal query vector: the statement reaches the segment within a fraction
# of a millisecond.
my $q = $node->safe_psql('postgres', 'SELECT v FROM t WHERE id = 1');
my $scan = "SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> '$q' LIMIT 3) s;";
my $loaded = q{SELECT 'cached ' || count(*) FROM pg_backend_memory_contexts WHERE name = 'vecgo segment copy';};

# One session: warm up through shared buffers (no cache), then 40 statements
# whose timeouts (1 to 5 ms) fall before and in the copy (copying 30 MB takes
# a few milliseconds).
my @script = (
	'SET enable_seqscan = off;',
	'SET vecgo.segment_cache_size = 0;', $scan, $scan,
	'SET vecgo.segment_cache_size = 256;', "$rss;");
for my $i (0 .. 39) {
	my $ms = 1 + $i % 5;
	push @script, "SET statement_timeout = '${ms}ms';", $scan, 'RESET statement_timeout;', $loaded;
}
push @script, "$rss;";
my ($stdout, $stderr);
$node->psql('postgres', join("\n", @script), stdout => \$stdout, stderr => \$stderr, on_error_stop => 0);
my @rss = $stdout =~ /^rss (\d+)/mg;
is(scalar(@rss), 2, 'VmData read before and after');
my $timeouts = () = $stderr =~ /canceling statement due to statement timeout/g;
my @cached = $stdout =~ /^cached (\d+)/mg;
my $first_cached = 0;
$first_cached++ while $first_cached < @cached && $cached[$first_cached] == 0;
note("VmData $rss[0] kB -> $rss[1] kB; $timeouts timeouts; the copy was complete after statement "
	  . ($first_cached < @cached ? $first_cached + 1 : 'none'));
cmp_ok($timeouts, '>=', 10, 'statements were cancelled by statement_timeout');
cmp_ok($first_cached, '>=', 5, 'several loads were interrupted before one completed');
# One complete copy may be cached by the end (a timeout that came late),
# and the allocator keeps some freed memory for reuse; but each interrupted
# copy must be gone (leaked, 40 of them took 1.1 GB).
cmp_ok(($rss[1] - $rss[0]) * 1024, '<', 3 * $bytes,
	'private memory grew by less than three segments over 40 interrupted loads');

# The same session still loads the segment for good and answers from it.
is($node->safe_psql('postgres', "SET enable_seqscan = off; $scan $loaded"), "3\ncached 1",
	'a load that is not interrupted keeps its copy');

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');

# One scan opens a cursor per DiskANN segment, each reading its segment's
# copy. With three segments of 4 MB and a 6 MB cache, loading the second
# copy must not evict the first while its cursor still reads it (it did, and
# the scan read freed memory: a crash under sustained load once an index's
# segments outgrew vecgo.segment_cache_size).
$node->safe_psql('postgres', q{
	CREATE TABLE u (id int, v vector(100));
	CREATE INDEX u_idx ON u USING vecgo (v) WITH (diskann_threshold = 1000, compaction_threshold = 64);
	SELECT setseed(0.3);
	INSERT INTO u SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 100) WHERE i > 0)::vector
	  FROM generate_series(1, 6000) i;
	SELECT vecgo_flush('u_idx'); SELECT vecgo_compact('u_idx');
	INSERT INTO u SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 100) WHERE i > 0)::vector
	  FROM generate_series(6001, 12000) i;
	SELECT vecgo_flush('u_idx'); SELECT vecgo_compact('u_idx');
	INSERT INTO u SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 100) WHERE i > 0)::vector
	  FROM generate_series(12001, 18000) i;
	SELECT vecgo_flush('u_idx'); SELECT vecgo_compact('u_idx');
});
is($node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('u_idx') WHERE kind = 'diskann'"), '3',
	'three DiskANN segments');
for my $id (3, 7005, 13007) {
	my $q = "SELECT string_agg(id::text, ',') FROM (SELECT id FROM u ORDER BY v <-> (SELECT v FROM u WHERE id = $id) LIMIT 10) s";
	my $exact = $node->safe_psql('postgres', "SET enable_indexscan = off; $q");
	is($node->safe_psql('postgres', "SET vecgo.segment_cache_size = 6; SET enable_seqscan = off; $q; $q"),
		"$exact\n$exact", "a scan over three copies in a 6 MB cache answers as a sequential scan (row $id)");
}
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up after scans over more segments than the cache holds');
$node->stop;
done_testing();
