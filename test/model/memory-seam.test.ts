// The memory seam (docs/architecture.md, "Backend-owned memory"): training, resume, evaluation (both protocols) and
// sampling of the rnn and gpt families run on the strict backend (test/kernels/strict.ts), which refuses any buffer
// it did not allocate and poisons host copies until read(). Same kernels as ref, so the checkpoints must be
// bit-identical to ref's; and a training step uploads only its ids and targets and reads nothing back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type TrainConfig } from '../../src/config.js';
import { train } from '../../src/train/loop.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { loadModelFile } from '../../src/model/io.js';
import { createModel, family } from '../../src/model/registry.js';
import { evaluate } from '../../src/train/evaluate.js';
import { generate, generateBatch } from '../../src/sample/generate.js';
import { Vocab } from '../../src/data/vocab.js';
import { Rng } from '../../src/util/rng.js';
import { createStrictBackend } from '../kernels/strict.js';

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(40) + 'pack my box with five dozen liquor jugs. '.repeat(30);
const corpus = { name: 'pangrams', text: TEXT, source: 'test' };
const tmp = () => mkdtempSync(join(tmpdir(), 'charlm-seam-'));
const RNN = { embeddingDim: 8, hiddenSize: 16, numLayers: 2, dropout: 0.2, embedDropout: 0.1 };
const GPT = { family: 'gpt' as const, nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 16, dropout: 0.1, bias: true };
const small = (over: Partial<TrainConfig>): TrainConfig => resolveConfig({ flags: {
  seqLength: 12, batchSize: 3, steps: 8, learningRate: 0.01, evalInterval: 4, evalChars: 300, logInterval: 2,
  sampleChars: 30, backend: 'ref', ...over } });

test('strict backend: refuses foreign arrays, poisons outputs until read(), refuses a missing write()', () => {
  const be = createStrictBackend();
  const a = be.alloc(4), b = be.alloc(4), c = be.alloc(4);
  assert.throws(() => be.add(c, a, new Float32Array(4), 4), /did not allocate/);
  a.set([1, 2, 3, 4]);
  assert.throws(() => be.add(c, a, b, 4), /without write\(\)/);
  be.write(a);
  be.add(c, a, a, 4);
  assert.ok(Number.isNaN(c[0]), 'an output is poisoned on the host until read()');
  assert.throws(() => be.write(c.subarray(1, 2)), /never read back/);
  be.read(c.subarray(1, 3));
  assert.deepEqual([...c.subarray(1, 3)], [4, 6]);
  assert.ok(Number.isNaN(c[3]));
});

const cases: [string, Partial<TrainConfig>][] = [
  ['rnn lstm (dropout, stateful)', { ...RNN, batching: 'stateful' }],
  ['rnn gru', { ...RNN, cell: 'gru', dropout: 0, embedDropout: 0 }],
  ['gpt (bias, dropout, windows eval)', { ...GPT, evalProtocol: 'windows' }],
];

for (const [label, over] of cases) {
  test(`${label}: train + resume + eval + samples on the strict backend = ref, bit for bit`, async () => {
    const cfg = small(over);
    const ref = await train({ config: cfg, corpus, outDir: tmp(), backend: refBackend });
    const strict = createStrictBackend();
    const dir = tmp();
    await train({ config: { ...cfg, steps: 4 }, corpus, outDir: dir, backend: strict });
    const r = await train({ config: cfg, corpus, outDir: dir, backend: strict, resume: true });
    assert.equal(r.steps, 8);
    const weights = (path: string) => Buffer.from(loadModelFile(path, refBackend).model.params.data.buffer);
    assert.ok(weights(r.lastPath).equals(weights(ref.lastPath)), 'the weights differ from ref');
    const metrics = (d: string) => readFileSync(join(d, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      .map(({ elapsed_s: _e, chars_per_s: _c, ...rest }) => rest);
    assert.deepEqual(metrics(dir), metrics(ref.outDir), 'losses, validation losses and samples differ from ref');
    console.log(`  ${label}: val ${r.valLoss?.toFixed(4)} = ref ${ref.valLoss?.toFixed(4)}; ${strict.stats.kernels} kernel calls`);

    // Sampling, batched sampling and both evaluation protocols on a loaded model.
    const a = loadModelFile(r.lastPath, strict), b = loadModelFile(r.lastPath, refBackend);
    const o = { prime: 'the ', length: 40, temperature: 0.9, topK: 0, topP: 1, seed: 3, unknown: 'error' as const };
    assert.equal(generate(a.model, a.vocab, o), generate(b.model, b.vocab, o));
    assert.deepEqual(generateBatch(a.model, a.vocab, o, 3), generateBatch(b.model, b.vocab, o, 3));
    const toks = a.vocab.encode(TEXT.slice(0, 200), 'error');
    for (const eo of [{}, { protocol: 'windows' as const, block: 8 }]) {
      assert.equal(evaluate(a.model, toks, eo).loss, evaluate(b.model, toks, eo).loss);
    }
  });
}

test('state handling (clone, copy a row, reset) and per-step traffic on the strict backend', () => {
  const vocab = new Vocab([...'abcdefgh']);
  for (const cfg of [{ ...RNN, family: 'rnn' as const, cell: 'lstm' as const }, GPT]) {
    const tc = resolveConfig({ flags: { ...cfg, seqLength: 8, batchSize: 2 } });
    const strict = createStrictBackend();
    const ms = createModel(family(tc.family).fromTrainConfig(tc, vocab.size), strict);
    const mr = createModel(family(tc.family).fromTrainConfig(tc, vocab.size), refBackend);
    ms.initialize(new Rng(1)); mr.initialize(new Rng(1));
    const ids = Int32Array.from({ length: 16 }, (_, i) => (i * 5) % 8), y = ids.map((v) => (v + 1) % 8);
    // Per-step traffic: after the first step (workspace allocation), a step allocates nothing, reads nothing back
    // and uploads only its inputs (ids, targets): dropout masks (rnn) are made by the backend from a seed.
    ms.forwardBackward(ids, y, 2, 8, null, new Rng(2));
    strict.resetStats();
    const loss = ms.forwardBackward(ids, y, 2, 8, null, new Rng(2));
    assert.equal(loss, mr.forwardBackward(ids, y, 2, 8, null, new Rng(2)));
    const s = strict.stats;
    console.log(`  ${tc.family}: one training step = ${s.kernels} kernel calls, ${s.writes} uploads (${s.writeValues} values), ${s.reads} downloads, ${s.allocs} allocations`);
    assert.equal(s.allocs, 0); assert.equal(s.reads, 0);
    assert.ok(s.writes <= 2, `${s.writes} uploads in one step`);
    // States: prime two rows differently, copy row 1 into a clone's row 0, reset, step; compare with ref.
    const run = (m: typeof ms) => {
      const st = m.createState(2);
      m.prime(Int32Array.of(1, 2, 3, 4, 5, 6), 2, 3, st);
      const cl = m.cloneState(st);
      m.copyStateRow(cl, 0, st, 1);
      m.resetState(st, 1);
      const out = [...m.step(Int32Array.of(7, 7), cl), ...m.step(Int32Array.of(0, 1), st)];
      m.resetState(st);
      return [...out, ...m.step(Int32Array.of(2, 3), st)];
    };
    strict.resetStats();
    assert.deepEqual(run(ms), run(mr));
    console.log(`  ${tc.family}: prime + 3 steps = ${strict.stats.reads} downloads (the logits each returns)`);
    assert.equal(strict.stats.reads, 4);
  }
});
