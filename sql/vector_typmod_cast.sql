-- vector(n): the type modifier on input, cast and assignment; array casts.

-- typmod on input
SELECT '[1,2,3]'::vector(3);
SELECT '[1,2]'::vector(3);
SELECT '[1]'::vector(16000);
-- invalid modifiers
SELECT '[1]'::vector(0);
SELECT '[1]'::vector(-5);
SELECT '[1]'::vector(16001);
SELECT '[1]'::vector(1, 2);
SELECT '[1]'::vector('x');
CREATE TABLE bad (v vector(0));
CREATE TABLE bad (v vector(16001));

-- typmod on cast (vector to vector(n))
SELECT '[1,2,3]'::vector::vector(3);
SELECT '[1,2,3]'::vector::vector(2);
SELECT CAST('[1,2,3]'::vector AS vector(4));

-- typmod on assignment
CREATE TABLE tm (v vector(3));
INSERT INTO tm VALUES ('[1,2,3]');
INSERT INTO tm VALUES ('[1,2]');
INSERT INTO tm VALUES ('[1,2,3]'::vector || '[4]');
INSERT INTO tm SELECT '[4,5,6,7]'::vector;
UPDATE tm SET v = '[1,2,3,4]';
UPDATE tm SET v = v + '[1,1,1]';
INSERT INTO tm VALUES (ARRAY[7,8,9]);
INSERT INTO tm VALUES (ARRAY[7,8]);
INSERT INTO tm VALUES (ARRAY[1.5,2.5,3.5]::numeric[]);
INSERT INTO tm VALUES ('{0.25,0.5,0.75}'::real[]);
INSERT INTO tm VALUES ('{0.125,1e-3,-7}'::float8[]);
INSERT INTO tm VALUES (NULL);
SELECT v FROM tm ORDER BY v NULLS FIRST;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'tm'::regclass AND attname = 'v';
-- a column of vector(n)[] checks every element
CREATE TABLE tma (v vector(2)[]);
INSERT INTO tma VALUES ('{"[1,2]","[3,4]"}');
INSERT INTO tma VALUES ('{"[1,2]","[3,4,5]"}');
DROP TABLE tm, tma;

-- arrays to vector
SELECT ARRAY[1,2,3]::vector AS from_int4;
SELECT ARRAY[1.5,2.25,3]::vector AS from_numeric;
SELECT '{0.1,0.2}'::real[]::vector AS from_float4;
SELECT '{0.1,0.2}'::float8[]::vector AS from_float8_rounded;
SELECT '{1,2,3}'::int4[]::vector(3), '{1,2,3}'::float8[]::vector(3);
SELECT array_to_vector('{1,2}'::real[], 2, true), array_to_vector('{5}'::int[], -1, false);
SELECT '{1,2,3}'::int4[]::vector(2);
SELECT '{1,2,3}'::real[]::vector(4);
SELECT '{}'::real[]::vector;
SELECT '{{1,2},{3,4}}'::real[]::vector;
SELECT '{1,NULL}'::float8[]::vector;
SELECT '{NaN}'::float8[]::vector;
SELECT '{Infinity}'::real[]::vector;
SELECT '{-Infinity}'::float8[]::vector;
SELECT '{1e39}'::float8[]::vector;
SELECT '{1e-50}'::float8[]::vector AS float8_underflow_to_zero;
SELECT '{NaN}'::numeric[]::vector;
SELECT '{1e39}'::numeric[]::vector;
SELECT array_agg(i)::vector IS NOT NULL AS dims_16000 FROM generate_series(1, 16000) AS i;
SELECT array_agg(i)::vector FROM generate_series(1, 16001) AS i;
SELECT '{1,2}'::bigint[]::vector;
SELECT array_to_vector('{1,2}'::real[], 3, true);

-- vector to arrays
SELECT '[1,2.5,-3]'::vector::real[];
SELECT '[0.1,1e-45]'::vector::float8[] AS exact_widening;
SELECT vector_to_float4('[1,2]', -1, false), vector_to_float8('[1,2]', -1, false);
SELECT array_length('[1,2,3]'::vector::real[], 1), pg_typeof('[1]'::vector::real[]);
-- vector to real[] is implicit: a function taking real[] accepts a vector
CREATE FUNCTION pg_temp.first_element(a real[]) RETURNS real LANGUAGE sql AS 'SELECT a[1]';
SELECT pg_temp.first_element('[7.5,2,3]'::vector) AS implicit_to_real_array;
-- float8[] is explicit only
SELECT array_length('[1,2,3]'::vector::float8[], 1);

-- the casts as pgvector declares them (e = explicit, a = assignment, i = implicit)
SELECT castsource::regtype, casttarget::regtype, castcontext, castfunc::regprocedure
FROM pg_cast
WHERE castsource = 'vector'::regtype OR casttarget = 'vector'::regtype
ORDER BY castsource::regtype::text, casttarget::regtype::text;
