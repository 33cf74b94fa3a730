-- avg(vector) and sum(vector), serial and parallel; their support functions.

CREATE TABLE agg (g int, v vector(3));
INSERT INTO agg VALUES (1, '[1,2,3]'), (1, '[3,4,5]'), (2, '[0.5,0.5,0.5]'), (2, NULL), (3, NULL);
SELECT g, avg(v), sum(v), count(v) FROM agg GROUP BY g ORDER BY g;
SELECT avg(v), sum(v) FROM agg;
SELECT avg(v), sum(v) FROM agg WHERE false;
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1]')) AS t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1]')) AS t(v);
SELECT avg(v) AS avg_in_double FROM (VALUES ('[3e38]'::vector), ('[3e38]')) AS t(v);
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) AS t(v);
SELECT avg(v) AS rounded_to_float FROM (VALUES ('[1,1]'::vector), ('[2,2]'), ('[4,4]')) AS t(v);

-- parallel plans combine partial states
CREATE TABLE big AS SELECT i, ARRAY[i % 7, i % 11, 1]::vector(3) AS v FROM generate_series(1, 30000) AS i;
ANALYZE big;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM big;
SELECT avg(v), sum(v) FROM big;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT avg(v), sum(v) FROM big AS serial_result;
DROP TABLE big, agg;

-- state functions: state is {count, sum_1, ..., sum_n}
SELECT vector_accum('{0}', '[1,2]');
SELECT vector_accum(vector_accum('{0}', '[1,2]'), '[3,4]');
SELECT vector_accum('{2,4,6}', '[1,2,3]');
SELECT vector_accum('{1,1e308}', '[1e38]') IS NOT NULL AS large_but_finite;
SELECT vector_accum('{}', '[1]');
SELECT vector_accum('{NULL,1}', '[1]');
SELECT vector_accum('{{0,1}}', '[1]');
SELECT vector_combine('{0}', '{0}'), vector_combine('{0}', '{2,4,6}'), vector_combine('{2,4,6}', '{0}');
SELECT vector_combine('{2,4,6}', '{1,1,1}');
SELECT vector_combine('{1,1}', '{1,1,1}');
SELECT vector_combine('{1,1.7e308}', '{1,1.7e308}');
SELECT vector_combine('{}', '{0}');
SELECT vector_combine('{0}', '{1,NULL}');
SELECT vector_avg('{2,4,6}'), vector_avg('{0}') IS NULL AS no_rows;
SELECT vector_avg('{1}');
SELECT vector_avg('{1,1e300}');
SELECT vector_avg('{}');
SELECT vector_avg(array_prepend(1::float8, array_agg(i::float8))) FROM generate_series(1, 16001) AS i;

-- aggregate definitions
SELECT aggfnoid::regprocedure, aggtransfn, aggfinalfn, aggcombinefn, aggtranstype::regtype, agginitval
FROM pg_aggregate WHERE aggfnoid IN ('avg(vector)'::regprocedure, 'sum(vector)'::regprocedure) ORDER BY aggfnoid::regprocedure::text;
SELECT proname, proparallel FROM pg_proc WHERE oid IN ('avg(vector)'::regprocedure, 'sum(vector)'::regprocedure) ORDER BY 1;
