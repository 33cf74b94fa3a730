-- vecgo indexes over halfvec: every operator class, rows after the build,
-- a DiskANN segment storing halves (about half the pages of a vector
-- index's), errors.
SET enable_seqscan = off;

CREATE TABLE ihv (id int, h halfvec(8));
INSERT INTO ihv
  SELECT i, (SELECT array_agg(round((sin(i * 0.37 + j * 1.3) * 10)::numeric, 1))::real[]
               FROM generate_series(1, 8) j)::halfvec
  FROM generate_series(1, 500) i;
INSERT INTO ihv VALUES (501, NULL), (502, '[0,0,0,0,0,0,0,0]');

-- Distances of the rows a query returns, sorted, with the index and without.
CREATE FUNCTION ihv_dists(q halfvec, k int, op text, use_index bool) RETURNS float8[]
LANGUAGE plpgsql AS $$
DECLARE r float8[];
BEGIN
  IF NOT use_index THEN
    SET LOCAL enable_indexscan = off;
    SET LOCAL enable_seqscan = on;
  END IF;
  EXECUTE format('SELECT array_agg(d ORDER BY d) FROM (SELECT h %s $1 AS d FROM ihv'
                 ' ORDER BY h %s $1 LIMIT $2) s', op, op)
    INTO r USING q, k;
  RETURN r;
END $$;

CREATE INDEX ihv_l2 ON ihv USING vecgo (h);
CREATE INDEX ihv_ip ON ihv USING vecgo (h halfvec_ip_ops);
CREATE INDEX ihv_cos ON ihv USING vecgo (h halfvec_cosine_ops);
CREATE INDEX ihv_l1 ON ihv USING vecgo (h halfvec_l1_ops);
EXPLAIN (COSTS OFF) SELECT id FROM ihv ORDER BY h <-> '[1,2,3,4,5,6,7,8]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM ihv ORDER BY h <#> '[1,2,3,4,5,6,7,8]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM ihv ORDER BY h <=> '[1,2,3,4,5,6,7,8]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM ihv ORDER BY h <+> '[1,2,3,4,5,6,7,8]' LIMIT 5;
SELECT op, ihv_dists(q, 10, op, true) = ihv_dists(q, 10, op, false) AS same
  FROM (VALUES ('<->'), ('<#>'), ('<=>'), ('<+>')) o(op),
       (VALUES ('[1,2,3,4,5,6,7,8]'::halfvec), ('[-3,0.5,0,9,-1,2,2,0.25]')) q(q)
 ORDER BY 1, 2;
-- The operator's values, as the index orders them.
SELECT id, round((h <-> '[1,1,1,1,1,1,1,1]')::numeric, 3) AS d FROM ihv ORDER BY h <-> '[1,1,1,1,1,1,1,1]' LIMIT 3;
-- Rows inserted after the build.
INSERT INTO ihv SELECT i, array_fill(i - 500, ARRAY[8])::real[]::halfvec FROM generate_series(503, 520) i;
SELECT id, h <-> '[7,7,7,7,7,7,7,7]' AS d FROM ihv ORDER BY h <-> '[7,7,7,7,7,7,7,7]', id LIMIT 2;
SELECT ihv_dists('[7,7,7,7,7,7,7,1]', 10, '<=>', true) = ihv_dists('[7,7,7,7,7,7,7,1]', 10, '<=>', false) AS same;
SELECT vecgo_verify('ihv_l2');

-- A DiskANN segment stores its vectors as halves: fewer pages than the same
-- rows in a vector index (and the same answers).
CREATE TABLE ihv_wide (id int, h halfvec(96), v vector(96));
INSERT INTO ihv_wide
  SELECT i, x::halfvec, x FROM (
    SELECT i, (SELECT array_agg(sin(i * 0.013 * j) + cos(j * 0.7 + i % 17))::real[]
                 FROM generate_series(1, 96) j)::halfvec::vector AS x
      FROM generate_series(1, 3000) i) s;
CREATE INDEX ihv_wide_h ON ihv_wide USING vecgo (h) WITH (diskann_threshold = 1000);
CREATE INDEX ihv_wide_v ON ihv_wide USING vecgo (v) WITH (diskann_threshold = 1000);
SELECT string_agg(kind, ',' ORDER BY segment) FROM vecgo_index_info('ihv_wide_h');
SELECT (SELECT pages FROM vecgo_index_info('ihv_wide_h') WHERE kind = 'diskann')::float8 /
       (SELECT pages FROM vecgo_index_info('ihv_wide_v') WHERE kind = 'diskann') BETWEEN 0.5 AND 0.75 AS fewer_pages;
SELECT (SELECT array_agg(id) FROM (SELECT id FROM ihv_wide ORDER BY h <-> (SELECT h FROM ihv_wide WHERE id = 77) LIMIT 5) a) =
       (SELECT array_agg(id) FROM (SELECT id FROM ihv_wide ORDER BY v <-> (SELECT v FROM ihv_wide WHERE id = 77) LIMIT 5) b) AS same_answers;
SELECT vecgo_verify('ihv_wide_h');

-- Wrong dimensions in the query.
SELECT id FROM ihv ORDER BY h <-> '[1,2,3]' LIMIT 1;

DROP TABLE ihv, ihv_wide;
DROP FUNCTION ihv_dists;
