#!/usr/bin/env bash
# Sharding on one machine: starts four throwaway clusters (loopback only), one
# server holding every GloVe-100 row and a coordinator whose table is
# hash-partitioned over two postgres_fdw shards holding the same rows, loads
# GloVe through the coordinator (each row to its shard), has every shard build
# its own vecgo index, runs bench/bench_shard (recall@10, q/s, p50/p99, rows
# fetched per query and shard, CPU per query) and prints what each shard
# receives (EXPLAIN VERBOSE of the plain query and of vecgo_shard_knn).
# README, "Sharding and read replicas".
#
#   bash scripts/shard-demo.sh                 build, install, run (about 10 minutes)
#   bash scripts/shard-demo.sh --rows 100000   fewer rows; other arguments go to bench_shard
#                                              (--ef 20,40,80 --queries 500 --reuse)
#   SHARD_KEEP=1 bash scripts/shard-demo.sh    leave the clusters running afterwards
#   SHARD_REUSE=1 bash scripts/shard-demo.sh   start the kept clusters again and sweep the loaded rows
#
# Ports SHARD_PORT (5520): single server; +1 coordinator; +2, +3 the shards
# (vecgo and pg_stat_statements preloaded). Data in /tmp/vecgo_shard_*.
# Writes bench/results/shard_summary.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
base=${SHARD_PORT:-5520}
single=$base coord=$((base + 1)) s1=$((base + 2)) s2=$((base + 3))
dir=/tmp/vecgo_shard

[ -n "${SHARD_NO_SETUP:-}" ] || bash scripts/setup-deps.sh
export PATH="$(pg_config --bindir):$PATH"
echo "== build and install"
make -j"$(nproc)" >/dev/null && make install >/dev/null && make bench/bench_shard >/dev/null
bash scripts/fetch-glove.sh

nodes=("single:$single" "coord:$coord" "s1:$s1" "s2:$s2")
cleanup() {
  [ -n "${SHARD_KEEP:-}" ] && return 0
  for n in "${nodes[@]}"; do
    if [ -n "${SHARD_REUSE:-}" ]; then
      scripts/pgcluster.sh stop "${dir}_${n%%:*}"
    else
      scripts/pgcluster.sh destroy "${dir}_${n%%:*}"
    fi
  done
}
trap cleanup EXIT
args=("$@")
[ -n "${SHARD_REUSE:-}" ] && args+=(--reuse)
for n in "${nodes[@]}"; do
  name=${n%%:*} port=${n#*:}
  [ -n "${SHARD_REUSE:-}" ] || scripts/pgcluster.sh destroy "${dir}_$name"
  case $name in
    s1 | s2) VECGO_PRELOAD='vecgo,pg_stat_statements' scripts/pgcluster.sh start "${dir}_$name" "$port" ;;
    *) scripts/pgcluster.sh start "${dir}_$name" "$port" ;;
  esac
  echo "$name: port $port (${dir}_$name)"
done

mkdir -p bench/results
conn() { echo "host=localhost port=$1 user=postgres dbname=postgres"; }
./bench/bench_shard --single "$(conn "$single")" --coord "$(conn "$coord")" \
  --shards "$(conn "$s1");$(conn "$s2")" \
  --shard-addr "host 'localhost', port '$s1';host 'localhost', port '$s2'" "${args[@]}" |
  tee bench/results/shard_summary.txt

echo
echo "== what each shard receives (one held-out query, ef_search 40 on the shards)"
psql -X -h localhost -p "$coord" -U postgres postgres 2>&1 <<'SQL' | tee -a bench/results/shard_summary.txt
ALTER SERVER shard1 OPTIONS (SET options '-c vecgo.ef_search=40 -c jit=off');
ALTER SERVER shard2 OPTIONS (SET options '-c vecgo.ef_search=40 -c jit=off');
SELECT embedding AS q FROM items WHERE id = 1 \gset
\echo '-- the plain query: SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 10'
EXPLAIN (VERBOSE, ANALYZE, COSTS OFF) SELECT id FROM items ORDER BY embedding <=> :'q' LIMIT 10;
\echo '-- vecgo_shard_knn(NULL::items, ''embedding'', $1, 10): the statement it runs (auto_explain)'
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 1;  -- the statement, not the catalog look-ups
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_analyze = on;
SET auto_explain.log_timing = on;
SET auto_explain.log_verbose = on;
SET auto_explain.log_level = notice;
SELECT count(*) FROM vecgo_shard_knn(NULL::items, 'embedding', :'q', 10);
SQL
if [ -n "${SHARD_KEEP:-}" ]; then
  echo "clusters left running: psql -h localhost -p $coord -U postgres (coordinator); stop with scripts/pgcluster.sh stop ${dir}_NAME"
fi
