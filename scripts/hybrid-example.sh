#!/usr/bin/env bash
# The README's hybrid search example, reproduced: the distinct descriptions
# of PostgreSQL's built-in objects (pg_description: "trim selected characters
# from both ends of string", ...) as documents, each embedded as the average
# GloVe-100 vector of its words that are not English stop words, searched by
# vecgo_hybrid_search (vecgo k-NN fused with a GIN full-text search).
#
#   scripts/hybrid-example.sh ["query text"]
#
# Connects with the usual libpq environment (PGHOST, PGPORT, PGUSER) to the
# database $HYBRID_DB (default vecgo_hybrid_example), which it creates when
# missing; it replaces its own tables hx_docs and hx_glove there and touches
# nothing else. Needs vecgo installed and data/glove-100.{fvecs,words}
# (scripts/fetch-glove.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
db=${HYBRID_DB:-vecgo_hybrid_example}
query=${1:-remove spaces from the ends of a string}
fvecs="$root/data/glove-100.fvecs"
words="$root/data/glove-100.words"
[ -s "$fvecs" ] && [ -s "$words" ] || bash "$root/scripts/fetch-glove.sh"

if [ "$(psql -X -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$db'")" = 0 ]; then
  createdb "$db"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
p() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

p <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vecgo;
DROP TABLE IF EXISTS hx_docs, hx_glove;
-- One document per distinct description of a built-in object, with one of
-- the objects it describes.
CREATE TABLE hx_docs (
  id int PRIMARY KEY,
  object text NOT NULL,
  body text NOT NULL,
  embedding vector(100),
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED);
INSERT INTO hx_docs (id, object, body)
SELECT row_number() OVER (ORDER BY description), object, description
  FROM (SELECT d.description, min(pg_describe_object(d.classoid, d.objoid, d.objsubid)) AS object
          FROM pg_description d WHERE d.objoid < 16384  -- built in, not an extension's
         GROUP BY d.description) s;
CREATE TABLE hx_glove (word text PRIMARY KEY, v vector(100));
-- The words of a text that carry meaning: lower case, not a stop word.
CREATE OR REPLACE FUNCTION hx_words(t text) RETURNS SETOF text LANGUAGE sql IMMUTABLE AS $$
  SELECT w FROM regexp_split_to_table(lower(t), '[^a-z0-9]+') w
   WHERE w <> '' AND to_tsvector('english', w) <> ''::tsvector $$;
SQL
# The GloVe vectors of the words the documents and the query use.
p -c "\\copy (SELECT DISTINCT w FROM hx_docs, hx_words(body) w UNION SELECT hx_words('$(printf %s "$query" | sed "s/'/''/g")')) TO '$tmp/vocab'"
perl -e '
  my ($vocab, $words, $fvecs) = @ARGV;
  open(my $v, "<", $vocab) or die; my %want = map { chomp; ($_ => 1) } <$v>;
  open(my $w, "<", $words) or die; open(my $f, "<:raw", $fvecs) or die;
  read($f, my $hdr, 4) == 4 or die; my $dim = unpack("l<", $hdr); seek($f, 0, 0);
  my %seen;
  while (my $word = <$w>) {
    chomp $word;
    read($f, my $buf, 4 + 4 * $dim) == 4 + 4 * $dim or die "short fvecs";
    next unless $want{$word} && !$seen{$word}++;
    print $word, "\t[", join(",", map { sprintf("%.6g", $_) } unpack("x4 f<$dim", $buf)), "]\n";
  }' "$tmp/vocab" "$words" "$fvecs" >"$tmp/glove.tsv"
p -c "\\copy hx_glove FROM '$tmp/glove.tsv'"

p <<'SQL'
-- A text's embedding: the average vector of its words (NULL when GloVe
-- knows none of them).
CREATE OR REPLACE FUNCTION hx_embed(t text) RETURNS vector LANGUAGE sql STABLE AS $$
  SELECT avg(g.v) FROM hx_words(t) w JOIN hx_glove g ON g.word = w $$;
-- A text as a full-text query matching any of its words (ranked by ts_rank).
CREATE OR REPLACE FUNCTION hx_any(t text) RETURNS tsquery LANGUAGE sql IMMUTABLE AS $$
  SELECT replace(plainto_tsquery('english', t)::text, ' & ', ' | ')::tsquery $$;
UPDATE hx_docs SET embedding = hx_embed(body);
CREATE INDEX hx_docs_embedding ON hx_docs USING vecgo (embedding vector_cosine_ops);
CREATE INDEX hx_docs_tsv ON hx_docs USING gin (tsv);
ANALYZE hx_docs, hx_glove;
SQL

p -v q="$query" <<'SQL'
\pset footer off
SELECT count(*) AS documents, count(embedding) AS embedded, (SELECT count(*) FROM hx_glove) AS glove_words
  FROM hx_docs;
\echo 'query:' :'q'
\echo 'vector half alone (vecgo, cosine distance of the average word vectors):'
SELECT id, round((embedding <=> hx_embed(:'q'))::numeric, 4) AS distance, body
  FROM hx_docs ORDER BY embedding <=> hx_embed(:'q') LIMIT 5;
\echo 'text half alone (GIN, ts_rank of any of the words):'
SELECT id, round(ts_rank(tsv, hx_any(:'q'))::numeric, 4) AS ts_rank, body
  FROM hx_docs WHERE tsv @@ hx_any(:'q') ORDER BY ts_rank(tsv, hx_any(:'q')) DESC, id LIMIT 5;
\echo 'fused (reciprocal rank fusion, rrf_k 60, 40 candidates a half):'
SELECT h.id, round(h.score::numeric, 4) AS score, h.vector_rank, h.text_rank, d.body, d.object
  FROM vecgo_hybrid_search('hx_docs', 'embedding', 'tsv', hx_embed(:'q'), hx_any(:'q'), top_n => 10) h
  JOIN hx_docs d USING (id)
 ORDER BY h.score DESC, h.id;
\echo 'the plan of the query vecgo_hybrid_search runs ($1: the query vector, $2: the tsquery):'
SELECT vecgo_hybrid_search_sql('hx_docs', 'embedding', 'tsv') AS hq \gset
PREPARE hx_plan AS :hq;
SELECT hx_embed(:'q') AS qv, hx_any(:'q') AS qt \gset
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE hx_plan(:'qv', :'qt', 40, 1, 1, 60, 0, 10);
SQL
