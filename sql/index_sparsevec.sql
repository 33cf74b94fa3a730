-- vecgo indexes over sparsevec: every operator class, rows after the build,
-- the dimension limit (the index holds the dense form).
SET enable_seqscan = off;

CREATE TABLE isp (id int, s sparsevec(40));
INSERT INTO isp
  SELECT i, format('{%s:%s,%s:%s,%s:%s}/40', 1 + i % 13, 1 + i % 7, 14 + (i * 7) % 13, -(i % 5) - 1,
                   27 + (i * 5) % 14, (i % 3) + 0.5)::sparsevec
  FROM generate_series(1, 400) i;
INSERT INTO isp VALUES (401, NULL), (402, '{}/40');

-- Distances of the rows a query returns, sorted, with the index and without.
CREATE FUNCTION isp_dists(q sparsevec, k int, op text, use_index bool) RETURNS float8[]
LANGUAGE plpgsql AS $$
DECLARE r float8[];
BEGIN
  IF NOT use_index THEN
    SET LOCAL enable_indexscan = off;
    SET LOCAL enable_seqscan = on;
  END IF;
  EXECUTE format('SELECT array_agg(d ORDER BY d) FROM (SELECT s %s $1 AS d FROM isp'
                 ' ORDER BY s %s $1 LIMIT $2) s', op, op)
    INTO r USING q, k;
  RETURN r;
END $$;

CREATE INDEX isp_l2 ON isp USING vecgo (s);
CREATE INDEX isp_ip ON isp USING vecgo (s sparsevec_ip_ops);
CREATE INDEX isp_cos ON isp USING vecgo (s sparsevec_cosine_ops);
CREATE INDEX isp_l1 ON isp USING vecgo (s sparsevec_l1_ops);
EXPLAIN (COSTS OFF) SELECT id FROM isp ORDER BY s <-> '{1:1,2:2}/40' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM isp ORDER BY s <#> '{1:1,2:2}/40' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM isp ORDER BY s <=> '{1:1,2:2}/40' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM isp ORDER BY s <+> '{1:1,2:2}/40' LIMIT 5;
SELECT op, isp_dists(q, 10, op, true) = isp_dists(q, 10, op, false) AS same
  FROM (VALUES ('<->'), ('<#>'), ('<=>'), ('<+>')) o(op),
       (VALUES ('{1:1,2:2}/40'::sparsevec), ('{5:-3,17:1.5,40:2}/40')) q(q)
 ORDER BY 1;
-- The operator's values, as the index orders them.
SELECT id, round((s <-> '{3:1}/40')::numeric, 4) AS d FROM isp ORDER BY s <-> '{3:1}/40' LIMIT 3;
-- Rows inserted after the build.
INSERT INTO isp SELECT i, format('{%s:9}/40', 1 + i % 40)::sparsevec FROM generate_series(403, 440) i;
SELECT id, s <-> '{7:9}/40' AS d FROM isp ORDER BY s <-> '{7:9}/40', id LIMIT 2;
SELECT isp_dists('{7:9,8:1}/40', 10, '<=>', true) = isp_dists('{7:9,8:1}/40', 10, '<=>', false) AS same;
SELECT vecgo_verify('isp_l2');

-- Wrong dimensions in the query.
SELECT id FROM isp ORDER BY s <-> '{1:1}/41' LIMIT 1;
-- The index holds at most 16000 dimensions.
CREATE TABLE ispbig (s sparsevec(30522));
CREATE INDEX ON ispbig USING vecgo (s);
CREATE TABLE ispbig2 (s sparsevec);
CREATE INDEX ispbig2_idx ON ispbig2 USING vecgo (s);
INSERT INTO ispbig2 VALUES ('{1:1}/16000');
INSERT INTO ispbig2 VALUES ('{1:1}/16001');
SELECT count(*) FROM ispbig2;

DROP TABLE isp, ispbig, ispbig2;
DROP FUNCTION isp_dists;
