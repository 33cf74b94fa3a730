// Streams data/glove-100.{fvecs,words} as COPY text rows: id <TAB> word <TAB> [v1,...,v100]
// Usage: node glove-copy.js <fvecs> <words> [limit] [offset]
'use strict';
const fs = require('fs');
const [vecPath, wordPath, limitArg, offsetArg] = process.argv.slice(2);
const words = fs.readFileSync(wordPath, 'utf8').split('\n');
const buf = fs.readFileSync(vecPath);
const dim = buf.readInt32LE(0);
const rec = 4 + 4 * dim;
const total = buf.length / rec;
const offset = offsetArg ? parseInt(offsetArg, 10) : 0;
const limit = limitArg && parseInt(limitArg, 10) > 0 ? parseInt(limitArg, 10) : total;
const esc = (s) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
let out = [];
for (let i = offset; i < Math.min(total, offset + limit); i++) {
  const parts = new Array(dim);
  for (let j = 0; j < dim; j++) parts[j] = buf.readFloatLE(i * rec + 4 + 4 * j);
  out.push(`${i + 1}\t${esc(words[i] || '')}\t[${parts.join(',')}]`);
  if (out.length === 10000) { process.stdout.write(out.join('\n') + '\n'); out = []; }
}
if (out.length) process.stdout.write(out.join('\n') + '\n');
