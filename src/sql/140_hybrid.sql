-- Hybrid search: reciprocal rank fusion (RRF) of a k-NN ranking and a
-- full-text ranking. score(id) = sum over the lists holding id of
-- weight / (rrf_k + rank), ranks counted from 1.
--
-- The functions are PL/pgSQL, SECURITY INVOKER: the caller needs SELECT on
-- the table searched. They name nothing through search_path (vecgo is
-- relocatable): objects of the extension are found through pg_extension,
-- those of PostgreSQL are qualified with pg_catalog.

-- Fuses two ranked lists of ids (arrays in rank order: element 1 is rank 1).
-- Any id type with an equality the server can group by; the two arrays may
-- differ in type when they have a common one (integer[] and bigint[]). An id
-- repeated in one list counts at its first (best) rank. A NULL list is an
-- empty list (array_agg over no rows gives NULL); a NULL element is an error.
-- Rows come in fused order: score descending, then the better of the two
-- ranks, then rank1, then rank2 (a total order: no two ids share both ranks).
CREATE FUNCTION vecgo_rrf(
    ranked1 anycompatiblearray,
    ranked2 anycompatiblearray,
    weight1 double precision DEFAULT 1,
    weight2 double precision DEFAULT 1,
    rrf_k double precision DEFAULT 60,
    OUT id anycompatible,
    OUT score double precision,
    OUT rank1 integer,
    OUT rank2 integer)
    RETURNS SETOF record
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $fn$
DECLARE
    w1 CONSTANT double precision := weight1;
    w2 CONSTANT double precision := weight2;
    k CONSTANT double precision := rrf_k;
    arg text;
    val double precision;
    pos integer;
BEGIN
    FOREACH arg IN ARRAY ARRAY['weight1', 'weight2', 'rrf_k'] LOOP
        val := CASE arg WHEN 'weight1' THEN w1 WHEN 'weight2' THEN w2 ELSE k END;
        IF val IS NULL THEN
            RAISE EXCEPTION 'vecgo_rrf: % must not be NULL', arg
                USING ERRCODE = 'null_value_not_allowed';
        END IF;
        IF val < 0 OR val = 'NaN'::double precision OR val = 'Infinity'::double precision THEN
            RAISE EXCEPTION 'vecgo_rrf: % must be a finite number >= 0, not %', arg, val
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = CASE WHEN arg = 'rrf_k' THEN 'The usual rrf_k is 60.'
                                  ELSE 'A weight of 0 leaves that list out of the scores.' END;
        END IF;
    END LOOP;
    IF pg_catalog.array_ndims(ranked1) > 1 OR pg_catalog.array_ndims(ranked2) > 1 THEN
        RAISE EXCEPTION 'vecgo_rrf: the ranked lists must be one-dimensional arrays'
            USING ERRCODE = 'array_subscript_error';
    END IF;
    pos := pg_catalog.array_position(ranked1, NULL);
    IF pos IS NULL THEN
        pos := pg_catalog.array_position(ranked2, NULL);
        arg := 'ranked2';
    ELSE
        arg := 'ranked1';
    END IF;
    IF pos IS NOT NULL THEN
        RAISE EXCEPTION 'vecgo_rrf: % holds a NULL id (element %)', arg,
                pos - pg_catalog.array_lower(CASE arg WHEN 'ranked1' THEN ranked1 ELSE ranked2 END, 1) + 1
            USING ERRCODE = 'null_value_not_allowed';
    END IF;

    RETURN QUERY
    SELECT g.e_id, s.e_score, g.e_rank1, g.e_rank2
      FROM (SELECT u.e_id,
                   pg_catalog.min(u.e_rank) FILTER (WHERE u.e_list = 1)::integer AS e_rank1,
                   pg_catalog.min(u.e_rank) FILTER (WHERE u.e_list = 2)::integer AS e_rank2
              FROM (SELECT a.x, a.o, 1 FROM pg_catalog.unnest(ranked1) WITH ORDINALITY AS a(x, o)
                    UNION ALL
                    SELECT b.x, b.o, 2 FROM pg_catalog.unnest(ranked2) WITH ORDINALITY AS b(x, o))
                   AS u(e_id, e_rank, e_list)
             GROUP BY u.e_id) AS g
      CROSS JOIN LATERAL
           (SELECT COALESCE(w1 / (k + g.e_rank1), 0) + COALESCE(w2 / (k + g.e_rank2), 0) AS e_score) AS s
     ORDER BY s.e_score DESC, LEAST(g.e_rank1, g.e_rank2), g.e_rank1 NULLS LAST, g.e_rank2 NULLS LAST;
