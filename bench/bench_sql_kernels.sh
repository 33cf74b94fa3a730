#!/usr/bin/env bash
# Cost of the distance operators through SQL, per instruction set, versus the
# number of dimensions: ns per `a <-> b` (and <#>, <=>, <+>) on two in-memory
# vectors (query constants, so no table I/O or detoasting is measured),
# minus the cost of the same query without the operator. The kernel's share
# of a call grows with the dimensions; the rest is the executor's per-call cost.
#   bash bench/bench_sql_kernels.sh            (make install first)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$(pg_config --bindir):$PATH"
PORT=${BENCH_PORT:-5496}
DATA=/tmp/vecgo_bench_sql_pg
CALLS=${CALLS:-1000000}
DIMS=${DIMS:-"96 128 384 768 1536"}
LEVELS=${LEVELS:-"scalar sse4.2 avx2 avx512"}
export PGHOST=/tmp PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres

ms() {  # run SQL $1 five times, print the best wall time in ms
  local best=""
  for _ in 1 2 3 4 5; do
    local t
    t=$(psql -XAt -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  echo "$best"
}

printf "%-8s %6s %10s %10s %10s %10s %12s\n" level dims "<-> ns" "<#> ns" "<=> ns" "<+> ns" "query/row ns"
for level in $LEVELS; do
  scripts/pgcluster.sh destroy "$DATA"
  VECGO_SIMD=$level scripts/pgcluster.sh start "$DATA" "$PORT"
  actual=$(psql -XAtc "CREATE EXTENSION vecgo" -c "SHOW vecgo.simd" | tail -1)
  [ "$actual" = "$level" ] || { echo "# $level not available on this CPU (got $actual)"; continue; }
  psql -XAtq -c "ALTER SYSTEM SET max_parallel_workers_per_gather = 0" -c "SELECT pg_reload_conf()" >/dev/null
  for d in $DIMS; do
    a=$(psql -XAtc "SELECT (SELECT array_agg(random()::real) FROM generate_series(1, $d))::vector")
    b=$(psql -XAtc "SELECT (SELECT array_agg(random()::real) FROM generate_series(1, $d))::vector")
    # OFFSET 0 keeps the pair a subquery, so the planner cannot fold a <-> b into a constant.
    from="FROM generate_series(1, $CALLS) g, (SELECT '$a'::vector AS a, '$b'::vector AS b OFFSET 0) x"
    base=$(ms "SELECT count(a) + count(b) $from")
    row="$(printf "%-8s %6d" "$level" "$d")"
    for op in '<->' '<#>' '<=>' '<+>'; do
      t=$(ms "SELECT sum(a $op b) $from")
      row="$row $(awk "BEGIN{printf \"%10.1f\", ($t - $base) * 1e6 / $CALLS}")"
    done
    row="$row $(awk "BEGIN{printf \"%12.1f\", $base * 1e6 / $CALLS}")"
    echo "$row"
  done
done
scripts/pgcluster.sh destroy "$DATA"
