// The gpt family on the native backend against ref (a visible skip without the addon, test/skips.ts): one training
// step's loss and every gradient tensor (dropout on, so both backends must draw the same hash masks), then KV-cache generation logits.
// Tolerances are ~20x the diffs observed on avx512 (loss 2e-9, gradients 5e-7 of max|grad|, logits 2.7e-7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GptModel } from '../../src/model/gpt/model.js';
import type { GptConfig } from '../../src/model/config.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { loadNative } from '../../src/kernels/native/index.js';
import { Rng } from '../../src/util/rng.js';
import { nativeMissing, skipWithout } from '../skips.js';

const loaded = loadNative();
const skip = skipWithout('native', nativeMissing());
const cfg: GptConfig = { family: 'gpt', n_layer: 2, n_head: 2, n_embd: 32, block_size: 24, bias: true, vocab_size: 11, dropout: 0.2 };

function pair(): [GptModel, GptModel] {
  if ('error' in loaded) throw new Error(loaded.error);
  const a = new GptModel(cfg, refBackend), b = new GptModel(cfg, loaded.backend);
  a.initialize(new Rng(5));
  const r = new Rng(6);
  for (let i = 0; i < a.params.data.length; i++) a.params.data[i] += r.normal() * 0.05; // off nanoGPT's init
  b.params.data.set(a.params.data);
  a.weightsChanged(); b.weightsChanged();
  return [a, b];
}

test('gpt on native = ref: loss and every gradient tensor, dropout 0.2 (same masks)', { skip }, () => {
  const [a, b] = pair(), B = 3, T = 20, r = new Rng(7);
  const x = Int32Array.from({ length: B * T }, () => r.int(11)), y = Int32Array.from({ length: B * T }, () => r.int(11));
  const la = a.forwardBackward(x, y, B, T, null, new Rng(9)), lb = b.forwardBackward(x, y, B, T, null, new Rng(9));
  console.log(`  loss ref ${la.toFixed(6)} native ${lb.toFixed(6)} diff ${Math.abs(la - lb).toExponential(2)} (tolerance 5e-8)`);
  assert.ok(Math.abs(la - lb) <= 5e-8);
  let worst = 0;
  for (const e of a.params.entries) {
    const ga = a.params.gradOf(e.name), gb = b.params.gradOf(e.name);
    let d = 0, s = 0;
    for (let i = 0; i < ga.length; i++) { d = Math.max(d, Math.abs(ga[i] - gb[i])); s = Math.max(s, Math.abs(ga[i])); }
    worst = Math.max(worst, d / (1e-3 + s));
    assert.ok(d <= 1e-5 * (1e-3 + s), `${e.name}: max diff ${d} (max |grad| ${s})`);
  }
  console.log(`  every gradient tensor: worst max diff / (1e-3 + max|grad|) = ${worst.toExponential(2)} (tolerance 1e-5)`);
});

test('gpt on native = ref: KV-cache priming and steps, batch 2, across a slide', { skip }, () => {
  const [a, b] = pair(), r = new Rng(8), B = 2;
  const prime = Int32Array.from({ length: B * 5 }, () => r.int(11));
  const sa = a.createState(B), sb = b.createState(B);
  let worst = 0;
  let la = a.prime(prime, B, 5, sa), lb = b.prime(prime, B, 5, sb);
  for (let step = 0; step < 40; step++) {   // 45 positions > block_size 24: the context slides
    for (let i = 0; i < la.length; i++) worst = Math.max(worst, Math.abs(la[i] - lb[i]));
    const ids = Int32Array.from({ length: B }, () => r.int(11));
    la = a.step(ids, sa); lb = b.step(ids, sb);
  }
  console.log(`  cached logits native vs ref over 41 steps: max abs diff ${worst.toExponential(2)} (tolerance 5e-6)`);
  assert.ok(worst <= 5e-6);
});
