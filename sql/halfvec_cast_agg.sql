-- halfvec(n) type modifier, casts to and from vector and arrays, and the
-- avg / sum aggregates.

-- typmod on input
SELECT '[1,2,3]'::halfvec(3);
SELECT '[1,2]'::halfvec(3);
SELECT '[1]'::halfvec(16000);
-- invalid modifiers
SELECT '[1]'::halfvec(0);
SELECT '[1]'::halfvec(-5);
SELECT '[1]'::halfvec(16001);
SELECT '[1]'::halfvec(1, 2);
SELECT '[1]'::halfvec('x');
CREATE TABLE bad (v halfvec(0));
CREATE TABLE bad (v halfvec(16001));
-- typmod on cast and on assignment
SELECT '[1,2,3]'::halfvec::halfvec(3);
SELECT '[1,2,3]'::halfvec::halfvec(2);
SELECT '{"[1,2,3]"}'::halfvec(2)[];
CREATE TABLE tm (v halfvec(3));
INSERT INTO tm VALUES ('[1,2,3]');
INSERT INTO tm VALUES ('[1,2]');
INSERT INTO tm VALUES ('[1,2,3]'::halfvec || '[4]');
UPDATE tm SET v = v + '[1,1,1]';
INSERT INTO tm VALUES (ARRAY[7,8,9]);
INSERT INTO tm VALUES (ARRAY[7,8]);
INSERT INTO tm VALUES (ARRAY[1.5,2.5,3.5]::numeric[]);
INSERT INTO tm VALUES ('{0.25,0.5,0.75}'::real[]);
INSERT INTO tm VALUES ('{0.125,1e-3,-7}'::float8[]);
INSERT INTO tm VALUES ('[0.1,0.2,0.3]'::vector);
INSERT INTO tm VALUES (NULL);
SELECT v FROM tm ORDER BY v NULLS FIRST;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'tm'::regclass AND attname = 'v';
DROP TABLE tm;

-- halfvec <-> vector
SELECT '[0.1,-2,65504]'::vector::halfvec, '[0.1,-2,65504]'::halfvec::vector;
SELECT '[1,2,3]'::vector::halfvec(3), '[1,2,3]'::halfvec::vector(3);
SELECT '[1,2,3]'::vector::halfvec(2);
SELECT '[1,2,3]'::halfvec::vector(2);
SELECT '[1,70000]'::vector::halfvec;
SELECT '[-65520]'::vector::halfvec;
SELECT '[1e-8,3e-8]'::vector::halfvec AS underflow_is_fine;
SELECT vector_dims(array_fill(1, ARRAY[16000])::vector::halfvec);
-- the vector -> halfvec cast is implicit, halfvec -> vector on assignment
CREATE TABLE cv (h halfvec, v vector);
INSERT INTO cv VALUES ('[1,2]'::vector, '[3,4]'::halfvec);
SELECT h, v, pg_typeof(h), pg_typeof(v) FROM cv;
SELECT '[1,2]'::halfvec <-> '[3,4]'::vector AS implicit_to_halfvec;
DROP TABLE cv;
SELECT castsource::regtype, casttarget::regtype, castfunc::regproc, castcontext
FROM pg_cast WHERE castsource = 'halfvec'::regtype OR casttarget = 'halfvec'::regtype ORDER BY 1::text, 2::text;

-- arrays -> halfvec
SELECT ARRAY[1,2,3]::halfvec, ARRAY[1.5,-2.25]::real[]::halfvec, ARRAY[0.1,1e-3]::float8[]::halfvec,
       ARRAY[1.5,2.5]::numeric[]::halfvec;
SELECT ARRAY[65504,-65504]::int[]::halfvec, ARRAY[2049]::int[]::halfvec AS int_rounded;
SELECT ARRAY[1,2,3]::halfvec(3), '{1,2,3}'::real[]::halfvec(3);
SELECT '{1,2,3}'::real[]::halfvec(2);
SELECT ARRAY[65520]::int[]::halfvec;
SELECT ARRAY[1e5]::real[]::halfvec;
SELECT ARRAY[-70000.5]::float8[]::halfvec;
SELECT ARRAY[1e39]::numeric[]::halfvec;
SELECT ARRAY[1e300]::float8[]::halfvec;
SELECT ARRAY['NaN']::real[]::halfvec;
SELECT ARRAY['Infinity']::float8[]::halfvec;
SELECT ARRAY['NaN']::numeric[]::halfvec;
SELECT ARRAY[[1,2],[3,4]]::halfvec;
SELECT ARRAY[1,NULL]::halfvec;
SELECT '{}'::real[]::halfvec;
SELECT array_fill(1, ARRAY[16001])::halfvec;
SELECT '{1,2}'::bigint[]::halfvec;
SELECT array_to_halfvec('{1,2}'::int[], -1, false);
SELECT array_to_halfvec('{1,2}'::smallint[]::int[], 2, true);
-- halfvec -> real[]
SELECT '[0.1,-2,65504,5.9604645e-8]'::halfvec::real[];
SELECT halfvec_to_float4('[1,2]', -1, false);
SELECT ('[1,2,3]'::halfvec::real[]::halfvec) = '[1,2,3]' AS round_trip;
SELECT '[1,2]'::halfvec::float8[];
SELECT '[1,2]'::halfvec::int[];

