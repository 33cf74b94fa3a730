#!/usr/bin/env bash
# README command 2: sets up everything and runs every test suite against a
# throwaway cluster. Exits non-zero when any suite fails; the last line is
# "N passed, N failed" (suites).
#
#   bash scripts/test-all.sh            all suites
#   SUITES="core regress" bash scripts/test-all.sh   a subset
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup-deps.sh || { echo "dependency setup failed"; echo "0 passed, 1 failed"; exit 1; }
export PATH="$(pg_config --bindir):$PATH"
jobs=$(nproc)

echo "== build"
if ! { make -j"$jobs" >build.log 2>&1 && make install >>build.log 2>&1; }; then
  tail -50 build.log
  echo "0 passed, 1 failed"
  exit 1
fi
bash scripts/fetch-glove.sh || echo "GloVe data unavailable: real-data tests will say they are skipped"

PORT=${VECGO_TEST_PORT:-5497}
DATA=/tmp/vecgo_test_pg
export PGHOST=/tmp PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
all_suites="core tsan regress regress-scalar regress-plain pgtap fuzz tap"
SUITES=${SUITES:-$all_suites}
passed=0
failed=0
failed_names=()

run_suite() {
  local name=$1
  shift
  echo
  echo "== suite: $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "== suite $name: PASS ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "== suite $name: FAIL ($((SECONDS - start)) s)"
  fi
}

want() { [[ " $SUITES " == *" $1 "* ]]; }

start_cluster() {  # $1: extra environment for the server (e.g. VECGO_SIMD=scalar)
  scripts/pgcluster.sh destroy "$DATA"
  # Without the compaction worker: the suites check manual flushes and
  # compactions (the worker has its own TAP test).
  env VECGO_WORKER=off ${1:-} scripts/pgcluster.sh start "$DATA" "$PORT"
}

suite_core() { make check-headers && make -j"$jobs" core-tests GTEST_ARGS="${GTEST_ARGS:-}"; }

# The core's concurrency tests under ThreadSanitizer (a data race fails it).
suite_tsan() { make tsan; }

suite_regress() {
  make installcheck PGHOST=/tmp PGPORT="$PORT" PGUSER=postgres ||
    { [ -f regression.diffs ] && head -200 regression.diffs; return 1; }
}

suite_pgtap() {
  psql -q -X -c "CREATE EXTENSION IF NOT EXISTS pgtap" >/dev/null &&
    pg_prove -h /tmp -p "$PORT" -U postgres test/pgtap/*.sql
}

suite_fuzz() { make fuzz-io FUZZ_ARGS="${FUZZ_ARGS:-}"; }

suite_tap() { scripts/run-tap.sh; }

want core && run_suite core suite_core
want tsan && run_suite tsan suite_tsan
if want regress || want pgtap || want fuzz; then
  start_cluster || { echo "cluster failed to start"; cat "$DATA/server.log" 2>/dev/null | tail -20; }
  want regress && run_suite regress suite_regress
  want pgtap && run_suite pgtap suite_pgtap
  want fuzz && run_suite fuzz suite_fuzz
fi
if want regress-scalar; then
  # The same SQL behaviour on the portable scalar kernels (forced at load).
  start_cluster VECGO_SIMD=scalar
  run_suite regress-scalar bash -c '[ "$(psql -XAtc "SHOW vecgo.simd")" = scalar ] && make installcheck PGHOST=/tmp PGPORT='"$PORT"' PGUSER=postgres || { [ -f regression.diffs ] && head -100 regression.diffs; exit 1; }'
fi
if want regress-plain; then
  # The same SQL behaviour without shared_preload_libraries (no MemTables, no
  # worker: the L0 log is searched exactly). The expected/*_1.out variants
  # differ from the preloaded ones only by the NOTICE that says so.
  scripts/pgcluster.sh destroy "$DATA"
  env VECGO_PRELOAD= VECGO_WORKER=off scripts/pgcluster.sh start "$DATA" "$PORT"
  run_suite regress-plain bash -c '[ -z "$(psql -XAtc "SHOW shared_preload_libraries")" ] && make installcheck PGHOST=/tmp PGPORT='"$PORT"' PGUSER=postgres || { [ -f regression.diffs ] && head -100 regression.diffs; exit 1; }'
fi
scripts/pgcluster.sh destroy "$DATA"
want tap && run_suite tap suite_tap

echo
[ ${#failed_names[@]} -gt 0 ] && echo "failed suites: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
