# Damaged links, hints and counts in an index's pages give a prompt ERROR
# (SQLSTATE XX002, naming the index), never a hang, a crash or a relation
# that grows: every block number read from disk is checked against the
# relation's size before it is read (InvalidBlockNumber is P_NEW to the
# buffer manager, which would extend the relation), every walk along a
# chain is bounded, arithmetic on on-disk numbers does not wrap.
#
# One table per kind of damage, damaged with the server stopped (offsets
# from include/vecgo/pages.h and src/pg/am.h), then a scan, an INSERT, a
# VACUUM, vecgo_index_info and vecgo_verify on each, under a
# statement_timeout so that a hang fails the test instead of hanging it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('corrupt_chains');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'vecgo'
vecgo.worker = off
autovacuum = off
max_parallel_maintenance_workers = 0
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecgo; SELECT setseed(0.25)');

# Each case: what to damage, and which operations must fail (the others,
# which do not read the damaged part, must succeed). The index has a Flat
# segment of 300 rows (a DiskANN segment of 1200 for `diskann`) from
# CREATE INDEX, then an L0 log of 300 rows: three pages each.
my @cases = (
	# The last page of the Flat segment links back to its first.
	[ 'flat_cycle',   'flat',    [qw(scan vacuum verify)] ],
	# The last page of the L0 log links back to its first.
	[ 'l0_cycle',     'flat',    [qw(scan insert vacuum verify)] ],
	# The L0 log's head page names block 0xFFFFFFFF its tail.
	[ 'tail_hint',    'flat',    [qw(insert vacuum info verify)] ],
	# The manifest's L0 log starts at block 0xFFFFFFFF.
	[ 'l0_head',      'flat',    [qw(scan insert vacuum info verify)] ],
	# The L0 log's head page counts 0 pages.
	[ 'l0_npages0',   'flat',    [qw(insert vacuum info verify)] ],
	# The manifest's Flat segment starts at block 0xFFFFFFFF.
	[ 'flat_head',    'flat',    [qw(scan vacuum verify)] ],
	# A row of the Flat segment points to heap block 0xFFFFFFFF.
	[ 'heap_tid',     'flat',    [qw(scan verify)] ],
	# ... or to block 1000000, past the end of the table.
	[ 'heap_tid_end', 'flat',    [qw(scan verify)] ],
	# The manifest's DiskANN run: head 0xFFFFFFFF, 2 pages, tail 0 (head +
	# npages wraps to 1, inside the relation).
	[ 'diskann_wrap', 'diskann', [qw(scan vacuum verify)] ],
);
my @ops = qw(scan insert vacuum info verify);

my $vec = q{(SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE i > 0)::vector};
for my $c (@cases) {
	my ($name, $kind) = @$c;
	my $built = $kind eq 'diskann' ? 1200 : 300;
	$node->safe_psql('postgres', qq{
		CREATE TABLE $name (id int, v vector(16));
		INSERT INTO $name SELECT i, $vec FROM generate_series(1, $built) i;
		CREATE INDEX ${name}_idx ON $name USING vecgo (v) WITH (diskann_threshold = 1000);
		INSERT INTO $name SELECT i, $vec FROM generate_series($built + 1, $built + 300) i;
	});
	like($node->safe_psql('postgres', "SELECT string_agg(kind || ':' || pages, ',') FROM vecgo_index_info('${name}_idx')"),
		($kind eq 'flat' ? qr/^l0 log:3,flat:3$/ : qr/^l0 log:3,diskann:\d+$/),
		"$name: an L0 log and a $kind segment of three pages or more each");
	is($node->safe_psql('postgres', "SELECT vecgo_verify('${name}_idx')"), '', "$name: sound before the damage");
}

# ------------------------------------------------------------------ damage
my %file;
$file{$_->[0]} = $node->data_dir . '/'
  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$_->[0]_idx')")
  for @cases;
$node->stop;

use constant {
	BLCKSZ     => 8192,
	META       => 24,          # MetaData, after the page header
	L0_HEAD    => 24 + 60,     # MetaData.l0_head
	SEG0       => 24 + 88,     # MetaData.segments[0]
	SEG_HEAD   => 8,           # SegmentEntry.head
	SEG_TAIL   => 12,
	SEG_NPAGES => 16,
	OPAQUE     => 8192 - 24,   # PageOpaque, at the end of every page
	O_NEXT     => 4,
	O_TAIL     => 8,
	O_NPAGES   => 12,
	INVALID    => 0xFFFFFFFF,
};

sub rd32 {
	my ($fh, $off) = @_;
	seek($fh, $off, 0) or die "seek: $!";
	read($fh, my $b, 4) == 4 or die "read at $off: $!";
	return unpack('V', $b);
}

