-- vecgo index maintenance: tiers (L0 log, Flat segments), flush, compaction,
-- VACUUM tombstones, verify, and the statements every index must survive.
SET enable_seqscan = off;
-- The results of each manual step are checked: VACUUM does not seal or
-- compact meanwhile, as it does when the compaction worker is not running.
SET vecgo.vacuum_compaction = off;

CREATE TABLE im (id int, cat int, v vector(4));
INSERT INTO im SELECT i, i % 100,
  format('[%s,%s,%s,%s]', i % 17, (i * 5) % 23, (i * 11) % 29, i % 7)::vector
  FROM generate_series(1, 2000) i;
CREATE INDEX im_idx ON im USING vecgo (v) WITH (compaction_threshold = 2);
-- After the build: one Flat segment and an empty L0 log.
SELECT segment, kind, rows, deleted, pages, bytes, quantization FROM vecgo_index_info('im_idx');
SELECT vecgo_verify('im_idx');

-- Inserts land in the L0 log; flush seals it into a Flat segment.
INSERT INTO im SELECT i, i % 100,
  format('[%s,%s,%s,%s]', i % 17, (i * 5) % 23, (i * 11) % 29, i % 7)::vector
  FROM generate_series(2001, 3500) i;
SELECT segment, kind, rows, deleted, pages FROM vecgo_index_info('im_idx');
SELECT vecgo_flush('im_idx');
SELECT vecgo_flush('im_idx');  -- nothing left to seal
SELECT segment, kind, rows, deleted, pages FROM vecgo_index_info('im_idx');
SELECT vecgo_verify('im_idx');

-- Exact answers across tiers: the index returns what a sort returns.
CREATE FUNCTION im_check(q vector, k int) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE a float8[]; b float8[];
BEGIN
  SELECT array_agg(d) INTO a FROM (SELECT v <-> q AS d FROM im ORDER BY v <-> q LIMIT k) s;
  SET LOCAL enable_indexscan = off;
  SET LOCAL enable_seqscan = on;
  SELECT array_agg(d) INTO b FROM (SELECT v <-> q AS d FROM im ORDER BY v <-> q LIMIT k) s;
  RETURN a = b;
END $$;
SELECT im_check('[3,4,5,6]', 100);

-- Iterative scan: a 1% filter still fills the LIMIT, in exact order.
EXPLAIN (COSTS OFF) SELECT id FROM im WHERE cat = 7 ORDER BY v <-> '[3,4,5,6]' LIMIT 10;
SELECT count(*) FROM (SELECT id FROM im WHERE cat = 7 ORDER BY v <-> '[3,4,5,6]' LIMIT 10) s;
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM im WHERE cat = 7
                        ORDER BY v <-> '[3,4,5,6]', id LIMIT 10) e) AS same_rows
  FROM (SELECT id FROM im WHERE cat = 7 ORDER BY v <-> '[3,4,5,6]' LIMIT 10) s;
SET vecgo.iterative_scan = off;
SET vecgo.ef_search = 100;
SELECT count(*) FROM (SELECT id FROM im WHERE cat = 7 ORDER BY v <-> '[3,4,5,6]' LIMIT 10) s;
RESET vecgo.iterative_scan;
RESET vecgo.ef_search;

-- Compaction: the two segments share a size tier (threshold 2) and merge.
SELECT vecgo_compact('im_idx');
SELECT segment, kind, rows, deleted, pages FROM vecgo_index_info('im_idx');
SELECT vecgo_verify('im_idx');
SELECT im_check('[3,4,5,6]', 100);
SELECT vecgo_compact('im_idx');  -- nothing to do

-- VACUUM marks dead rows in every tier; they are never returned again.
INSERT INTO im VALUES (5000, 1, '[3,4,5,6]');
DELETE FROM im WHERE id % 4 = 0 OR id = 5000;
VACUUM im;
SELECT segment, kind, rows, deleted, pages FROM vecgo_index_info('im_idx');
SELECT vecgo_verify('im_idx');
SELECT count(*) FROM (SELECT id FROM im ORDER BY v <-> '[3,4,5,6]' LIMIT 5000) s;
SELECT im_check('[3,4,5,6]', 100);

