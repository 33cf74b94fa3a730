-- vecgo index: build, insert, ordered scans for every operator class,
-- option and dimension errors, NULLs, zero vectors under cosine.
SET enable_seqscan = off;

-- Objects the extension installs for the index.
SELECT amname, amtype FROM pg_am WHERE amname = 'vecgo';
SELECT opc.opcname, opc.opcdefault, o.oprname, p.proname
  FROM pg_opclass opc
  JOIN pg_am am ON am.oid = opc.opcmethod AND am.amname = 'vecgo'
  JOIN pg_amop ao ON ao.amopfamily = opc.opcfamily
  JOIN pg_operator o ON o.oid = ao.amopopr
  JOIN pg_amproc ap ON ap.amprocfamily = opc.opcfamily
  JOIN pg_proc p ON p.oid = ap.amproc
 ORDER BY opc.opcname;
SELECT proname, pg_get_function_result(oid) FROM pg_proc
 WHERE proname LIKE 'vecgo\_%' ORDER BY proname;
-- The settings exist once the library is loaded (at server start when
-- preloaded, else at first use).
LOAD 'vecgo';
SELECT name, setting FROM pg_settings
 WHERE name IN ('vecgo.ef_search', 'vecgo.iterative_scan', 'vecgo.max_scan_tuples') ORDER BY name;

-- Small table, every operator class.
CREATE TABLE ib (id int, v vector(3));
INSERT INTO ib SELECT i, format('[%s,%s,%s]', i % 10, (i * 7) % 11, (i * 3) % 13)::vector
  FROM generate_series(1, 500) i;
INSERT INTO ib VALUES (501, NULL), (502, '[0,0,0]');

CREATE INDEX ib_l2 ON ib USING vecgo (v vector_l2_ops);
EXPLAIN (COSTS OFF) SELECT id FROM ib ORDER BY v <-> '[3,1,2]' LIMIT 5;
-- Rows in distance order; ties come in heap order.
SELECT id, round((v <-> '[3,1,2]')::numeric, 4) AS d FROM ib ORDER BY v <-> '[3,1,2]' LIMIT 8;
-- Rows as the index returns them, against the exact order.
CREATE FUNCTION ib_topk(q vector, k int, op text) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
  EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM ib ORDER BY v %s $1 LIMIT $2) s', op)
    INTO r USING q, k;
  RETURN r;
END $$;
CREATE FUNCTION ib_exact(q vector, k int, op text) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
  SET LOCAL enable_indexscan = off;
  SET LOCAL enable_seqscan = on;
  EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM ib ORDER BY v %s $1, id LIMIT $2) s', op)
    INTO r USING q, k;
  RETURN r;
END $$;
-- Distances of the index's rows equal the exact k-th distances.
CREATE FUNCTION ib_same(q vector, k int, op text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE a float8[]; b float8[];
BEGIN
  EXECUTE format('SELECT array_agg(d) FROM (SELECT v %s $1 AS d FROM ib WHERE id = ANY($2)) s', op)
    INTO a USING q, ib_topk(q, k, op);
  EXECUTE format('SELECT array_agg(d) FROM (SELECT v %s $1 AS d FROM ib WHERE id = ANY($2)) s', op)
    INTO b USING q, ib_exact(q, k, op);
  RETURN (SELECT array_agg(x ORDER BY x) FROM unnest(a) x) IS NOT DISTINCT FROM
         (SELECT array_agg(x ORDER BY x) FROM unnest(b) x);
END $$;
SELECT ib_same('[3,1,2]', 20, '<->') AS l2_same;
DROP INDEX ib_l2;

CREATE INDEX ib_ip ON ib USING vecgo (v vector_ip_ops);
EXPLAIN (COSTS OFF) SELECT id FROM ib ORDER BY v <#> '[1,2,3]' LIMIT 5;
SELECT ib_same('[1,2,3]', 20, '<#>') AS ip_same;
DROP INDEX ib_ip;

CREATE INDEX ib_cos ON ib USING vecgo (v vector_cosine_ops);
EXPLAIN (COSTS OFF) SELECT id FROM ib ORDER BY v <=> '[1,2,3]' LIMIT 5;
SELECT ib_same('[1,2,3]', 20, '<=>') AS cosine_same;
-- The zero vector (id 502) has no cosine distance: it comes last, as NaN.
SELECT id, v <=> '[1,2,3]' AS d FROM ib ORDER BY v <=> '[1,2,3]' LIMIT 600 OFFSET 498;
-- A zero query: every distance is NaN, every row still comes back once.
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM ib ORDER BY v <=> '[0,0,0]' LIMIT 1000) s;
DROP INDEX ib_cos;

CREATE INDEX ib_l1 ON ib USING vecgo (v vector_l1_ops);
EXPLAIN (COSTS OFF) SELECT id FROM ib ORDER BY v <+> '[1,2,3]' LIMIT 5;
SELECT ib_same('[1,2,3]', 20, '<+>') AS l1_same;
DROP INDEX ib_l1;

