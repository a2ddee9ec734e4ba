// The gpt family on the ref kernels: finite-difference gradients for every parameter tensor (with and without
// biases and dropout), the KV cache against a plain forward (step by step, batched, across a context slide), state
// row copies, and nanoGPT's weight-decay grouping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GptModel } from '../../src/model/gpt/model.js';
import type { GptConfig } from '../../src/model/config.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { createWasmBackend } from '../../src/kernels/wasm/node.js';
import type { Backend } from '../../src/kernels/backend.js';
import { Rng } from '../../src/util/rng.js';

const cfg = (o: Partial<GptConfig> = {}): GptConfig =>
  ({ family: 'gpt', n_layer: 2, n_head: 2, n_embd: 8, block_size: 8, bias: true, vocab_size: 7, dropout: 0, ...o });

/** A model with weights large enough that every gradient is well above float32 finite-difference noise. */
function model(c: GptConfig, seed = 3, be: Backend = refBackend): GptModel {
  const m = new GptModel(c, be);
  const r = new Rng(seed);
  for (const e of m.params.entries) {
    const v = m.params.value(e.name);
    for (let i = 0; i < v.length; i++) v[i] = (e.name.includes('ln_') && e.name.endsWith('weight') ? 1 : 0) + r.normal() * 0.3;
  }
  m.params.write();
  m.weightsChanged();
  return m;
}

// float32 central differences, as for the recurrent cells (test/nn/gradcheck.test.ts).
const EPS = 1e-2, ABS_TOL = 1e-4, REL_TOL = 3e-3;

const wasm = createWasmBackend();
for (const [label, be] of [['ref', refBackend], ['wasm', wasm]] as const) for (const [bias, dropout] of [[true, 0], [false, 0], [true, 0.2]] as const) {
  test(`[${label}] gpt bias=${bias} dropout=${dropout}: analytic gradients match finite differences for every parameter`, () => {
    const m = model(cfg({ bias, dropout }), 3, be), B = 2, T = 6, V = 7;
    const r = new Rng(4);
    const x = Int32Array.from({ length: B * T }, () => r.int(V));
    const y = Int32Array.from({ length: B * T }, (_, i) => (i === 3 ? -1 : r.int(V)));
    const loss = () => m.forwardBackward(x, y, B, T, null, new Rng(99)); // same Rng → same dropout seeds
    loss();
    const analytic = Float32Array.from(m.params.readGrad());
    let worst = 0, checked = 0;
    const pick = new Rng(5);
    const data = m.params.read();
    const at = (i: number, v: number) => { data[i] = v; m.params.write(); m.weightsChanged(); };
    for (const e of m.params.entries) {
      for (let k = 0; k < Math.min(e.size, 5); k++) {
        // wpe rows past T get no gradient; sample rows the window uses
        const i = e.offset + (e.name.includes('wpe') ? pick.int(T * 8) : pick.int(e.size));
        const orig = data[i];
        at(i, orig + EPS); const lp = loss();
        at(i, orig - EPS); const lm = loss();
        at(i, orig);
        const fd = (lp - lm) / (2 * EPS), an = analytic[i], err = Math.abs(fd - an);
        worst = Math.max(worst, err / (ABS_TOL + REL_TOL * Math.abs(an)));
        assert.ok(err <= ABS_TOL + REL_TOL * Math.abs(an), `${e.name}[${i - e.offset}]: fd ${fd} vs analytic ${an}`);
        checked++;
      }
    }
    console.log(`  [${label}] gpt bias=${bias} dropout=${dropout}: ${checked} entries over ${m.params.entries.length} tensors, worst error/tolerance ${worst.toFixed(3)}`);
  });
}

test('gpt: wpe rows past the window get zero gradient, and dropout changes the loss (it is wired)', () => {
  const m = model(cfg({ dropout: 0.3 })), B = 2, T = 5;
  const x = Int32Array.from({ length: B * T }, (_, i) => i % 7), y = Int32Array.from({ length: B * T }, (_, i) => (i + 1) % 7);
  const a = m.forwardBackward(x, y, B, T, null, new Rng(1));
  const wpe = m.params.gradOf('transformer.wpe.weight');
  assert.ok(wpe.subarray(T * 8).every((g) => g === 0));
  const b = m.forwardBackward(x, y, B, T, null, new Rng(2));
  assert.notEqual(a, b);
  const m0 = model(cfg({ dropout: 0 }));
  assert.equal(m0.forwardBackward(x, y, B, T, null, new Rng(1)), m0.forwardBackward(x, y, B, T, null, new Rng(2)));
});

