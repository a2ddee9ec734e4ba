#!/usr/bin/env node
// Issue 15's targets measured in one run on this machine, printed as markdown with the ratios:
//   1. the raw sampling step (`charlm bench`, V 65): batch 1 and batch 32;
//   2. `charlm serve` under bench/serve-load.ts --raw (worker engine, batching on): 1 client and 32 clients, --repeat
//      times interleaved, with the load client's and the server's CPU shares. Each phase's served chars/s is divided
//      by the raw step timed in the server process itself right before and right after it (same model, same
//      cores); the targets use the median of those ratios. The standalone figure of (1) is printed beside them.
//      Then the inline engine, once;
//   3. V 7,000: `charlm bench --vocab 7000` against PyTorch (bench/pytorch_sampling.py, best of 1..N threads), in
//      fp32 and in bf16 (`--precision bf16` against PyTorch's model cast to bfloat16).
// Usage: node bench/serve-targets.mjs [--seconds 8] [--repeat 3] [--pytorch ../shared/reference/pytorch_bench.py] [--skip-torch] [--skip-inline]
// (after `npm install`; the serve phase runs from source with tsx). Run it on a quiet machine: the figures are
// ratios measured side by side, but every process shares the same cores.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const seconds = opt('--seconds', '8');
const repeat = opt('--repeat', '3');
const pytorch = opt('--pytorch', '../shared/reference/pytorch_bench.py');
const threads = cpus().length;
const PIN = { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), CHARLM_QUIET_NATIVE: '1' };

function lastJson(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, ...PIN }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  return JSON.parse(line);
}
const cpuName = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? cpus()[0].model;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`# CPU: ${cpuName}, ${threads} cores; load average at start: ${load()}; ${new Date().toISOString()}`);

const raw65 = lastJson(process.execPath, ['bin/charlm.js', 'bench', '--vocab', '65', '--steps', '1', '--sample-steps', '2000', '--json']);
const served = lastJson(process.execPath, ['--import', 'tsx', 'bench/serve-load.ts', '--seconds', seconds, '--clients', '1,32', '--no-unbatched', '--engine', 'worker', '--raw', '--repeat', repeat]);
// The inline engine (model steps on the event loop) in the same run, for comparison.
const inline = args.includes('--skip-inline') ? null
  : lastJson(process.execPath, ['--import', 'tsx', 'bench/serve-load.ts', '--seconds', seconds, '--clients', '1,32', '--no-unbatched', '--engine', 'inline', '--raw']);
const raw7k = lastJson(process.execPath, ['bin/charlm.js', 'bench', '--vocab', '7000', '--steps', '1', '--sample-steps', '300', '--json']);
const raw7kBf16 = lastJson(process.execPath, ['bin/charlm.js', 'bench', '--vocab', '7000', '--steps', '1', '--sample-steps', '300', '--json', '--precision', 'bf16']);
const torchRun = (dtype) => lastJson('/usr/bin/python3', ['bench/pytorch_sampling.py', '--pytorch', pytorch, '--vocab', '7000',
  '--threads', Array.from({ length: threads }, (_, i) => i + 1).join(','), '--min-time', '2', '--dtype', dtype]);
const torch = args.includes('--skip-torch') ? null : torchRun('float32');
const torchBf16 = args.includes('--skip-torch') ? null : torchRun('bfloat16');
console.log(`# load average at the end: ${load()}`);

const phases = (c) => served.phases.filter((p) => p.clients === c);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const pctOf = (a, b) => `${(100 * a / b).toFixed(0)}%`;
const list = (c, f) => phases(c).map(f).join(', ');
const one = phases(1), many = phases(32);
console.log('\n| target | per repeat (served / raw step in the server, before and after) | median | goal |');
console.log('|---|---|---:|---|');
console.log(`| 32 clients, V 65: served / raw batch-32 step | ${list(32, (p) => `${p.charsPerS} / ${Math.round((p.rawBefore + p.rawAfter) / 2)} = ${pctOf(p.servedOverRaw, 1)}`)} | **${pctOf(median(many.map((p) => p.servedOverRaw)), 1)}** | ≥ 70% |`);
console.log(`| 32 clients: p99 first character | ${list(32, (p) => `${p.p99FirstCharMs} ms`)} | **${median(many.map((p) => p.p99FirstCharMs))} ms** | ≤ 150 ms |`);
console.log(`| 1 client, V 65: served / raw batch-1 step | ${list(1, (p) => `${p.charsPerS} / ${Math.round((p.rawBefore + p.rawAfter) / 2)} = ${pctOf(p.servedOverRaw, 1)}`)} | **${pctOf(median(one.map((p) => p.servedOverRaw)), 1)}** | ≥ 80% |`);
console.log(`\nStandalone \`charlm bench\` before the serve phases: batch 1 ${raw65.sample_chars_per_s_b1}, batch 32 ${raw65.sample_chars_per_s_b32} chars/s ` +
  `(served medians against it: 32 clients ${pctOf(median(many.map((p) => p.charsPerS)), raw65.sample_chars_per_s_b32)}, 1 client ${pctOf(median(one.map((p) => p.charsPerS)), raw65.sample_chars_per_s_b1)}).`);