-- A segment with a fifth or more of its rows deleted is rewritten on its
-- own, without them.
SELECT vecgo_compact('im_idx');
SELECT segment, kind, rows, deleted, pages FROM vecgo_index_info('im_idx');
SELECT vecgo_verify('im_idx');
SELECT im_check('[1,1,1,1]', 200);
-- Replaced pages are freed once no snapshot can see the old manifest, then
-- reused: the index stops growing under churn.
SELECT pg_relation_size('im_idx') AS size_before \gset
DELETE FROM im WHERE id IN (SELECT id FROM im ORDER BY id LIMIT 1000);
INSERT INTO im SELECT g + 10000, g % 100, format('[%s,1,2,3]', g % 13)::vector FROM generate_series(1, 1000) g;
VACUUM im;
SELECT vecgo_flush('im_idx') AS flushed, vecgo_compact('im_idx') AS replaced;
SELECT txid_current() > 0 AS new_xid;  -- the horizon moves past the switch
VACUUM im;  -- frees the replaced pages
SELECT sum(pages) AS live_pages, pg_relation_size('im_idx') / 8192 AS file_pages FROM vecgo_index_info('im_idx');
DELETE FROM im WHERE id IN (SELECT id FROM im ORDER BY id LIMIT 1000);
INSERT INTO im SELECT g + 20000, g % 100, format('[%s,1,2,3]', g % 13)::vector FROM generate_series(1, 1000) g;
VACUUM im;
SELECT vecgo_flush('im_idx') AS flushed, vecgo_compact('im_idx') AS replaced;
SELECT txid_current() > 0 AS new_xid;  -- the horizon moves past the switch
VACUUM im;  -- frees the replaced pages
SELECT sum(pages) AS live_pages, pg_relation_size('im_idx') / 8192 AS file_pages FROM vecgo_index_info('im_idx');
DELETE FROM im WHERE id IN (SELECT id FROM im ORDER BY id LIMIT 1000);
INSERT INTO im SELECT g + 30000, g % 100, format('[%s,1,2,3]', g % 13)::vector FROM generate_series(1, 1000) g;
VACUUM im;
SELECT vecgo_flush('im_idx') AS flushed, vecgo_compact('im_idx') AS replaced;
SELECT txid_current() > 0 AS new_xid;  -- the horizon moves past the switch
VACUUM im;  -- frees the replaced pages
SELECT sum(pages) AS live_pages, pg_relation_size('im_idx') / 8192 AS file_pages FROM vecgo_index_info('im_idx');
DELETE FROM im WHERE id IN (SELECT id FROM im ORDER BY id LIMIT 1000);
INSERT INTO im SELECT g + 40000, g % 100, format('[%s,1,2,3]', g % 13)::vector FROM generate_series(1, 1000) g;
VACUUM im;
SELECT vecgo_flush('im_idx') AS flushed, vecgo_compact('im_idx') AS replaced;
SELECT txid_current() > 0 AS new_xid;  -- the horizon moves past the switch
VACUUM im;  -- frees the replaced pages
SELECT sum(pages) AS live_pages, pg_relation_size('im_idx') / 8192 AS file_pages FROM vecgo_index_info('im_idx');
SELECT vecgo_verify('im_idx');
SELECT pg_relation_size('im_idx') <= :size_before + 8192 * 4 AS no_growth;
SELECT im_check('[1,1,1,1]', 200);

-- Automatic seal: the L0 log is sealed once it reaches memtable_size.
CREATE TABLE iseal (id int, v vector(1000));
CREATE INDEX iseal_idx ON iseal USING vecgo (v) WITH (memtable_size = 1);
INSERT INTO iseal SELECT i, array_fill(i::real, ARRAY[1000])::vector FROM generate_series(1, 300) i;
SELECT kind, rows FROM vecgo_index_info('iseal_idx') ORDER BY segment;
SELECT vecgo_verify('iseal_idx');
SELECT id FROM iseal ORDER BY v <-> array_fill(150.2::real, ARRAY[1000])::vector LIMIT 3;
DROP TABLE iseal;

