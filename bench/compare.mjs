#!/usr/bin/env node
// Side-by-side speed comparison in one run: PyTorch (../shared/reference/pytorch_bench.py, Debian's python3-torch)
// against `charlm bench` (native fp32, native bf16, ref), on the same machine, printing the ratios.
// Usage: node bench/compare.mjs [--pytorch PATH] [--skip-ref] [--repeats N]    (run after `npm install`)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const pytorchScript = opt('--pytorch', '../shared/reference/pytorch_bench.py');
const repeats = Number(opt('--repeats', '1'));

function runJson(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, CHARLM_QUIET_NATIVE: '1' } });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
// Best rate of the repeats for each per-second key; peak memory is the largest seen.
const best = (runs) => runs.reduce((a, b) => ({ ...a, ...Object.fromEntries(Object.entries(b).filter(([k, v]) =>
  typeof v === 'number' && ((k.includes('per_s') && v > (a[k] ?? 0)) || (k === 'peak_rss_mb' && v > (a[k] ?? 0))))) }));
const times = (f) => best(Array.from({ length: repeats }, f));

const rows = [];
if (existsSync(pytorchScript)) rows.push(['pytorch', times(() => runJson('/usr/bin/python3', [pytorchScript, '--steps', '5']))]);
else console.error(`(no ${pytorchScript}: PyTorch baseline skipped)`);
const native = (p) => ['bin/charlm.js', 'bench', '--backend', 'native', '--precision', p, '--steps', '5', '--sample-steps', '1000'];
rows.push(['charlm native fp32', times(() => runJson(process.execPath, native('fp32')))]);
rows.push(['charlm native bf16', times(() => runJson(process.execPath, native('bf16')))]);
if (!args.includes('--skip-ref')) rows.push(['charlm ref', runJson(process.execPath, ['bin/charlm.js', 'bench', '--backend', 'ref', '--steps', '1', '--sample-steps', '40'])]);

const keys = ['train_chars_per_s', 'sample_chars_per_s_b1', 'sample_chars_per_s_b32', 'peak_rss_mb'];
const base = rows[0][0] === 'pytorch' ? rows[0][1] : null;
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; seed model V65 E256 H512 L2 B64 T100; best of ${repeats}`);
console.log(['engine', ...keys, ...(base ? ['train ×', 'b1 ×', 'b32 ×'] : [])].join('\t'));
for (const [name, r] of rows) {
  const ratio = (k) => (base ? (r[k] / base[k]).toFixed(2) : '');
  console.log([name, ...keys.map((k) => r[k]), ...(base ? [ratio(keys[0]), ratio(keys[1]), ratio(keys[2])] : [])].join('\t'));
}
