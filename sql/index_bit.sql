-- vecgo indexes over bit strings: bit_hamming_ops and bit_jaccard_ops, the
-- binary-quantization pattern (index binary_quantize(v)::bit(n), rerank by
-- the full vector), limits and errors.
SET enable_seqscan = off;

CREATE TABLE ibit (id int, v vector(16));
INSERT INTO ibit
  SELECT i, (SELECT array_agg(sin(i * 0.37 + j * 1.3) + cos(i * j * 0.011))::real[]
               FROM generate_series(1, 16) j)::vector
  FROM generate_series(1, 600) i;
INSERT INTO ibit VALUES (601, NULL), (602, array_fill(0, ARRAY[16])::real[]::vector);

-- Distances of the rows a query returns, sorted, with the index and without:
-- equal when the index returns the exact top k (ties broken either way).
CREATE FUNCTION ibit_dists(q bit, k int, op text, use_index bool) RETURNS float8[]
LANGUAGE plpgsql AS $$
DECLARE r float8[];
BEGIN
  IF NOT use_index THEN
    SET LOCAL enable_indexscan = off;
    SET LOCAL enable_seqscan = on;
  END IF;
  EXECUTE format('SELECT array_agg(d ORDER BY d) FROM (SELECT binary_quantize(v)::bit(16) %s $1 AS d'
                 ' FROM ibit ORDER BY binary_quantize(v)::bit(16) %s $1 LIMIT $2) s', op, op)
    INTO r USING q, k;
  RETURN r;
END $$;

CREATE INDEX ibit_ham ON ibit USING vecgo ((binary_quantize(v)::bit(16)) bit_hamming_ops);
EXPLAIN (COSTS OFF)
SELECT id FROM ibit ORDER BY binary_quantize(v)::bit(16) <~> B'1010101010101010' LIMIT 5;
-- The operator's values come back in order, as integers.
SELECT binary_quantize(v)::bit(16) <~> B'1010101010101010' AS d
  FROM ibit ORDER BY binary_quantize(v)::bit(16) <~> B'1010101010101010' LIMIT 6;
SELECT ibit_dists(q, 10, '<~>', true) = ibit_dists(q, 10, '<~>', false) AS same
  FROM (VALUES (B'1010101010101010'), (B'0000000000000000'), (B'1111000011110000')) t(q);

-- Rows inserted after the build (the L0 log), then sealed.
INSERT INTO ibit
  SELECT i, (SELECT array_agg(cos(i * 0.21 + j * 0.7))::real[] FROM generate_series(1, 16) j)::vector
  FROM generate_series(603, 800) i;
SELECT ibit_dists(B'1100110011001100', 10, '<~>', true) = ibit_dists(B'1100110011001100', 10, '<~>', false) AS same;
SELECT vecgo_flush('ibit_ham') > 0 AS sealed;
SELECT ibit_dists(B'1100110011001100', 10, '<~>', true) = ibit_dists(B'1100110011001100', 10, '<~>', false) AS same;
-- Every row but the NULL one, through the index.
SELECT count(*), count(DISTINCT id)
  FROM (SELECT id FROM ibit ORDER BY binary_quantize(v)::bit(16) <~> B'1000000000000000' LIMIT 1000) s;

-- Binary quantization with a rerank by the full vector.
SELECT count(*) AS candidates, count(DISTINCT id) AS distinct_ids FROM (
  SELECT id, v FROM ibit ORDER BY binary_quantize(v)::bit(16) <~> binary_quantize((SELECT v FROM ibit WHERE id = 7)) LIMIT 40
) c;
SELECT id FROM (
  SELECT id, v FROM ibit ORDER BY binary_quantize(v)::bit(16) <~> binary_quantize((SELECT v FROM ibit WHERE id = 7)) LIMIT 40
) c ORDER BY v <-> (SELECT v FROM ibit WHERE id = 7) LIMIT 1;

-- Jaccard: every tier is exact, so the top k is the exact one.
CREATE INDEX ibit_jac ON ibit USING vecgo ((binary_quantize(v)::bit(16)) bit_jaccard_ops);
EXPLAIN (COSTS OFF)
SELECT id FROM ibit ORDER BY binary_quantize(v)::bit(16) <%> B'1010101010101010' LIMIT 5;
SELECT ibit_dists(q, 10, '<%>', true) = ibit_dists(q, 10, '<%>', false) AS same
  FROM (VALUES (B'1010101010101010'), (B'0000000000000000'), (B'1111000011110000')) t(q);
SELECT round((binary_quantize(v)::bit(16) <%> B'1010101010101010')::numeric, 6) AS d
  FROM ibit ORDER BY binary_quantize(v)::bit(16) <%> B'1010101010101010' LIMIT 4;
INSERT INTO ibit
  SELECT i, (SELECT array_agg(sin(i * 0.05 * j))::real[] FROM generate_series(1, 16) j)::vector
  FROM generate_series(801, 900) i;
SELECT ibit_dists(B'0110011001100110', 10, '<%>', true) = ibit_dists(B'0110011001100110', 10, '<%>', false) AS same;
SELECT kind, rows FROM vecgo_index_info('ibit_jac') ORDER BY segment;
SELECT vecgo_verify('ibit_jac');
SELECT vecgo_verify('ibit_ham');

-- A query of another length is an error, as for the operators themselves.
SELECT id FROM ibit ORDER BY binary_quantize(v)::bit(16) <~> B'101' LIMIT 1;
SELECT id FROM ibit ORDER BY binary_quantize(v)::bit(16) <%> B'101' LIMIT 1;

-- An unconstrained bit column takes its length from the first row.
CREATE TABLE ibits (id int, b bit varying);
CREATE INDEX ibits_idx ON ibits USING vecgo ((b::bit(8)) bit_hamming_ops);
INSERT INTO ibits VALUES (1, B'10101010'), (2, B'11110000'), (3, B'00000001');
SELECT id FROM ibits ORDER BY b::bit(8) <~> B'11110001' LIMIT 3;
CREATE TABLE ibitv (id int, b bit(20));
CREATE INDEX ibitv_idx ON ibitv USING vecgo (b);
INSERT INTO ibitv VALUES (1, B'10101010101010101010'), (2, B'11110000111100001111');
SELECT id, b <~> B'11110000111100001110' AS d FROM ibitv ORDER BY b <~> B'11110000111100001110' LIMIT 2;

-- Limits: more bits than an index holds.
CREATE TABLE ibig (b bit(16001));
CREATE INDEX ON ibig USING vecgo (b bit_hamming_ops);
CREATE TABLE ibig2 (b bit varying);
CREATE INDEX ibig2_idx ON ibig2 USING vecgo ((b::bit(20000)) bit_hamming_ops);
CREATE TABLE ibig3 (b varbit);
CREATE INDEX ibig3_idx ON ibig3 USING vecgo (b bit_hamming_ops);
INSERT INTO ibig3 VALUES (repeat('1', 16000)::varbit);
INSERT INTO ibig3 VALUES (repeat('1', 16001)::varbit);
SELECT length(b) FROM ibig3 ORDER BY b <~> repeat('0', 16000)::varbit LIMIT 1;

DROP TABLE ibit, ibits, ibitv, ibig, ibig2, ibig3;
DROP FUNCTION ibit_dists;
