#!/usr/bin/env bash
# Runs the TAP tests (test/t/*.pl, PostgreSQL::Test::Cluster) against the
# installed PostgreSQL and vecgo. As root, runs them as user postgres (initdb
# refuses root) from a copy of test/t in a scratch directory it can write.
#   scripts/run-tap.sh [test/t/NNN_name.pl ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bindir=$(pg_config --bindir)
pgxs=$(cd "$(dirname "$(pg_config --pgxs)")/../.." && pwd)
perl_lib="$pgxs/src/test/perl"
work=${TAP_WORKDIR:-/tmp/vecgo_tap}
rm -rf "$work" && mkdir -p "$work/t" "$work/tmp_check"
if [ $# -gt 0 ]; then tests=("$@"); else tests=("$root"/test/t/*.pl); fi
for t in "${tests[@]}"; do cp "$t" "$work/t/"; done
[ -d "$root/data" ] && ln -sfn "$root/data" "$work/data"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$work"
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cd "$work"
run env PATH="$bindir:$PATH" TESTDIR="$work" PG_REGRESS="$pgxs/src/test/regress/pg_regress" VECGO_DATA="$root/data" VECGO_ROOT="$root" \
  prove -I "$perl_lib" -I "$root/test/perl" ${PROVE_FLAGS:-} t/*.pl
