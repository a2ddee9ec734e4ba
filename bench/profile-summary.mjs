// Summarises a V8 .cpuprofile (from node --cpu-prof): self time per function, top N, as a markdown table, plus
// total sampled time. Native addon calls appear under their JS names (matmulPacked, sampleRows, ...).
//   node bench/profile-summary.mjs <file.cpuprofile> [--top 15]
import { readFileSync } from 'node:fs';

const file = process.argv[2];
const top = Number(process.argv[process.argv.indexOf('--top') + 1] || 15) || 15;
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const dt = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
const self = new Map();
let total = 0;
for (const [id, us] of dt) {
  const n = byId.get(id), cf = n.callFrame;
  const where = cf.url ? cf.url.replace(/^.*\/(src|dist|node_modules)\//, '$1/').replace(/^node:/, 'node:') : '';
  const key = `${cf.functionName || '(anonymous)'}${where ? ` ${where.split('/').slice(-2).join('/')}` : ''}`;
  self.set(key, (self.get(key) ?? 0) + us);
  total += us;
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`total sampled ${(total / 1e3).toFixed(0)} ms`);
console.log('| function | self ms | share |');
console.log('|---|---:|---:|');
for (const [k, us] of rows) console.log(`| ${k.replace(/\|/g, '\\|')} | ${(us / 1e3).toFixed(0)} | ${(100 * us / total).toFixed(1)}% |`);
