#!/usr/bin/env node
// CI's guard against shrinking coverage: reads the spec reporter's output of `npm test` (a file, or stdin), lists
// every skipped test with its reason, and exits 1 when a skip is not tagged with a feature listed in
// CHARLM_ALLOW_SKIPS (comma-separated; test/skips.ts tags reasons `[feature] why`), or when the summary's skip
// count differs from the skips it found. Usage: node scripts/check-skips.mjs test-output.log
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2] ?? 0, 'utf8');
const allowed = new Set((process.env.CHARLM_ALLOW_SKIPS ?? '').split(',').map((s) => s.trim()).filter(Boolean));
// spec reporter: "﹣ name (1.2ms) # reason" for a skipped test; "ℹ skipped N" in the summary.
const skips = [...text.matchAll(/^\s*﹣ (.*) \([\d.]+m?s\) # (.*)$/gmu)].map((m) => ({ name: m[1], reason: m[2] }));
const summary = [...text.matchAll(/^ℹ skipped (\d+)$/gmu)].map((m) => Number(m[1]));
let bad = 0;
for (const { name, reason } of skips) {
  const feature = /^\[([\w-]+)\]/.exec(reason)?.[1];
  const ok = feature !== undefined && allowed.has(feature);
  if (!ok) bad++;
  console.log(`${ok ? 'allowed   ' : 'UNEXPECTED'} skip: ${name} — ${reason}`);
}
if (summary.length !== 1) {
  console.log(`check-skips: expected one "ℹ skipped N" summary line, found ${summary.length}`);
  process.exit(1);
}
if (summary[0] !== skips.length) {
  console.log(`check-skips: the summary reports ${summary[0]} skipped tests but ${skips.length} skip lines were found`);
  process.exit(1);
}
console.log(`check-skips: ${skips.length} skipped (${bad} unexpected; allowed features: ${[...allowed].join(', ') || 'none'})`);
process.exit(bad ? 1 : 0);