-- Default operator class is L2; inserts after the build go to the L0 log and
-- are found at once, NULLs are skipped.
CREATE INDEX ib_def ON ib USING vecgo (v);
INSERT INTO ib VALUES (600, '[3,1,2]'), (601, NULL);
SELECT id FROM ib ORDER BY v <-> '[3,1,2]' LIMIT 1;
SELECT count(*) FROM (SELECT id FROM ib ORDER BY v <-> '[3,1,2]' LIMIT 10000) s;
SELECT ib_same('[5,5,5]', 50, '<->') AS after_insert_same;
-- A transaction sees its own uncommitted rows through the index.
BEGIN;
INSERT INTO ib VALUES (700, '[100,100,100]');
SELECT id FROM ib ORDER BY v <-> '[100,100,100]' LIMIT 1;
ROLLBACK;
SELECT id FROM ib ORDER BY v <-> '[100,100,100]' LIMIT 1;
-- NULL query (a parameter, so the plan keeps the index): every indexed row
-- comes back, in no particular order.
SET plan_cache_mode = force_generic_plan;
PREPARE ibq(vector) AS SELECT count(*) FROM (SELECT id FROM ib ORDER BY v <-> $1 LIMIT 1000) s;
EXPLAIN (COSTS OFF) EXECUTE ibq(NULL);
EXECUTE ibq(NULL);
DEALLOCATE ibq;
RESET plan_cache_mode;
-- Query of the wrong dimension.
SELECT id FROM ib ORDER BY v <-> '[1,2]' LIMIT 1;
-- No ORDER BY: the index is never used.
EXPLAIN (COSTS OFF) SELECT id FROM ib WHERE id = 3;
-- ORDER BY without LIMIT: a sort is cheaper.
RESET enable_seqscan;
ANALYZE ib;
EXPLAIN (COSTS OFF) SELECT id FROM ib ORDER BY v <-> '[3,1,2]';
EXPLAIN (COSTS OFF) SELECT id FROM ib ORDER BY v <-> '[3,1,2]' LIMIT 5;
SET enable_seqscan = off;

-- Unconstrained column: the first vector fixes the dimensions.
CREATE TABLE ifree (id int, v vector);
CREATE INDEX ifree_idx ON ifree USING vecgo (v);
INSERT INTO ifree VALUES (1, '[1,2]');
INSERT INTO ifree VALUES (2, '[1,2,3]');
INSERT INTO ifree VALUES (3, '[2,2]');
SELECT id FROM ifree ORDER BY v <-> '[2,2]' LIMIT 2;
SELECT id FROM ifree ORDER BY v <-> '[2,2,2]' LIMIT 2;
DROP TABLE ifree;
CREATE TABLE ifree (id int, v vector);
INSERT INTO ifree VALUES (1, '[1,2]'), (2, '[1,2,3]');
CREATE INDEX ifree_idx ON ifree USING vecgo (v);
DROP TABLE ifree;

-- Options: every one accepted at its bounds, errors out of range.
CREATE INDEX ib_opt ON ib USING vecgo (v) WITH (m = 2, ef_construction = 4, memtable_size = 1,
  compaction_threshold = 2, diskann_threshold = 1000, graph_degree = 4, build_list_size = 10,
  alpha = 1.0, quantization = 'none');
DROP INDEX ib_opt;
CREATE INDEX ib_opt ON ib USING vecgo (v) WITH (m = 100, ef_construction = 1000,
  memtable_size = 1048576, compaction_threshold = 64, diskann_threshold = 2147483647,
  graph_degree = 256, build_list_size = 1000, alpha = 2.0, quantization = 'SQ8');
DROP INDEX ib_opt;
CREATE INDEX ib_opt ON ib USING vecgo (v) WITH (quantization = 'int4');
DROP INDEX ib_opt;
CREATE INDEX ib_opt ON ib USING vecgo (v) WITH (quantization = 'pq');
DROP INDEX ib_opt;
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (m = 1);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (m = 101);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (ef_construction = 3);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (memtable_size = 0);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (compaction_threshold = 1);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (compaction_threshold = 65);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (diskann_threshold = 999);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (graph_degree = 3);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (graph_degree = 257);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (build_list_size = 9);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (alpha = 0.9);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (alpha = 2.1);
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (quantization = 'fp16');
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (m = 'x');
CREATE INDEX ib_bad ON ib USING vecgo (v) WITH (nosuch = 1);
-- One column only, vector only.
CREATE INDEX ib_bad ON ib USING vecgo (v, v);
CREATE INDEX ib_bad ON ib USING vecgo (id);

-- Settings: ranges and the reserved prefix.
SET vecgo.ef_search = 0;
SET vecgo.ef_search = 1001;
SET vecgo.iterative_scan = 'sometimes';
SET vecgo.max_scan_tuples = 0;
SET vecgo.nosuch = 1;
SET vecgo.ef_search = 10;
SET vecgo.iterative_scan = off;
-- With iterative scan off a scan stops after ef_search rows.
SELECT count(*) FROM (SELECT id FROM ib ORDER BY v <-> '[3,1,2]' LIMIT 100) s;
SET vecgo.iterative_scan = strict_order;
SET vecgo.max_scan_tuples = 25;
SELECT count(*) FROM (SELECT id FROM ib ORDER BY v <-> '[3,1,2]' LIMIT 100) s;
RESET vecgo.ef_search;
RESET vecgo.iterative_scan;
RESET vecgo.max_scan_tuples;

DROP TABLE ib;
DROP FUNCTION ib_topk, ib_exact, ib_same;
