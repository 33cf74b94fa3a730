#!/usr/bin/env bash
# `make bench`: the end-to-end GloVe-100 benchmark against a throwaway cluster.
# Prints the tables, writes bench/results/recall_qps.csv and recall_qps.png.
# pgvector is compared in the same run when it is installed on this server
# (build it from its public source yourself; it is not part of this project).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$(pg_config --bindir):$PATH"
PORT=${BENCH_PORT:-5495}
DATA=/tmp/vecgo_bench_pg
bash scripts/fetch-glove.sh
if ! command -v gnuplot >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox >/dev/null || true
fi
scripts/pgcluster.sh destroy "$DATA"
scripts/pgcluster.sh start "$DATA" "$PORT"
trap 'scripts/pgcluster.sh destroy "$DATA"' EXIT
./bench/bench_index --conninfo "host=/tmp port=$PORT user=postgres" --out bench/results "$@" |
  tee bench/results.txt
mv bench/results.txt bench/results/summary.txt
if command -v gnuplot >/dev/null 2>&1; then
  gnuplot <<'GP'
set terminal pngcairo size 900,600 noenhanced
set output 'bench/results/recall_qps.png'
set datafile separator ','
set title 'GloVe-100 (cosine), recall@10 vs queries/s, single client'
set xlabel 'recall@10'
set ylabel 'queries per second'
set logscale y
set grid
set key bottom left
plot for [e in "vecgo pgvector"] 'bench/results/recall_qps.csv' using (stringcolumn(1) eq e ? $3 : 1/0):4 with linespoints title e
GP
  echo "wrote bench/results/recall_qps.png"
else
  echo "gnuplot not available: no plot"
fi
