-- Hybrid search: reciprocal rank fusion (vecgo_rrf) of two ranked id lists,
-- and vecgo_hybrid_search, which fuses a vecgo k-NN half with a full-text
-- (GIN, ts_rank) half of one table.
\set SHOW_CONTEXT never

-- An error's SQLSTATE and message, to show both.
CREATE FUNCTION hs_error(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

---------------------------------------------------------------- fusion
-- Two lists; rrf_k 60: score = 1/(60 + rank1) + 1/(60 + rank2).
SELECT * FROM vecgo_rrf(ARRAY[10, 20, 30, 40], ARRAY[30, 10, 50]);
-- The arithmetic, against the formula written out.
SELECT id, score = expected AS exact
  FROM vecgo_rrf(ARRAY[10, 20, 30, 40], ARRAY[30, 10, 50]) r
  JOIN (VALUES (10, 1.0::float8 / 61 + 1.0::float8 / 62), (20, 1.0::float8 / 62),
               (30, 1.0::float8 / 63 + 1.0::float8 / 61), (40, 1.0::float8 / 64),
               (50, 1.0::float8 / 63)) AS e(eid, expected) ON e.eid = r.id
 ORDER BY id;
-- rrf_k 0: score = 1/rank1 + 1/rank2.
SELECT * FROM vecgo_rrf(ARRAY[1, 2, 3], ARRAY[3, 2, 1], rrf_k => 0);
-- Ties: equal scores come by the better rank, then list 1 before list 2.
SELECT * FROM vecgo_rrf(ARRAY['a', 'b', 'c'], ARRAY['d', 'e', 'f']);
SELECT * FROM vecgo_rrf(ARRAY['x', 'y'], ARRAY['y', 'x']);
-- Ids in only one list; an id repeated in a list counts at its first rank.
SELECT * FROM vecgo_rrf(ARRAY[7, 8, 7, 9], ARRAY[]::int[]);
-- A NULL list is an empty list (array_agg over no rows).
SELECT * FROM vecgo_rrf(NULL::bigint[], ARRAY[5, 6]::bigint[]);
-- Lists of different but compatible types: integer[] and bigint[] give bigint.
SELECT pg_typeof(id), * FROM vecgo_rrf(ARRAY[1, 2]::int[], ARRAY[2, 3]::bigint[]);
-- Any id type (of PL/pgSQL: not anonymous records): uuid.
SELECT * FROM vecgo_rrf(ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid],
                        ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'::uuid, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']);
-- Weights: list 2 counts twice; weight 0 keeps the ids with score 0.
SELECT * FROM vecgo_rrf(ARRAY[1, 2, 3], ARRAY[3, 2, 1], weight1 => 1, weight2 => 2);
SELECT * FROM vecgo_rrf(ARRAY[1, 2], ARRAY[3, 1], weight1 => 0);
-- Bad arguments.
SELECT hs_error($$SELECT * FROM vecgo_rrf(ARRAY[1], ARRAY[2], rrf_k => -1)$$);
SELECT hs_error($$SELECT * FROM vecgo_rrf(ARRAY[1], ARRAY[2], rrf_k => 'NaN')$$);
SELECT hs_error($$SELECT * FROM vecgo_rrf(ARRAY[1], ARRAY[2], weight2 => -0.5)$$);
SELECT hs_error($$SELECT * FROM vecgo_rrf(ARRAY[1], ARRAY[2], weight1 => 'Infinity')$$);
SELECT hs_error($$SELECT * FROM vecgo_rrf(ARRAY[1], ARRAY[2], weight1 => NULL)$$);
SELECT hs_error($$SELECT * FROM vecgo_rrf(ARRAY[1], ARRAY[2], rrf_k => NULL)$$);
SELECT hs_error($$SELECT * FROM vecgo_rrf(ARRAY[1, NULL, 3], ARRAY[2])$$);
SELECT hs_error($$SELECT * FROM vecgo_rrf(ARRAY[1], '[0:2]={4,5,NULL}'::int[])$$);
SELECT hs_error($$SELECT * FROM vecgo_rrf(ARRAY[[1, 2], [3, 4]], ARRAY[2])$$);
SELECT hs_error($$SELECT * FROM vecgo_rrf(ARRAY[1], ARRAY['a'::text])$$);
SELECT * FROM vecgo_rrf(ARRAY[1], ARRAY[2], rrf_k => -1);
SELECT * FROM vecgo_rrf(ARRAY[1], ARRAY[2], weight2 => -1);