END
$fn$;

COMMENT ON FUNCTION vecgo_rrf(anycompatiblearray, anycompatiblearray, double precision, double precision, double precision)
    IS 'reciprocal rank fusion of two ranked id lists: sum of weight / (rrf_k + rank)';

-- The query vecgo_hybrid_search runs, for a table and its columns, after
-- checking them; its parameters: $1 the query vector, $2 the tsquery, $3 the
-- candidates each half returns, $4 the vector weight, $5 the text weight,
-- $6 rrf_k, $7 the ts_rank normalization, $8 the rows returned. The vector
-- half is ORDER BY column <op> $1 LIMIT $3 (a vecgo index scan), the text half
-- WHERE column @@ $2 ORDER BY ts_rank(...) DESC LIMIT $3 (a GIN bitmap scan).
-- With distance_operator NULL, the operator of the vecgo index on the vector
-- column. Exposed so that the plan can be looked at:
--   PREPARE h AS <this text>; EXPLAIN EXECUTE h('[...]', 'word', 40, 1, 1, 60, 0, 10);
CREATE FUNCTION vecgo_hybrid_search_sql(
    relation regclass,
    vector_column name,
    text_column name,
    id_column name DEFAULT 'id',
    distance_operator text DEFAULT NULL,
    id_type regtype DEFAULT 'bigint')
    RETURNS text
    LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    ext name;
    vtype oid;
    kind "char";
    col name;
    role text;
    typ oid;
    vnum smallint;
    idtyp oid;
    op text := distance_operator;
    ops text[];
