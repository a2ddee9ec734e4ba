// Scaling of the PyTorch companion trainer on CPU (gloo): the same preset and global batch trained by 1 process with
// 1 thread, 1 process with all threads, and N processes with 1 thread each; steady-state training chars/s from each
// run's metrics.jsonl (the first logged interval, with start-up, is left out). Prints a Markdown table.
//   node bench/torch-scaling.mjs [--corpus FILE] [--preset seed] [--steps 24] [--nproc 2]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../dist/config.js';
import { findTorchPython, TORCH_SCRIPT } from '../dist/train/torch-engine.js';

const { values: a } = parseArgs({ options: {
  corpus: { type: 'string', default: join(import.meta.dirname, '..', '..', 'shared', 'data', 'tinyshakespeare.txt') },
  preset: { type: 'string', default: 'seed' }, steps: { type: 'string', default: '24' }, nproc: { type: 'string', default: '2' },
} });
const steps = Number(a.steps), N = Number(a.nproc), logEvery = Math.max(1, Math.floor(steps / 8));
const py = findTorchPython();
const tmp = mkdtempSync(join(tmpdir(), 'charlm-scaling-'));
const cfgPath = join(tmp, 'config.json');
writeFileSync(cfgPath, JSON.stringify(resolveConfig({ preset: a.preset, flags: { steps, logInterval: logEvery, evalInterval: 0, sampleChars: 0 } })));

function run(label, nproc, threads) {
  const out = join(tmp, label.replace(/\W+/g, '_'));
  const train = [TORCH_SCRIPT, 'train', '--config', cfgPath, '--corpus', a.corpus, '--out', out, '--quiet', '--device', 'cpu'];
  const args = nproc === 1 ? train : [TORCH_SCRIPT, 'torchrun', '--standalone', `--nproc_per_node=${nproc}`, ...train];
  const r = spawnSync(py.python, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(`${label} failed:\n${r.stderr}`);
  const recs = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'train');
  const first = recs[0], last = recs[recs.length - 1];
  const charsPerS = ((last.step - first.step) * CHARS_PER_STEP) / (last.elapsed_s - first.elapsed_s);
  return { label, nproc, threads, charsPerS, loss: last.loss };
}

const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
const CHARS_PER_STEP = cfg.batchSize * cfg.seqLength;
const cores = availableParallelism();
console.log(`CPU: ${cpus()[0]?.model ?? '?'} (${cores} cores); torch ${py.torchVersion} (${py.python}); preset ${a.preset}, ` +
            `global batch ${cfg.batchSize} × ${cfg.seqLength}, ${steps} steps, load average before: ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const rows = [];
for (const [label, nproc, threads] of [['1 process, 1 thread', 1, 1], [`1 process, ${cores} threads`, 1, cores], [`${N} processes × 1 thread (gloo)`, N, 1]]) {
  rows.push(run(label, nproc, threads));
  console.log(`${label}: ${Math.round(rows[rows.length - 1].charsPerS)} chars/s (load average now ${(await import('node:os')).loadavg()[0].toFixed(2)})`);
}
const base = rows[0].charsPerS, best1 = Math.max(rows[0].charsPerS, rows[1].charsPerS);
console.log('\n| run | training chars/s | × 1 process, 1 thread | × best single process | loss at the last step |\n|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.label} | ${Math.round(r.charsPerS).toLocaleString('en-US')} | ${(r.charsPerS / base).toFixed(2)} | ${(r.charsPerS / best1).toFixed(2)} | ${r.loss.toFixed(4)} |`);
}
rmSync(tmp, { recursive: true, force: true });
