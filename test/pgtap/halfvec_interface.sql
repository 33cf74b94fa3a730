-- The halfvec type's SQL interface: names, signatures, return types,
-- volatility, strictness and parallel safety as pgvector 0.8 declares them,
-- the casts with their contexts, the operators, the btree operator class,
-- the aggregates, and the upgrade from 0.1.0 creating the same objects.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS vecgo;

CREATE TEMP TABLE fn (name text, args text[], ret text);
INSERT INTO fn VALUES
  ('halfvec_in', '{cstring,oid,integer}', 'halfvec'),
  ('halfvec_out', '{halfvec}', 'cstring'),
  ('halfvec_typmod_in', '{cstring[]}', 'integer'),
  ('halfvec_recv', '{internal,oid,integer}', 'halfvec'),
  ('halfvec_send', '{halfvec}', 'bytea'),
  ('l2_distance', '{halfvec,halfvec}', 'double precision'),
  ('inner_product', '{halfvec,halfvec}', 'double precision'),
  ('cosine_distance', '{halfvec,halfvec}', 'double precision'),
  ('l1_distance', '{halfvec,halfvec}', 'double precision'),
  ('vector_dims', '{halfvec}', 'integer'),
  ('l2_norm', '{halfvec}', 'double precision'),
  ('l2_normalize', '{halfvec}', 'halfvec'),
  ('binary_quantize', '{halfvec}', 'bit'),
  ('subvector', '{halfvec,integer,integer}', 'halfvec'),
  ('halfvec_add', '{halfvec,halfvec}', 'halfvec'),
  ('halfvec_sub', '{halfvec,halfvec}', 'halfvec'),
  ('halfvec_mul', '{halfvec,halfvec}', 'halfvec'),
  ('halfvec_concat', '{halfvec,halfvec}', 'halfvec'),
  ('halfvec_lt', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_le', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_eq', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_ne', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_ge', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_gt', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_cmp', '{halfvec,halfvec}', 'integer'),
  ('halfvec_l2_squared_distance', '{halfvec,halfvec}', 'double precision'),
  ('halfvec_negative_inner_product', '{halfvec,halfvec}', 'double precision'),
  ('halfvec_spherical_distance', '{halfvec,halfvec}', 'double precision'),
  ('halfvec_accum', '{"double precision[]",halfvec}', 'double precision[]'),
  ('halfvec_avg', '{"double precision[]"}', 'halfvec'),
  ('halfvec_combine', '{"double precision[]","double precision[]"}', 'double precision[]'),
  ('halfvec', '{halfvec,integer,boolean}', 'halfvec'),
  ('halfvec_to_vector', '{halfvec,integer,boolean}', 'vector'),
  ('vector_to_halfvec', '{vector,integer,boolean}', 'halfvec'),
  ('array_to_halfvec', '{integer[],integer,boolean}', 'halfvec'),
  ('array_to_halfvec', '{real[],integer,boolean}', 'halfvec'),
  ('array_to_halfvec', '{"double precision[]",integer,boolean}', 'halfvec'),
  ('array_to_halfvec', '{numeric[],integer,boolean}', 'halfvec'),
  ('halfvec_to_float4', '{halfvec,integer,boolean}', 'real[]'),
  ('halfvec_to_sparsevec', '{halfvec,integer,boolean}', 'sparsevec'),
  ('sparsevec_to_halfvec', '{sparsevec,integer,boolean}', 'halfvec');

CREATE TEMP TABLE op (name text, fn text, commutator text, negator text, ret text);
INSERT INTO op VALUES
  ('<->', 'l2_distance', '<->', NULL, 'double precision'),
  ('<#>', 'halfvec_negative_inner_product', '<#>', NULL, 'double precision'),
  ('<=>', 'cosine_distance', '<=>', NULL, 'double precision'),
  ('<+>', 'l1_distance', '<+>', NULL, 'double precision'),
  ('+', 'halfvec_add', '+', NULL, 'halfvec'),
  ('-', 'halfvec_sub', NULL, NULL, 'halfvec'),
  ('*', 'halfvec_mul', '*', NULL, 'halfvec'),
  ('||', 'halfvec_concat', NULL, NULL, 'halfvec'),
  ('<', 'halfvec_lt', '>', '>=', 'boolean'),
  ('<=', 'halfvec_le', '>=', '>', 'boolean'),
  ('=', 'halfvec_eq', '=', '<>', 'boolean'),
  ('<>', 'halfvec_ne', '<>', '=', 'boolean'),
  ('>=', 'halfvec_ge', '<=', '<', 'boolean'),
  ('>', 'halfvec_gt', '<', '<=', 'boolean');

