#!/usr/bin/env bash
# `make bench`, `make bench-stream`, `make bench-wide`: the end-to-end
# benchmarks (bench/bench_index.cpp, --mode build|stream|wide) against a
# throwaway cluster. Prints the tables and writes under bench/results/:
#   build   summary.txt, recall_qps.csv, recall_qps.png
#   stream  stream_summary.txt, stream_recall_qps.csv, stream_engines.csv, stream_recall_qps.png
#   wide    wide_summary.txt, wide_recall_qps.csv, wide_engines.csv, wide_recall_qps.png
# Every other argument goes to bench_index (--rows, --queries, --ef, --settle, ...).
# pgvector is compared in the same run when it is installed on this server
# (build it from its public source yourself; it is not part of this project).
# Link it with -Bsymbolic (make LDFLAGS_SL=-Wl,-Bsymbolic): vecgo is preloaded
# and exports functions of the same names (l2_normalize, vector_out), which a
# plain vector.so would call instead of its own.
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
case "$mode" in
  build) prefix= ;;
  stream | wide) prefix=${mode}_ ;;
  *) echo "run_bench.sh: unknown mode $mode (build, stream, wide)" >&2; exit 2 ;;
esac
[ "$mode" = wide ] || bash scripts/fetch-glove.sh
if ! command -v gnuplot >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox >/dev/null || true
fi
pgvector_so="$(pg_config --pkglibdir)/vector.so"
if [ -f "$pgvector_so" ] && command -v readelf >/dev/null 2>&1 &&
  ! readelf -d "$pgvector_so" | grep -q SYMBOLIC; then
  echo "warning: $pgvector_so is not linked with -Bsymbolic: next to the preloaded vecgo it calls" \
    "vecgo's l2_normalize and vector_out; rebuild it with make LDFLAGS_SL=-Wl,-Bsymbolic" >&2
fi
scripts/pgcluster.sh destroy "$DATA"
scripts/pgcluster.sh start "$DATA" "$PORT"
trap 'scripts/pgcluster.sh destroy "$DATA"' EXIT
mkdir -p bench/results
./bench/bench_index --conninfo "host=/tmp port=$PORT user=postgres" --out bench/results "${args[@]}" |
  tee bench/results.txt
mv bench/results.txt "bench/results/${prefix}summary.txt"
if ! command -v gnuplot >/dev/null 2>&1; then
  echo "gnuplot not available: no plot"
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
