# A DiskANN segment write that stalls must not stall anyone else. The
# compaction worker is stopped (SIGSTOP) in the middle of writing the pages
# of a DiskANN segment, as a slow disk or a descheduled process would hold
# it there. Meanwhile four sessions insert (each needs a new page of the L0
# log now and then) and search, every statement under statement_timeout =
# 1s: each statement must finish or be cancelled within 2 s. Then the writer
# goes on and the index is whole.
#
# Before, the writer held the relation extension lock for the whole write,
# and an insert that needed a new page waited for it holding the metapage
# and the L0 log's buffer locks: searches queued behind those buffer locks,
# and neither statement_timeout nor pg_cancel_backend could end any of them
# until the writer let go.
use strict;
use warnings;
use POSIX ();
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecgoData;
use Time::HiRes qw(time sleep);

my $node = manual_compaction_node('stall');

# Four Flat segments of 6,000 rows x 64 dimensions; one compaction merges
# them into a DiskANN segment of about 1,400 pages.
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	CREATE EXTENSION pageinspect;
	CREATE TABLE t (id bigserial, v vector(64));
	CREATE INDEX t_idx ON t USING vecgo (v) WITH (compaction_threshold = 4, diskann_threshold = 1000);
});
for my $i (1 .. 4) {
	$node->safe_psql('postgres', q{
		INSERT INTO t (v) SELECT ARRAY(SELECT random() + g * 0 FROM generate_series(1, 64))::vector
		  FROM generate_series(1, 6000) g;
		SELECT vecgo_flush('t_idx');
	});
}
is($node->safe_psql('postgres', "SELECT count(*) FROM vecgo_index_info('t_idx') WHERE kind = 'flat'"), '4',
	'four Flat segments to compact');

# The segment's pages go at the end of the relation, from block $first on
# (nothing has been freed that they could reuse). Once block $first + 100
# holds a written page, the writer is 100 pages into its segment: it is
# stopped there. The watch runs in the server, so that it sees the write
# within a millisecond or two.
my $first = $node->safe_psql('postgres', "SELECT pg_relation_size('t_idx') / current_setting('block_size')::int");
my $mark = $first + 100;
$node->safe_psql('postgres', q{
CREATE FUNCTION stop_writer_at(blk bigint) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	writer int;
	deadline timestamptz := clock_timestamp() + interval '120 s';
BEGIN
	LOOP
		IF pg_relation_size('t_idx') > blk * current_setting('block_size')::int
		   AND (page_header(get_raw_page('t_idx', blk::int))).upper <> 0 THEN
			SELECT pid INTO writer FROM pg_stat_activity WHERE backend_type = 'vecgo compaction worker';
			EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'kill -STOP ' || writer);
			RETURN writer;
		END IF;
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'no segment write reached block %', blk;
		END IF;
		PERFORM pg_sleep(0.001);
	END LOOP;
END $$;
});