-- 16000 dimensions: records span several pages.
CREATE TABLE ibig (id int, v vector(16000));
INSERT INTO ibig SELECT i, array_fill((i % 5)::real, ARRAY[16000])::vector FROM generate_series(1, 12) i;
CREATE INDEX ibig_idx ON ibig USING vecgo (v vector_l1_ops);
INSERT INTO ibig SELECT i, array_fill((i % 5 + 0.5)::real, ARRAY[16000])::vector FROM generate_series(13, 20) i;
SELECT id, round((v <+> array_fill(2.4::real, ARRAY[16000])::vector)::numeric) AS d
  FROM ibig ORDER BY v <+> array_fill(2.4::real, ARRAY[16000])::vector LIMIT 4;
SELECT kind, rows, pages FROM vecgo_index_info('ibig_idx') ORDER BY segment;
DELETE FROM ibig WHERE id IN (14, 17);
VACUUM ibig;
SELECT vecgo_flush('ibig_idx');
SELECT vecgo_verify('ibig_idx');
SELECT id FROM ibig ORDER BY v <+> array_fill(2.4::real, ARRAY[16000])::vector LIMIT 4;
DROP TABLE ibig;

-- A build larger than maintenance_work_mem writes several segments.
CREATE TABLE imem (id int, v vector(256));
INSERT INTO imem SELECT i, array_fill((i % 101)::real, ARRAY[256])::vector FROM generate_series(1, 3000) i;
SET maintenance_work_mem = '1MB';
CREATE INDEX imem_idx ON imem USING vecgo (v);
RESET maintenance_work_mem;
SELECT kind, rows FROM vecgo_index_info('imem_idx') ORDER BY segment;
SELECT vecgo_verify('imem_idx');
SELECT count(*) FROM (SELECT id FROM imem ORDER BY v <-> array_fill(50::real, ARRAY[256])::vector LIMIT 5000) s;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM imem ORDER BY v <-> array_fill(50::real, ARRAY[256])::vector LIMIT 29) s;
DROP TABLE imem;

-- Builds at or above diskann_threshold rows write a DiskANN segment: a
-- Vamana graph searched by beam, results reranked with full vectors.
CREATE TABLE idann (id int, v vector(8));
INSERT INTO idann SELECT i, (SELECT array_agg(sin(i * 0.7 + j * 1.9 + (i % 11) * j)::real)
  FROM generate_series(1, 8) j)::vector FROM generate_series(1, 3000) i;
CREATE INDEX idann_idx ON idann USING vecgo (v vector_l2_ops) WITH (diskann_threshold = 1000, quantization = 'sq8');
SELECT kind, rows, deleted, quantization FROM vecgo_index_info('idann_idx') ORDER BY segment;
SELECT vecgo_verify('idann_idx');
SELECT id FROM idann ORDER BY v <-> (SELECT v FROM idann WHERE id = 1234) LIMIT 1;
-- Iterative scan walks the whole graph when asked to.
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM idann ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 5000) s;
-- Deleted rows become tombstones in the segment's deletion bitmap.
DELETE FROM idann WHERE id % 3 = 0;
VACUUM idann;
SELECT kind, rows, deleted FROM vecgo_index_info('idann_idx') ORDER BY segment;
SELECT vecgo_verify('idann_idx');
SELECT count(*) FROM (SELECT id FROM idann ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 5000) s WHERE id % 3 = 0;
SELECT count(*) FROM (SELECT id FROM idann ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 5000) s;
-- A DiskANN segment with a fifth or more of its rows deleted is rewritten
-- by compaction: a new graph over its live rows, the tombstones gone.
SELECT vecgo_compact('idann_idx');
SELECT kind, rows, deleted, quantization FROM vecgo_index_info('idann_idx') ORDER BY segment;
SELECT vecgo_verify('idann_idx');
SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE id % 3 = 0) FROM (SELECT id FROM idann ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 5000) s;
SELECT id FROM idann ORDER BY v <-> (SELECT v FROM idann WHERE id = 1234) LIMIT 1;
-- Nothing left to do: a second compaction replaces nothing.
SELECT vecgo_compact('idann_idx');
DROP TABLE idann;

