
-- The compaction worker's last job per index that changed something or
-- failed, in every database, since the server started (empty without
-- shared_preload_libraries). Join datid to pg_database and indexrelid to
-- pg_class of that database.
CREATE FUNCTION vecgo_worker_jobs(
    OUT datid oid, OUT indexrelid oid, OUT finished timestamptz, OUT sealed_rows bigint,
    OUT inputs integer, OUT outputs integer, OUT graph_outputs integer,
    OUT rows_in bigint, OUT rows_out bigint, OUT seconds double precision,
    OUT reclaimed_pages bigint, OUT error text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE;
REVOKE EXECUTE ON FUNCTION vecgo_worker_jobs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vecgo_worker_jobs() TO pg_monitor;