sub wr32 {
	my ($fh, $off, $v) = @_;
	seek($fh, $off, 0) or die "seek: $!";
	print $fh pack('V', $v);
}

sub next_of { my ($fh, $blk) = @_; return rd32($fh, $blk * BLCKSZ + OPAQUE + O_NEXT); }

# Points the last page of the chain starting at $head back at $head.
sub close_cycle {
	my ($fh, $head) = @_;
	my ($blk, $n) = ($head, 0);
	while ((my $next = next_of($fh, $blk)) != INVALID) {
		$blk = $next;
		die "chain too long" if ++$n > 100;
	}
	die "one-page chain" if $blk == $head;
	wr32($fh, $blk * BLCKSZ + OPAQUE + O_NEXT, $head);
}

for my $c (@cases) {
	my $name = $c->[0];
	open(my $fh, '+<:raw', $file{$name}) or die "open $file{$name}: $!";
	my $l0_head = rd32($fh, L0_HEAD);
	my $seg_head = rd32($fh, SEG0 + SEG_HEAD);
	if ($name eq 'flat_cycle') {
		close_cycle($fh, $seg_head);
	} elsif ($name eq 'l0_cycle') {
		close_cycle($fh, $l0_head);
	} elsif ($name eq 'tail_hint') {
		wr32($fh, $l0_head * BLCKSZ + OPAQUE + O_TAIL, INVALID);
	} elsif ($name eq 'l0_head') {
		wr32($fh, L0_HEAD, INVALID);
	} elsif ($name eq 'l0_npages0') {
		wr32($fh, $l0_head * BLCKSZ + OPAQUE + O_NPAGES, 0);
	} elsif ($name eq 'flat_head') {
		wr32($fh, SEG0 + SEG_HEAD, INVALID);
	} elsif ($name eq 'heap_tid' || $name eq 'heap_tid_end') {
		# Record 0 starts the head page's stream: ItemPointerData's block
		# number is two 16-bit halves, the high one first.
		my $blk = $name eq 'heap_tid' ? INVALID : 1_000_000;
		seek($fh, $seg_head * BLCKSZ + 24, 0) or die;
		print $fh pack('vv', $blk >> 16, $blk & 0xFFFF);
	} elsif ($name eq 'diskann_wrap') {
		wr32($fh, SEG0 + SEG_HEAD,   INVALID);
		wr32($fh, SEG0 + SEG_NPAGES, 2);
		wr32($fh, SEG0 + SEG_TAIL,   0);
	}
	close $fh;
}
$node->start;

# ------------------------------------------------------------------ operations
my %sql = (
	scan => q{SET enable_seqscan = off;
		SELECT count(*) FROM (SELECT id FROM %t ORDER BY v <-> array_fill(0.5::real, ARRAY[16])::vector LIMIT 2000) s},
	insert => q{INSERT INTO %t VALUES (100001, array_fill(0.25::real, ARRAY[16])::vector)},
	vacuum => q{DELETE FROM %t WHERE id % 50 = 0; VACUUM %t},
	info   => q{SELECT count(*) FROM vecgo_index_info('%t_idx')},
	verify => q{SELECT vecgo_verify('%t_idx')},
);

sub size_of {
	my ($rel) = @_;
	return $node->safe_psql('postgres', "SELECT pg_relation_size('$rel')");
}

for my $c (@cases) {
	my ($name, $kind, $fail) = @$c;
	my %must_fail = map { $_ => 1 } @$fail;
	my $index_size = size_of("${name}_idx");
	for my $op (@ops) {
		my $heap_size = size_of($name);
		(my $q = $sql{$op}) =~ s/%t/$name/g;
		my ($rc, $out, $err) = $node->psql('postgres',
			"\\set VERBOSITY verbose\nSET statement_timeout = '10s';\n$q",
			timeout => 60);
		if ($must_fail{$op}) {
			like($err, qr/ERROR:\s+XX002: vecgo index "${name}_idx"/, "$name: $op fails with XX002 naming the index");
			note($err);
		} else {
			is($rc, 0, "$name: $op succeeds");
			note($err) if $rc;
		}
		# The heap's danger: a fetch of block InvalidBlockNumber extends it.
		# (INSERT and VACUUM change its size of their own.)
		is(size_of($name), $heap_size, "$name: $op leaves the table's size as it was")
		  unless $op eq 'insert' || $op eq 'vacuum';
	}
	is(size_of("${name}_idx"), $index_size, "$name: the index did not grow");
}

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');
ok(!(slurp_file($node->logfile) =~ /terminated by signal|was terminated/), 'no backend crashed');
$node->stop;
done_testing();
