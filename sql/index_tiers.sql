-- Flat or graph: a segment's kind follows what an exact scan of it costs
-- (rows x dimensions), not its row count alone, and ALTER INDEX SET applies
-- to the segments written after it.
SET enable_seqscan = off;
SELECT setseed(0.42);

-- 1,500 rows of 768 dimensions: an exact scan reads 1.15M floats per query,
-- so the default build writes a graph.
CREATE TABLE itw (id int, v vector(768));
INSERT INTO itw SELECT i, ARRAY(SELECT random() + (i % 7) * 0.1 FROM generate_series(1, 768))::vector
  FROM generate_series(1, 1500) i;
CREATE INDEX itw_idx ON itw USING vecgo (v);
SELECT kind, rows FROM vecgo_index_info('itw_idx') ORDER BY segment;
SELECT id FROM itw ORDER BY v <-> (SELECT v FROM itw WHERE id = 77) LIMIT 1;
SELECT vecgo_verify('itw_idx');

-- The same row count at 100 dimensions is cheap to scan: Flat.
CREATE TABLE itn (id int, v vector(100));
INSERT INTO itn SELECT i, ARRAY(SELECT random() + (i % 7) * 0.1 FROM generate_series(1, 100))::vector
  FROM generate_series(1, 1500) i;
CREATE INDEX itn_idx ON itn USING vecgo (v);
SELECT kind, rows FROM vecgo_index_info('itn_idx') ORDER BY segment;

-- A lower threshold set later applies to compaction: the Flat segment that
-- has reached it is rewritten as a graph, with the same answers.
ALTER INDEX itn_idx SET (diskann_threshold = 1000);
SELECT vecgo_compact('itn_idx');
SELECT kind, rows FROM vecgo_index_info('itn_idx') ORDER BY segment;
SELECT id FROM itn ORDER BY v <-> (SELECT v FROM itn WHERE id = 5) LIMIT 1;
SELECT vecgo_verify('itn_idx');
-- 0 gives the decision back to cost.
ALTER INDEX itn_idx SET (diskann_threshold = 0);
ALTER INDEX itn_idx SET (diskann_threshold = 10);

-- The L0 log is sealed once it holds as many rows as one graph build may
-- take within maintenance_work_mem, so every sealed log can become a graph.
CREATE TABLE its (id int, v vector(768));
CREATE INDEX its_idx ON its USING vecgo (v);
SET maintenance_work_mem = '24MB';
INSERT INTO its SELECT i, ARRAY(SELECT random() + i * 0 FROM generate_series(1, 768))::vector
  FROM generate_series(1, 4000) i;
SELECT count(*) FILTER (WHERE kind = 'flat') AS sealed, bool_and(rows < 4000) AS smaller,
       sum(rows) AS rows FROM vecgo_index_info('its_idx');
-- Compaction turns the sealed logs into graphs.
SELECT vecgo_compact('its_idx') > 0 AS compacted;
SELECT kind, count(*) FROM vecgo_index_info('its_idx') WHERE rows > 0 GROUP BY kind ORDER BY kind;
SELECT id FROM its ORDER BY v <-> (SELECT v FROM its WHERE id = 9) LIMIT 1;
SELECT id FROM its ORDER BY v <-> (SELECT v FROM its WHERE id = 3999) LIMIT 1;
SELECT vecgo_verify('its_idx');
RESET maintenance_work_mem;

DROP TABLE itw, itn, its;
