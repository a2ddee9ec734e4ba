// The webgpu backend's device layer on SwiftShader (Debian chromium's CPU Vulkan driver, which CI installs): an
// adapter is found when Vulkan points at SwiftShader, and without one the error is one line with a hint. Both run in
// child processes because Vulkan's env must be set at process start. Then every WGSL kernel against ref on small
// shapes through the GpuRunner directly (webgpu-kernels.ts), and the shared kernel suite through the Backend
// (webgpu-suite.ts); a training step's host↔GPU traffic (webgpu-residency.ts); 20 CLI training steps vs native.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeMissing, skipWithout } from '../skips.js';

const ICD = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json'].find(existsSync);
const swiftshaderEnv = ICD ? { VK_ICD_FILENAMES: ICD, LD_LIBRARY_PATH: ICD.replace(/\/[^/]+$/, '') } : null;
const skip = skipWithout('chromium', swiftshaderEnv ? false : 'no SwiftShader Vulkan driver (Debian chromium ships it)');
const skipNative = skipWithout('native', nativeMissing());

const PROBE = `
import { openNodeDevice } from './src/kernels/webgpu/node-gpu.ts';
import { formatError, isCharlmError } from './src/errors.ts';
try { const d = await openNodeDevice(); console.log('ADAPTER ' + d.adapterName); d.device.destroy(); }
catch (e) { if (isCharlmError(e)) { console.log(formatError(e)); process.exitCode = 2; } else throw e; }
`;

function probe(env: Record<string, string>) {
  const clean = { ...process.env };
  delete clean.VK_ICD_FILENAMES;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PROBE],
    { env: { ...clean, ...env }, encoding: 'utf8', timeout: 60_000 });
}

