#!/usr/bin/env bash
# `make bench`, `make bench-stream`, `make bench-wide`, `make bench-mixed`:
# the end-to-end benchmarks (bench/bench_index.cpp, --mode build|stream|wide;
# bench/bench_mixed.cpp, --mode mixed) against a throwaway cluster. Prints the
# tables and writes under bench/results/:
#   build   summary.txt, recall_qps.csv, recall_qps.png
#   stream  stream_summary.txt, stream_recall_qps.csv, stream_engines.csv, stream_recall_qps.png
#   wide    wide_summary.txt, wide_recall_qps.csv, wide_engines.csv, wide_recall_qps.png
#   mixed   mixed_summary.txt, mixed_timeline.csv, mixed_timeline.png, mixed_server_log.txt
#           (the server log's warnings and errors)
# Every other argument goes to the program (--rows, --queries, --ef, --settle,
# ...; mixed: --duration, --initial-rows, --ef-vecgo, ...).
# pgvector is compared in the same run when it is installed on this server
# (build it from its public source yourself; it is not part of this project).
# Link it with -Bsymbolic (make LDFLAGS_SL=-Wl,-Bsymbolic): vecgo is preloaded
# and exports functions of the same names (l2_normalize, sparsevec_l2_normalize,
# vector_out), which a plain vector.so would call instead of its own.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$(pg_config --bindir):$PATH"
PORT=${BENCH_PORT:-5495}
DATA=${BENCH_DATA:-/tmp/vecgo_bench_pg}
mode=build
args=("$@")
for ((i = 0; i + 1 < ${#args[@]}; i++)); do
  [ "${args[i]}" = --mode ] && mode=${args[i + 1]}
done
prog=bench_index
case "$mode" in
  build) prefix= ;;
  stream | wide) prefix=${mode}_ ;;
  mixed) prefix=mixed_ prog=bench_mixed ;;
  *) echo "run_bench.sh: unknown mode $mode (build, stream, wide, mixed)" >&2; exit 2 ;;
esac
[ "$mode" = wide ] || bash scripts/fetch-glove.sh
if ! command -v gnuplot >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox >/dev/null || true
fi
pgvector_so="$(pg_config --pkglibdir)/vector.so"
if [ -f "$pgvector_so" ] && command -v readelf >/dev/null 2>&1 &&
  ! readelf -d "$pgvector_so" | grep -q SYMBOLIC; then
  echo "warning: $pgvector_so is not linked with -Bsymbolic: next to the preloaded vecgo it calls" \
    "vecgo's l2_normalize, sparsevec_l2_normalize and vector_out; rebuild it with make LDFLAGS_SL=-Wl,-Bsymbolic" >&2
fi
scripts/pgcluster.sh destroy "$DATA"
PGCLUSTER_CORES=${BENCH_KEEP:-} scripts/pgcluster.sh start "$DATA" "$PORT"
mkdir -p bench/results
# Errors of background processes (autovacuum, vecgo's workers) never reach
# the clients: keep what the server logged (log_min_messages = warning), also
# when the run fails. BENCH_KEEP=1 keeps the cluster (and any core file).
keep_server_log() {
  [ "$mode" = mixed ] || return 0
  log="bench/results/mixed_server_log.txt"
  # The FATALs "due to administrator command" are bench_mixed's DROP DATABASE
  # ... WITH (FORCE) ending an engine's leftover sessions and workers.
  # The table logs its autovacuums, and the ones skipped for its lock.
  grep -E 'WARNING|ERROR|FATAL|PANIC|TRAP|terminated by signal|skipping vacuum|automatic (vacuum|analyze) of table "bench_mixed' \
    "$DATA/server.log" >"$log" || true
}
trap 'keep_server_log; if [ -n "${BENCH_KEEP:-}" ]; then scripts/pgcluster.sh stop "$DATA"; else scripts/pgcluster.sh destroy "$DATA"; fi' EXIT
./bench/$prog --conninfo "host=/tmp port=$PORT user=postgres" --out bench/results "${args[@]}" |
  tee bench/results.txt
