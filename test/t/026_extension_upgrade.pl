# ALTER EXTENSION vecgo UPDATE from every earlier released version: data and
# indexes made under the old version answer as before, the updated
# extension has exactly the objects of a fresh install of the current
# version (same definitions), and what is new works on the old data.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'vecgo'\nvecgo.worker = off\nvecgo.vacuum_compaction = off\nautovacuum = off\n");
$node->start;

my $current = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'vecgo'");
my @old = split /\n/, $node->safe_psql('postgres',
	"SELECT version FROM pg_available_extension_versions WHERE name = 'vecgo' AND version <> '$current' ORDER BY string_to_array(version, '.')::int[]");
ok(scalar(@old) >= 1, "earlier released versions are installable (" . join(', ', @old) . ")");

# Every member object of the extension with what defines it: two installs
# with the same fingerprint have the same SQL surface.
my $fingerprint = q{
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'vecgo'),
members AS (
  SELECT d.classid, d.objid FROM pg_depend d, ext
   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
SELECT pg_describe_object(m.classid, m.objid, 0) || ' | ' || coalesce(CASE m.classid
  WHEN 'pg_proc'::regclass THEN (
    SELECT concat_ws(' ', pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), p.prokind,
                     p.provolatile, p.proisstrict, p.proparallel, p.prosecdef, p.procost, p.prorows,
                     p.prosrc, p.probin, p.proacl::text, p.proconfig::text)
      FROM pg_proc p WHERE p.oid = m.objid)
  WHEN 'pg_type'::regclass THEN (
    SELECT concat_ws(' ', t.typtype, t.typlen, t.typinput, t.typoutput, t.typreceive, t.typsend,
                     t.typmodin, t.typmodout, t.typanalyze, t.typsubscript, t.typelem::regtype,
                     t.typalign, t.typstorage, t.typcategory, t.typispreferred)
      FROM pg_type t WHERE t.oid = m.objid)
  WHEN 'pg_operator'::regclass THEN (
    SELECT concat_ws(' ', o.oprcode, o.oprcom::regoperator, o.oprnegate::regoperator, o.oprrest,
                     o.oprjoin, o.oprcanmerge, o.oprcanhash)
      FROM pg_operator o WHERE o.oid = m.objid)
  WHEN 'pg_cast'::regclass THEN (
    SELECT concat_ws(' ', c.castfunc::regprocedure, c.castcontext, c.castmethod)
      FROM pg_cast c WHERE c.oid = m.objid)
  WHEN 'pg_opclass'::regclass THEN (
    SELECT concat_ws(' ', oc.opcdefault, oc.opckeytype::regtype,
                     (SELECT string_agg(concat_ws(':', ao.amopstrategy, ao.amopopr::regoperator,
                                                  ao.amoppurpose, ao.amopsortfamily), ',' ORDER BY ao.amopstrategy)
                        FROM pg_amop ao WHERE ao.amopfamily = oc.opcfamily),
                     (SELECT string_agg(concat_ws(':', ap.amprocnum, ap.amproc::regprocedure), ',' ORDER BY ap.amprocnum)
                        FROM pg_amproc ap WHERE ap.amprocfamily = oc.opcfamily))
      FROM pg_opclass oc WHERE oc.oid = m.objid)
  WHEN 'pg_aggregate'::regclass THEN NULL
  END, '') || ' | ' || coalesce(obj_description(m.objid, m.classid::regclass::name), '')
  FROM members m
 ORDER BY 1;
};

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION vecgo');
my $fresh = $node->safe_psql('fresh', $fingerprint);
ok(length($fresh) > 1000, 'a fresh install lists its objects');