---------------------------------------------------------------- one table
-- 3,000 documents: a short text and an 8-dimensional embedding.
CREATE TABLE hs_docs (
  id int PRIMARY KEY,
  body text NOT NULL,
  embedding vector(8),
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED);
INSERT INTO hs_docs (id, body, embedding)
SELECT i,
       (ARRAY['red', 'green', 'blue', 'yellow', 'black'])[1 + i % 5] || ' ' ||
       (ARRAY['apple', 'car', 'house', 'river', 'mountain', 'guitar', 'garden'])[1 + i % 7] || ' ' ||
       (ARRAY['runs', 'sleeps', 'shines', 'grows', 'waits', 'sings'])[1 + i % 6] || ' number ' || i,
       (SELECT array_agg(round(sin(i * 0.37 + j * 1.3)::numeric, 3)::real) FROM generate_series(1, 8) j)::vector
  FROM generate_series(1, 3000) i;
INSERT INTO hs_docs (id, body, embedding) VALUES (3001, 'red car without an embedding', NULL);
CREATE INDEX hs_docs_embedding ON hs_docs USING vecgo (embedding vector_cosine_ops);
CREATE INDEX hs_docs_tsv ON hs_docs USING gin (tsv);
ANALYZE hs_docs;

\set qv '''[0.9,-0.2,0.4,0.1,-0.7,0.3,0.5,-0.1]'''
-- The fused top 10 of the documents about a red car.
SELECT id, round(score::numeric, 6) AS score, vector_rank, text_rank,
       round(distance::numeric, 4) AS distance, round(text_score::numeric, 4) AS text_score
  FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', :qv, to_tsquery('english', 'red & car'), top_n => 10);
-- The same as vecgo_rrf over the two halves written by hand (ties in
-- distance or ts_rank broken by id, as the function does).
SELECT array_agg(h.id ORDER BY h.score DESC, h.id) =
       (SELECT array_agg(r.id::bigint ORDER BY r.score DESC, r.id) FROM (
          SELECT * FROM vecgo_rrf(
            ARRAY(SELECT id FROM (SELECT id, embedding <=> :qv AS d FROM hs_docs ORDER BY embedding <=> :qv LIMIT 40) s ORDER BY d, id),
            ARRAY(SELECT id FROM hs_docs WHERE tsv @@ to_tsquery('english', 'red & car')
                   ORDER BY ts_rank(tsv, to_tsquery('english', 'red & car')) DESC, id LIMIT 40))
          LIMIT 25) r) AS same_as_rrf
  FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', :qv, to_tsquery('english', 'red & car'), top_n => 25) h;
-- Weights: text only (the vector half's ids score 0 and come last), vector only.
SELECT id, round(score::numeric, 6) AS score, vector_rank, text_rank
  FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', :qv, to_tsquery('english', 'green & guitar'),
                           top_n => 5, vector_weight => 0);
SELECT id, round(score::numeric, 6) AS score, vector_rank, text_rank
  FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', :qv, to_tsquery('english', 'green & guitar'),
                           top_n => 5, text_weight => 0, candidates => 5);
-- No text match (a stop word): the vector half alone.
SELECT id, vector_rank, text_rank
  FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', :qv, to_tsquery('english', 'the'), top_n => 3);
-- The row without an embedding is found by the text half only.
SELECT id, vector_rank, text_rank
  FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', :qv, to_tsquery('english', 'embedding'), top_n => 3);
