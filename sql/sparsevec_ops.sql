-- sparsevec distances, norms, comparison and the btree operator class.

-- distances: functions and operators agree
SELECT l2_distance('{}/2'::sparsevec, '{1:3,2:4}/2'), '{}/2'::sparsevec <-> '{1:3,2:4}/2' AS op;
SELECT l2_distance('{1:3}/2'::sparsevec, '{2:4}/2'), l2_distance('{2:4}/2'::sparsevec, '{1:3}/2'),
       l2_distance('{1:3,2:4}/2'::sparsevec, '{}/2'), l2_distance('{}/2'::sparsevec, '{2:1}/2');
SELECT sparsevec_l2_squared_distance('{1:1,3:3,5:5}/6', '{2:1,3:1,6:2}/6');
SELECT inner_product('{1:1,2:2}/2'::sparsevec, '{1:2,2:4}/2'), sparsevec_negative_inner_product('{1:1,2:2}/2', '{1:2,2:4}/2'),
       '{1:1,2:2}/2'::sparsevec <#> '{1:3,2:4}/2' AS op;
SELECT inner_product('{1:1,3:3}/4'::sparsevec, '{2:2,4:4}/4') AS interleaved,
       inner_product('{1:1,2:2}/4'::sparsevec, '{3:2,4:4}/4') AS disjoint_ranges,
       inner_product('{1:1,3:3,5:5}/5'::sparsevec, '{2:4,3:6,4:8}/5') AS one_common,
       inner_product('{1:1}/2'::sparsevec, '{}/2') AS empty;
SELECT cosine_distance('{1:1,2:2}/2'::sparsevec, '{1:2,2:4}/2'), cosine_distance('{1:1}/2'::sparsevec, '{2:2}/2'),
       cosine_distance('{1:1,2:1}/2'::sparsevec, '{1:-1,2:-1}/2'), '{1:3,2:4}/2'::sparsevec <=> '{1:4,2:3}/2' AS op;
SELECT l1_distance('{}/2'::sparsevec, '{1:3,2:4}/2'), '{}/2'::sparsevec <+> '{1:3,2:4}/2' AS op,
       l1_distance('{1:1,3:3,5:5,7:7}/8'::sparsevec, '{2:2,4:4,6:6,8:8}/8') AS interleaved,
       l1_distance('{1:1,3:3,5:5,7:7,9:9}/9'::sparsevec, '{2:2,4:4,6:6,8:8}/9') AS longer_first,
       l1_distance('{1:1,2:-2}/2'::sparsevec, '{1:-1,2:2}/2') AS signs;
-- the same as the dense vectors' distances (exact sums here)
SELECT l2_distance(a, b) = l2_distance(a::vector, b::vector) AS l2,
       inner_product(a, b) = inner_product(a::vector, b::vector) AS ip,
       l1_distance(a, b) = l1_distance(a::vector, b::vector) AS l1,
       abs(cosine_distance(a, b) - cosine_distance(a::vector, b::vector)) < 1e-6 AS cos
FROM (SELECT ('{' || string_agg(i || ':' || i % 7 - 3, ',') || '}/300')::sparsevec AS a,
             ('{' || string_agg((i + 1) || ':' || i % 5 - 2, ',') || '}/300')::sparsevec AS b
      FROM generate_series(1, 299, 2) AS i) AS t;
-- commutative
SELECT ('{1:1,3:5}/4'::sparsevec <-> '{2:2,3:2}/4') = ('{2:2,3:2}/4'::sparsevec <-> '{1:1,3:5}/4') AS l2,
       ('{1:1,3:5}/4'::sparsevec <=> '{2:2,3:2}/4') = ('{2:2,3:2}/4'::sparsevec <=> '{1:1,3:5}/4') AS cos,
       ('{1:1,3:5}/4'::sparsevec <+> '{2:2,3:2}/4') = ('{2:2,3:2}/4'::sparsevec <+> '{1:1,3:5}/4') AS l1;
-- zero vectors: cosine is NaN, the others are plain numbers
SELECT cosine_distance('{1:1,2:2}/2'::sparsevec, '{}/2'), '{}/1'::sparsevec <=> '{}/1' AS both_zero,
       l2_distance('{}/2'::sparsevec, '{}/2'), inner_product('{}/2'::sparsevec, '{1:1}/2');
