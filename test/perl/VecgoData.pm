# Real sample vectors for the TAP tests: rows of the GloVe-100 .fvecs file
# that scripts/fetch-glove.sh writes (per row: int32 dim, then dim float32).
package VecgoData;
use strict;
use warnings;
use Exporter 'import';
our @EXPORT = qw(glove_path read_fvecs write_rows set_format_version manual_compaction_node);

# Where the file is: $VECGO_DATA (set by scripts/run-tap.sh) or ./data.
sub glove_path {
	return ($ENV{VECGO_DATA} // 'data') . '/glove-100.fvecs';
}

# $n vectors starting at row $first, as vector literals ('[x,y,...]').
sub read_fvecs {
	my ($first, $n) = @_;
	my $path = glove_path();
	open(my $fh, '<:raw', $path) or die "open $path: $!";
	read($fh, my $hdr, 4) == 4 or die 'short read';
	my $dim = unpack('l<', $hdr);
	my $row = 4 + 4 * $dim;
	seek($fh, $first * $row, 0) or die 'seek';
	my @out;
	for (1 .. $n) {
		read($fh, my $buf, $row) == $row or die 'short read';
		my @x = unpack("x4 f<$dim", $buf);
		push @out, '[' . join(',', map { sprintf('%.6g', $_) } @x) . ']';
	}
	close $fh;
	return @out;
}

# Writes vector literals as COPY text rows "id<TAB>vector" (ids from 1) to
# $path, readable by the server (it runs as another user in the tests).
sub write_rows {
	my ($path, @vecs) = @_;
	open(my $out, '>', $path) or die "open $path: $!";
	print $out ($_ + 1) . "\t" . $vecs[$_] . "\n" for 0 .. $#vecs;
	close $out;
	chmod 0644, $path;
	return;
}

# Stops $node, writes $version as the on-disk format version into the
# metapage of index $index (an unknown version the server must refuse), and
# starts it again.
sub set_format_version {
	my ($node, $index, $version) = @_;
	my $file = $node->safe_psql('postgres', "SELECT pg_relation_filepath('$index')");
	$node->stop;
	open(my $fh, '+<:raw', $node->data_dir . "/$file") or die "open: $!";
	seek($fh, 24 + 4, 0);    # page header, then magic, then version
	print $fh pack('L<', $version);
	close $fh;
	$node->start;
}

# A started node (PostgreSQL::Test::Cluster) with vecgo preloaded on which
# nothing compacts unless the test says so: the worker off (naptime 1 s for
# when it is turned on), no compaction by VACUUM, no autovacuum; room for
# many concurrent sessions.
sub manual_compaction_node {
	my ($name) = @_;
	require PostgreSQL::Test::Cluster;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'vecgo'
vecgo.worker = off
vecgo.worker_naptime = 1
vecgo.vacuum_compaction = off
autovacuum = off
max_connections = 30
});
	$node->start;
	return $node;
}

1;
