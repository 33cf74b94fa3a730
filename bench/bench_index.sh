#!/usr/bin/env bash
# vecgo index benchmark on GloVe-100 (data/glove-100.fvecs): load N rows,
# CREATE INDEX time and size, queries/s and recall@10 per metric against an
# exact scan, single-row INSERT rate with and without the index. Prints a
# table. Needs a running server with vecgo installed:
#   PGHOST=/tmp PGPORT=5442 PGUSER=postgres bench/bench_index.sh [N] [QUERIES]
# INDEX_WITH (e.g. "diskann_threshold = 1000") is passed to CREATE INDEX ... WITH;
# EF_SEARCH sets vecgo.ef_search for the queries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-50000}
nq=${2:-200}
db=${PGDATABASE:-postgres}
psql_() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
tsv=$(mktemp /tmp/vecgo_bench.XXXXXX.tsv)
trap 'rm -f "$tsv"' EXIT
perl -e '
  my ($file, $n, $nq) = @ARGV;
  open(my $fh, "<:raw", $file) or die "$file: $!";
  read($fh, my $h, 4); my $dim = unpack("l<", $h); seek($fh, 0, 0);
  my $row = 4 + 4 * $dim;
  for my $i (1 .. $n + $nq) {
    read($fh, my $b, $row) == $row or die "short read";
    my @x = unpack("x4 f<$dim", $b);
    print "$i\t[" . join(",", map { sprintf("%.6g", $_) } @x) . "]\n";
  }' "$root/data/glove-100.fvecs" "$n" "$nq" > "$tsv"
chmod 644 "$tsv"

psql_ -c "CREATE EXTENSION IF NOT EXISTS vecgo" \
      -c "DROP TABLE IF EXISTS bench_items, bench_queries, bench_stage" \
      -c "CREATE TABLE bench_stage (id int, v vector(100))" \
      -c "\\copy bench_stage FROM '$tsv'" \
      -c "CREATE TABLE bench_items AS SELECT * FROM bench_stage WHERE id <= $n" \
      -c "CREATE TABLE bench_queries AS SELECT id AS qid, v FROM bench_stage WHERE id > $n"

ms() { date +%s%N; }
echo "index options: ${INDEX_WITH:-defaults}; vecgo.ef_search = ${EF_SEARCH:-200}"
printf '%-8s %8s %10s %10s %10s %8s\n' metric rows build_s size_MB "q/s" recall
for pair in l2:'<->' ip:'<#>' cosine:'<=>' l1:'<+>'; do
  m=${pair%%:*}; op=${pair#*:}
  t0=$(ms)
  psql_ -c "CREATE INDEX bench_idx ON bench_items USING vecgo (v vector_${m}_ops) ${INDEX_WITH:+WITH ($INDEX_WITH)}"
  t1=$(ms)
  size=$(psql_ -At -c "SELECT round(pg_relation_size('bench_idx') / 1048576.0, 1)")
  # Queries/s: every query in one session, through the index.
  t2=$(ms)
  psql_ -At -c "SET enable_seqscan = off" -c "SET vecgo.ef_search = ${EF_SEARCH:-200}" -c "SELECT count(*) FROM bench_queries q, LATERAL (SELECT id FROM bench_items ORDER BY v $op q.v LIMIT 10) a" >/dev/null
  t3=$(ms)
  recall=$(psql_ -At -c "SET enable_seqscan = off" -c "SET vecgo.ef_search = ${EF_SEARCH:-200}" \
    -c "CREATE TEMP TABLE got AS SELECT q.qid, a.id FROM bench_queries q, LATERAL (SELECT id FROM bench_items ORDER BY v $op q.v LIMIT 10) a" \
    -c "SET enable_indexscan = off" -c "SET enable_seqscan = on" \
    -c "CREATE TEMP TABLE kth AS SELECT q.qid, q.v, (SELECT max(d) FROM (SELECT v $op q.v AS d FROM bench_items ORDER BY 1 LIMIT 10) s) AS d FROM bench_queries q" \
    -c "SELECT round(count(*)::numeric / (10 * (SELECT count(*) FROM bench_queries)), 4) FROM got g JOIN kth k USING (qid) JOIN bench_items i ON i.id = g.id WHERE i.v $op k.v <= k.d")
  psql_ -c "DROP INDEX bench_idx"
  printf '%-8s %8d %10.2f %10s %10.1f %8s\n' "$m" "$n" "$(echo "($t1-$t0)/1000000000" | bc -l)" "$size" \
    "$(echo "$nq/(($t3-$t2)/1000000000)" | bc -l)" "$recall"
done

# Single-row INSERT rate (one client, autocommit), without and with the index.
ins() {
  psql_ -c "TRUNCATE bench_items" >/dev/null
  local t0 t1
  t0=$(ms)
  seq 1 5000 | sed 's/.*/EXECUTE ins(&);/' | (echo "PREPARE ins(int) AS INSERT INTO bench_items SELECT id, v FROM bench_stage WHERE id = \$1;"; cat) |
    psql -X -q -d "$db" >/dev/null
  t1=$(ms)
  echo "5000/(($t1-$t0)/1000000000)" | bc -l
}
psql_ -c "CREATE INDEX IF NOT EXISTS bench_stage_id ON bench_stage (id)"
noidx=$(ins)
psql_ -c "CREATE INDEX bench_idx ON bench_items USING vecgo (v vector_cosine_ops)"
withidx=$(ins)
printf 'single-row inserts/s: %.0f without index, %.0f with the vecgo index\n' "$noidx" "$withidx"
psql_ -c "DROP TABLE bench_items, bench_queries, bench_stage"