-- accumulated in float, as pgvector: overflow to infinity
SELECT inner_product('{1:3e38}/1'::sparsevec, '{1:3e38}/1'), l1_distance('{1:3e38}/1'::sparsevec, '{1:-3e38}/1'),
       l2_distance('{1:3e38}/2'::sparsevec, '{2:3e38}/2'), cosine_distance('{1:3e38}/1'::sparsevec, '{1:3e38}/1');
-- ... and rounding: 1 + 1e-8 + 1e-8 ... stays 1 in float
SELECT inner_product(a, a) AS ip, sparsevec_l2_squared_distance(a, '{}/4') AS l2sq, l1_distance(a, '{}/4') AS l1
FROM (SELECT '{1:1,2:1e-4,3:1e-4,4:1e-4}/4'::sparsevec AS a) AS t;
-- cosine is clamped to [0, 2]
SELECT cosine_distance('{1:1,2:1}/2'::sparsevec, '{1:1.1,2:1.1}/2') AS same,
       cosine_distance('{1:1,2:1}/2'::sparsevec, '{1:-1.1,2:-1.1}/2') AS opposite;
-- different dimensions
SELECT l2_distance('{1:1}/2'::sparsevec, '{1:1}/3');
SELECT inner_product('{1:1,2:2}/2'::sparsevec, '{1:3}/1');
SELECT cosine_distance('{1:1,2:2}/2'::sparsevec, '{1:3}/1');
SELECT l1_distance('{1:1,2:2}/2'::sparsevec, '{1:3}/1');
SELECT '{}/2'::sparsevec <-> '{}/3';
SELECT '{}/2'::sparsevec <#> '{}/3';
SELECT '{}/2'::sparsevec <=> '{}/3';
SELECT '{}/2'::sparsevec <+> '{}/3';
SELECT sparsevec_l2_squared_distance('{}/2', '{}/3');
SELECT sparsevec_negative_inner_product('{}/2', '{}/3');
-- NULL in, NULL out (strict)
SELECT l2_distance(NULL, '{}/1'::sparsevec) IS NULL AS strict, ('{}/1'::sparsevec <=> NULL) IS NULL AS strict_op;
-- a vector literal resolves to the vector functions, a sparsevec to these
SELECT '{1:3}/2'::sparsevec <-> '[0,4]'::vector AS mixed_is_sparse;

-- norms
SELECT l2_norm('{1:3,2:4}/2'::sparsevec), l2_norm('{2:1}/2'::sparsevec), l2_norm('{}/2'::sparsevec),
       l2_norm('{1:2}/1'::sparsevec), round(l2_norm('{1:1,2:1}/2'::sparsevec)::numeric, 5);
SELECT l2_norm('{1:3e37,2:4e37}/2'::sparsevec)::real AS norm_in_double,
       l2_norm('{1:3e38,5:3e38}/5'::sparsevec) AS beyond_float_range;
SELECT l2_normalize('{1:3,2:4}/2'::sparsevec), l2_normalize('{1:3}/2'::sparsevec),
       l2_normalize('{2:0.1}/2'::sparsevec), l2_normalize('{}/2'::sparsevec) AS zero_stays_zero;
SELECT l2_normalize('{1:3e38}/1'::sparsevec), l2_normalize('{1:3e38,2:3e38}/2'::sparsevec) AS no_overflow;
-- elements that underflow to zero are dropped
SELECT l2_normalize('{1:3e38,2:1e-37}/2'::sparsevec), l2_normalize('{2:3e37,4:3e-37,6:4e37,8:4e-37}/9'::sparsevec);
SELECT l2_normalize('{1:1e-40}/1'::sparsevec) AS denormal_input;
SELECT l2_norm(l2_normalize('{1:1,3:2,5:3,7:4,9:5}/9'::sparsevec)) BETWEEN 0.9999999 AND 1.0000001 AS unit;

-- comparison
SELECT '{1:1,2:2,3:3}/3'::sparsevec < '{1:1,2:2,3:3}/3' AS lt, '{1:1,2:2,3:3}/3'::sparsevec <= '{1:1,2:2,3:3}/3' AS le,
       '{1:1,2:2,3:3}/3'::sparsevec = '{1:1,2:2,3:3}/3' AS eq, '{1:1,2:2,3:3}/3'::sparsevec <> '{1:1,2:2,3:3}/3' AS ne,
       '{1:1,2:2,3:3}/3'::sparsevec >= '{1:1,2:2,3:3}/3' AS ge, '{1:1,2:2,3:3}/3'::sparsevec > '{1:1,2:2,3:3}/3' AS gt;
