// Golden parity of the gpt family with PyTorch 1.13 (test/fixtures/make_gpt_golden.py: nanoGPT's model.py math on a
// 2-layer, 2-head, 8-wide GPT, with and without bias): logits, loss, every gradient and 5 AdamW steps with nanoGPT's
// decay groups, on every backend. Tolerances are ~10–30× the largest diffs observed (printed on every run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GptModel } from '../../src/model/gpt/model.js';
import { Adam } from '../../src/train/optimizer.js';
import { availableBackends } from '../../src/kernels/registry.js';
import type { Backend } from '../../src/kernels/backend.js';
import { ROOT, diffs, type GoldenTensor } from '../helpers.js';

interface GptGolden {
  bias: boolean; V: number; n_embd: number; n_head: number; n_layer: number; block_size: number; B: number; T: number;
  params: GoldenTensor[]; x: number[]; y: number[]; logits: number[]; loss: number; grads: GoldenTensor[];
  adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number; losses: number[]; params_after: GoldenTensor[] };
}

// Observed on ref and native (x86-64, fp32; |logits| ≤ 4.5): logits ≤ 2.3e-6, loss ≤ 3.6e-7, gradients ≤ 3.1e-7 abs
// where |grad| < 0.01 and ≤ 1.9e-5 relative elsewhere (worst ratio to the bound below: 0.049), weights after 5 AdamW
// steps ≤ 6.6e-7. Each tolerance is 14–20× the worst of these.
const LOGIT_TOL = 4e-5, LOSS_TOL = 5e-6, GRAD_ABS = 5e-6, GRAD_REL = 3e-4, ADAM_TOL = 1e-5;

function load(name: string): GptGolden {
  return JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', `golden_gpt_${name}.json`), 'utf8')) as GptGolden;
}

function build(g: GptGolden, backend: Backend): GptModel {
  const m = new GptModel({ family: 'gpt', n_layer: g.n_layer, n_head: g.n_head, n_embd: g.n_embd, block_size: g.block_size,
                           bias: g.bias, vocab_size: g.V, dropout: 0 }, backend);
  assert.deepEqual(m.params.entries.map((e) => e.name), g.params.map((p) => p.name), 'parameter names and order');
  for (const p of g.params) {
    assert.deepEqual(m.params.entry(p.name).shape, p.shape, `shape of ${p.name}`);
    m.params.value(p.name).set(p.data);
  }
  m.params.write();
  m.weightsChanged();
  return m;
}

/** Max over a tensor of |a-b| / (GRAD_ABS + GRAD_REL·|b|) (≤ 1 passes), and the plain max abs diff. */
function gradRatio(a: ArrayLike<number>, b: ArrayLike<number>): { ratio: number; abs: number } {
  let ratio = 0, abs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    abs = Math.max(abs, d);
    ratio = Math.max(ratio, d / (GRAD_ABS + GRAD_REL * Math.abs(b[i])));
  }
  return { ratio, abs };
}

/**
 * The key rows of c_attn.bias (C..2C) add q·b_k to every score of a query, which softmax ignores: their gradient is
 * exactly zero, and both sides hold rounding noise (~1e-9) there. Adam divides by √v, so after a step those entries
 * move by ±lr at the noise's whim; they are checked to have a ~zero gradient instead of compared after Adam.
 */
function keyBiasRows(name: string, C: number): (i: number) => boolean {
  return /\.attn\.c_attn\.bias$/.test(name) ? (i) => i >= C && i < 2 * C : () => false;
}

for (const { backend, label } of await availableBackends()) {
  for (const variant of ['bias', 'nobias'] as const) {
    const g = load(variant);
    const { B, T } = g;
    const x = Int32Array.from(g.x), y = Int32Array.from(g.y);

    test(`[${label}] gpt ${variant}: logits, loss and every gradient match PyTorch`, () => {
      const m = build(g, backend);
      const loss = m.forwardBackward(x, y, B, T, null);
      const dl = diffs(m.forward(x, B, T), g.logits);
      console.log(`  ${label} gpt ${variant} logits max abs diff ${dl.abs.toExponential(2)} (tol ${LOGIT_TOL}); ` +
                  `loss ${loss} vs ${g.loss} (diff ${Math.abs(loss - g.loss).toExponential(2)}, tol ${LOSS_TOL})`);
      assert.ok(dl.abs <= LOGIT_TOL, `logits diff ${dl.abs}`);
      assert.ok(Math.abs(loss - g.loss) <= LOSS_TOL, `loss ${loss} vs ${g.loss}`);
      assert.equal(g.grads.length, m.params.entries.length);
      let worstAbs = 0, worstRatio = 0, worstName = '';
      for (const gr of g.grads) {
        const d = gradRatio(m.params.gradOf(gr.name), gr.data);
        worstAbs = Math.max(worstAbs, d.abs);
        if (d.ratio > worstRatio) { worstRatio = d.ratio; worstName = gr.name; }
        assert.ok(d.ratio <= 1, `${gr.name}: max abs diff ${d.abs} exceeds ${GRAD_ABS} + ${GRAD_REL}·|grad|`);
      }
      console.log(`  ${label} gpt ${variant} gradients: max abs diff ${worstAbs.toExponential(2)} over ${g.grads.length} ` +
                  `tensors; worst diff/(${GRAD_ABS} + ${GRAD_REL}·|grad|) = ${worstRatio.toFixed(3)} (${worstName})`);
    });

    test(`[${label}] gpt ${variant}: 5 AdamW steps (nanoGPT decay groups) give PyTorch's losses and weights`, () => {
      const m = build(g, backend);
      const o = g.adamw, ps = m.params;
      const decays = ps.entries.map((e) => m.decays(e.name));
      assert.deepEqual(decays, ps.entries.map((e) => e.shape.length >= 2), 'nanoGPT decays exactly the tensors with dim ≥ 2');
      const adam = new Adam(backend, ps.size, decays, ps.entries, o.betas[0], o.betas[1], o.eps);
      const losses: number[] = [];
      for (let s = 0; s < 5; s++) {
        losses.push(m.forwardBackward(x, y, B, T, null));
        for (const e of ps.entries) {
          const skip = keyBiasRows(e.name, g.n_embd), gr = ps.gradOf(e.name);
          for (let i = 0; i < gr.length; i++) if (skip(i)) assert.ok(Math.abs(gr[i]) <= 1e-6, `${e.name}[${i}] = ${gr[i]} (step ${s + 1}): should be ~0`);
        }
        adam.update(backend, ps.data, ps.grad, o.lr, o.weight_decay, true);
        m.weightsChanged();
      }
      const dl = diffs(losses, o.losses);
      let worst = 0, worstName = '';
      for (const p of o.params_after) {
        const got = ps.value(p.name), skip = keyBiasRows(p.name, g.n_embd);
        let d = 0;
        for (let i = 0; i < got.length; i++) if (!skip(i)) d = Math.max(d, Math.abs(got[i] - p.data[i]));
        if (d > worst) { worst = d; worstName = p.name; }
      }
      console.log(`  ${label} gpt ${variant} adamw: losses max diff ${dl.abs.toExponential(2)} (tol ${LOSS_TOL}), ` +
                  `weights max abs diff ${worst.toExponential(2)} (${worstName}; tol ${ADAM_TOL})`);
      assert.ok(dl.abs <= LOSS_TOL, `losses ${losses} vs ${o.losses}`);
      assert.ok(worst <= ADAM_TOL, `weights diff ${worst} in ${worstName}`);
    });
  }
}
