-- vecgo_shard_knn (new in 0.2.0): the top k rows of a table partitioned over
-- foreign tables (postgres_fdw shards), each shard asked for its own top k at
-- the same time, the answers merged on the coordinator.
--
-- A plain `SELECT ... FROM parent ORDER BY col <=> q LIMIT k` is planned by
-- PostgreSQL 15 as a Merge Append over the foreign partitions: each shard
-- receives the ORDER BY but not the LIMIT (a cursor fetched fetch_size rows at
-- a time), and the shards are opened one after another, since only a plain
-- Append runs foreign scans asynchronously. This function writes the query so
-- that the planner can do both: one subquery per leaf partition, each with its
-- own ORDER BY ... LIMIT k (which postgres_fdw sends to the shard), under a
-- UNION ALL kept from being flattened into the outer ORDER BY (OFFSET 0), so
-- that the planner builds a plain Append whose foreign scans run concurrently
-- on servers with async_capable = 'true', and a top-k sort over at most
-- k rows per shard on the coordinator.
--
--   SELECT * FROM vecgo_shard_knn(NULL::items, 'embedding', '[...]', 10);
--   SELECT id FROM vecgo_shard_knn(NULL::items, 'embedding', $1, 10, '<->', 'category = 3');
--
-- The first argument gives the table by its row type (the rows are returned
-- as that type); `op` is one of <-> <#> <=> <+>; `filter`, when given, is an
-- SQL condition on the table's columns that each shard applies before its
-- LIMIT (when it can be shipped; otherwise postgres_fdw applies it on the
-- coordinator and the shard's LIMIT is not sent). Leaf partitions that are
-- local tables are searched as well, in the same query. A shard that cannot
-- be reached makes the query fail (postgres_fdw's error), never return fewer
-- rows.
CREATE FUNCTION vecgo_shard_knn(rel anyelement, col name, query vector, k integer,
                                op text DEFAULT '<=>', filter text DEFAULT NULL)
RETURNS SETOF anyelement
LANGUAGE plpgsql ROWS 10
AS $fn$
DECLARE
    relid oid;
    kind "char";
    opr text;
    cols text;
    dist text := 'vecgo_shard_knn_distance';
    leaves text[];
    sql text;
BEGIN
    SELECT t.typrelid INTO relid FROM pg_catalog.pg_type t WHERE t.oid = pg_catalog.pg_typeof(rel);
    SELECT c.relkind INTO kind FROM pg_catalog.pg_class c WHERE c.oid = relid;
    IF kind IS NULL OR kind NOT IN ('r', 'p', 'f') THEN
        RAISE EXCEPTION 'vecgo_shard_knn: the first argument must be a row of a table, such as NULL::items, not %',
            pg_catalog.pg_typeof(rel);
    END IF;
    IF query IS NULL OR k IS NULL OR col IS NULL OR op IS NULL THEN
        RAISE EXCEPTION 'vecgo_shard_knn: col, query, k and op must not be null';
    END IF;
    IF k < 1 THEN
        RAISE EXCEPTION 'vecgo_shard_knn: k must be at least 1, not %', k;
    END IF;
    IF op NOT IN ('<->', '<#>', '<=>', '<+>') THEN
        RAISE EXCEPTION 'vecgo_shard_knn: op must be one of <->, <#>, <=>, <+>, not %', op;
    END IF;
    PERFORM FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = relid AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'vecgo_shard_knn: column "%" of relation % does not exist', col, relid::regclass;
    END IF;
    -- The operator of the schema that holds the vector type (the extension is
    -- relocatable; the caller's search_path need not include it).
    SELECT pg_catalog.format('OPERATOR(%I.%s)', n.nspname, op) INTO opr
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
     WHERE t.oid = pg_catalog.pg_typeof(query);
    SELECT pg_catalog.string_agg(pg_catalog.format('%I', a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = relid AND a.attnum > 0 AND NOT a.attisdropped;
    IF kind = 'p' THEN
        SELECT pg_catalog.array_agg(p.relid::regclass::text ORDER BY p.relid) INTO leaves
          FROM pg_catalog.pg_partition_tree(relid) p WHERE p.isleaf;
        IF leaves IS NULL THEN
            RETURN;  -- a partitioned table without partitions
        END IF;
    ELSE
        leaves := ARRAY[relid::regclass::text];
    END IF;
    SELECT pg_catalog.string_agg(pg_catalog.format(
               '(SELECT %s, %I %s $1 AS %I FROM %s%s ORDER BY %I LIMIT %s)',
               cols, col, opr, dist, leaf,
               CASE WHEN filter IS NULL THEN '' ELSE ' WHERE (' || filter || ')' END, dist, k),
           ' UNION ALL ')
      INTO sql FROM pg_catalog.unnest(leaves) AS leaf;
    sql := pg_catalog.format('SELECT %s FROM (%s OFFSET 0) s ORDER BY s.%I LIMIT %s', cols, sql, dist, k);
    RETURN QUERY EXECUTE sql USING query;
END
$fn$;

COMMENT ON FUNCTION vecgo_shard_knn(anyelement, name, vector, integer, text, text) IS
    'top k rows of a table partitioned over postgres_fdw shards: every shard asked for its top k concurrently, merged';
