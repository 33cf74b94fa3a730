# Corrupt index pages give a clear ERROR naming the index and the segment,
# with SQLSTATE XX002 (index corrupted), never a crash or a silent answer;
# REINDEX repairs the index.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('corrupt');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vecgo'\nvecgo.worker = off\nvecgo.vacuum_compaction = off\nmax_parallel_maintenance_workers = 0\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	CREATE TABLE t (id int, v vector(16));
	SELECT setseed(0.5);
	INSERT INTO t SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE i > 0)::vector
	  FROM generate_series(1, 3000) i;
	CREATE INDEX t_idx ON t USING vecgo (v) WITH (diskann_threshold = 1000);
});
is($node->safe_psql('postgres', "SELECT kind FROM vecgo_index_info('t_idx') WHERE kind <> 'l0 log'"),
	'diskann', 'the build wrote one DiskANN segment');
my $query = q{SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> (SELECT v FROM t WHERE id = 7) LIMIT 10) s};
is($node->safe_psql('postgres', $query), '10', 'the index answers before the damage');

# The DiskANN run starts at block 1 (block 0 is the metapage); its first page
# holds the graph's header. Overwrite bytes in the middle of it and of the
# next page, with the server stopped.
my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('t_idx')");
my $pid_before = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
$node->stop;
open(my $fh, '+<:raw', $file) or die "open $file: $!";
for my $blk (1, 2) {
	seek($fh, $blk * 8192 + 1000, 0) or die;
	print $fh ("\xAB" x 64);
}
close $fh;
$node->start;

my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n" . $query);
isnt($rc, 0, 'a scan over the damaged segment fails');
note($err);
like($err, qr/ERROR:\s+XX002: vecgo index "t_idx" is corrupted: segment \d+:/,
	'with SQLSTATE XX002, naming the index and the segment');

($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT vecgo_verify('t_idx')");
like($err, qr/ERROR:\s+XX002: vecgo index "t_idx" is corrupted/, 'vecgo_verify reports the damage');

($rc, $out, $err) = $node->psql('postgres', "DELETE FROM t WHERE id % 10 = 0; VACUUM t");
like($err, qr/vecgo index "t_idx" is corrupted/, 'VACUUM stops with the same error');

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');
ok(!(slurp_file($node->logfile) =~ /terminated by signal|server process .* was terminated/), 'no backend crashed');

$node->safe_psql('postgres', 'REINDEX INDEX t_idx');
is($node->safe_psql('postgres', $query), '10', 'REINDEX repairs the index');
is($node->safe_psql('postgres', "SELECT vecgo_verify('t_idx')"), '', 'and vecgo_verify passes');

$node->stop;
done_testing();