# The worker compacts, throttled as in production (its cost-based delay).
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET vecgo.worker = on;
	ALTER SYSTEM SET vecgo.worker_cost_delay = 20;
	ALTER SYSTEM SET vecgo.worker_cost_limit = 1000;
	SELECT pg_reload_conf();
});
my $writer = $node->safe_psql('postgres', "SELECT stop_writer_at($mark)");
like($writer, qr/^\d+$/, "the compaction worker (pid $writer) stopped 100 pages into its segment");
# Whatever happens next, the writer is let go before the node stops.
our $stopped_writer = $writer;
END { kill 'CONT', $stopped_writer if $stopped_writer; }
my $cont = sub { kill 'CONT', $stopped_writer if $stopped_writer; $stopped_writer = undef; };
diag('extension lock held by the stopped writer: '
	  . $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_locks WHERE locktype = 'extend' AND granted AND pid = $writer"));

# Four sessions, each a loop of its own: an INSERT of 20 rows, then a search
# through the index, for 5 seconds. Each statement is timed by its client.
my $window = 5;
my $connstr = $node->connstr('postgres');
my $insert = q{INSERT INTO t (v) SELECT ARRAY(SELECT random() + g * 0 FROM generate_series(1, 64))::vector
  FROM generate_series(1, 20) g};
my $search = q{SELECT id FROM t ORDER BY v <-> (SELECT ARRAY(SELECT random() FROM generate_series(1, 64))::vector)
  LIMIT 10};
my $dir = PostgreSQL::Test::Utils::tempdir;
my ($deadline, @kids) = (time() + $window);
eval {
	for my $c (1 .. 4) {
		my $pid = fork();
		die "fork: $!" unless defined $pid;
		if ($pid == 0) {
			# The client: no output on the TAP stream, no END blocks.
			local $ENV{PGOPTIONS} = '-c statement_timeout=1s -c enable_seqscan=off';
			my %n = (ok => 0, timeout => 0, error => 0);
			my ($longest, $what, $err) = (0, '', '');
			my $i = 0;
			while (time() < $deadline) {
				my $sql = $i++ % 2 ? $search : $insert;
				my ($out, $stderr) = ('', '');
				my $t0 = time();
				IPC::Run::run([ 'psql', '-X', '-q', '-A', '-t', '-d', $connstr, '-c', $sql ],
					'<', \undef, '>', \$out, '2>', \$stderr);
				my $secs = time() - $t0;
				my $kind = $? == 0 ? 'ok' : $stderr =~ /statement timeout/ ? 'timeout' : 'error';
				$n{$kind}++;
				$err = $stderr if $kind eq 'error' && $err eq '';
				($longest, $what) = ($secs, ($i % 2 ? 'INSERT' : 'search') . " ($kind)") if $secs > $longest;
			}
			$err =~ s/\s+/ /g;
			open my $fh, '>', "$dir/client$c" or POSIX::_exit(1);
			print $fh join("\t", $n{ok}, $n{timeout}, $n{error}, $longest, $what, $err), "\n";
			close $fh;
			POSIX::_exit(0);
		}
		push @kids, $pid;
	}
	sleep($deadline + 0.5 - time());
};
my $failed = $@;
# The writer goes on (before, the blocked statements return only now).
$cont->();
waitpid($_, 0) for @kids;
die $failed if $failed;

my ($ok, $timeouts, $errors, $longest, $what, @errs) = (0, 0, 0, 0, '');
for my $c (1 .. 4) {
	my ($o, $t, $e, $l, $w, $msg) = split /\t/, slurp_file("$dir/client$c"), -1;
	chomp $msg;
	$ok += $o;
	$timeouts += $t;
	$errors += $e;
	push @errs, $msg if $msg ne '';
	($longest, $what) = ($l, $w) if $l > $longest;
}
diag(sprintf('%d statements done, %d cancelled by statement_timeout; longest %.2f s (%s)',
	$ok, $timeouts, $longest, $what));
cmp_ok($ok, '>=', 8, 'inserts and searches went on while the segment write was stalled');
is($errors, 0, 'no statement failed other than by statement_timeout') or diag(join("\n", @errs));
cmp_ok($longest, '<=', 2, 'every statement finished or was cancelled within 2 s');

# The write goes on: the DiskANN segment is complete and the index sound.
ok($node->poll_query_until('postgres', "SELECT count(*) > 0 FROM vecgo_index_info('t_idx') WHERE kind = 'diskann'"),
	'the compaction finished after the stall');
my $pages = $node->safe_psql('postgres', "SELECT max(pages) FROM vecgo_index_info('t_idx') WHERE kind = 'diskann'");
cmp_ok($pages, '>', 400, "the writer was stopped early in the segment (100 of $pages pages)");
$node->safe_psql('postgres', 'ALTER SYSTEM SET vecgo.worker = off; SELECT pg_reload_conf()');
my ($rc, $out, $err) = $node->psql('postgres', "SELECT vecgo_verify('t_idx')");
is($rc, 0, 'vecgo_verify passes') or diag($err);
is($node->safe_psql('postgres', q{SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> (SELECT v FROM t ORDER BY id DESC LIMIT 1) LIMIT 1) s
	  WHERE id = (SELECT max(id) FROM t)}), '1', 'the last row inserted is found through the index');
$node->stop;
done_testing();
