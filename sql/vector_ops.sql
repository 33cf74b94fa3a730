-- vector distances, operators and functions.

-- distances: functions and operators agree
SELECT l2_distance('[0,0]'::vector, '[3,4]'), '[0,0]'::vector <-> '[3,4]' AS op;
SELECT '[1,2,3]'::vector <-> '[3,2,1]' AS canonical;
SELECT vector_l2_squared_distance('[1,2,3]', '[3,2,1]');
SELECT inner_product('[1,2,3]'::vector, '[4,-5,6]'), vector_negative_inner_product('[1,2,3]', '[4,-5,6]'),
       '[1,2,3]'::vector <#> '[4,-5,6]' AS op;
SELECT cosine_distance('[1,0]'::vector, '[0,1]'), cosine_distance('[1,1]'::vector, '[2,2]'),
       cosine_distance('[1,1]'::vector, '[-3,-3]'), '[3,4]'::vector <=> '[4,3]' AS op;
SELECT l1_distance('[1,2,3]'::vector, '[-1,4,3.5]'), '[1,2,3]'::vector <+> '[-1,4,3.5]' AS op;
-- longer than a SIMD register, with a tail
SELECT l2_distance(a, b), inner_product(a, b), l1_distance(a, b), round(cosine_distance(a, b)::numeric, 6)
FROM (SELECT array_agg(i)::vector AS a, array_agg(i + 1)::vector AS b FROM generate_series(1, 37) AS i) AS t;
-- commutative
SELECT ('[1,5,2]'::vector <-> '[2,2,2]') = ('[2,2,2]'::vector <-> '[1,5,2]') AS l2,
       ('[1,5,2]'::vector <=> '[2,2,2]') = ('[2,2,2]'::vector <=> '[1,5,2]') AS cos;
-- zero vectors: cosine is NaN, the others are plain numbers
SELECT cosine_distance('[0,0]'::vector, '[1,2]'), '[0,0]'::vector <=> '[0,0]' AS both_zero,
       l2_distance('[0,0]'::vector, '[0,0]'), inner_product('[0,0]'::vector, '[1,1]');
-- overflow to infinity in float accumulation, as pgvector
SELECT l2_distance('[3e38]'::vector, '[-3e38]'), inner_product('[3e38]'::vector, '[3e38]'),
       l1_distance('[3e38]'::vector, '[-3e38]'), cosine_distance('[3e38]'::vector, '[3e38]');
-- cosine is clamped to [0, 2]
SELECT cosine_distance('[1.1,1.1]'::vector, '[1.1,1.1]') AS same, cosine_distance('[1,1]'::vector, '[-1.1,-1.1]') AS opposite;
-- spherical distance (angular, for unit vectors)
SELECT vector_spherical_distance('[1,0]', '[0,1]'), vector_spherical_distance('[1,0]', '[1,0]'),
       vector_spherical_distance('[1,0]', '[-1,0]'), vector_spherical_distance('[2,0]', '[3,0]') AS clamped;
-- different dimensions
SELECT l2_distance('[1,2]'::vector, '[1,2,3]');
SELECT '[1,2]'::vector <#> '[1]';
SELECT '[1,2]'::vector <=> '[1]';
SELECT '[1,2]'::vector <+> '[1]';
SELECT vector_l2_squared_distance('[1]', '[1,2]');
SELECT vector_spherical_distance('[1]', '[1,2]');
-- NULL in, NULL out (strict)
SELECT l2_distance(NULL, '[1]'::vector) IS NULL AS strict, ('[1]'::vector <=> NULL) IS NULL AS strict_op;