SELECT '{1:1,2:2,3:3}/3'::sparsevec < '{1:1,2:2}/2' AS lt, '{1:1,2:2,3:3}/3'::sparsevec <= '{1:1,2:2}/2' AS le,
       '{1:1,2:2,3:3}/3'::sparsevec = '{1:1,2:2}/2' AS eq, '{1:1,2:2,3:3}/3'::sparsevec != '{1:1,2:2}/2' AS ne,
       '{1:1,2:2,3:3}/3'::sparsevec >= '{1:1,2:2}/2' AS ge, '{1:1,2:2,3:3}/3'::sparsevec > '{1:1,2:2}/2' AS gt;
SELECT sparsevec_cmp('{1:1,2:2,3:3}/3', '{1:1,2:2,3:3}/3'), sparsevec_cmp('{1:1,2:2,3:3}/3', '{}/3'),
       sparsevec_cmp('{}/3', '{1:1,2:2,3:3}/3'), sparsevec_cmp('{1:1,2:2}/2', '{1:1,2:2,3:3}/3'),
       sparsevec_cmp('{1:1,2:2,3:3}/3', '{1:1,2:2}/2'), sparsevec_cmp('{1:1,2:2}/2', '{1:2,2:3,3:4}/3'),
       sparsevec_cmp('{1:2,2:3}/2', '{1:1,2:2,3:3}/3');
-- the order is the dense vectors' order: element by element, then fewer
-- dimensions first; compare every pair of a set of vectors both ways
CREATE TABLE cmp (id int, s sparsevec);
INSERT INTO cmp VALUES (1, '{}/1'), (2, '{}/2'), (3, '{}/3'), (4, '{1:1}/1'), (5, '{1:-1}/1'), (6, '{1:1}/2'),
  (7, '{2:1}/2'), (8, '{2:-1}/2'), (9, '{1:1,2:1}/2'), (10, '{1:1,3:1}/3'), (11, '{1:1,2:1}/3'), (12, '{3:-1}/3'),
  (13, '{3:1}/3'), (14, '{1:-1,3:1}/3'), (15, '{1:2}/2'), (16, '{2:1}/3'), (17, '{1:1,2:-1}/2'), (18, '{2:-1}/3'),
  (19, '{1:0.5,2:1}/2'), (20, '{1:1,2:2}/3');
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE sparsevec_cmp(a.s, b.s) = sign(vector_cmp(a.s::vector, b.s::vector))) AS as_dense,
       count(*) FILTER (WHERE sparsevec_cmp(a.s, b.s) = -sparsevec_cmp(b.s, a.s)) AS antisymmetric
FROM cmp a, cmp b;
SELECT string_agg(id::text, ',' ORDER BY s, id) AS ascending FROM cmp;
SELECT string_agg(s::text, ' ' ORDER BY s DESC, id) AS descending FROM cmp;

-- btree: ordering, index scans, uniqueness, merge joins
CREATE INDEX cmp_s ON cmp (s);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM cmp WHERE s = '{1:1,2:1}/2';
SELECT id FROM cmp WHERE s = '{1:1,2:1}/2';
SELECT string_agg(id::text, ',' ORDER BY s, id) AS greater FROM cmp WHERE s > '{1:1}/2';
SELECT string_agg(id::text, ',' ORDER BY s, id) AS at_most FROM cmp WHERE s <= '{}/3';
RESET enable_seqscan;
CREATE TABLE cu (s sparsevec PRIMARY KEY);
INSERT INTO cu VALUES ('{1:1}/2'), ('{1:1}/3'), ('{}/2');
INSERT INTO cu VALUES ('{1:1,2:0}/2');
SELECT opcname, opcdefault FROM pg_opclass WHERE opcintype = 'sparsevec'::regtype AND opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree');
SET enable_hashjoin = off;
SET enable_nestloop = off;
SELECT count(*) AS merge_join FROM cmp a JOIN cmp b ON a.s = b.s;
RESET enable_hashjoin;
RESET enable_nestloop;
SELECT count(DISTINCT s) AS distinct_values FROM cmp;
DROP TABLE cmp, cu;
