// ONNX export checked in onnxruntime-node: the step graph and the sequence graph give charlm's own logits and
// final states (LSTM/GRU/RNN, 1–3 layers, zero and non-zero initial states). Skipped, with the reason printed,
// where onnxruntime-node's native binding cannot load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { exportOnnx } from '../../src/interop/onnx.js';
import { importStateDict } from '../../src/interop/import.js';
import { CharModel } from '../../src/model/charmodel.js';
import { Vocab } from '../../src/data/vocab.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { Rng } from '../../src/util/rng.js';
import { ROOT, diffs, toBatchMajor } from '../helpers.js';
import { skipWithout } from '../skips.js';

// The slice of onnxruntime-node's API used here (its 1.16 typings do not resolve under NodeNext).
interface OrtTensor { data: unknown; dims: readonly number[] }
interface Ort {
  InferenceSession: { create(model: Uint8Array): Promise<{ run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> }> };
  Tensor: new (type: string, data: unknown, dims: number[]) => OrtTensor;
}
const ORT_MODULE = 'onnxruntime-node'; // devDependency pinned at 1.16.3: it ships its native binaries and, unlike 1.17+, has no postinstall download
let ort: Ort | null = null, why = '';
try { ort = (await import(ORT_MODULE)) as Ort; } catch (e) { why = `onnxruntime-node cannot load here: ${(e as Error).message.split('\n')[0]}`; }
const skip = skipWithout('onnxruntime', !ort && why);

const FIX = path.join(ROOT, 'test', 'fixtures', 'pth');
const TOL = 1e-4;

function models(): { name: string; model: CharModel; vocab: Vocab }[] {
  const out = ['seed_lstm.pth', 'gru_offset.pth', 'ddp_rnn.pth'].map((f) => {
    const { model, vocab } = importStateDict(path.join(FIX, f), { vocabFrom: path.join(FIX, 'text.txt') });
    return { name: f, model, vocab };
  });
  const vocab = Vocab.fromText('abcdefghij .\n');
  for (const cell of ['lstm', 'gru', 'rnn'] as const) { // 3 layers, E ≠ H, random weights
    const model = new CharModel({ cell, vocabSize: vocab.size, embeddingDim: 6, hiddenSize: 9, numLayers: 3, dropout: 0, embedDropout: 0 }, refBackend);
    model.initialize(new Rng(7));
    out.push({ name: `random ${cell} L3`, model, vocab });
  }
  return out;
}

function randomState(model: CharModel, B: number, rng: Rng) {
  const s = model.createState(B);
  for (let i = 0; i < s.h.length; i++) s.h[i] = rng.uniform(-1, 1);
  if (s.c) for (let i = 0; i < s.c.length; i++) s.c[i] = rng.uniform(-1, 1);
  return s;
}

async function runOnnx(o: Ort, bytes: Uint8Array, ids: Int32Array, idDims: number[], model: CharModel,
                       state: { h: Float32Array; c: Float32Array | null }, B: number) {
  const session = await o.InferenceSession.create(bytes);
  const { numLayers: L, hiddenSize: H } = model.config;
  const feeds: Record<string, OrtTensor> = {
    input_ids: new o.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), idDims),
    h0: new o.Tensor('float32', state.h.slice(), [L, B, H]),
  };
  if (state.c) feeds.c0 = new o.Tensor('float32', state.c.slice(), [L, B, H]);
  const r = await session.run(feeds);
  return { logits: r.logits.data as Float32Array, hn: r.hn.data as Float32Array, cn: r.cn?.data as Float32Array | undefined };
}

function report(label: string, got: { logits: Float32Array; hn: Float32Array; cn?: Float32Array },
                want: { logits: ArrayLike<number>; h: Float32Array; c: Float32Array | null }): void {
  const dl = diffs(got.logits, want.logits).abs, dh = diffs(got.hn, want.h).abs;
  const dc = want.c ? diffs(got.cn!, want.c).abs : 0;
  console.log(`${label}: logits maxdiff ${dl.toExponential(2)}, hn ${dh.toExponential(2)}, cn ${dc.toExponential(2)}`);
  assert.ok(dl <= TOL && dh <= TOL && dc <= TOL, label);
}

test('step graph = CharModel.step in onnxruntime', { skip }, async () => {
  const rng = new Rng(11);
  for (const { name, model, vocab } of models()) {
    const B = 3, ids = Int32Array.from({ length: B }, () => rng.nextU32() % vocab.size);
    const start = randomState(model, B, rng);
    const got = await runOnnx(ort!, exportOnnx(model, vocab), ids, [B], model, start, B);
    const state = { B, h: start.h.slice(), c: start.c ? start.c.slice() : null };
    const logits = model.step(ids, state).slice();
    report(`step ${name}`, got, { logits, h: state.h, c: state.c });
  }
});

test('sequence graph = CharModel.forward in onnxruntime (zero and given state)', { skip }, async () => {
  const rng = new Rng(12);
  for (const { name, model, vocab } of models()) {
    const B = 2, T = 9, V = vocab.size;
    const ids = Int32Array.from({ length: B * T }, () => rng.nextU32() % V);
    const bytes = exportOnnx(model, vocab, { sequence: true });
    for (const zero of [true, false]) {
      const start = zero ? model.createState(B) : randomState(model, B, rng);
      const got = await runOnnx(ort!, bytes, ids, [B, T], model, start, B);
      const state = { B, h: start.h.slice(), c: start.c ? start.c.slice() : null };
      const logits = toBatchMajor(model.forward(ids, B, T, state), B, T, V);
      report(`sequence ${name} (${zero ? 'zero' : 'given'} state)`, got, { logits, h: state.h, c: state.c });
    }
  }
});

test('the vocabulary and config travel in metadata_props', () => {
  const { model, vocab } = models()[0];
  const text = new TextDecoder().decode(exportOnnx(model, vocab));
  assert.ok(text.includes('charlm-onnx'));
  assert.ok(text.includes(JSON.stringify(vocab.chars)));
  assert.ok(text.includes(JSON.stringify(model.config)));
});
