-- ---------------------------------------------------------------- halfvec <-> sparsevec casts (new in 0.2.0)
-- pgvector's pair of casts between the two types, with its function names,
-- signatures and contexts: a halfvec becomes a sparsevec implicitly (the
-- non-zero elements, exactly), a sparsevec becomes a halfvec on assignment
-- (at most 16000 dimensions; each value rounded to the nearest half).

CREATE FUNCTION halfvec_to_sparsevec(halfvec, integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION sparsevec_to_halfvec(sparsevec, integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (sparsevec AS halfvec)
	WITH FUNCTION sparsevec_to_halfvec(sparsevec, integer, boolean) AS ASSIGNMENT;
CREATE CAST (halfvec AS sparsevec)
	WITH FUNCTION halfvec_to_sparsevec(halfvec, integer, boolean) AS IMPLICIT;