-- Ids of another type: text (through its I/O), and a uuid id column.
SELECT pg_typeof(id), id, vector_rank, text_rank
  FROM vecgo_hybrid_search_typed(NULL::text, 'hs_docs', 'embedding', 'tsv', :qv, to_tsquery('english', 'red & car'), top_n => 3);
CREATE TABLE hs_uuid (doc uuid PRIMARY KEY, e vector(2), t tsvector);
INSERT INTO hs_uuid VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '[1,0]', 'apple'),
                           ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '[0,1]', 'pear');
CREATE INDEX ON hs_uuid USING vecgo (e vector_l2_ops);
SELECT * FROM vecgo_hybrid_search_typed(NULL::uuid, 'hs_uuid', 'e', 't', '[0.1,0.9]', 'apple', id_column => 'doc');
-- The distance is the vecgo index's (L2 here); another may be asked for.
SELECT id, distance FROM vecgo_hybrid_search_typed(NULL::uuid, 'hs_uuid', 'e', 't', '[0.1,0.9]', 'apple',
                                                   id_column => 'doc', distance_operator => '<+>');

-- Bad arguments: each names what is wrong, with its SQLSTATE.
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red', rrf_k => -1)$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red', top_n => 0)$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red', candidates => -3)$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red', text_weight => -1)$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red', rank_normalization => 64)$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', NULL, 'red')$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', NULL)$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red', top_n => NULL)$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search(NULL, 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red')$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red', id_column => NULL)$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_nope', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red')$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs_tsv', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red')$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'vec', 'tsv', '[1,2,3,4,5,6,7,8]', 'red')$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red', id_column => 'doc_id')$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'body', 'tsv', '[1,2,3,4,5,6,7,8]', 'red')$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'body', '[1,2,3,4,5,6,7,8]', 'red')$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red', id_column => 'body')$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search_typed(NULL::uuid, 'hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red')$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red', distance_operator => '<<')$$);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3]', 'red')$$);
-- Without a vecgo index on the column the distance must be named.
DROP INDEX hs_docs_embedding;
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red')$$);
SELECT count(*) FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', :qv, 'red', distance_operator => '<=>');
-- Two vecgo indexes with different distances: ambiguous.
CREATE INDEX hs_docs_embedding ON hs_docs USING vecgo (embedding vector_cosine_ops);
CREATE INDEX hs_docs_embedding_l2 ON hs_docs USING vecgo (embedding vector_l2_ops);
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red')$$);
DROP INDEX hs_docs_embedding_l2;
-- The messages with their hints.
SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'body', :qv, 'red');
SELECT * FROM vecgo_hybrid_search_typed(NULL::uuid, 'hs_docs', 'embedding', 'tsv', :qv, 'red');
-- Identifiers are quoted, never spliced: a column named like an injection
-- is just an unknown column.
SELECT hs_error($$SELECT * FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', '[1,2,3,4,5,6,7,8]', 'red', id_column => 'id; DROP TABLE hs_docs')$$);

---------------------------------------------------------------- plans
-- The query the function runs: each half is an index-driven top-N, the
-- vector half a vecgo index scan, the text half a GIN bitmap scan.
SET enable_seqscan = off;
SELECT vecgo_hybrid_search_sql('hs_docs', 'embedding', 'tsv') AS hs_query \gset
PREPARE hs_plan AS :hs_query;
EXPLAIN (COSTS OFF) EXECUTE hs_plan(:qv, 'red & car', 40, 1, 1, 60, 0, 10);
-- It answers as the function does.
CREATE TEMP TABLE hs_direct AS EXECUTE hs_plan(:qv, 'red & car', 40, 1, 1, 60, 0, 10);
SELECT (SELECT array_agg(id ORDER BY score DESC, id) FROM hs_direct) =
       (SELECT array_agg(id ORDER BY score DESC, id)
          FROM vecgo_hybrid_search('hs_docs', 'embedding', 'tsv', :qv, 'red & car')) AS same;
DEALLOCATE hs_plan;