CREATE TEMP TABLE ca (source text, target text, fn text, context text);
INSERT INTO ca VALUES
  ('halfvec', 'halfvec', 'halfvec', 'implicit'),
  ('halfvec', 'vector', 'halfvec_to_vector', 'assignment'),
  ('vector', 'halfvec', 'vector_to_halfvec', 'implicit'),
  ('halfvec', 'real[]', 'halfvec_to_float4', 'assignment'),
  ('integer[]', 'halfvec', 'array_to_halfvec', 'assignment'),
  ('real[]', 'halfvec', 'array_to_halfvec', 'assignment'),
  ('double precision[]', 'halfvec', 'array_to_halfvec', 'assignment'),
  ('numeric[]', 'halfvec', 'array_to_halfvec', 'assignment'),
  ('halfvec', 'sparsevec', 'halfvec_to_sparsevec', 'implicit'),
  ('sparsevec', 'halfvec', 'sparsevec_to_halfvec', 'assignment');

SELECT plan(6 + 41 * 5 + 14 * 2 + 10 * 2 + 1 + 9 + 1);

-- type
SELECT has_type('halfvec');
SELECT is((SELECT typstorage::text FROM pg_type WHERE typname = 'halfvec'), 'e', 'halfvec has storage external');
SELECT is((SELECT typlen::int FROM pg_type WHERE typname = 'halfvec'), -1, 'halfvec is variable length');
SELECT is((SELECT typmodin::text FROM pg_type WHERE typname = 'halfvec'), 'halfvec_typmod_in', 'halfvec has a typmod input function');
SELECT is((SELECT typreceive::text || ',' || typsend::text FROM pg_type WHERE typname = 'halfvec'),
          'halfvec_recv,halfvec_send', 'halfvec has binary I/O');
SELECT is(format_type('halfvec'::regtype, 768), 'halfvec(768)', 'halfvec(n) prints its typmod');

-- functions: existence, return type, volatility, strictness, parallel safety
SELECT has_function(name, args, format('%s(%s) exists', name, array_to_string(args, ', '))) FROM fn;
SELECT function_returns(name, args, ret) FROM fn;
SELECT volatility_is(name, args, 'immutable') FROM fn;
SELECT is_strict(name, args) FROM fn;
SELECT is(p.proparallel::text, 's', format('%s(%s) is parallel safe', f.name, array_to_string(f.args, ', ')))
FROM fn AS f
JOIN pg_proc AS p ON p.oid = to_regprocedure(format('%s(%s)', f.name, array_to_string(f.args, ',')));

-- operators
SELECT has_operator('halfvec'::name, name::name, 'halfvec'::name, ret::name) FROM op;
SELECT is(
  (SELECT format('%s|%s|%s', (SELECT p.proname FROM pg_proc p WHERE p.oid = o.oprcode),
                 (SELECT c.oprname FROM pg_operator c WHERE c.oid = o.oprcom),
                 (SELECT n.oprname FROM pg_operator n WHERE n.oid = o.oprnegate))
   FROM pg_operator o
   WHERE o.oprname = op.name AND o.oprleft = 'halfvec'::regtype AND o.oprright = 'halfvec'::regtype),
  format('%s|%s|%s', op.fn, op.commutator, op.negator),
  format('operator %s: function, commutator, negator', op.name))
FROM op;

-- casts and their contexts
SELECT has_cast(source::name, target::name, fn::name) FROM ca;
SELECT cast_context_is(source, target, context) FROM ca;

-- btree operator class
SELECT has_opclass('halfvec_ops');

-- aggregates
SELECT has_function('avg', ARRAY['halfvec']);
SELECT has_function('sum', ARRAY['halfvec']);
SELECT is_aggregate('avg', ARRAY['halfvec']);
SELECT is_aggregate('sum', ARRAY['halfvec']);
SELECT function_returns('avg', ARRAY['halfvec'], 'halfvec');
SELECT function_returns('sum', ARRAY['halfvec'], 'halfvec');
SELECT is((SELECT proparallel::text FROM pg_proc WHERE oid = 'avg(halfvec)'::regprocedure), 's', 'avg(halfvec) is parallel safe');
SELECT is((SELECT proparallel::text FROM pg_proc WHERE oid = 'sum(halfvec)'::regprocedure), 's', 'sum(halfvec) is parallel safe');
SELECT is((SELECT format('%s|%s|%s|%s|%s', aggtransfn, aggfinalfn, aggcombinefn, aggtranstype::regtype, agginitval)
           FROM pg_aggregate WHERE aggfnoid = 'avg(halfvec)'::regprocedure),
          'halfvec_accum|halfvec_avg|halfvec_combine|double precision[]|{0}', 'avg(halfvec) state functions');

-- the 0.1.0 -> 0.2.0 upgrade creates the type and everything above
CREATE TEMP TABLE fresh AS
  SELECT pg_describe_object(classid, objid, objsubid) AS obj FROM pg_depend
  WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
    AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vecgo');
DROP EXTENSION vecgo CASCADE;
CREATE EXTENSION vecgo VERSION '0.1.0';
ALTER EXTENSION vecgo UPDATE TO '0.2.0';
SELECT set_eq(
  $$SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
    WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
      AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vecgo')$$,
  $$SELECT obj FROM fresh$$,
  'an upgraded 0.1.0 has the objects of a fresh 0.2.0');

SELECT * FROM finish();
ROLLBACK;
