// The run-folder lock: a second training into a locked --out is refused (RUN_LOCKED, naming pid and host); a lock
// whose process is gone is taken over with a notice; a fresh run into a folder holding a run needs --force or
// --resume (RUN_EXISTS); the lock goes away when the run ends, also when it fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config.js';
import { train, type TrainEvent } from '../../src/train/loop.js';
import { LOCK_FILE } from '../../src/train/lock.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { CharlmError } from '../../src/errors.js';

const corpus = () => ({ name: 'fox', text: 'the quick brown fox jumps over the lazy dog. '.repeat(40), source: 'test' });
const tmp = () => fs.mkdtempSync(join(tmpdir(), 'charlm-lock-'));
const config = (steps = 6) => resolveConfig({ flags: { embeddingDim: 4, hiddenSize: 8, numLayers: 1, seqLength: 8, batchSize: 2, steps,
  evalInterval: 0, logInterval: 5, sampleChars: 0, backend: 'ref' } });
const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof CharlmError && e.code === c && (!re || re.test(e.message));

test('two trainings into one folder: the second is refused while the first runs', async () => {
  const dir = tmp();
  const first = train({ config: config(200), corpus: corpus(), outDir: dir, backend: refBackend });
  await assert.rejects(train({ config: config(), corpus: corpus(), outDir: dir, backend: refBackend, force: true }),
    code('RUN_LOCKED', new RegExp(`pid ${process.pid} on ${hostname()}`)));
  await first;
  assert.ok(!fs.existsSync(join(dir, LOCK_FILE)), 'the lock is released when the run ends');
  const lines = fs.readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.filter((l) => l.type === 'train').map((l) => l.step), Array.from({ length: 40 }, (_, i) => (i + 1) * 5), 'metrics.jsonl holds one run only');
});

test('a lock held by a live process refuses; once that process is dead it is taken over with a notice', async () => {
  const dir = tmp();
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  fs.writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: holder.pid, host: hostname(), startedAt: 'earlier' }));
  try {
    await assert.rejects(train({ config: config(), corpus: corpus(), outDir: dir, backend: refBackend }),
      code('RUN_LOCKED', new RegExp(`pid ${holder.pid}`)));
  } finally {
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
  }
  const notices: string[] = [];
  await train({ config: config(), corpus: corpus(), outDir: dir, backend: refBackend,
    onEvent: (e: TrainEvent) => { if (e.type === 'notice') notices.push(e.message); } });
  assert.match(notices.join('\n'), new RegExp(`stale lock of pid ${holder.pid}`));
  assert.ok(!fs.existsSync(join(dir, LOCK_FILE)));
  // A lock from another host cannot be checked: refused, with the file to delete named.
  fs.writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere.example', startedAt: 'x' }));
  await assert.rejects(train({ config: config(), corpus: corpus(), outDir: dir, backend: refBackend, force: true }),
    (e: unknown) => code('RUN_LOCKED')(e) && /delete .*\.charlm-train\.lock/.test((e as CharlmError).hint));
});

test('a fresh run into a folder that holds a run needs --force or --resume; the lock is released on failure', async () => {
  const dir = tmp();
  await train({ config: config(), corpus: corpus(), outDir: dir, backend: refBackend });
  await assert.rejects(train({ config: config(), corpus: corpus(), outDir: dir, backend: refBackend }),
    (e: unknown) => code('RUN_EXISTS')(e) && /--resume/.test((e as CharlmError).hint) && /--force/.test((e as CharlmError).hint));
  assert.ok(!fs.existsSync(join(dir, LOCK_FILE)), 'released after a refusal');
  const r = await train({ config: config(10), corpus: corpus(), outDir: dir, backend: refBackend, resume: true });
  assert.equal(r.steps, 10);
  const f = await train({ config: config(), corpus: corpus(), outDir: dir, backend: refBackend, force: true });
  assert.equal(f.steps, 6);
});
