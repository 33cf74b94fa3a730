-- The vecgo index access method, its operator classes and maintenance functions.

CREATE FUNCTION vecgohandler(internal) RETURNS index_am_handler
    AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD vecgo TYPE INDEX HANDLER vecgohandler;

COMMENT ON ACCESS METHOD vecgo IS 'tiered (LSM-style) approximate nearest neighbour index';

-- FUNCTION 1 names the metric the index computes with its own kernels.
CREATE OPERATOR CLASS vector_l2_ops
    DEFAULT FOR TYPE vector USING vecgo AS
    OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 vector_l2_squared_distance(vector, vector);

CREATE OPERATOR CLASS vector_ip_ops
    FOR TYPE vector USING vecgo AS
    OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 vector_negative_inner_product(vector, vector);

CREATE OPERATOR CLASS vector_cosine_ops
    FOR TYPE vector USING vecgo AS
    OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 cosine_distance(vector, vector);

CREATE OPERATOR CLASS vector_l1_ops
    FOR TYPE vector USING vecgo AS
    OPERATOR 1 <+> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 l1_distance(vector, vector);

-- Seals the L0 log into a Flat segment; returns the rows sealed.
CREATE FUNCTION vecgo_flush(regclass) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE;

-- Size-tiered compaction; returns the number of segments replaced.
CREATE FUNCTION vecgo_compact(regclass) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE;

-- One row per tier: the L0 log, then each segment. memtable_rows,
-- memtable_bytes and memtable_state describe the tier's HNSW MemTable (NULL
-- when it has none): the rows it covers (a prefix of the tier's rows), the
-- shared memory it holds, and 'live' (the L0 log's, taking inserts) or
-- 'sealed' (serving a sealed log until compaction replaces it). The L0 log's
-- row also carries the compaction worker's last job on the index:
-- worker_finished and worker_job (what it sealed, compacted and reclaimed,
-- or its error); NULL when the worker has none on record.
CREATE FUNCTION vecgo_index_info(regclass,
    OUT segment integer, OUT kind text, OUT rows bigint, OUT deleted bigint,
    OUT pages bigint, OUT bytes bigint, OUT quantization text,
    OUT memtable_rows bigint, OUT memtable_bytes bigint, OUT memtable_state text,
    OUT worker_finished timestamptz, OUT worker_job text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE;

-- Shared memory held by the HNSW MemTables of every database (bounded by
-- vecgo.memtable_memory): how many there are and their bytes; whether vecgo
-- is preloaded (without it there are no MemTables); the MemTable worker's
-- process id (NULL when it does not run), the rows sessions handed to it and
-- the rows they inserted into a graph themselves since the server started,
-- and the rows waiting in its queue; the inserts slowed down because
-- MemTable memory ran short (vecgo.ingest_max_delay) and their waits in all.
CREATE FUNCTION vecgo_memtable_usage(OUT memtables integer, OUT bytes bigint,
    OUT preloaded boolean, OUT worker_pid integer, OUT rows_queued bigint,
    OUT rows_direct bigint, OUT rows_waiting bigint, OUT rows_delayed bigint,
    OUT delayed_ms bigint)
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE;

DO $$
BEGIN
  IF NOT (SELECT preloaded FROM vecgo_memtable_usage()) THEN
    RAISE WARNING 'vecgo is not in shared_preload_libraries: rows inserted after CREATE INDEX are searched exactly until VACUUM compacts them'
      USING HINT = 'Add vecgo to shared_preload_libraries and restart the server for the in-memory MemTable and the background compaction worker.';
  END IF;
END
$$;

-- Structural check of the index; raises an error on corruption. It holds a
-- SHARE lock on the table (no writes) while it runs, so, like amcheck's
-- functions, it is not for everyone: GRANT EXECUTE to the roles that check
-- indexes (they also need SELECT on the table).
CREATE FUNCTION vecgo_verify(regclass) RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE;
REVOKE EXECUTE ON FUNCTION vecgo_verify(regclass) FROM PUBLIC;