-- Compaction of Flat segments whose merged size reaches diskann_threshold
-- writes a DiskANN segment, in the same order as an exact scan.
CREATE TABLE icd (id int, v vector(8));
CREATE INDEX icd_idx ON icd USING vecgo (v vector_l2_ops) WITH (diskann_threshold = 1000, compaction_threshold = 2);
INSERT INTO icd SELECT i, (SELECT array_agg(sin(i * 0.3 + j * 1.7 + (i % 7) * j)::real)
  FROM generate_series(1, 8) j)::vector FROM generate_series(1, 600) i;
SELECT vecgo_flush('icd_idx');
INSERT INTO icd SELECT i, (SELECT array_agg(sin(i * 0.3 + j * 1.7 + (i % 7) * j)::real)
  FROM generate_series(1, 8) j)::vector FROM generate_series(601, 1200) i;
SELECT vecgo_flush('icd_idx');
SELECT kind, rows, deleted FROM vecgo_index_info('icd_idx') ORDER BY segment;
SELECT vecgo_compact('icd_idx');
SELECT kind, rows, deleted, quantization FROM vecgo_index_info('icd_idx') ORDER BY segment;
SELECT vecgo_verify('icd_idx');
CREATE FUNCTION icd_same(q int) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE a int[]; b int[];
BEGIN
  SET LOCAL enable_seqscan = off;
  SELECT array_agg(id) INTO a FROM (SELECT id FROM icd ORDER BY v <-> (SELECT v FROM icd WHERE id = q), id LIMIT 10) s;
  SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on;
  SELECT array_agg(id) INTO b FROM (SELECT id FROM icd ORDER BY v <-> (SELECT v FROM icd WHERE id = q), id LIMIT 10) s;
  RETURN a = b;
END $$;
SELECT q, icd_same(q) FROM (VALUES (1), (77), (500), (901), (1200)) t(q);
EXPLAIN (COSTS OFF) SELECT id FROM icd ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 10;
-- Deleting a quarter of it and compacting drops the tombstones: 900 live
-- rows are below diskann_threshold, so the rewrite is Flat.
DELETE FROM icd WHERE id % 4 = 0;
VACUUM icd;
SELECT kind, rows, deleted FROM vecgo_index_info('icd_idx') ORDER BY segment;
SELECT vecgo_compact('icd_idx');
SELECT kind, rows, deleted FROM vecgo_index_info('icd_idx') ORDER BY segment;
SELECT vecgo_verify('icd_idx');
SELECT q, icd_same(q) FROM (VALUES (1), (77), (501), (901), (1199)) t(q);
-- A Flat segment is rewritten the same way.
DELETE FROM icd WHERE id % 4 <> 1;
VACUUM icd;
SELECT vecgo_compact('icd_idx');
SELECT kind, rows, deleted FROM vecgo_index_info('icd_idx') ORDER BY segment;
SELECT vecgo_verify('icd_idx');
SELECT q, icd_same(q) FROM (VALUES (1), (77), (501), (901)) t(q);
DROP TABLE icd;
DROP FUNCTION icd_same;

-- A DiskANN build holds its records and its graph within
-- maintenance_work_mem: a small setting gives several DiskANN segments,
-- each built within the budget, and recall stays high.
CREATE TABLE ism (id int, v vector(8));
INSERT INTO ism SELECT i, (SELECT array_agg(sin(i * 0.37 + j * 1.3 + (i % 13) * j)::real)
  FROM generate_series(1, 8) j)::vector FROM generate_series(1, 8000) i;
SET maintenance_work_mem = '2MB';
CREATE INDEX ism_idx ON ism USING vecgo (v vector_l2_ops)
  WITH (diskann_threshold = 1000, graph_degree = 16, compaction_threshold = 2);
-- Merging them would not fit the same budget: compaction says so.
SELECT vecgo_compact('ism_idx');
RESET maintenance_work_mem;
SELECT count(*) FILTER (WHERE kind = 'diskann') >= 2 AS several_diskann, sum(rows) AS rows
  FROM vecgo_index_info('ism_idx') WHERE kind <> 'l0 log';
SELECT vecgo_verify('ism_idx');
SELECT sum(hits)::float / (10 * count(*)) >= 0.95 AS recall_ok FROM (
  SELECT q.id, (SELECT count(*) FROM
      (SELECT id FROM ism ORDER BY v <-> q.v LIMIT 10) a
      JOIN (SELECT id FROM ism ORDER BY (v <-> q.v) + 0.0 LIMIT 10) e USING (id)) AS hits
  FROM ism q WHERE q.id % 400 = 7) t;
