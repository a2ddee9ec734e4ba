#!/usr/bin/env node
// GPT speed side by side in one run: nanoGPT's model on PyTorch 1.13 (bench/nanogpt_bench.py, Debian's python3-torch)
// against `charlm bench` (native fp32 and bf16) on the same shapes, alternating the engines `--repeats` times and
// keeping each one's best, with the OpenMP/BLAS thread variables pinned on both sides. PyTorch runs at 1 and at N
// threads (its OpenMP pool spins and collapses on an oversubscribed machine) and the ratios use its better figure.
// Shapes: nanoGPT's shakespeare_char model (6 layers, 6 heads, 384 wide, context 256) and a 4-layer 256-wide one.
// Usage: node bench/gpt-compare.mjs [--threads 2] [--repeats 1] [--batch 16] [--steps 2] [--sample-tokens 16]
//        [--shapes sc,small] [--skip-bf16]        (run after `npm install`; both engines train on random tokens)
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const threads = Number(opt('--threads', '2')), repeats = Number(opt('--repeats', '1'));
const batch = Number(opt('--batch', '16')), steps = Number(opt('--steps', '2')), sampleTokens = Number(opt('--sample-tokens', '16'));
const SHAPES = {
  sc: { name: 'shakespeare_char 6L 6H 384C T256', nLayer: 6, nHead: 6, nEmbd: 384, block: 256 },
  small: { name: '4L 4H 256C T256', nLayer: 4, nHead: 4, nEmbd: 256, block: 256 },
};
const shapes = opt('--shapes', 'sc,small').split(',').map((s) => SHAPES[s]);

function pinned(n) {
  return { ...process.env, OMP_NUM_THREADS: String(n), OPENBLAS_NUM_THREADS: String(n), MKL_NUM_THREADS: String(n),
           OMP_WAIT_POLICY: 'PASSIVE', CHARLM_QUIET_NATIVE: '1' };
}
function runJson(cmd, argv, env) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const better = (a, b) => {
  if (!a) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (typeof v === 'number' && (k.includes('per_s') || k === 'peak_rss_mb') && v > (a[k] ?? 0)) out[k] = v;
  }
  return out;
};

const torch = (s, n) => runJson('/usr/bin/python3', ['bench/nanogpt_bench.py', '--n-layer', s.nLayer, '--n-head', s.nHead,
  '--n-embd', s.nEmbd, '--block-size', s.block, '--batch-size', batch, '--micro-batch', batch, '--steps', steps,
  '--sample-tokens', sampleTokens, '--threads', n].map(String), pinned(n));
const charlm = (s, precision) => runJson(process.execPath, ['bin/charlm.js', 'bench', '--backend', 'native', '--precision',
  precision, '--family', 'gpt', '--n-layer', s.nLayer, '--n-head', s.nHead, '--n-embd', s.nEmbd, '--block-size', s.block,
  '--seq-length', s.block, '--batch-size', batch, '--steps', steps, '--sample-steps', s.block, '--sample-batch', 8,
  '--threads', threads].map(String), pinned(threads));

console.log(`machine: ${cpus()[0].model}, ${cpus().length} logical CPUs; batch ${batch} x T, ${steps} timed steps, ` +
  `best of ${repeats}; thread variables pinned (OMP/OPENBLAS/MKL_NUM_THREADS, OMP_WAIT_POLICY=PASSIVE)`);
for (const s of shapes) {
  const rows = {};
  const engines = [['pytorch 1t', () => torch(s, 1)], [`pytorch ${threads}t`, () => torch(s, threads)],
                   [`charlm native fp32 ${threads}t`, () => charlm(s, 'fp32')]];
  if (!args.includes('--skip-bf16')) engines.push([`charlm native bf16 ${threads}t`, () => charlm(s, 'bf16')]);
  for (let r = 0; r < repeats; r++) for (const [name, f] of engines) rows[name] = better(rows[name], f());
  const torchBest = better(rows['pytorch 1t'], rows[`pytorch ${threads}t`]);
  console.log(`\n${s.name}`);
  console.log(['engine', 'train tok/s', 'sample b1 tok/s', 'peak RSS MB', 'train x', 'sample b1 x'].join('\t'));
  for (const [name, v] of Object.entries(rows)) {
    const ratio = (k) => (torchBest[k] ? (v[k] / torchBest[k]).toFixed(2) : '');
    console.log([name, v.train_chars_per_s, v.sample_chars_per_s_b1, v.peak_rss_mb, ratio('train_chars_per_s'),
                 ratio('sample_chars_per_s_b1')].join('\t'));
  }
}
