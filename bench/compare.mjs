#!/usr/bin/env node
// Side-by-side speed comparison in one run: PyTorch (../shared/reference/pytorch_bench.py, Debian's python3-torch)
// against `charlm bench` (native fp32, native bf16, ref), on the same machine, printing the ratios.
// Usage: node bench/compare.mjs [--pytorch PATH] [--skip-ref] [--repeats N] [--threads N]   (run after `npm install`)
// Fairness: both sides get the same cores. OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are pinned to
// --threads (default: all cores) for every child process; charlm runs with --threads N; PyTorch training is the
// best of 1..N threads (pytorch_bench.py) and PyTorch sampling the best of 1..N threads (bench/pytorch_sampling.py,
// since pytorch_bench.py samples on one thread only). Every timed window lasts ≥ ~2 s, and with --repeats ≥ 2 the
// spread between runs is printed and flagged above 5%.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const pytorchScript = opt('--pytorch', '../shared/reference/pytorch_bench.py');
const repeats = Number(opt('--repeats', '2'));
const threads = Number(opt('--threads', String(cpus().length)));
const threadList = Array.from({ length: threads }, (_, i) => i + 1).join(',');
const PIN = { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };

function runJson(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, ...PIN, CHARLM_QUIET_NATIVE: '1' } });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const RATE_KEYS = ['train_chars_per_s', 'sample_chars_per_s_b1', 'sample_chars_per_s_b32'];
// Best rate of the repeats for each per-second key; peak memory is the largest seen; spread = max/min − 1 per key.
function times(f) {
  const runs = Array.from({ length: repeats }, f);
  const out = { ...runs[0] }, spread = {};
  for (const k of [...RATE_KEYS, 'peak_rss_mb']) {
    const v = runs.map((r) => r[k]).filter((x) => typeof x === 'number');
    if (!v.length) continue;
    out[k] = Math.max(...v);
    if (k !== 'peak_rss_mb') spread[k] = Math.max(...v) / Math.min(...v) - 1;
  }
  return { ...out, spread };
}

const rows = [];
if (existsSync(pytorchScript)) {
  rows.push(['pytorch', times(() => {
    const train = runJson('/usr/bin/python3', [pytorchScript, '--steps', '5', '--threads', threadList]);
    const samp = runJson('/usr/bin/python3', ['bench/pytorch_sampling.py', '--pytorch', pytorchScript, '--threads', threadList]);
    return { ...train, ...samp, peak_rss_mb: train.peak_rss_mb };
  })]);
} else console.error(`(no ${pytorchScript}: PyTorch baseline skipped)`);
const native = (p) => ['bin/charlm.js', 'bench', '--backend', 'native', '--precision', p, '--threads', String(threads),
  '--steps', '10', '--sample-steps', '8000'];
rows.push(['charlm native fp32', times(() => runJson(process.execPath, native('fp32')))]);
rows.push(['charlm native bf16', times(() => runJson(process.execPath, native('bf16')))]);
if (!args.includes('--skip-ref')) rows.push(['charlm ref', { ...runJson(process.execPath, ['bin/charlm.js', 'bench', '--backend', 'ref', '--steps', '1', '--sample-steps', '40']), spread: {} }]);

const keys = [...RATE_KEYS, 'peak_rss_mb'];
const base = rows[0][0] === 'pytorch' ? rows[0][1] : null;
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; ${Object.entries(PIN).map(([k, v]) => `${k}=${v}`).join(' ')}; ` +
  `seed model V65 E256 H512 L2 B64 T100; best of ${repeats}`);
if (base) console.log(`pytorch threads: training ${base.train_threads}, sampling b1 ${base.sample_threads_b1}, b32 ${base.sample_threads_b32}; charlm: ${threads}`);
console.log(['engine', ...keys, ...(base ? ['train ×', 'b1 ×', 'b32 ×'] : []), 'spread (train/b1/b32)'].join('\t'));
let unstable = false;
for (const [name, r] of rows) {
  const ratio = (k) => (base ? (r[k] / base[k]).toFixed(2) : '');
  const spread = RATE_KEYS.map((k) => (r.spread[k] === undefined ? '-' : `${(100 * r.spread[k]).toFixed(1)}%`)).join('/');
  if (RATE_KEYS.some((k) => r.spread[k] > 0.05)) unstable = true;
  console.log([name, ...keys.map((k) => r[k]), ...(base ? [ratio(keys[0]), ratio(keys[1]), ratio(keys[2])] : []), spread].join('\t'));
}
if (unstable) console.log('warning: some runs disagree by more than 5% (a busy machine?); rerun before quoting these numbers');