mv bench/results.txt "bench/results/${prefix}summary.txt"
if [ "$mode" = mixed ]; then
  keep_server_log
  echo "server log: $(grep -c -E 'ERROR|FATAL|PANIC' "$log" || true) ERROR/FATAL/PANIC lines" \
    "($(grep -c 'due to administrator command' "$log" || true) of them the DROP DATABASE between" \
    "engines), $(grep -c WARNING "$log" || true) warnings; autovacuum of the table:" \
    "$(grep -c 'automatic vacuum of table' "$log" || true) vacuums," \
    "$(grep -c 'skipping vacuum' "$log" || true) skipped for its lock (in $log)"
fi
if ! command -v gnuplot >/dev/null 2>&1; then
  echo "gnuplot not available: no plot"
  exit 0
fi
if [ "$mode" = mixed ]; then
  csv=bench/results/mixed_timeline.csv
  png=bench/results/mixed_timeline.png
  # Columns of mixed_timeline.csv: 2 t_s, 3 inserts/s, 5 searches/s, 11 segments,
  # 14 L0 log rows, 15 MemTable rows, 16 recall. t = 0 is the state before the load
  # (no rates).
  gnuplot <<GP
set terminal pngcairo size 1000,1300 noenhanced
set output '$png'
set datafile separator ','
set key autotitle columnhead
set grid
set key outside right top
set xlabel 'seconds of mixed load'
set xrange [0:*]
# Fixed margins: the panels' time axes line up whatever their tic labels.
set lmargin at screen 0.11
set rmargin at screen 0.82
set multiplot layout 5,1 title 'GloVe-100 under sustained mixed load: inserts, searches, deletes, autovacuum (settings: mixed_summary.txt)'
engines = "vecgo pgvector"
is(e) = stringcolumn(1) eq e
set ylabel 'searches/s'
set yrange [0:*]
plot for [e in engines] '$csv' using (is(e) && \$2 > 0 ? \$2 : 1/0):5 with linespoints title e
set ylabel 'recall@10'
set yrange [*:*]
plot for [e in engines] '$csv' using (is(e) ? \$2 : 1/0):16 with linespoints title e
set ylabel 'rows inserted/s (log)'
set logscale y
plot for [e in engines] '$csv' using (is(e) && \$2 > 0 ? \$2 : 1/0):3 with linespoints title e
unset logscale y
set yrange [0:*]
set ylabel 'vecgo segments'
plot '$csv' using (is("vecgo") ? \$2 : 1/0):11 with linespoints title 'segments'
set ylabel 'vecgo rows'
plot '$csv' using (is("vecgo") ? \$2 : 1/0):14 with linespoints title 'L0 log', \
     '' using (is("vecgo") ? \$2 : 1/0):15 with linespoints title 'MemTable'
unset multiplot
GP
  echo "wrote $png"
  exit 0
fi
csv="bench/results/${prefix}recall_qps.csv"
png="bench/results/${prefix}recall_qps.png"
case "$mode" in
  build)
    title='GloVe-100 (cosine), recall@10 vs queries/s, single client'
    series='"vecgo pgvector"' phased=0 ;;
  stream)
    title='GloVe-100 streamed by COPY into an indexed table, recall@10 vs queries/s, single client'
    series='"vecgo:fresh vecgo:settled pgvector:fresh pgvector:settled"' phased=1 ;;
  wide)
    title='Synthetic 768-d (cosine), CREATE INDEX with defaults, recall@10 vs queries/s, single client'
    series='"vecgo pgvector"' phased=0 ;;
esac
recall=$((3 + phased))
gnuplot <<GP
set terminal pngcairo size 900,600 noenhanced
set output '$png'
set datafile separator ','
set title '$title'
set xlabel 'recall@10'
set ylabel 'queries per second'
set logscale y
set grid
set key bottom left
# A series is "engine", or "engine:phase" in stream mode (phase: second column).
key(e, p) = $phased ? e . ":" . p : e
plot for [s in $series] '$csv' using (key(stringcolumn(1), stringcolumn(2)) eq s ? \$$recall : 1/0):$((recall + 1)) \
  with linespoints title s
GP
echo "wrote $png"
