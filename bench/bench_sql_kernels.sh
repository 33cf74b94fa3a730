#!/usr/bin/env bash
# Cost of the distance operators through SQL, per instruction set, versus the
# number of dimensions: ns per `a <-> b` (and <#>, <=>, <+>) evaluated over a
# table of vector pairs, minus the cost of the same scan without the operator.
#   bash bench/bench_sql_kernels.sh            (make install first)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$(pg_config --bindir):$PATH"
PORT=${BENCH_PORT:-5496}
DATA=/tmp/vecgo_bench_sql_pg
ROWS=${ROWS:-100000}
DIMS=${DIMS:-"96 128 384 768 1536"}
LEVELS=${LEVELS:-"scalar sse4.2 avx2 avx512"}
export PGHOST=/tmp PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres

ms() {  # run SQL $1 three times, print the best wall time in ms
  local best=""
  for _ in 1 2 3; do
    local t
    t=$(psql -XAt -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  echo "$best"
}

printf "%-8s %6s %10s %10s %10s %10s %10s\n" level dims "<-> ns" "<#> ns" "<=> ns" "<+> ns" "scan ns"
for level in $LEVELS; do
  scripts/pgcluster.sh destroy "$DATA"
  VECGO_SIMD=$level scripts/pgcluster.sh start "$DATA" "$PORT"
  actual=$(psql -XAtc "CREATE EXTENSION vecgo; SHOW vecgo.simd" | tail -1)
  [ "$actual" = "$level" ] || { echo "# $level not available on this CPU (got $actual)"; continue; }
  psql -XAtqc "SET max_parallel_workers_per_gather = 0; ALTER SYSTEM SET max_parallel_workers_per_gather = 0; SELECT pg_reload_conf()" >/dev/null
  for d in $DIMS; do
    psql -Xqc "DROP TABLE IF EXISTS p; CREATE TABLE p AS SELECT
        (SELECT array_agg(random()::real) FROM generate_series(1, $d) WHERE g > 0)::vector AS a,
        (SELECT array_agg(random()::real) FROM generate_series(1, $d) WHERE g > 0)::vector AS b
      FROM generate_series(1, $ROWS) g; VACUUM ANALYZE p; SELECT count(*) FROM p" >/dev/null
    base=$(ms "SELECT count(a) + count(b) FROM p")
    row="$(printf "%-8s %6d" "$level" "$d")"
    for op in '<->' '<#>' '<=>' '<+>'; do
      t=$(ms "SELECT sum(a $op b) FROM p")
      row="$row $(awk "BEGIN{printf \"%10.1f\", ($t - $base) * 1e6 / $ROWS}")"
    done
    row="$row $(awk "BEGIN{printf \"%10.1f\", $base * 1e6 / $ROWS}")"
    echo "$row"
  done
done
scripts/pgcluster.sh destroy "$DATA"
