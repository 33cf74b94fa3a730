-- sparsevec casts: to and from vector, from arrays, and their errors.

-- vector to sparsevec (implicit): the non-zero elements
SELECT '[0,1.5,0,3.5,0]'::vector::sparsevec, '[0,1.5,0,3.5,0]'::vector::sparsevec(5);
SELECT '[0,0]'::vector::sparsevec AS all_zero, '[-0,1]'::vector::sparsevec AS minus_zero_dropped;
SELECT '[0,1.5,0,3.5,0]'::vector::sparsevec(4);
SELECT vector_to_sparsevec('[1,0,2]', -1, false), vector_to_sparsevec('[1,0,2]', 3, true);
SELECT l2_norm(array_fill(1, ARRAY[16000])::vector::sparsevec) AS nnz_16000;
-- the cast applies implicitly: with a sparsevec, a vector operand is cast
SELECT '[3,0,4]'::vector <-> '{1:3}/3'::sparsevec AS vector_operand;
-- ... but not the other way (sparsevec to vector is an assignment cast)
SELECT '[1]'::vector + '{1:1}/1'::sparsevec;

-- sparsevec to vector (assignment): the dense form
SELECT '{2:1.5,4:3.5}/5'::sparsevec::vector, '{2:1.5,4:3.5}/5'::sparsevec::vector(5), '{}/3'::sparsevec::vector;
SELECT '{2:1.5,4:3.5}/5'::sparsevec::vector(4);
SELECT sparsevec_to_vector('{1:1}/2', -1, false);
SELECT vector_dims(('{16000:1}/16000')::sparsevec::vector);
SELECT '{}/16001'::sparsevec::vector;
SELECT '{1:1}/1000000000'::sparsevec::vector;
CREATE TABLE tv (v vector(3));
INSERT INTO tv VALUES ('{1:1,3:3}/3'::sparsevec);
INSERT INTO tv VALUES ('{1:1}/2'::sparsevec);
SELECT * FROM tv;
DROP TABLE tv;
-- round trips
SELECT v::sparsevec::vector = v AS dense_round_trip, s::vector::sparsevec = s AS sparse_round_trip
FROM (VALUES ('[0,1e-45,-3.4028235e38,0,7]'::vector, '{2:1e-45,3:-3.4028235e38,5:7}/5'::sparsevec)) AS t(v, s);

-- arrays to sparsevec (assignment)
SELECT ARRAY[1,0,2,0,3,0]::sparsevec AS from_int4, ARRAY[1.0,0.0,2.0,0.0,3.0,0.0]::sparsevec AS from_numeric;
SELECT ARRAY[1,0,2,0,3,0]::float4[]::sparsevec AS from_float4, ARRAY[1,0,2,0,3,0]::float8[]::sparsevec AS from_float8;
SELECT ARRAY[1,0,2,0,3,0]::numeric[]::sparsevec;
SELECT '{1,0,2,0,3,0}'::real[]::sparsevec, '{1,0,2,0,3,0}'::real[]::sparsevec(6);
SELECT '{0,0,0}'::int[]::sparsevec AS all_zero, '{-0,0.1}'::float8[]::sparsevec AS minus_zero,
       '{1e-50,1}'::float8[]::sparsevec AS underflow_dropped, '{0.1}'::float8[]::sparsevec AS rounded;
SELECT array_to_sparsevec('{1,2}'::real[], 2, true), array_to_sparsevec('{0,5}'::int[], -1, false);
SELECT '{1,0,2,0,3,0}'::real[]::sparsevec(5);
SELECT '{NULL}'::real[]::sparsevec;
SELECT '{1,NULL}'::float8[]::sparsevec;
SELECT '{NaN}'::real[]::sparsevec;
SELECT '{Infinity}'::real[]::sparsevec;
SELECT '{-Infinity}'::real[]::sparsevec;
SELECT '{1e39}'::float8[]::sparsevec;
SELECT '{NaN}'::numeric[]::sparsevec;
SELECT '{1e39}'::numeric[]::sparsevec;
SELECT '{}'::real[]::sparsevec;
SELECT '{{1}}'::real[]::sparsevec;
SELECT '{{1,2},{3,4}}'::int[]::sparsevec;
-- 16000 non-zero elements at most, any number of zeros
SELECT array_agg(n)::sparsevec FROM generate_series(1, 16001) n;
SELECT l2_norm(array_agg(n)::sparsevec) FROM generate_series(1, 16000) n;
SELECT l2_norm(array_agg(CASE WHEN n % 1000 = 0 THEN 1 ELSE 0 END)::sparsevec) FROM generate_series(1, 100000) n;
-- the limit comes before the element checks
SELECT array_fill('NaN'::real, ARRAY[16001])::sparsevec;
CREATE TABLE ta (s sparsevec(3));
INSERT INTO ta VALUES (ARRAY[1,0,3]), ('{0.5,0,0}'::real[]);
INSERT INTO ta VALUES (ARRAY[1,0]);
SELECT * FROM ta;
DROP TABLE ta;

-- the casts and their contexts (e = explicit, a = assignment, i = implicit)
SELECT castsource::regtype, casttarget::regtype, castfunc::regprocedure, castcontext
FROM pg_cast WHERE castsource = 'sparsevec'::regtype OR casttarget = 'sparsevec'::regtype
ORDER BY castsource::regtype::text, casttarget::regtype::text;