-- avg(halfvec) and sum(halfvec), serial and parallel; their support functions
CREATE TABLE agg (g int, v halfvec(3));
INSERT INTO agg VALUES (1, '[1,2,3]'), (1, '[3,4,5]'), (2, '[0.5,0.5,0.5]'), (2, NULL), (3, NULL);
SELECT g, avg(v), sum(v), count(v) FROM agg GROUP BY g ORDER BY g;
SELECT avg(v), sum(v) FROM agg;
SELECT avg(v), sum(v) FROM agg WHERE false;
SELECT avg(v) FROM (VALUES ('[1,2]'::halfvec), ('[1]')) AS t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::halfvec), ('[1]')) AS t(v);
SELECT avg(v) AS avg_in_double FROM (VALUES ('[65504]'::halfvec), ('[65504]')) AS t(v);
SELECT sum(v) FROM (VALUES ('[65504]'::halfvec), ('[65504]')) AS t(v);
SELECT avg(v) AS rounded_to_half FROM (VALUES ('[1,1]'::halfvec), ('[2,2]'), ('[4,4]')) AS t(v);
SELECT avg(v), sum(v) FROM unnest(ARRAY['[1,2,3]'::halfvec, '[3,5,7]', NULL]) AS v;

CREATE TABLE big AS SELECT i, ARRAY[i % 7, i % 11, 1]::halfvec(3) AS v FROM generate_series(1, 30000) AS i;
ANALYZE big;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT avg(v) FROM big;
SELECT avg(v) FROM big;
SELECT sum(v) FROM big WHERE i <= 60;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT avg(v) AS serial_result FROM big;
SELECT sum(v) FROM big;
DROP TABLE big, agg;

-- state functions: state is {count, sum_1, ..., sum_n}
SELECT halfvec_accum('{0}', '[1,2]');
SELECT halfvec_accum(halfvec_accum('{0}', '[1,2]'), '[0.1,65504]');
SELECT halfvec_accum('{2,4,6}', '[1,2,3]');
SELECT halfvec_accum('{2,4,6}', '[1,2]');
SELECT halfvec_accum('{}', '[1]');
SELECT halfvec_accum('{NULL,1}', '[1]');
SELECT halfvec_accum('{{0,1}}', '[1]');
SELECT halfvec_accum('{1,1.7976931348623157e308}', '[65504]');
SELECT halfvec_combine('{0}', '{2,4,6}'), halfvec_combine('{2,4,6}', '{1,1,1}');
SELECT halfvec_combine('{1,1}', '{1,1,1}');
SELECT halfvec_avg('{2,4,6}'), halfvec_avg('{0}') IS NULL AS no_rows, halfvec_avg('{3,0.3,-1}');
SELECT halfvec_avg('{1}');
SELECT halfvec_avg('{1,65520}');
SELECT halfvec_avg('{1,1e300}');
SELECT halfvec_avg('{}');
SELECT halfvec_avg('{{2,2,4,6}}');
SELECT halfvec_avg(array_prepend(1::float8, array_agg(i::float8))) FROM generate_series(1, 16001) AS i;

-- aggregate definitions
SELECT aggfnoid::regprocedure, aggtransfn, aggfinalfn, aggcombinefn, aggtranstype::regtype, agginitval
FROM pg_aggregate WHERE aggfnoid IN ('avg(halfvec)'::regprocedure, 'sum(halfvec)'::regprocedure) ORDER BY aggfnoid::regprocedure::text;
SELECT proname, proparallel FROM pg_proc WHERE oid IN ('avg(halfvec)'::regprocedure, 'sum(halfvec)'::regprocedure) ORDER BY 1;
