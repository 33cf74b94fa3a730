-- The vector type's SQL interface: names, signatures, return types,
-- volatility, strictness and parallel safety as pgvector declares them, the
-- casts with their contexts, the operators and the btree operator class.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS vecgo;

CREATE TEMP TABLE fn (name text, args text[], ret text);
INSERT INTO fn VALUES
  ('vector_in', '{cstring,oid,integer}', 'vector'),
  ('vector_out', '{vector}', 'cstring'),
  ('vector_typmod_in', '{cstring[]}', 'integer'),
  ('vector_recv', '{internal,oid,integer}', 'vector'),
  ('vector_send', '{vector}', 'bytea'),
  ('l2_distance', '{vector,vector}', 'double precision'),
  ('inner_product', '{vector,vector}', 'double precision'),
  ('cosine_distance', '{vector,vector}', 'double precision'),
  ('l1_distance', '{vector,vector}', 'double precision'),
  ('vector_dims', '{vector}', 'integer'),
  ('vector_norm', '{vector}', 'double precision'),
  ('l2_normalize', '{vector}', 'vector'),
  ('binary_quantize', '{vector}', 'bit'),
  ('subvector', '{vector,integer,integer}', 'vector'),
  ('vector_l2_squared_distance', '{vector,vector}', 'double precision'),
  ('vector_negative_inner_product', '{vector,vector}', 'double precision'),
  ('vector_spherical_distance', '{vector,vector}', 'double precision'),
  ('vector_add', '{vector,vector}', 'vector'),
  ('vector_sub', '{vector,vector}', 'vector'),
  ('vector_mul', '{vector,vector}', 'vector'),
  ('vector_concat', '{vector,vector}', 'vector'),
  ('vector_lt', '{vector,vector}', 'boolean'),
  ('vector_le', '{vector,vector}', 'boolean'),
  ('vector_eq', '{vector,vector}', 'boolean'),
  ('vector_ne', '{vector,vector}', 'boolean'),
  ('vector_ge', '{vector,vector}', 'boolean'),
  ('vector_gt', '{vector,vector}', 'boolean'),
  ('vector_cmp', '{vector,vector}', 'integer'),
  ('vector_accum', '{"double precision[]",vector}', 'double precision[]'),
  ('vector_combine', '{"double precision[]","double precision[]"}', 'double precision[]'),
  ('vector_avg', '{"double precision[]"}', 'vector'),
  ('vector', '{vector,integer,boolean}', 'vector'),
  ('array_to_vector', '{integer[],integer,boolean}', 'vector'),
  ('array_to_vector', '{real[],integer,boolean}', 'vector'),
  ('array_to_vector', '{"double precision[]",integer,boolean}', 'vector'),
  ('array_to_vector', '{numeric[],integer,boolean}', 'vector'),
  ('vector_to_float4', '{vector,integer,boolean}', 'real[]'),
  ('vector_to_float8', '{vector,integer,boolean}', 'double precision[]');

CREATE TEMP TABLE op (name text, fn text, commutator text, negator text, ret text);
INSERT INTO op VALUES
  ('<->', 'l2_distance', '<->', NULL, 'double precision'),
  ('<#>', 'vector_negative_inner_product', '<#>', NULL, 'double precision'),
  ('<=>', 'cosine_distance', '<=>', NULL, 'double precision'),
  ('<+>', 'l1_distance', '<+>', NULL, 'double precision'),
  ('+', 'vector_add', '+', NULL, 'vector'),
  ('-', 'vector_sub', NULL, NULL, 'vector'),
  ('*', 'vector_mul', '*', NULL, 'vector'),
  ('||', 'vector_concat', NULL, NULL, 'vector'),
  ('<', 'vector_lt', '>', '>=', 'boolean'),
  ('<=', 'vector_le', '>=', '>', 'boolean'),
  ('=', 'vector_eq', '=', '<>', 'boolean'),
  ('<>', 'vector_ne', '<>', '=', 'boolean'),
  ('>=', 'vector_ge', '<=', '<', 'boolean'),
  ('>', 'vector_gt', '<', '<=', 'boolean');

SELECT plan(38 * 5 + 14 * 2 + 6 + 7 * 2 + 1 + 9);

