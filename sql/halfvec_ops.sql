-- halfvec distances, operators, functions, comparison and B-tree ordering.

-- distances: functions and operators agree
SELECT l2_distance('[0,0]'::halfvec, '[3,4]'), '[0,0]'::halfvec <-> '[3,4]' AS op;
SELECT halfvec_l2_squared_distance('[1,2,3]', '[3,2,1]');
SELECT inner_product('[1,2,3]'::halfvec, '[4,-5,6]'), halfvec_negative_inner_product('[1,2,3]', '[4,-5,6]'),
       '[1,2,3]'::halfvec <#> '[4,-5,6]' AS op;
SELECT cosine_distance('[1,0]'::halfvec, '[0,1]'), cosine_distance('[1,1]'::halfvec, '[2,2]'),
       cosine_distance('[1,1]'::halfvec, '[-3,-3]'), '[3,4]'::halfvec <=> '[4,3]' AS op;
SELECT l1_distance('[1,2,3]'::halfvec, '[-1,4,3.5]'), '[1,2,3]'::halfvec <+> '[-1,4,3.5]' AS op;
-- elements are halves: the inputs are rounded before the distance
SELECT l2_distance('[0.1]'::halfvec, '[0]'), inner_product('[0.1]'::halfvec, '[1]'),
       l1_distance('[2049]'::halfvec, '[0]') AS tie_rounded_down;
-- longer than a SIMD register, with a tail; exact in float
SELECT l2_distance(a, b), inner_product(a, b), l1_distance(a, b), round(cosine_distance(a, b)::numeric, 6)
FROM (SELECT array_agg(i)::halfvec AS a, array_agg(i + 1)::halfvec AS b FROM generate_series(1, 37) AS i) AS t;
SELECT l2_distance(a, b), inner_product(a, b), l1_distance(a, b)
FROM (SELECT array_agg(i % 5)::halfvec AS a, array_agg(i % 3 - 1)::halfvec AS b FROM generate_series(1, 1000) AS i) AS t;
-- the same numbers as the vector type for values exact in half precision
SELECT l2_distance(a, b) = l2_distance(a::vector, b::vector) AS l2,
       inner_product(a, b) = inner_product(a::vector, b::vector) AS ip,
       l1_distance(a, b) = l1_distance(a::vector, b::vector) AS l1,
       cosine_distance(a, b) = cosine_distance(a::vector, b::vector) AS cos
FROM (SELECT array_agg((i % 17) * 0.25)::halfvec AS a, array_agg((i % 13) - 6)::halfvec AS b
      FROM generate_series(1, 300) AS i) AS t;