BEGIN
    IF relation IS NULL OR vector_column IS NULL OR text_column IS NULL OR id_column IS NULL
       OR id_type IS NULL THEN
        RAISE EXCEPTION 'vecgo_hybrid_search: % must not be NULL',
                CASE WHEN relation IS NULL THEN 'relation'
                     WHEN vector_column IS NULL THEN 'vector_column'
                     WHEN text_column IS NULL THEN 'text_column'
                     WHEN id_column IS NULL THEN 'id_column'
                     ELSE 'id_type' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;

    SELECT n.nspname INTO ext
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'vecgo';
    SELECT t.oid INTO vtype FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = ext AND t.typname = 'vector';

    SELECT c.relkind INTO kind FROM pg_catalog.pg_class c WHERE c.oid = relation;
    IF kind IS NULL THEN
        RAISE EXCEPTION 'vecgo_hybrid_search: relation with OID % does not exist', relation::oid
            USING ERRCODE = 'undefined_table';
    END IF;
    IF kind NOT IN ('r', 'p', 'm', 'v', 'f') THEN
        RAISE EXCEPTION 'vecgo_hybrid_search: "%" is not a table, view or materialized view', relation
            USING ERRCODE = 'wrong_object_type';
    END IF;

    -- Each column: it exists, and has the type its role needs (a domain
    -- over that type will do).
    FOREACH role IN ARRAY ARRAY['vector', 'text', 'id'] LOOP
        col := CASE role WHEN 'vector' THEN vector_column WHEN 'text' THEN text_column ELSE id_column END;
        SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, a.attnum
          INTO typ, vnum
          FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
         WHERE a.attrelid = relation AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'vecgo_hybrid_search: column "%" of relation "%" does not exist', col, relation
                USING ERRCODE = 'undefined_column';
        END IF;
        IF role = 'vector' AND typ IS DISTINCT FROM vtype THEN
            RAISE EXCEPTION 'vecgo_hybrid_search: column "%" of relation "%" is of type %, not vector',
                    col, relation, pg_catalog.format_type(typ, NULL)
                USING ERRCODE = 'datatype_mismatch';
        ELSIF role = 'text' AND typ <> 'pg_catalog.tsvector'::pg_catalog.regtype THEN
            RAISE EXCEPTION 'vecgo_hybrid_search: column "%" of relation "%" is of type %, not tsvector',
                    col, relation, pg_catalog.format_type(typ, NULL)
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Add a generated column: tsv tsvector GENERATED ALWAYS AS (to_tsvector(''english'', body)) STORED, with a GIN index on it.';
        ELSIF role = 'id' THEN
            SELECT a.atttypid INTO idtyp FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = relation AND a.attname = col;
            -- A cast in pg_cast, or to a string type (through text I/O).
            IF idtyp <> id_type AND typ <> id_type
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_cast c
                                WHERE c.castsource IN (idtyp, typ) AND c.casttarget = id_type)
               AND (SELECT t.typcategory FROM pg_catalog.pg_type t WHERE t.oid = id_type) <> 'S' THEN
                RAISE EXCEPTION 'vecgo_hybrid_search: column "%" of relation "%" is of type %, which does not cast to %',
                        col, relation, pg_catalog.format_type(idtyp, NULL), id_type
                    USING ERRCODE = 'cannot_coerce',
                          HINT = pg_catalog.format('Call vecgo_hybrid_search_typed(NULL::%s, ...).', pg_catalog.format_type(idtyp, NULL));
            END IF;
        END IF;
        IF role = 'vector' AND op IS NULL THEN
            -- The distance of the vecgo indexes on the column itself.
            SELECT pg_catalog.array_agg(DISTINCT o.oprname) INTO ops
              FROM pg_catalog.pg_index i
              JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
              JOIN pg_catalog.pg_am am ON am.oid = ic.relam AND am.amname = 'vecgo'
              JOIN pg_catalog.pg_opclass opc ON opc.oid = i.indclass[0]
              JOIN pg_catalog.pg_amop ao ON ao.amopfamily = opc.opcfamily AND ao.amopstrategy = 1
                   AND ao.amoppurpose = 'o'
              JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr
             WHERE i.indrelid = relation AND i.indkey[0] = vnum AND i.indexprs IS NULL
               AND i.indpred IS NULL;
            IF ops IS NULL THEN
                RAISE EXCEPTION 'vecgo_hybrid_search: no vecgo index on column "%" of relation "%" to take the distance from',
                        col, relation
                    USING ERRCODE = 'undefined_object',
                          HINT = 'Create one (CREATE INDEX ON ... USING vecgo (column vector_cosine_ops)), or pass distance_operator => ''<=>'' (or <->, <#>, <+>) for an exact scan.';
            ELSIF pg_catalog.cardinality(ops) > 1 THEN
                RAISE EXCEPTION 'vecgo_hybrid_search: the vecgo indexes on column "%" of relation "%" have different distances (%)',
                        col, relation, pg_catalog.array_to_string(ops, ' ')
                    USING ERRCODE = 'ambiguous_parameter',
                          HINT = 'Pass distance_operator => one of them.';
            END IF;
            op := ops[1];
        END IF;
    END LOOP;
    IF op NOT IN ('<->', '<#>', '<=>', '<+>') THEN
        RAISE EXCEPTION 'vecgo_hybrid_search: distance_operator must be <->, <#>, <=> or <+>, not "%"', op
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    RETURN pg_catalog.format($q$WITH v AS (
  SELECT s.id, pg_catalog.min(s.r) AS r, pg_catalog.min(s.d) AS d FROM (
    SELECT n.id, n.d, pg_catalog.row_number() OVER (ORDER BY n.d, n.id) AS r FROM (
      SELECT x.%1$I::%2$s AS id, x.%3$I OPERATOR(%4$I.%5$s) $1::%4$I.vector AS d
        FROM %6$s AS x
       WHERE x.%3$I IS NOT NULL
       ORDER BY x.%3$I OPERATOR(%4$I.%5$s) $1::%4$I.vector
       LIMIT $3::pg_catalog.int8) AS n) AS s
  GROUP BY s.id),
t AS (
  SELECT s.id, pg_catalog.min(s.r) AS r, pg_catalog.max(s.ts) AS ts FROM (
    SELECT n.id, n.ts, pg_catalog.row_number() OVER (ORDER BY n.ts DESC, n.id) AS r FROM (
      SELECT x.%1$I::%2$s AS id, pg_catalog.ts_rank(x.%7$I, $2::pg_catalog.tsquery, $7::pg_catalog.int4) AS ts
        FROM %6$s AS x
       WHERE x.%7$I OPERATOR(pg_catalog.@@) $2::pg_catalog.tsquery
       ORDER BY 2 DESC, 1
       LIMIT $3::pg_catalog.int8) AS n) AS s
  GROUP BY s.id)
SELECT COALESCE(v.id, t.id) AS id,
       COALESCE($4::pg_catalog.float8 / ($6::pg_catalog.float8 + v.r), 0)
         + COALESCE($5::pg_catalog.float8 / ($6::pg_catalog.float8 + t.r), 0) AS score,
       v.r::pg_catalog.int4 AS vector_rank, t.r::pg_catalog.int4 AS text_rank,
       v.d::pg_catalog.float8 AS distance, t.ts AS text_score
  FROM v FULL JOIN t ON v.id = t.id
 ORDER BY 2 DESC, LEAST(v.r, t.r), v.r NULLS LAST, t.r NULLS LAST
 LIMIT $8::pg_catalog.int8$q$,
        id_column, id_type::text, vector_column, ext, op, relation::text, text_column);