-- arithmetic
SELECT '[1,2,3]'::vector + '[10,20,30]', '[1,2,3]'::vector - '[0.5,4,-1]', '[1,2,3]'::vector * '[2,0.5,-1]';
SELECT '[1,2]'::vector || '[3]', '[1]'::vector || '[2]' || '[3,4]';
SELECT '[1,2]'::vector + '[1]';
SELECT '[1,2]'::vector - '[1]';
SELECT '[1,2]'::vector * '[1]';
SELECT '[3e38]'::vector + '[1e38]';
SELECT '[-3e38]'::vector - '[1e38]';
SELECT '[1e20]'::vector * '[1e20]';
SELECT '[1e-30]'::vector * '[1e-30]';
SELECT '[0,5]'::vector * '[1e-30,0]' AS zero_times_small_is_fine;
SELECT vector_dims(array_fill(1, ARRAY[8000])::vector || array_fill(1, ARRAY[8000])::vector);
SELECT array_fill(1, ARRAY[8000])::vector || array_fill(1, ARRAY[8001])::vector;
SELECT vector_add('[1]', '[2]'), vector_sub('[1]', '[2]'), vector_mul('[3]', '[2]'), vector_concat('[1]', '[2]');

-- functions
SELECT vector_dims('[1,2,3]'::vector), vector_dims('[0]'::vector);
SELECT vector_norm('[3,4]'), vector_norm('[0,0,0]'), vector_norm('[1,1,1,1]');
SELECT vector_norm('[3e37,4e37]')::real AS norm_in_double, vector_norm('[3e38,3e38]') AS beyond_float_range;
SELECT l2_normalize('[3,4]'::vector), l2_normalize('[0,0]'::vector) AS zero_stays_zero, l2_normalize('[-2]'::vector);
SELECT l2_normalize('[3e38,3e38]'::vector) AS no_overflow, l2_normalize('[1e-40,0]'::vector) AS denormal_input;
SELECT vector_norm(l2_normalize('[1,2,3,4,5]'::vector)) BETWEEN 0.9999999 AND 1.0000001 AS unit;
SELECT binary_quantize('[1,-1,0,0.5]'::vector), binary_quantize('[-1]'::vector), binary_quantize('[1,2,3,4,5,6,7,8,9]'::vector);
SELECT binary_quantize('[0.1,-0.2,0.3,-0.4,0,0,1,1,-1,1,-1,1,-1,1,-1,1,2]'::vector) AS seventeen_bits;
SELECT pg_typeof(binary_quantize('[1]'::vector)), length(binary_quantize(array_fill(1, ARRAY[16000])::vector));
SELECT subvector('[1,2,3,4,5]'::vector, 2, 3), subvector('[1,2,3,4,5]'::vector, 1, 5), subvector('[1,2,3,4,5]'::vector, 5, 1);
SELECT subvector('[1,2,3,4,5]'::vector, 4, 10) AS clipped_end, subvector('[1,2,3,4,5]'::vector, 0, 3) AS clipped_start;
SELECT subvector('[1,2,3,4,5]'::vector, -2147483644, 2147483647) AS huge_negative_start;
SELECT subvector('[1,2,3,4,5]'::vector, -2147483647, 2147483647) AS ends_before_first;
SELECT subvector('[1,2,3,4,5]'::vector, 3, 2147483647) AS huge_count;
SELECT subvector('[1,2,3]'::vector, 1, 0);
SELECT subvector('[1,2,3]'::vector, 1, -1);
SELECT subvector('[1,2,3]'::vector, 4, 1);
SELECT subvector('[1,2,3]'::vector, -5, 3);
SELECT subvector('[1,2,3]'::vector, 2147483647, 2147483647);

-- comparison
SELECT '[1,2]'::vector = '[1,2]', '[1,2]'::vector = '[1,2,0]', '[1,2]'::vector <> '[2,1]',
       '[0]'::vector = '[-0]' AS minus_zero_equal;
SELECT '[1,2]'::vector < '[1,3]', '[1,2]'::vector < '[1,2,0]' AS shorter_first,
       '[2]'::vector > '[1,9,9]' AS elements_before_length, '[1,2]'::vector <= '[1,2]', '[1,2]'::vector >= '[1,2]';
SELECT vector_cmp('[1,2]', '[1,2]'), vector_cmp('[1,2]', '[1,3]'), vector_cmp('[2]', '[1,1]'),
       vector_cmp('[1]', '[1,0]'), vector_cmp('[1,0]', '[1]');
SELECT vector_lt('[1]', '[2]'), vector_le('[2]', '[2]'), vector_eq('[2]', '[2]'),
       vector_ne('[2]', '[2]'), vector_ge('[1]', '[2]'), vector_gt('[3]', '[2]');
