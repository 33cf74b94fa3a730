-- vecgo operator classes for bit strings (new in 0.2.0): index
-- binary_quantize(embedding)::bit(n) and rerank by the full vector. The index
-- holds one 0/1 float per bit (at most 16000 bits). Hamming is exact in the
-- graphs (squared L2 of 0/1 vectors); Jaccard has no graph, so a
-- bit_jaccard_ops index keeps every tier exact (Flat).
CREATE OPERATOR CLASS bit_hamming_ops
    DEFAULT FOR TYPE bit USING vecgo AS
    OPERATOR 1 <~> (bit, bit) FOR ORDER BY float_ops,
    FUNCTION 1 hamming_distance(bit, bit);

CREATE OPERATOR CLASS bit_jaccard_ops
    FOR TYPE bit USING vecgo AS
    OPERATOR 1 <%> (bit, bit) FOR ORDER BY float_ops,
    FUNCTION 1 jaccard_distance(bit, bit);
