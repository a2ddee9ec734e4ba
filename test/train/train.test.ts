// Training loop behaviour on small synthetic text: learning, exact resume, byte-identical reproducibility,
// the NaN guard keeping the last good checkpoint, fine-tuning with unknown characters, early stopping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type TrainConfig } from '../../src/config.js';
import { train } from '../../src/train/loop.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { loadModelFile } from '../../src/model/io.js';
import { CharlmError } from '../../src/errors.js';

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(60) + 'pack my box with five dozen liquor jugs. '.repeat(40);
const corpus = { name: 'pangrams', text: TEXT, source: 'test' };
const tmp = () => mkdtempSync(join(tmpdir(), 'charlm-train-'));
const small = (over: Partial<TrainConfig> = {}): TrainConfig => resolveConfig({ flags: {
  embeddingDim: 8, hiddenSize: 16, numLayers: 2, seqLength: 16, batchSize: 4, steps: 20, learningRate: 0.01,
  evalInterval: 10, evalChars: 400, logInterval: 5, sampleChars: 20, backend: 'ref', ...over } });

test('training lowers the loss', async () => {
  const r = await train({ config: small({ steps: 120, evalInterval: 60 }), corpus, outDir: tmp(), backend: refBackend });
  const metrics = readFileSync(join(r.outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const trains = metrics.filter((m) => m.type === 'train');
  console.log(`  first logged loss ${trains[0].loss.toFixed(3)}, last ${trains.at(-1).loss.toFixed(3)}, val ${r.valLoss?.toFixed(3)}`);
  assert.ok(trains.at(-1).loss < trains[0].loss - 0.5);
  assert.ok(r.bestValLoss !== null && r.bestValLoss < Math.log(27));
  for (const k of ['step', 'epoch', 'loss', 'lr', 'chars_per_s', 'elapsed_s']) assert.ok(k in trains[0], k);
});

for (const batching of ['random', 'stateful'] as const) {
  test(`resume (${batching} batches, dropout): 20 steps straight = 10 + resume + 10, same losses and weights`, async () => {
    const cfg = small({ batching, dropout: 0.2 });
    const a = await train({ config: cfg, corpus, outDir: tmp(), backend: refBackend });
    const dirB = tmp();
    await train({ config: { ...cfg, steps: 10 }, corpus, outDir: dirB, backend: refBackend });
    const b = await train({ config: cfg, corpus, outDir: dirB, backend: refBackend, resume: true });
    assert.equal(b.steps, 20);
    const losses = (d: string) => readFileSync(join(d, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      .filter((m) => m.type === 'train').map((m) => m.loss);
    assert.deepEqual(losses(dirB), losses(a.outDir));
    const wa = loadModelFile(a.lastPath, refBackend).model.params.data, wb = loadModelFile(b.lastPath, refBackend).model.params.data;
    assert.deepEqual(Buffer.from(wb.buffer), Buffer.from(wa.buffer));
  });
}

test('same seed, backend and config → byte-identical checkpoints', async () => {
  const a = await train({ config: small(), corpus, outDir: tmp(), backend: refBackend });
  const b = await train({ config: small(), corpus, outDir: tmp(), backend: refBackend });
  assert.ok(readFileSync(a.lastPath).equals(readFileSync(b.lastPath)));
  const c = await train({ config: small({ seed: 7 }), corpus, outDir: tmp(), backend: refBackend });
  assert.ok(!readFileSync(a.lastPath).equals(readFileSync(c.lastPath)));
});

test('a diverging run stops with LOSS_NOT_FINITE and keeps the last good checkpoint', async () => {
  const dir = tmp();
  await train({ config: small({ steps: 10 }), corpus, outDir: dir, backend: refBackend });
  const before = readFileSync(join(dir, 'last.safetensors'));
  await assert.rejects(
    train({ config: small({ steps: 40, learningRate: 3e38, clip: 0 }), corpus, outDir: dir, backend: refBackend, force: true }),
    (e: unknown) => e instanceof CharlmError && e.code === 'LOSS_NOT_FINITE' && /lower --learning-rate/.test(e.hint));
  const after = readFileSync(join(dir, 'last.safetensors'));
  const lm = loadModelFile(join(dir, 'last.safetensors'), refBackend);
  assert.ok(lm.model.params.data.every(Number.isFinite), 'checkpoint on disk holds finite weights');
  assert.ok(after.length === before.length);
  assert.ok(!readdirSync(dir).some((f) => f.includes('.tmp')), 'no temp files left');
});

test('fine-tuning (--init-from) keeps the vocabulary and reports characters it cannot represent', async () => {
  const base = await train({ config: small({ steps: 10 }), corpus, outDir: tmp(), backend: refBackend });
  const events: string[][] = [];
  const ft = await train({ config: small({ steps: 10 }), corpus: { ...corpus, text: TEXT + ' Zürich 😀 ' + TEXT },
    outDir: tmp(), backend: refBackend, initFrom: base.lastPath,
    onEvent: (e) => { if (e.type === 'start') events.push(e.unknownChars); } });
  assert.deepEqual(events[0], ['Z', 'ü', '😀']);
  assert.deepEqual(loadModelFile(ft.lastPath, refBackend).vocab.chars, loadModelFile(base.lastPath, refBackend).vocab.chars);
});

test('early stopping with --patience ends the run', async () => {
  const r = await train({ config: small({ steps: 400, evalInterval: 2, patience: 1, learningRate: 0.5, clip: 0.01 }), corpus,
                         outDir: tmp(), backend: refBackend });
  assert.equal(r.stopped, 'early-stop');
  assert.ok(r.steps < 400);
});

test('an interrupted run saves and reports interrupted', async () => {
  const ac = new AbortController();
  const r = await train({ config: small({ steps: 1000 }), corpus, outDir: tmp(), backend: refBackend, signal: ac.signal,
                         onEvent: (e) => { if (e.type === 'step' && e.step >= 5) ac.abort(); } });
  assert.equal(r.stopped, 'interrupted');
  assert.equal(loadModelFile(r.lastPath, refBackend).training?.steps, r.steps);
});

test('micro-batches give the same training as whole batches (no dropout), and bad splits are errors', async () => {
  const a = await train({ config: small({ steps: 15 }), corpus, outDir: tmp(), backend: refBackend });
  const b = await train({ config: small({ steps: 15, microBatch: 2 }), corpus, outDir: tmp(), backend: refBackend });
  const losses = (d: string) => readFileSync(join(d, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((m) => m.type === 'train').map((m) => m.loss as number);
  const la = losses(a.outDir), lb = losses(b.outDir);
  const maxDiff = Math.max(...la.map((l, i) => Math.abs(l - lb[i])));
  console.log(`  micro-batch 2 of 4 vs whole batch over 15 steps: max |loss diff| ${maxDiff.toExponential(2)}`);
  assert.ok(maxDiff < 1e-5);
  await assert.rejects(train({ config: small({ microBatch: 3 }), corpus, outDir: tmp(), backend: refBackend }),
    (e: unknown) => e instanceof CharlmError && /must divide/.test(e.message));
});
