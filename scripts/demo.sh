#!/usr/bin/env bash
# README command 1: builds and installs vecgo, starts a throwaway cluster with
# the extension preloaded, loads the 341k GloVe-100 word vectors, builds the
# index and runs nearest-neighbour queries. Leaves the cluster running.
#
#   bash scripts/demo.sh            (as root on Debian 12, or as a user with sudo-free PostgreSQL)
#   DEMO_ROWS=50000 bash scripts/demo.sh   a smaller load
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PORT=${DEMO_PORT:-5499}
DATA=${DEMO_DATA:-/tmp/vecgo_demo_pg}
ROWS=${DEMO_ROWS:-0}

bash scripts/setup-deps.sh
export PATH="$(pg_config --bindir):$PATH"
echo "== build and install"
make -j"$(nproc)" >/dev/null && make install >/dev/null
bash scripts/fetch-glove.sh

echo "== cluster on port $PORT ($DATA)"
scripts/pgcluster.sh stop "$DATA"
scripts/pgcluster.sh start "$DATA" "$PORT"
export PGHOST=/tmp PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
q() { psql -X -v ON_ERROR_STOP=1 "$@"; }

q -q <<'SQL'
DROP EXTENSION IF EXISTS vecgo CASCADE;
CREATE EXTENSION vecgo;
CREATE TABLE words (id int PRIMARY KEY, word text NOT NULL, embedding vector(100) NOT NULL);
SQL
echo "== loading GloVe-100 vectors"
start=$(date +%s%N)
node scripts/glove-copy.js data/glove-100.fvecs data/glove-100.words "$ROWS" |
  q -c "\\copy words (id, word, embedding) FROM STDIN"
echo "loaded $(q -XAtc "SELECT count(*) FROM words") rows in $(( ($(date +%s%N) - start) / 1000000 )) ms"
q -q -c "ANALYZE words"

has_am=$(q -XAtc "SELECT count(*) FROM pg_am WHERE amname = 'vecgo'")
if [ "$has_am" = 1 ]; then
  echo "== CREATE INDEX ... USING vecgo (embedding vector_cosine_ops)"
  q -c "\\timing on" -c "CREATE INDEX words_embedding_idx ON words USING vecgo (embedding vector_cosine_ops)"
  q -c "SELECT * FROM vecgo_index_info('words_embedding_idx')"
  echo "== rows inserted after CREATE INDEX: the L0 log and its in-memory HNSW MemTable"
  q -c "\\timing on" -c "INSERT INTO words SELECT id + 1000000, word || '~', embedding FROM words WHERE id <= 5000"
  q -c "SELECT segment, kind, rows, memtable_rows, memtable_bytes FROM vecgo_index_info('words_embedding_idx')"
fi

echo "== the 10 nearest words to 'king' (cosine distance)"
q -c "\\timing on" -c "
SELECT w.word, round((w.embedding <=> k.embedding)::numeric, 4) AS distance
FROM words w, (SELECT embedding FROM words WHERE word = 'king') k
ORDER BY w.embedding <=> k.embedding
LIMIT 10"
q -c "EXPLAIN (COSTS OFF) SELECT id FROM words ORDER BY embedding <=> (SELECT embedding FROM words WHERE word = 'king') LIMIT 10"

cat <<EOF

The cluster is running. Connect with:
  psql -h /tmp -p $PORT -U postgres postgres
Stop it with:
  $root/scripts/pgcluster.sh stop $DATA
EOF