test('webgpu: Dawn finds the SwiftShader adapter when Vulkan points at it', { skip }, () => {
  const r = probe(swiftshaderEnv!);
  console.log(`  ${r.stdout.trim()}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ADAPTER .*SwiftShader/m);
});

test('webgpu: without an adapter, a one-line NO_WEBGPU_ADAPTER error with a hint', () => {
  const r = probe({ VK_ICD_FILENAMES: '/nonexistent/icd.json' });
  const line = r.stdout.trim();
  console.log(`  ${line}`);
  if (/^ADAPTER/.test(line)) return console.log('  (this machine has a real Vulkan GPU: nothing to check)');
  assert.equal(r.status, 2, r.stderr);
  assert.equal(line.split('\n').length, 1);
  assert.match(line, /^charlm: no WebGPU adapter found .*hint: .*VK_ICD_FILENAMES.*\[NO_WEBGPU_ADAPTER\]$/);
});

test('webgpu: every WGSL kernel against ref on small shapes (SwiftShader)', { skip }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/kernels/webgpu-kernels.ts'],
    { env: { ...process.env, ...swiftshaderEnv! }, encoding: 'utf8', timeout: 300_000 });
  console.log(r.stdout);
  assert.equal(r.status, 0, `${r.stderr}\n(exit ${r.status}, signal ${r.signal})`);
  assert.match(r.stdout, /all checks passed/);
});

test('webgpu: the shared kernel suite through the webgpu Backend (SwiftShader)', { skip }, () => {
  const env: Record<string, string | undefined> = { ...process.env, ...swiftshaderEnv! };
  delete env.NODE_TEST_CONTEXT;   // else the child reports to this runner's channel instead of printing TAP
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/kernels/webgpu-suite.ts'],
    { env, encoding: 'utf8', timeout: 600_000 });
  console.log(r.stdout.split('\n').filter((l) => /^(not )?ok |^# (pass|fail)|webgpu adapter/.test(l)).join('\n'));
  assert.equal(r.status, 0, `${r.stdout.slice(-4000)}\n${r.stderr}\n(exit ${r.status}, signal ${r.signal})`);
  assert.match(r.stdout, /^# pass 17$/m);   // the shared suite's 17 cases (sampleRows: webgpu has none, callers use ref's)
  assert.match(r.stdout, /^# fail 0$/m);
});

/** Per-step training losses from a run's metrics.jsonl. */
function stepLosses(dir: string): number[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((e) => e.type === 'train').map((e) => e.loss as number);
}

const GPT = ['--family', 'gpt', '--n-layer', '2', '--n-head', '2', '--n-embd', '16', '--block-size', '16',
  '--seq-length', '16', '--dropout', '0.1'];
// The third run takes the GPU's attention form (walks in ranges, then merged: ops.ts attentionParts), which a CPU
// adapter would not choose by itself, through the env override. The fourth goes through the tuner (on by default on
// GPUs only): attention's ranges timed per shape in the GPU worker, the choices written to a file in the run's
// folder ({dir}), small shapes included (=all: they are under the floor a GPU run keeps). One runs without WebGPU's
// index clamps (Dawn's disable_robustness, node-gpu.ts).
const RUNS: [string, string[], Record<string, string>, ((dir: string) => void)?][] = [
  ['LSTM', ['--hidden-size', '16', '--num-layers', '1', '--embedding-dim', '8', '--seq-length', '8'], {}],
  ['GPT with dropout', GPT, {}],
  ['GPT with dropout, attention in 3 ranges', GPT, { CHARLM_WEBGPU_ATTN_PARTS: '3' }],
  ['LSTM, kernels without robustness clamps', ['--hidden-size', '16', '--num-layers', '1', '--embedding-dim', '8', '--seq-length', '8'],
    { CHARLM_WEBGPU_ROBUSTNESS: 'off' }],
  ['GPT with dropout, attention ranges timed by the tuner', GPT, { CHARLM_WEBGPU_TUNE: 'all', CHARLM_WEBGPU_TUNE_FILE: '{dir}/tuning.json' },
    (dir) => {
      const tables = Object.values(JSON.parse(readFileSync(join(dir, 'tuning.json'), 'utf8')).tables) as Record<string, unknown>[];
      assert.equal(tables.length, 1);
      // attention over 4 sequences × 2 heads × 16 rows of head size 8, forward and backward, and the SGEMM shapes
      // (the 64 × 48 × 16 product: the QKV projection of 4 × 16 rows)
      const keys = Object.keys(tables[0]);
      for (const k of ['att-fwd:128x16x8', 'att-bwd:128x16x8', '64x48x16nt']) assert.ok(keys.includes(k), `${k} not in ${keys}`);
    }],
];
for (const [what, model, extraEnv, check] of RUNS) {
  test(`webgpu: 20 training steps (${what}, CLI) match native within 1e-3 relative, every step`, { skip: skip || skipNative }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'charlm-webgpu-'));
    try {
      const corpus = join(dir, 'corpus.txt');
      writeFileSync(corpus, 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n'.repeat(40));
      const args = [corpus, ...model, '--steps', '20', '--batch-size', '4', '--eval-interval', '20', '--eval-chars', '200',
        '--sample-chars', '10', '--log-interval', '1', '--seed', '7', '--no-cache', '--quiet'];
      const losses: Record<string, number[]> = {};
      for (const backend of ['native', 'webgpu']) {
        const out = join(dir, backend);
        const r = spawnSync(process.execPath, ['bin/charlm.js', 'train', ...args, '--backend', backend, '--out', out],
          { env: { ...process.env, ...swiftshaderEnv!, ...Object.fromEntries(Object.entries(extraEnv).map(([k, v]) => [k, v.replace('{dir}', dir)])) },
            encoding: 'utf8', timeout: 300_000 });
        assert.equal(r.status, 0, `${backend}: ${r.stdout}\n${r.stderr}`);
        losses[backend] = stepLosses(out);
      }
      assert.equal(losses.native.length, 20);
      assert.equal(losses.webgpu.length, 20);
      const rel = losses.native.map((l, i) => Math.abs(losses.webgpu[i] - l) / Math.abs(l));
      const worst = Math.max(...rel);
      console.log(`  ${what} losses native ${losses.native[0].toFixed(5)} → ${losses.native[19].toFixed(5)}, webgpu ` +
        `${losses.webgpu[0].toFixed(5)} → ${losses.webgpu[19].toFixed(5)}; max rel diff ${worst.toExponential(2)}`);
      assert.ok(worst <= 1e-3, `max relative loss difference ${worst} > 1e-3`);
      check?.(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('webgpu: a model over the GPU\'s largest buffer is a one-line WEBGPU_BUFFER_TOO_LARGE error, not an internal one', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'charlm-webgpu-big-'));
  try {
    const corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, 'a tiny corpus for a model far too large.\n'.repeat(50));
    // hidden 9,000: W_hh is 4·9,000² floats = 1.2 GiB, over SwiftShader's 1 GiB buffer limit
    const r = spawnSync(process.execPath, ['bin/charlm.js', 'train', corpus, '--backend', 'webgpu', '--hidden-size', '9000',
      '--num-layers', '1', '--steps', '1', '--seq-length', '4', '--batch-size', '1', '--no-cache', '--quiet', '--out', join(dir, 'run')],
      { env: { ...process.env, ...swiftshaderEnv! }, encoding: 'utf8', timeout: 120_000 });
    const line = r.stderr.trim();
    console.log(`  exit ${r.status}: ${line}`);
    assert.notEqual(r.status, 0);
    assert.equal(line.split('\n').length, 1, r.stderr);
    assert.match(line, /^charlm: an array of [\d.]+ GiB is over this GPU's largest buffer .*hint: .*--backend native.*\[WEBGPU_BUFFER_TOO_LARGE\]$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('webgpu: a training step keeps parameters, optimizer state and activations on the GPU (reads back 8 bytes)', { skip }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/kernels/webgpu-residency.ts'],
    { env: { ...process.env, ...swiftshaderEnv! }, encoding: 'utf8', timeout: 300_000 });
  console.log(r.stdout);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}\n(exit ${r.status}, signal ${r.signal})`);
  assert.match(r.stdout, /webgpu residency: ok/);
});
