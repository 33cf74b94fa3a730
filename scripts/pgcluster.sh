#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for the demo and the tests.
#
#   scripts/pgcluster.sh start DIR PORT   initdb (as user postgres) + start, vecgo preloaded
#                                         (VECGO_WORKER=off: without the compaction worker;
#                                         VECGO_PRELOAD=: without shared_preload_libraries)
#   scripts/pgcluster.sh stop DIR         stop (fast) if running
#   scripts/pgcluster.sh destroy DIR      stop and remove DIR
#
# initdb refuses to run as root, so as root the server runs as `postgres`.
set -euo pipefail

PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}
cmd=${1:?usage: pgcluster.sh start|stop|destroy DIR [PORT]}
dir=${2:?data directory}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    port=${3:?port}
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
      chmod 700 "$dir"
      as_pg "$PG_BINDIR/initdb" -D "$dir" -A trust -U postgres --no-sync >"$dir.initdb.log" 2>&1 ||
        { cat "$dir.initdb.log"; exit 1; }
      cat >>"$dir/postgresql.conf" <<CONF
port = $port
listen_addresses = 'localhost'
unix_socket_directories = '/tmp'
shared_preload_libraries = '${VECGO_PRELOAD-vecgo}'
fsync = off
max_wal_senders = 4
wal_level = replica
maintenance_work_mem = '1GB'
shared_buffers = '256MB'
log_min_messages = warning
# The compaction worker is on (the default) unless VECGO_WORKER=off: the
# regression suites check the results of manual flushes and compactions,
# which the worker would race.
vecgo.worker = ${VECGO_WORKER:-on}
CONF
    fi
    # PGCLUSTER_CORES=1: a crashing process leaves a core file in DIR.
    as_pg "$PG_BINDIR/pg_ctl" -D "$dir" -l "$dir/server.log" ${PGCLUSTER_CORES:+-c} -w -t 60 start >/dev/null
    ;;
  stop)
    if [ -f "$dir/postmaster.pid" ]; then as_pg "$PG_BINDIR/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true; fi
    ;;
  destroy)
    if [ -f "$dir/postmaster.pid" ]; then as_pg "$PG_BINDIR/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir" "$dir.initdb.log"
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