-- commutative
SELECT ('[1,5,2]'::halfvec <-> '[2,2,2]') = ('[2,2,2]'::halfvec <-> '[1,5,2]') AS l2,
       ('[1,5,2]'::halfvec <=> '[2,2,2]') = ('[2,2,2]'::halfvec <=> '[1,5,2]') AS cos,
       ('[1,5,2]'::halfvec <#> '[2,2,2]') = ('[2,2,2]'::halfvec <#> '[1,5,2]') AS ip,
       ('[1,5,2]'::halfvec <+> '[2,2,2]') = ('[2,2,2]'::halfvec <+> '[1,5,2]') AS l1;
-- zero vectors: cosine is NaN, the others are plain numbers
SELECT cosine_distance('[0,0]'::halfvec, '[1,2]'), '[0,0]'::halfvec <=> '[0,0]' AS both_zero,
       l2_distance('[0,0]'::halfvec, '[0,0]'), inner_product('[0,0]'::halfvec, '[1,1]');
-- sums are in float: the largest halves do not overflow
SELECT l2_distance('[65504]'::halfvec, '[-65504]'), inner_product('[65504]'::halfvec, '[65504]'),
       l1_distance('[65504]'::halfvec, '[-65504]'), cosine_distance('[65504]'::halfvec, '[65504]');
-- cosine is clamped to [0, 2]
SELECT cosine_distance('[1.1,1.1]'::halfvec, '[1.1,1.1]') AS same,
       cosine_distance('[1,1]'::halfvec, '[-1.1,-1.1]') AS opposite;
-- spherical distance (angular, for unit vectors)
SELECT halfvec_spherical_distance('[1,0]', '[0,1]'), halfvec_spherical_distance('[1,0]', '[1,0]'),
       halfvec_spherical_distance('[1,0]', '[-1,0]'), halfvec_spherical_distance('[2,0]', '[3,0]') AS clamped;
-- different dimensions
SELECT l2_distance('[1,2]'::halfvec, '[1,2,3]');
SELECT inner_product('[1,2]'::halfvec, '[1]');
SELECT cosine_distance('[1,2]'::halfvec, '[1]');
SELECT l1_distance('[1,2]'::halfvec, '[1]');
SELECT '[1,2]'::halfvec <#> '[1]';
SELECT halfvec_l2_squared_distance('[1]', '[1,2]');
SELECT halfvec_negative_inner_product('[1]', '[1,2]');
SELECT halfvec_spherical_distance('[1]', '[1,2]');
-- NULL in, NULL out (strict)
SELECT l2_distance(NULL, '[1]'::halfvec) IS NULL AS strict, ('[1]'::halfvec <=> NULL) IS NULL AS strict_op;

-- arithmetic: computed in float, rounded to half
SELECT '[1,2,3]'::halfvec + '[10,20,30]', '[1,2,3]'::halfvec - '[0.5,4,-1]', '[1,2,3]'::halfvec * '[2,0.5,-1]';
SELECT '[2048]'::halfvec + '[1]' AS tie_to_even, '[2048]'::halfvec + '[3]' AS tie_up, '[0.1]'::halfvec * '[0.1]' AS rounded;
SELECT '[1,2]'::halfvec || '[3]', '[1]'::halfvec || '[2]' || '[3,4]';
SELECT '[1,2]'::halfvec + '[1]';
SELECT '[1,2]'::halfvec - '[1]';
SELECT '[1,2]'::halfvec * '[1]';
SELECT '[65504]'::halfvec + '[65504]';
SELECT '[65504]'::halfvec + '[8]' AS rounds_back_to_max, '[65504]'::halfvec + '[15]' AS below_the_tie;
SELECT '[65504]'::halfvec + '[16]' AS the_tie_rounds_to_infinity;
SELECT '[-65504]'::halfvec - '[65504]';
SELECT '[300]'::halfvec * '[300]';
SELECT '[1e-4]'::halfvec * '[1e-4]';
SELECT '[0.01]'::halfvec * '[0.01]' AS subnormal_result_is_fine;
SELECT '[0,5]'::halfvec * '[1e-7,0]' AS zero_times_small_is_fine;
SELECT vector_dims(array_fill(1, ARRAY[8000])::halfvec || array_fill(1, ARRAY[8000])::halfvec);
SELECT array_fill(1, ARRAY[8000])::halfvec || array_fill(1, ARRAY[8001])::halfvec;
SELECT halfvec_add('[1]', '[2]'), halfvec_sub('[1]', '[2]'), halfvec_mul('[3]', '[2]'), halfvec_concat('[1]', '[2]');
-- element-wise over more than one conversion chunk
SELECT vector_dims(s), l1_distance(s, d) AS sum_error, l1_distance(p, d) AS product_error
FROM (SELECT array_agg(i % 100)::halfvec + array_agg(i % 100)::halfvec AS s,
             array_agg(2 * (i % 100))::halfvec AS d,
             array_agg(i % 100)::halfvec * array_agg(2)::halfvec AS p
      FROM generate_series(1, 1000) AS i) AS t;

-- functions
SELECT vector_dims('[1,2,3]'::halfvec), vector_dims('[0]'::halfvec);
SELECT l2_norm('[3,4]'::halfvec), l2_norm('[0,0,0]'::halfvec), l2_norm('[1,1,1,1]'::halfvec), l2_norm('[0.1]'::halfvec);
SELECT l2_norm('[65504,65504]'::halfvec) AS norm_in_double;
SELECT l2_normalize('[3,4]'::halfvec), l2_normalize('[0,0]'::halfvec) AS zero_stays_zero, l2_normalize('[-2]'::halfvec);
SELECT l2_normalize('[65504,65504]'::halfvec) AS no_overflow, l2_normalize('[5.9604645e-8,0]'::halfvec) AS subnormal_input;
SELECT l2_normalize('[1,2,3,4,5]'::halfvec), l2_norm(l2_normalize('[1,2,3,4,5]'::halfvec)) BETWEEN 0.999 AND 1.001 AS unit;
SELECT binary_quantize('[1,-1,0,0.5]'::halfvec), binary_quantize('[-1]'::halfvec), binary_quantize('[1,2,3,4,5,6,7,8,9]'::halfvec);
SELECT binary_quantize('[0.1,-0.2,0.3,-0.4,0,-0,1,1,-1,1,-1,1,-1,1,-1,1,5.9604645e-8]'::halfvec) AS seventeen_bits;
SELECT pg_typeof(binary_quantize('[1]'::halfvec)), length(binary_quantize(array_fill(1, ARRAY[16000])::halfvec));
SELECT subvector('[1,2,3,4,5]'::halfvec, 2, 3), subvector('[1,2,3,4,5]'::halfvec, 1, 5), subvector('[1,2,3,4,5]'::halfvec, 5, 1);
SELECT subvector('[1,2,3,4,5]'::halfvec, 4, 10) AS clipped_end, subvector('[1,2,3,4,5]'::halfvec, 0, 3) AS clipped_start;
SELECT subvector('[1,2,3,4,5]'::halfvec, -2147483644, 2147483647) AS huge_negative_start;
SELECT subvector('[1,2,3,4,5]'::halfvec, -2147483647, 2147483647) AS ends_before_first;
SELECT subvector('[1,2,3,4,5]'::halfvec, 3, 2147483647) AS huge_count;
SELECT subvector('[1,2,3]'::halfvec, 1, 0);
SELECT subvector('[1,2,3]'::halfvec, 1, -1);
SELECT subvector('[1,2,3]'::halfvec, 4, 1);
SELECT subvector('[1,2,3]'::halfvec, -5, 3);
SELECT subvector('[1,2,3]'::halfvec, 2147483647, 2147483647);

-- comparison
SELECT '[1,2]'::halfvec = '[1,2]', '[1,2]'::halfvec = '[1,2,0]', '[1,2]'::halfvec <> '[2,1]',
       '[0]'::halfvec = '[-0]' AS minus_zero_equal, '[0.1]'::halfvec = '[0.09997]' AS same_half;
SELECT '[1,2]'::halfvec < '[1,3]', '[1,2]'::halfvec < '[1,2,0]' AS shorter_first,
       '[2]'::halfvec > '[1,9,9]' AS elements_before_length, '[1,2]'::halfvec <= '[1,2]', '[1,2]'::halfvec >= '[1,2]';
SELECT '[-1]'::halfvec < '[-0.5]' AS negatives, '[-0.5]'::halfvec < '[0]', '[-0]'::halfvec < '[5.9604645e-8]' AS smallest,
       '[-65504]'::halfvec < '[-1000]', '[1000]'::halfvec < '[65504]';
SELECT halfvec_cmp('[1,2]', '[1,2]'), halfvec_cmp('[1,2]', '[1,3]'), halfvec_cmp('[2]', '[1,1]'),
       halfvec_cmp('[1]', '[1,0]'), halfvec_cmp('[1,0]', '[1]'), halfvec_cmp('[-0]', '[0]');
SELECT halfvec_lt('[1]', '[2]'), halfvec_le('[2]', '[2]'), halfvec_eq('[2]', '[2]'),
       halfvec_ne('[2]', '[2]'), halfvec_ge('[1]', '[2]'), halfvec_gt('[3]', '[2]');

-- B-tree ordering and indexes
CREATE TABLE hbt (id int, v halfvec);
INSERT INTO hbt VALUES (1, '[1,2,3]'), (2, '[1,2]'), (3, '[0,9]'), (4, '[1,2,3,0]'), (5, NULL),
                       (6, '[-1,100]'), (7, '[1,2,-3]'), (8, '[1,2,3]'), (9, '[-0,0]'), (10, '[0,0]'),
                       (11, '[-2,1]'), (12, '[-0.5,7]'), (13, '[0.1,0]'), (14, '[0.09997,0]');
SELECT id, v FROM hbt ORDER BY v, id;
SELECT id, v FROM hbt ORDER BY v DESC NULLS LAST, id;
SELECT count(DISTINCT v) AS distinct_values FROM hbt;
CREATE INDEX hbt_v ON hbt (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hbt WHERE v = '[1,2,3]';
SELECT id FROM hbt WHERE v = '[1,2,3]' ORDER BY id;
SELECT id FROM hbt WHERE v > '[1,2]' ORDER BY v, id;
SELECT id FROM hbt WHERE v < '[0,9]' ORDER BY v, id;
RESET enable_seqscan;
CREATE TABLE hbu (v halfvec PRIMARY KEY);
INSERT INTO hbu VALUES ('[1,2]'), ('[1,2,0]'), ('[0]');
INSERT INTO hbu VALUES ('[1,2]');
INSERT INTO hbu VALUES ('[-0]');
SELECT opcname, opcdefault FROM pg_opclass
WHERE opcintype = 'halfvec'::regtype AND opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree');
DROP TABLE hbt, hbu;