my $rows = 12000;
for my $v (@old) {
	my $db = "from_" . ($v =~ s/\./_/gr);
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION vecgo VERSION '$v'");
	is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'vecgo'"), $v, "$v installed");

	# Data and indexes under the old version: a DiskANN segment from the
	# build, a Flat segment and rows in the L0 log after it.
	$node->safe_psql($db, qq{
		CREATE TABLE items (id int PRIMARY KEY, v vector(128));
		INSERT INTO items SELECT i, (SELECT array_agg(sin(i * 0.013 * j) + cos(j * 0.7 + i % 17))::real[]
		                              FROM generate_series(1, 128) j)::vector
		  FROM generate_series(1, $rows) i;
		CREATE INDEX items_l2 ON items USING vecgo (v vector_l2_ops);
		CREATE INDEX items_cos ON items USING vecgo (v vector_cosine_ops) WITH (quantization = 'sq8');
		INSERT INTO items SELECT i, (SELECT array_agg(cos(i * 0.011 * j))::real[] FROM generate_series(1, 128) j)::vector
		  FROM generate_series($rows + 1, $rows + 600) i;
		SELECT vecgo_flush('items_l2');
		INSERT INTO items SELECT i, (SELECT array_agg(sin(i * 0.017 * j))::real[] FROM generate_series(1, 128) j)::vector
		  FROM generate_series($rows + 601, $rows + 800) i;
	});
	my $answers = q{
		SET enable_seqscan = off;
		SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 5) LIMIT 10) s;
		SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <=> (SELECT v FROM items WHERE id = 12345) LIMIT 10) s;
		SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 12700) LIMIT 10) s;
		SELECT string_agg(kind, ',' ORDER BY segment) FROM vecgo_index_info('items_l2');
	};
	my $before = $node->safe_psql($db, $answers);
	like($before, qr/diskann/, "$v: the index has a DiskANN segment");

	$node->safe_psql($db, 'ALTER EXTENSION vecgo UPDATE');
	is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'vecgo'"),
		$current, "$v updated to $current");
	is($node->safe_psql($db, $answers), $before, "$v: the indexes answer as before the update");

	my $updated = $node->safe_psql($db, $fingerprint);
	my %in_fresh = map { $_ => 1 } split /\n/, $fresh;
	my %in_updated = map { $_ => 1 } split /\n/, $updated;
	ok($updated eq $fresh, "$v: the updated extension has the objects and definitions of a fresh $current install")
	  or diag("only after the update:\n" . join("\n", grep { !$in_fresh{$_} } split /\n/, $updated) .
		"\nonly in a fresh install:\n" . join("\n", grep { !$in_updated{$_} } split /\n/, $fresh));

	# The old indexes take writes and maintenance under the new version.
	$node->safe_psql($db, qq{
		INSERT INTO items SELECT i, (SELECT array_agg(cos(i * 0.019 * j))::real[] FROM generate_series(1, 128) j)::vector
		  FROM generate_series($rows + 801, $rows + 900) i;
		DELETE FROM items WHERE id % 10 = 0;
		VACUUM items;
		SELECT vecgo_compact('items_l2');
	});
	is($node->safe_psql($db, qq{
		SET enable_seqscan = off;
		SELECT count(*) FILTER (WHERE id % 10 = 0), count(*) FROM (SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = $rows + 850) LIMIT 20000) s;
	}), '0|' . int(($rows + 900) * 9 / 10), "$v: after the update, inserts are found and deleted rows are gone");
	is($node->safe_psql($db, qq{
		SET enable_seqscan = off;
		SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = $rows + 851) LIMIT 1;
	}), $rows + 851, "$v: a row inserted after the update is its own nearest neighbour");
	my ($rc, $out, $err) = $node->psql($db, "SELECT vecgo_verify('items_l2'), vecgo_verify('items_cos')");
	is($rc, 0, "$v: the old indexes verify") or diag($err);

	# What the new version adds works on the old data.
	$node->safe_psql($db, q{
		CREATE INDEX items_bits ON items USING vecgo ((binary_quantize(v)::bit(128)) bit_hamming_ops);
	});
	is($node->safe_psql($db, q{
		SET enable_seqscan = off;
		SELECT id FROM items ORDER BY binary_quantize(v)::bit(128) <~> binary_quantize((SELECT v FROM items WHERE id = 7)) LIMIT 1;
	}), '7', "$v: a bit_hamming_ops index over the old table");
}

$node->stop;
done_testing();