END
$fn$;

COMMENT ON FUNCTION vecgo_hybrid_search_sql(regclass, name, name, name, text, regtype)
    IS 'the query vecgo_hybrid_search runs (parameters $1..$8), to look at its plan';

-- Hybrid search over one table: the top `candidates` rows by vector distance
-- to query_vector (through the vecgo index) and the top `candidates` rows
-- matching query_text by ts_rank (through a GIN index on text_column), fused
-- by RRF; returns the top_n ids with their fused score, each half's rank
-- (NULL when the id is not in that half's list), the distance and ts_rank.
-- The ids come as the type of id_type, a NULL of the id column's type (or of
-- one it casts to): NULL::uuid, NULL::text, ... vecgo_hybrid_search is this
-- function for bigint ids.
CREATE FUNCTION vecgo_hybrid_search_typed(
    id_type anyelement,
    relation regclass,
    vector_column name,
    text_column name,
    query_vector vector,
    query_text tsquery,
    top_n integer DEFAULT 10,
    candidates integer DEFAULT 40,
    vector_weight double precision DEFAULT 1,
    text_weight double precision DEFAULT 1,
    rrf_k double precision DEFAULT 60,
    id_column name DEFAULT 'id',
    distance_operator text DEFAULT NULL,
    rank_normalization integer DEFAULT 0,
    OUT id anyelement,
    OUT score double precision,
    OUT vector_rank integer,
    OUT text_rank integer,
    OUT distance double precision,
    OUT text_score real)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    ext name;
    q text;
    arg text;
    val double precision;
