# A role without rights on a table gets its error from every vecgo
# maintenance function at once, without taking (or queueing for) a lock on
# the table: while another session holds the table exclusively, each call
# fails with "permission denied" (42501), never with a lock timeout.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('privileges');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vecgo'\nvecgo.worker = off\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecgo;
	CREATE TABLE t (id int, v vector(3));
	INSERT INTO t SELECT i, ARRAY[i, i % 7, i % 5]::vector FROM generate_series(1, 100) i;
	CREATE INDEX t_idx ON t USING vecgo (v);
	CREATE ROLE nobody LOGIN;
	GRANT EXECUTE ON FUNCTION vecgo_verify(regclass) TO nobody;
});

# Another session holds the table exclusively.
my ($in, $out, $err) = ('', '', '');
my $timer = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
my $holder = IPC::Run::start(
	[ 'psql', '-X', '-q', '-At', '-d', $node->connstr('postgres') ],
	'<', \$in, '>', \$out, '2>', \$err, $timer);
$in .= "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n";
$holder->pump until $out =~ /locked/ || $timer->is_expired;
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_locks WHERE relation = 't'::regclass AND mode = 'AccessExclusiveLock' AND granted}),
	'another session holds the table');

for my $fn ('vecgo_flush', 'vecgo_compact', 'vecgo_verify', 'vecgo_index_info') {
	my $call = $fn;
	my $sql = "SELECT count(*) FROM $fn('t_idx'::regclass::oid)";
	my ($rc, $stdout, $stderr) = $node->psql('postgres', "SET lock_timeout = '3s'; $sql",
		extra_params => [ '-U', 'nobody', '-v', 'VERBOSITY=verbose' ]);
	isnt($rc, 0, "$call fails for a role without rights");
	like($stderr, qr/42501/, "$call: permission denied, not a lock wait");
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	WHERE a.usename = 'nobody'}), '0', 'the role holds no lock');

$in .= "COMMIT;\n\\q\n";
$holder->finish;
$node->stop;
done_testing();
