// wasm against native, one thread each, side by side: alternates `charlm bench --backend native --threads 1` and
// `charlm bench --backend wasm` (Node: plain SIMD128; Node 20 validates relaxed SIMD only behind a flag, so it is also
// run under --experimental-wasm-relaxed-simd), then times
// wasm in headless Chromium (bench/wasm-browser.mjs: relaxed SIMD, shared memory). Prints every run's JSON and the
// best-of ratios. Native runs twice per repeat: its best path here (AVX-512 where the CPU has it) and its AVX2 path
// (CHARLM_ISA=avx2: what a machine without AVX-512, most laptops, runs), and the table gives the ratio to both.
// Usage: node bench/wasm-compare.mjs [--repeats 2] [--steps 3] [--sample-steps 400] [--preset seed]
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const repeats = Number(arg('repeats', 2)), steps = arg('steps', '3'), sampleSteps = arg('sample-steps', '400'), preset = arg('preset', 'seed');
const bench = (backend, extra = [], nodeFlags = [], env = {}) => JSON.parse(execFileSync(process.execPath, [...nodeFlags, join(root, 'bin', 'charlm.js'), 'bench',
  '--backend', backend, '--preset', preset, '--steps', steps, '--sample-steps', sampleSteps, '--sample-batch', '8', ...extra],
  { encoding: 'utf8', env: { ...process.env, CHARLM_QUIET_NATIVE: '1', ...env } }).trim().split('\n').at(-1));
const browser = () => JSON.parse(execFileSync(process.execPath, [join(root, 'bench', 'wasm-browser.mjs'), '--steps', steps,
  '--sample-steps', sampleSteps, '--preset', preset], { encoding: 'utf8' }).trim().split('\n').at(-1));

const runs = { native: [], avx2: [], wasm: [], relaxed: [], chromium: [] };
for (let r = 0; r < repeats; r++) {
  runs.native.push(bench('native', ['--threads', '1'])); console.log(JSON.stringify(runs.native.at(-1)));
  runs.avx2.push(bench('native', ['--threads', '1'], [], { CHARLM_ISA: 'avx2' })); console.log(JSON.stringify(runs.avx2.at(-1)));
  runs.wasm.push(bench('wasm')); console.log(JSON.stringify(runs.wasm.at(-1)));
  runs.relaxed.push(bench('wasm', [], ['--experimental-wasm-relaxed-simd'])); console.log(JSON.stringify(runs.relaxed.at(-1)));
  runs.chromium.push(browser()); console.log(JSON.stringify(runs.chromium.at(-1)));
}
const best = (xs, k) => Math.max(...xs.map((x) => x[k]));
const row = (name, xs) => ({ name, train: best(xs, 'train_chars_per_s'), b1: best(xs, 'sample_chars_per_s_b1') });
const n = row(`native fp32, 1 thread (${runs.native[0].isa})`, runs.native), a2 = row(`native fp32, 1 thread (${runs.avx2[0].isa})`, runs.avx2);
console.log(`\n| engine | training chars/s | sampling chars/s, batch 1 | training × native (${runs.native[0].isa}) | batch 1 × native | training × native (${runs.avx2[0].isa}) | batch 1 × native (${runs.avx2[0].isa}) |\n|---|---:|---:|---:|---:|---:|---:|`);
for (const x of [n, a2, row(`wasm in Node ${process.version} (${runs.wasm[0].isa})`, runs.wasm),
                 row(`wasm in Node ${process.version} --experimental-wasm-relaxed-simd (${runs.relaxed[0].isa})`, runs.relaxed),
                 row(`wasm in ${runs.chromium[0].engine.replace(' wasm', '')} (${runs.chromium[0].simd})`, runs.chromium)]) {
  console.log(`| ${x.name} | ${x.train.toLocaleString('en-US')} | ${x.b1.toLocaleString('en-US')} | ${(x.train / n.train).toFixed(2)} | ${(x.b1 / n.b1).toFixed(2)} | ${(x.train / a2.train).toFixed(2)} | ${(x.b1 / a2.b1).toFixed(2)} |`);
}
