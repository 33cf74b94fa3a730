-- Hamming and Jaccard distances between bit strings (pgvector's functions
-- and operators), and the binary-quantize-then-rerank pattern.
SELECT hamming_distance(B'111', B'111'), hamming_distance(B'111', B'110'),
       hamming_distance(B'111', B'100'), hamming_distance(B'111', B'000');
SELECT B'1010' <~> B'0101' AS all_differ, B'' <~> B'' AS empty;
SELECT hamming_distance(B'111', B'00');
SELECT jaccard_distance(B'1111', B'1111'), jaccard_distance(B'1111', B'1110'),
       jaccard_distance(B'1111', B'1100'), jaccard_distance(B'1111', B'1000'),
       jaccard_distance(B'1111', B'0000'), jaccard_distance(B'1100', B'1000');
-- No bit set in both: 1, also when neither has a bit set.
SELECT B'0000' <%> B'0000' AS no_bits, B'' <%> B'' AS empty;
SELECT jaccard_distance(B'1111', B'000');
SELECT B'1' <%> B'10';
-- Strings longer than a word, and lengths that are not whole bytes: the
-- distance equals the count over the characters of the bit strings.
WITH s AS (
  SELECT i, (SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
             FROM generate_series(1, 1 + i * 13) WHERE i > 0) AS x,
            (SELECT string_agg(CASE WHEN random() < 0.3 THEN '1' ELSE '0' END, '')
             FROM generate_series(1, 1 + i * 13) WHERE i > 0) AS y
  FROM generate_series(1, 40) i
)
SELECT count(*) AS strings,
       count(*) FILTER (WHERE x::varbit <~> y::varbit =
         (SELECT count(*) FROM generate_series(1, length(x)) k WHERE substr(x, k, 1) <> substr(y, k, 1))) AS hamming_right,
       count(*) FILTER (WHERE abs((x::varbit <%> y::varbit) -
         CASE WHEN (SELECT count(*) FROM generate_series(1, length(x)) k WHERE substr(x, k, 1) = '1' AND substr(y, k, 1) = '1') = 0
              THEN 1
              ELSE 1 - (SELECT count(*) FROM generate_series(1, length(x)) k WHERE substr(x, k, 1) = '1' AND substr(y, k, 1) = '1')::float8
                     / (SELECT count(*) FROM generate_series(1, length(x)) k WHERE substr(x, k, 1) = '1' OR substr(y, k, 1) = '1')
         END) < 1e-12) AS jaccard_right
FROM s;
-- Binary quantization, then rerank by the full vector.
CREATE TABLE bq (id int, v vector(4));
INSERT INTO bq VALUES (1, '[1,1,1,1]'), (2, '[1,1,-1,-1]'), (3, '[-1,-1,-1,-1]'), (4, '[2,2,2,-1]');
SELECT id, binary_quantize(v) <~> binary_quantize('[1,1,1,1]'::vector) AS hamming
FROM bq ORDER BY hamming, id;
SELECT id FROM (
  SELECT id, v FROM bq ORDER BY binary_quantize(v)::bit(4) <~> binary_quantize('[1,1,1,0.5]'::vector) LIMIT 2
) coarse ORDER BY v <=> '[1,1,1,0.5]' LIMIT 1;
DROP TABLE bq;
