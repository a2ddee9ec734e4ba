// ONNX export of the gpt family checked in onnxruntime-node: the graph (input_ids [B,T] → logits [B,T,V]) gives
// charlm's own logits for imported nanoGPT checkpoints and random GPTs (bias on/off, 1–3 layers, T from 1 to
// block_size). Skipped, with the reason printed, where onnxruntime-node's native binding cannot load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { exportOnnx } from '../../src/interop/onnx.js';
import { importModel } from '../../src/interop/import.js';
import { GptModel } from '../../src/model/gpt/model.js';
import type { GptConfig } from '../../src/model/config.js';
import { Vocab } from '../../src/data/vocab.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { Rng } from '../../src/util/rng.js';
import { ROOT, diffs } from '../helpers.js';
import { skipWithout } from '../skips.js';

interface OrtTensor { data: unknown; dims: readonly number[] }
interface Ort {
  InferenceSession: { create(model: Uint8Array): Promise<{ run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> }> };
  Tensor: new (type: string, data: unknown, dims: number[]) => OrtTensor;
}
const ORT_MODULE = 'onnxruntime-node';
let ort: Ort | null = null, why = '';
try { ort = (await import(ORT_MODULE)) as Ort; } catch (e) { why = `onnxruntime-node cannot load here: ${(e as Error).message.split('\n')[0]}`; }
const skip = skipWithout('onnxruntime', !ort && why);

const FIX = path.join(ROOT, 'test', 'fixtures', 'nanogpt');
// Observed: ≤ 5.4e-6 (the trained fixture ckpt.pt at T = 32; ≤ 1.2e-6 on the random models): float32 sums in a
// different order. About 18× margin.
const TOL = 1e-4;

function randomGpt(c: Partial<GptConfig>, vocab: Vocab, seed: number): GptModel {
  const m = new GptModel({ family: 'gpt', n_layer: 2, n_head: 2, n_embd: 8, block_size: 8, bias: true, vocab_size: vocab.size,
                           dropout: 0, ...c }, refBackend);
  const r = new Rng(seed);
  for (const e of m.params.entries) { // larger than nanoGPT's init so attention is far from uniform
    const v = m.params.value(e.name);
    for (let i = 0; i < v.length; i++) v[i] = (/ln_\d\.weight|ln_f\.weight/.test(e.name) ? 1 : 0) + r.normal() * 0.3;
  }
  m.weightsChanged();
  return m;
}

function models(): { name: string; model: GptModel; vocab: Vocab }[] {
  const out = ['ckpt.pt', 'ckpt_bias.pt'].map((f) => {
    const r = importModel(path.join(FIX, f), { meta: path.join(FIX, 'meta.pkl') });
    return { name: f, model: r.model as GptModel, vocab: r.vocab };
  });
  const vocab = Vocab.fromText('abcdefghij .\n');
  out.push({ name: 'random L1 bias', model: randomGpt({ n_layer: 1, n_head: 1, n_embd: 4 }, vocab, 1), vocab },
           { name: 'random L3 nobias', model: randomGpt({ n_layer: 3, n_head: 3, n_embd: 12, block_size: 10, bias: false }, vocab, 2), vocab });
  return out;
}

test('gpt graph = GptModel.forward in onnxruntime (T = 1 … block_size)', { skip }, async () => {
  const rng = new Rng(13);
  for (const { name, model, vocab } of models()) {
    const session = await ort!.InferenceSession.create(exportOnnx(model, vocab));
    const S = model.config.block_size, V = vocab.size;
    for (const [B, T] of [[1, 1], [3, Math.max(1, S >> 1)], [2, S]]) {
      const ids = Int32Array.from({ length: B * T }, () => rng.nextU32() % V);
      const r = await session.run({ input_ids: new ort!.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [B, T]) });
      assert.deepEqual(r.logits.dims, [B, T, V]);
      const d = diffs(r.logits.data as Float32Array, model.forward(ids, B, T)).abs;
      console.log(`  onnx gpt ${name} B=${B} T=${T}: logits max abs diff ${d.toExponential(2)} (tol ${TOL})`);
      assert.ok(d <= TOL, `${name} B=${B} T=${T}: ${d}`);
    }
  }
});

test('gpt export carries the vocabulary, config and opset 17', () => {
  const { model, vocab } = models()[0];
  const bytes = exportOnnx(model, vocab);
  const text = new TextDecoder().decode(bytes);
  for (const s of ['charlm-onnx', JSON.stringify(vocab.chars), JSON.stringify(model.config), 'LayerNormalization', 'Erf',
                   'transformer.h.1.attn.c_attn.weight']) assert.ok(text.includes(s), s);
  assert.ok(!text.includes('lm_head'), 'lm_head is wte, stored once');
});