if (torch) {
  console.log('\n| target | charlm | PyTorch (best of 1..N threads) | ratio | goal |');
  console.log('|---|---:|---:|---:|---|');
  console.log(`| V 7,000 batch 32: chars/s | ${raw7k.sample_chars_per_s_b32} | ${torch.sample_chars_per_s_b32} (${torch.sample_threads_b32} threads) | ${(raw7k.sample_chars_per_s_b32 / torch.sample_chars_per_s_b32).toFixed(2)}× | ≥ 3× |`);
  console.log(`| V 7,000 batch 1: chars/s | ${raw7k.sample_chars_per_s_b1} | ${torch.sample_chars_per_s_b1} (${torch.sample_threads_b1} threads) | ${(raw7k.sample_chars_per_s_b1 / torch.sample_chars_per_s_b1).toFixed(2)}× | ≥ 6× |`);
  const r = (a, b) => `${(a / b).toFixed(2)}×`;
  console.log(`| V 7,000 batch 32, bf16 both: chars/s | ${raw7kBf16.sample_chars_per_s_b32} | ${torchBf16.sample_chars_per_s_b32} (${torchBf16.sample_threads_b32} threads) | ${r(raw7kBf16.sample_chars_per_s_b32, torchBf16.sample_chars_per_s_b32)} | (like for like) |`);
  console.log(`| V 7,000 batch 1, bf16 both: chars/s | ${raw7kBf16.sample_chars_per_s_b1} | ${torchBf16.sample_chars_per_s_b1} (${torchBf16.sample_threads_b1} threads) | ${r(raw7kBf16.sample_chars_per_s_b1, torchBf16.sample_chars_per_s_b1)} | (like for like) |`);
  console.log(`| V 7,000 batch 1, charlm bf16 vs PyTorch fp32 | ${raw7kBf16.sample_chars_per_s_b1} | ${torch.sample_chars_per_s_b1} | ${r(raw7kBf16.sample_chars_per_s_b1, torch.sample_chars_per_s_b1)} | (not like for like) |`);
}
const cpu = (ps, k) => ps.map((p) => pctOf(p[k], 1)).join('/');
console.log(`\nserve-load (worker engine, ${seconds} s per phase): 1 client p50 first char ${list(1, (p) => `${p.p50FirstCharMs}`)} ms, ` +
  `load client CPU ${cpu(one, 'clientCpuShare')} of a core, server ${cpu(one, 'serverCpuShare')}; 32 clients p50 ${list(32, (p) => `${p.p50FirstCharMs}`)} ms, ` +
  `mean batch ${list(32, (p) => `${p.meanBatch}`)}, load client CPU ${cpu(many, 'clientCpuShare')}, server ${cpu(many, 'serverCpuShare')}`);
if (inline) {
  const i1 = inline.phases.find((p) => p.clients === 1), i32 = inline.phases.find((p) => p.clients === 32);
  console.log(`inline engine, same run: 1 client ${i1.charsPerS} chars/s (${pctOf(i1.servedOverRaw, 1)} of its raw step), p99 first char ${i1.p99FirstCharMs} ms; ` +
    `32 clients ${i32.charsPerS} chars/s (${pctOf(i32.servedOverRaw, 1)}), p50/p99 first char ${i32.p50FirstCharMs}/${i32.p99FirstCharMs} ms`);
}
console.log(JSON.stringify({ cpu: cpuName, raw65, served, inline, raw7k, raw7kBf16, torch, torchBf16 }));