DROP TABLE ism;

-- Expression and partial indexes.
CREATE TABLE iexpr (id int, cat int, a real, b real);
INSERT INTO iexpr SELECT i, i % 10, i % 13, i % 7 FROM generate_series(1, 1000) i;
CREATE INDEX iexpr_idx ON iexpr USING vecgo ((ARRAY[a, b]::vector(2)) vector_cosine_ops) WHERE cat = 3;
EXPLAIN (COSTS OFF) SELECT id FROM iexpr WHERE cat = 3 ORDER BY ARRAY[a, b]::vector(2) <=> '[1,1]' LIMIT 3;
SELECT count(*) FROM (SELECT id FROM iexpr WHERE cat = 3 ORDER BY ARRAY[a, b]::vector(2) <=> '[1,1]' LIMIT 1000) s;
SELECT rows FROM vecgo_index_info('iexpr_idx') WHERE kind = 'flat';
-- The partial index cannot answer other categories.
EXPLAIN (COSTS OFF) SELECT id FROM iexpr WHERE cat = 4 ORDER BY ARRAY[a, b]::vector(2) <=> '[1,1]' LIMIT 3;
DROP TABLE iexpr;

-- UNLOGGED: the init fork holds an empty index.
CREATE UNLOGGED TABLE iunl (id int, v vector(2));
CREATE INDEX iunl_idx ON iunl USING vecgo (v);
INSERT INTO iunl VALUES (1, '[1,1]'), (2, '[2,2]');
SELECT id FROM iunl ORDER BY v <-> '[2,2]' LIMIT 1;
SELECT vecgo_verify('iunl_idx');
DROP TABLE iunl;

-- REINDEX, REINDEX CONCURRENTLY, TRUNCATE, DROP.
REINDEX INDEX im_idx;
SELECT kind, rows, deleted FROM vecgo_index_info('im_idx');
SELECT im_check('[3,4,5,6]', 50);
REINDEX INDEX CONCURRENTLY im_idx;
SELECT vecgo_verify('im_idx');
SELECT im_check('[3,4,5,6]', 50);
TRUNCATE im;
SELECT kind, rows FROM vecgo_index_info('im_idx');
INSERT INTO im VALUES (1, 1, '[1,2,3,4]');
SELECT id FROM im ORDER BY v <-> '[1,2,3,4]' LIMIT 1;
SELECT vecgo_verify('im_idx');

-- The functions refuse what is not a vecgo index.
CREATE INDEX im_btree ON im (id);
SELECT vecgo_flush('im_btree');
SELECT vecgo_compact('im');
SELECT * FROM vecgo_index_info('im_btree');
SELECT vecgo_verify('im_btree');
SELECT vecgo_flush(NULL);
-- Only the owner may flush or compact; vecgo_index_info needs SELECT on the
-- table; vecgo_verify is not executable by PUBLIC (GRANT it) and needs
-- SELECT too. Every check comes before any lock.
CREATE ROLE vecgo_other;
SET ROLE vecgo_other;
SELECT vecgo_flush('im_idx');
SELECT vecgo_compact('im_idx');
SELECT count(*) FROM vecgo_index_info('im_idx');
SELECT vecgo_verify('im_idx');
RESET ROLE;
GRANT EXECUTE ON FUNCTION vecgo_verify(regclass) TO vecgo_other;
SET ROLE vecgo_other;
SELECT vecgo_verify('im_idx');
RESET ROLE;
GRANT SELECT ON im TO vecgo_other;
SET ROLE vecgo_other;
SELECT count(*) > 0 AS tiers FROM vecgo_index_info('im_idx');
SELECT vecgo_verify('im_idx');
RESET ROLE;
REVOKE ALL ON im FROM vecgo_other;
REVOKE EXECUTE ON FUNCTION vecgo_verify(regclass) FROM vecgo_other;
DROP ROLE vecgo_other;

DROP INDEX im_idx;
DROP TABLE im;
DROP FUNCTION im_check;