-- type
SELECT has_type('vector');
SELECT is((SELECT typstorage::text FROM pg_type WHERE typname = 'vector'), 'e', 'vector has storage external');
SELECT is((SELECT typlen::int FROM pg_type WHERE typname = 'vector'), -1, 'vector is variable length');
SELECT is((SELECT typmodin::text FROM pg_type WHERE typname = 'vector'), 'vector_typmod_in', 'vector has a typmod input function');
SELECT is((SELECT typreceive::text || ',' || typsend::text FROM pg_type WHERE typname = 'vector'),
          'vector_recv,vector_send', 'vector has binary I/O');
SELECT is(format_type('vector'::regtype, 768), 'vector(768)', 'vector(n) prints its typmod');

-- functions: existence, return type, volatility, strictness, parallel safety
SELECT has_function(name, args, format('%s(%s) exists', name, array_to_string(args, ', '))) FROM fn;
SELECT function_returns(name, args, ret) FROM fn;
SELECT volatility_is(name, args, 'immutable') FROM fn;
SELECT is_strict(name, args) FROM fn;
SELECT is(p.proparallel::text, 's', format('%s(%s) is parallel safe', f.name, array_to_string(f.args, ', ')))
FROM fn AS f
JOIN pg_proc AS p ON p.oid = to_regprocedure(format('%s(%s)', f.name, array_to_string(f.args, ',')));

-- operators
SELECT has_operator('vector'::name, name::name, 'vector'::name, ret::name) FROM op;
SELECT is(
  (SELECT format('%s|%s|%s', (SELECT p.proname FROM pg_proc p WHERE p.oid = o.oprcode),
                 (SELECT c.oprname FROM pg_operator c WHERE c.oid = o.oprcom),
                 (SELECT n.oprname FROM pg_operator n WHERE n.oid = o.oprnegate))
   FROM pg_operator o
   WHERE o.oprname = op.name AND o.oprleft = 'vector'::regtype AND o.oprright = 'vector'::regtype),
  format('%s|%s|%s', op.fn, op.commutator, op.negator),
  format('operator %s: function, commutator, negator', op.name))
FROM op;

-- casts and their contexts
SELECT has_cast('vector'::name, 'vector'::name, 'vector'::name);
SELECT has_cast('vector'::name, 'real[]'::name, 'vector_to_float4'::name);
SELECT has_cast('vector'::name, 'double precision[]'::name, 'vector_to_float8'::name);
SELECT has_cast('integer[]'::name, 'vector'::name, 'array_to_vector'::name);
SELECT has_cast('real[]'::name, 'vector'::name, 'array_to_vector'::name);
SELECT has_cast('double precision[]'::name, 'vector'::name, 'array_to_vector'::name);
SELECT has_cast('numeric[]'::name, 'vector'::name, 'array_to_vector'::name);
SELECT cast_context_is('vector', 'vector', 'implicit');
SELECT cast_context_is('vector', 'real[]', 'implicit');
SELECT cast_context_is('vector', 'double precision[]', 'explicit');
SELECT cast_context_is('integer[]', 'vector', 'assignment');
SELECT cast_context_is('real[]', 'vector', 'assignment');
SELECT cast_context_is('double precision[]', 'vector', 'assignment');
SELECT cast_context_is('numeric[]', 'vector', 'assignment');

-- btree operator class
SELECT has_opclass('vector_ops');

-- aggregates
SELECT has_function('avg', ARRAY['vector']);
SELECT has_function('sum', ARRAY['vector']);
SELECT is_aggregate('avg', ARRAY['vector']);
SELECT is_aggregate('sum', ARRAY['vector']);
SELECT function_returns('avg', ARRAY['vector'], 'vector');
SELECT function_returns('sum', ARRAY['vector'], 'vector');
SELECT is((SELECT proparallel::text FROM pg_proc WHERE oid = 'avg(vector)'::regprocedure), 's', 'avg(vector) is parallel safe');
SELECT is((SELECT proparallel::text FROM pg_proc WHERE oid = 'sum(vector)'::regprocedure), 's', 'sum(vector) is parallel safe');
SELECT is((SELECT format('%s|%s|%s|%s|%s', aggtransfn, aggfinalfn, aggcombinefn, aggtranstype::regtype, agginitval)
           FROM pg_aggregate WHERE aggfnoid = 'avg(vector)'::regprocedure),
          'vector_accum|vector_avg|vector_combine|double precision[]|{0}', 'avg(vector) state functions');

SELECT * FROM finish();
ROLLBACK;