BEGIN
    arg := CASE WHEN query_vector IS NULL THEN 'query_vector'
                WHEN query_text IS NULL THEN 'query_text'
                WHEN top_n IS NULL THEN 'top_n'
                WHEN candidates IS NULL THEN 'candidates'
                WHEN vector_weight IS NULL THEN 'vector_weight'
                WHEN text_weight IS NULL THEN 'text_weight'
                WHEN rrf_k IS NULL THEN 'rrf_k'
                WHEN rank_normalization IS NULL THEN 'rank_normalization' END;
    IF arg IS NOT NULL THEN
        RAISE EXCEPTION 'vecgo_hybrid_search: % must not be NULL', arg
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF top_n < 1 OR candidates < 1 THEN
        RAISE EXCEPTION 'vecgo_hybrid_search: % must be at least 1, not %',
                CASE WHEN top_n < 1 THEN 'top_n' ELSE 'candidates' END, LEAST(top_n, candidates)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH arg IN ARRAY ARRAY['vector_weight', 'text_weight', 'rrf_k'] LOOP
        val := CASE arg WHEN 'vector_weight' THEN vector_weight WHEN 'text_weight' THEN text_weight ELSE rrf_k END;
        IF val < 0 OR val = 'NaN'::double precision OR val = 'Infinity'::double precision THEN
            RAISE EXCEPTION 'vecgo_hybrid_search: % must be a finite number >= 0, not %', arg, val
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = CASE WHEN arg = 'rrf_k' THEN 'The usual rrf_k is 60.'
                                  ELSE 'A weight of 0 leaves that list out of the scores.' END;
        END IF;
    END LOOP;
    IF rank_normalization < 0 OR rank_normalization > 63 THEN
        RAISE EXCEPTION 'vecgo_hybrid_search: rank_normalization must be a bit mask of ts_rank''s flags (0 .. 63), not %',
                rank_normalization
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT n.nspname INTO ext
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'vecgo';
    EXECUTE pg_catalog.format('SELECT %I.vecgo_hybrid_search_sql($1, $2, $3, $4, $5, $6)', ext)
        INTO q
        USING relation, vector_column, text_column, id_column, distance_operator,
              pg_catalog.pg_typeof(id_type);
    RETURN QUERY EXECUTE q
        USING query_vector, query_text, candidates, vector_weight, text_weight, rrf_k,
              rank_normalization, top_n;
END
$fn$;

COMMENT ON FUNCTION vecgo_hybrid_search_typed(anyelement, regclass, name, name, vector, tsquery, integer,
    integer, double precision, double precision, double precision, name, text, integer)
    IS 'hybrid search: vecgo k-NN and full-text ranking fused by reciprocal rank fusion, ids of any type';

-- vecgo_hybrid_search_typed for an id column of an integer type: the ids as
-- bigint. (A polymorphic result cannot come from a defaulted argument, so the
-- typed form takes its id type first.)
CREATE FUNCTION vecgo_hybrid_search(
    relation regclass,
    vector_column name,
    text_column name,
    query_vector vector,
    query_text tsquery,
    top_n integer DEFAULT 10,
    candidates integer DEFAULT 40,
    vector_weight double precision DEFAULT 1,
    text_weight double precision DEFAULT 1,
    rrf_k double precision DEFAULT 60,
    id_column name DEFAULT 'id',
    distance_operator text DEFAULT NULL,
    rank_normalization integer DEFAULT 0,
    OUT id bigint,
    OUT score double precision,
    OUT vector_rank integer,
    OUT text_rank integer,
    OUT distance double precision,
    OUT text_score real)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    ext name;
BEGIN
    SELECT n.nspname INTO ext
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'vecgo';
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT * FROM %I.vecgo_hybrid_search_typed(NULL::pg_catalog.int8, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)', ext)
        USING relation, vector_column, text_column, query_vector, query_text, top_n, candidates,
              vector_weight, text_weight, rrf_k, id_column, distance_operator, rank_normalization;
END
$fn$;

COMMENT ON FUNCTION vecgo_hybrid_search(regclass, name, name, vector, tsquery, integer, integer,
    double precision, double precision, double precision, name, text, integer)
    IS 'hybrid search: vecgo k-NN and full-text ranking fused by reciprocal rank fusion, bigint ids';