/** max |a-b| */
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

test('gpt KV cache: priming and stepping give the logits of a full forward at every position (B=3)', () => {
  const m = model(cfg()), B = 3, T = 8, V = 7, r = new Rng(7);
  const ids = Int32Array.from({ length: B * T }, () => r.int(V));
  const full = Float32Array.from(m.forward(ids, B, T)); // (B,T,V)
  const st = m.createState(B);
  // prime with the first 3 columns, then step the rest one at a time
  const first = new Int32Array(B * 3);
  for (let b = 0; b < B; b++) first.set(ids.subarray(b * T, b * T + 3), b * 3);
  let worst = 0;
  let logits = m.prime(first, B, 3, st);
  for (let t = 2; t < T; t++) {
    for (let b = 0; b < B; b++) worst = Math.max(worst, maxDiff(logits.subarray(b * V, (b + 1) * V), full.subarray((b * T + t) * V, (b * T + t + 1) * V)));
    if (t === T - 1) break;
    logits = m.step(Int32Array.from({ length: B }, (_, b) => ids[b * T + t + 1]), st);
  }
  console.log(`  cache vs full forward: max abs diff ${worst.toExponential(2)} (tolerance 1e-5)`);
  assert.ok(worst <= 1e-5);
});

test('gpt KV cache: past block_size the context slides to the last block_size/2 characters', () => {
  const S = 8, m = model(cfg({ block_size: S })), V = 7, r = new Rng(9);
  const seq = Int32Array.from({ length: 30 }, () => r.int(V));
  const st = m.createState(1);
  let ctx: number[] = [seq[0]];
  let logits = m.prime(seq.subarray(0, 1), 1, 1, st);
  let worst = 0;
  for (let i = 1; i < seq.length; i++) {
    const ref = m.forward(Int32Array.from(ctx), 1, ctx.length);
    worst = Math.max(worst, maxDiff(logits, ref.subarray((ctx.length - 1) * V, ctx.length * V)));
    if (ctx.length === S) ctx = ctx.slice(S / 2); // the documented slide
    ctx.push(seq[i]);
    logits = m.step(Int32Array.of(seq[i]), st);
  }
  console.log(`  sliding cache vs forward over the kept context: max abs diff ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-5);
});

test('gpt: a prime longer than block_size keeps its last block_size characters', () => {
  const S = 8, m = model(cfg({ block_size: S })), V = 7, r = new Rng(11);
  const ids = Int32Array.from({ length: 21 }, () => r.int(V));
  const st = m.createState(1);
  const got = Float32Array.from(m.prime(ids, 1, ids.length, st));
  const ref = m.forward(ids.subarray(ids.length - S), 1, S);
  assert.ok(maxDiff(got, ref.subarray((S - 1) * V)) <= 1e-5);
});

test('gpt: streamed lossSum with a state equals the plain forward within a block, and rows copy', () => {
  const m = model(cfg()), B = 2, T = 8, V = 7, r = new Rng(13);
  const x = Int32Array.from({ length: B * T }, () => r.int(V)), y = Int32Array.from({ length: B * T }, () => r.int(V));
  const plain = m.lossSum(x, y, B, T, null);
  const st = m.createState(B);
  const cached = m.lossSum(x, y, B, T, st);
  assert.equal(cached.count, plain.count);
  assert.ok(Math.abs(cached.sum - plain.sum) <= 1e-4, `${cached.sum} vs ${plain.sum}`);
  // row copy: row 1 of the batch into a B=1 state continues identically
  const one = m.createState(1);
  m.copyStateRow(one, 0, st, 1);
  const clone = m.cloneState(st);
  const a = Float32Array.from(m.step(Int32Array.of(3), one));
  const b = m.step(Int32Array.of(5, 3), clone);
  assert.ok(maxDiff(a, b.subarray(V, 2 * V)) <= 1e-6);
});

test('gpt: weight decay applies to matrices and embeddings only (nanoGPT configure_optimizers)', () => {
  const m = model(cfg());
  const decayed = m.params.entries.filter((e) => m.decays(e.name)).map((e) => e.name);
  assert.ok(decayed.includes('transformer.wte.weight') && decayed.includes('transformer.h.0.attn.c_attn.weight'));
  assert.ok(!decayed.some((n) => n.endsWith('.bias') || n.includes('ln_')));
});
