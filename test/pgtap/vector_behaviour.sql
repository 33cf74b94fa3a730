-- The vector type's behaviour through its SQL interface: values, errors
-- (message and SQLSTATE, as pgvector reports them), typmod enforcement,
-- ordering and aggregates.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS vecgo;

SELECT plan(67);

-- ---------------------------------------------------------------- values
SELECT is(('[1,2,3]'::vector <-> '[3,2,1]')::text, '2.8284271247461903', 'L2 distance of the canonical example');
SELECT is('[0,0]'::vector <-> '[3,4]', 5::float8, '<-> is Euclidean distance');
SELECT is('[1,2]'::vector <#> '[3,4]', -11::float8, '<#> is the negative inner product');
SELECT is('[1,0]'::vector <=> '[0,1]', 1::float8, '<=> is cosine distance');
SELECT is('[1,2]'::vector <+> '[4,-2]', 7::float8, '<+> is L1 distance');
SELECT is(inner_product('[1,2]'::vector, '[3,4]'), 11::float8, 'inner_product');
SELECT is(vector_l2_squared_distance('[0,0]', '[3,4]'), 25::float8, 'vector_l2_squared_distance');
SELECT is(cosine_distance('[0,0]'::vector, '[1,1]')::text, 'NaN', 'cosine distance with a zero vector is NaN');
SELECT is(cosine_distance('[1,1]'::vector, '[-2,-2]'), 2::float8, 'cosine distance of opposite vectors is 2');
SELECT is(vector_spherical_distance('[1,0]', '[0,1]'), 0.5::float8, 'spherical distance of orthogonal unit vectors');
SELECT is(vector_dims('[1,2,3]'::vector), 3, 'vector_dims');
SELECT is(vector_norm('[3,4]'), 5::float8, 'vector_norm');
SELECT is(l2_normalize('[3,4]'::vector)::text, '[0.6,0.8]', 'l2_normalize');
SELECT is(l2_normalize('[0,0]'::vector)::text, '[0,0]', 'l2_normalize keeps a zero vector');
SELECT is(binary_quantize('[1,-2,0,3]'::vector), B'1001', 'binary_quantize');
SELECT is(subvector('[1,2,3,4]'::vector, 2, 2)::text, '[2,3]', 'subvector');
SELECT is(('[1,2]'::vector + '[3,4]')::text, '[4,6]', '+');
SELECT is(('[1,2]'::vector - '[3,4]')::text, '[-2,-2]', '-');
SELECT is(('[1,2]'::vector * '[3,4]')::text, '[3,8]', '*');
SELECT is(('[1,2]'::vector || '[3]')::text, '[1,2,3]', '||');
SELECT is('  [ 1.5 ,2e2 ] '::vector::text, '[1.5,200]', 'input with whitespace and exponents');
SELECT is('[0.1,3.4028235e38,1e-45]'::vector::text, '[0.1,3.4028235e+38,1e-45]', 'shortest round-trip output');
SELECT is(vector_send('[1,-2]'), '\x000200003f800000c0000000'::bytea, 'binary layout: int16 dim, int16 unused, float4 big-endian');
SELECT is('{1.5,2}'::real[]::vector::text, '[1.5,2]', 'real[] to vector');
SELECT is('[1.5,2]'::vector::real[], '{1.5,2}'::real[], 'vector to real[]');
SELECT is(ARRAY[1,2]::vector::text, '[1,2]', 'integer[] to vector');
SELECT is(ARRAY[1.25,2]::numeric[]::vector::text, '[1.25,2]', 'numeric[] to vector');
SELECT is('{0.5,2}'::float8[]::vector::text, '[0.5,2]', 'double precision[] to vector');

-- ---------------------------------------------------------------- errors
SELECT throws_ok($$SELECT '[1,2'::vector$$, '22P02', 'invalid input syntax for type vector: "[1,2"', 'unterminated input');
SELECT throws_ok($$SELECT 'x'::vector$$, '22P02', 'invalid input syntax for type vector: "x"', 'input not starting with [');
SELECT throws_ok($$SELECT '[1]x'::vector$$, '22P02', 'invalid input syntax for type vector: "[1]x"', 'junk after ]');
SELECT throws_ok($$SELECT '[]'::vector$$, '22000', 'vector must have at least 1 dimension', 'empty vector');
SELECT throws_ok($$SELECT '[NaN]'::vector$$, '22000', 'NaN not allowed in vector', 'NaN');
SELECT throws_ok($$SELECT '[-inf]'::vector$$, '22000', 'infinite value not allowed in vector', 'infinity');
SELECT throws_ok($$SELECT '[1e40]'::vector$$, '22003', '"1e40" is out of range for type vector', 'out of range');
SELECT throws_ok($$SELECT array_fill(0, ARRAY[16001])::vector$$, '54000', 'vector cannot have more than 16000 dimensions', 'too many dimensions');
SELECT throws_ok($$SELECT '[1,2]'::vector(3)$$, '22000', 'expected 3 dimensions, not 2', 'typmod on input');
SELECT throws_ok($$SELECT '[1,2]'::vector::vector(1)$$, '22000', 'expected 1 dimensions, not 2', 'typmod on cast');
SELECT throws_ok($$SELECT '[1]'::vector(0)$$, '22023', 'dimensions for type vector must be at least 1', 'typmod 0');
SELECT throws_ok($$SELECT '[1]'::vector(16001)$$, '22023', 'dimensions for type vector cannot exceed 16000', 'typmod too large');
SELECT throws_ok($$SELECT '[1]'::vector(1,1)$$, '22023', 'invalid type modifier', 'two typmods');
SELECT throws_ok($$SELECT '[1,2]'::vector <-> '[1]'$$, '22000', 'different vector dimensions 2 and 1', 'dimension mismatch');
SELECT throws_ok($$SELECT '[3e38]'::vector + '[3e38]'$$, '22003', 'value out of range: overflow', 'overflow');
SELECT throws_ok($$SELECT '[1e-30]'::vector * '[1e-30]'$$, '22003', 'value out of range: underflow', 'underflow');
SELECT throws_ok($$SELECT '{{1}}'::real[]::vector$$, '22000', 'array must be 1-D', 'multi-dimensional array');
SELECT throws_ok($$SELECT '{1,NULL}'::real[]::vector$$, '22004', 'array must not contain nulls', 'array with NULL');
SELECT throws_ok($$SELECT subvector('[1,2]'::vector, 3, 1)$$, '22000', 'vector must have at least 1 dimension', 'subvector past the end');
SELECT throws_ok($$SELECT vector_avg('{}')$$, 'XX000', 'vector_avg: expected state array', 'bad aggregate state');

-- ---------------------------------------------------------------- typmod on assignment
CREATE TEMP TABLE t3 (v vector(3));
SELECT lives_ok($$INSERT INTO t3 VALUES ('[1,2,3]'), (ARRAY[4,5,6]), ('{7,8,9}'::real[])$$, 'assignment of the right dimensions');
SELECT throws_ok($$INSERT INTO t3 VALUES ('[1,2]')$$, '22000', 'expected 3 dimensions, not 2', 'typmod on INSERT');
SELECT throws_ok($$UPDATE t3 SET v = v || '[1]'$$, '22000', 'expected 3 dimensions, not 4', 'typmod on UPDATE');
SELECT throws_ok($$INSERT INTO t3 VALUES (ARRAY[1,2,3,4])$$, '22000', 'expected 3 dimensions, not 4', 'typmod on array assignment');

-- ---------------------------------------------------------------- ordering
SELECT results_eq(
  $$SELECT u.v::text AS s FROM unnest('{"[2]","[1,2,3]","[1,2]","[1,3]","[-5,9]"}'::vector[]) AS u(v) ORDER BY u.v$$,
  $$VALUES ('[-5,9]'), ('[1,2]'), ('[1,2,3]'), ('[1,3]'), ('[2]')$$,
  'btree order: element by element, then length');
SELECT ok('[1,2]'::vector < '[1,2,0]', 'a prefix sorts first');
SELECT ok('[0]'::vector = '[-0]', 'minus zero equals zero');
SELECT is(vector_cmp('[1,2]', '[1,1,9]'), 1, 'vector_cmp');
CREATE TEMP TABLE tb AS SELECT i, ARRAY[i % 5, i]::vector AS v FROM generate_series(1, 200) AS i;
CREATE INDEX ON tb (v);
SET LOCAL enable_seqscan = off;
SELECT results_eq($$SELECT i FROM tb WHERE v = '[3,13]'$$, $$VALUES (13)$$, 'btree index lookup');
SELECT results_eq($$SELECT i FROM tb ORDER BY v LIMIT 3$$, $$VALUES (5), (10), (15)$$, 'btree index order');
RESET enable_seqscan;

-- ---------------------------------------------------------------- aggregates
SELECT is(avg(v)::text, '[2,3]', 'avg') FROM unnest('{"[1,2]","[3,4]"}'::vector[]) AS v;
SELECT is(sum(v)::text, '[4,6]', 'sum') FROM unnest('{"[1,2]","[3,4]"}'::vector[]) AS v;
SELECT is(avg(v), NULL, 'avg of no rows is NULL') FROM unnest('{}'::vector[]) AS v;
SELECT is(avg(v)::text, '[2,100.5]', 'avg over many rows') FROM tb;
SELECT throws_ok($$SELECT avg(v) FROM unnest('{"[1,2]","[3]"}'::vector[]) AS v$$, '22000', 'expected 2 dimensions, not 1', 'avg of mixed dimensions');
SELECT throws_ok($$SELECT sum(v) FROM unnest('{"[1,2]","[3]"}'::vector[]) AS v$$, '22000', 'different vector dimensions 2 and 1', 'sum of mixed dimensions');

-- ---------------------------------------------------------------- large vectors
SELECT is(vector_dims(array_fill(1.5, ARRAY[16000])::vector), 16000, '16000 dimensions');
SELECT is((SELECT vector_norm(v) FROM (SELECT array_fill(2, ARRAY[10000])::vector AS v) AS s), 200::float8, 'norm of a large vector');
SELECT is(array_fill(1, ARRAY[4096])::vector <-> array_fill(0, ARRAY[4096])::vector, 64::float8, 'distance of large vectors');

SELECT * FROM finish();
ROLLBACK;
