// Golden parity with PyTorch: the fixtures (test/fixtures/make_golden.py) hold weights, inputs, logits, loss,
// every gradient and 5 Adam/AdamW steps of the seed's model (and GRU/RNN variants); every backend must match them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharModel } from '../../src/model/charmodel.js';
import { backendsUnderTest } from '../skips.js';
import type { Backend } from '../../src/kernels/backend.js';
import { diffs, loadGolden, toBatchMajor, type Golden } from '../helpers.js';

function build(g: Golden, backend: Backend): CharModel {
  const m = new CharModel({ cell: g.cell, vocabSize: g.V, embeddingDim: g.E, hiddenSize: g.H, numLayers: g.L,
                            dropout: 0, embedDropout: 0 }, backend);
  for (const p of g.params) {
    assert.deepEqual(m.params.entry(p.name).shape, p.shape, `shape of ${p.name}`);
    m.params.value(p.name).set(p.data);
  }
  assert.equal(m.params.entries.length, g.params.length);
  m.weightsChanged();
  return m;
}

const LOGIT_TOL = 1e-5, GRAD_TOL = 1e-4, LOSS_TOL = 1e-5, ADAM_TOL = 1e-5;

for (const { backend, label } of await backendsUnderTest('golden parity with PyTorch')) {
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    const g = loadGolden(cell);
    const { B, T, V } = g;
    const x = Int32Array.from(g.x), y = Int32Array.from(g.y);

    test(`[${label}] ${cell}: logits, loss and every gradient match PyTorch`, () => {
      const m = build(g, backend);
      const state = m.createState(B);
      const loss = m.forwardBackward(x, y, B, T, state);
      const logits = toBatchMajor(m.forward(x, B, T, null), B, T, V);
      const dl = diffs(logits, g.logits);
      console.log(`  ${label} ${cell} logits max abs diff ${dl.abs.toExponential(2)}; loss ${loss} vs ${g.loss}`);
      assert.ok(dl.abs <= LOGIT_TOL, `logits diff ${dl.abs}`);
      assert.ok(Math.abs(loss - g.loss) <= LOSS_TOL);
      assert.ok(diffs(state.h, g.h_n).abs <= LOGIT_TOL, 'h_n');
      if (g.c_n) assert.ok(diffs(state.c!, g.c_n).abs <= LOGIT_TOL, 'c_n');
      let worst = 0;
      for (const gr of g.grads) {
        const d = diffs(m.params.gradOf(gr.name), gr.data);
        worst = Math.max(worst, Math.min(d.abs, d.rel));
        assert.ok(d.abs <= GRAD_TOL || d.rel <= GRAD_TOL, `${gr.name}: abs ${d.abs} rel ${d.rel}`);
      }
      console.log(`  ${label} ${cell} gradients: worst min(abs,rel) diff ${worst.toExponential(2)} over ${g.grads.length} tensors`);
    });

    test(`[${label}] ${cell}: forward from a nonzero initial state matches PyTorch`, () => {
      const m = build(g, backend);
      const state = m.createState(B);
      state.h.set(g.with_state.h0);
      if (state.c) state.c.set(g.with_state.c0!);
      const logits = toBatchMajor(m.forward(x, B, T, state), B, T, V);
      const d = diffs(logits, g.with_state.logits);
      console.log(`  ${label} ${cell} with_state logits max abs diff ${d.abs.toExponential(2)}`);
      assert.ok(d.abs <= LOGIT_TOL);
      assert.ok(diffs(state.h, g.with_state.h_n).abs <= LOGIT_TOL);
      if (state.c) assert.ok(diffs(state.c, g.with_state.c_n!).abs <= LOGIT_TOL);
    });

    for (const opt of ['adam', 'adamw'] as const) {
      test(`[${label}] ${cell}: 5 ${opt} steps give PyTorch's losses and weights`, () => {
        const m = build(g, backend);
        const o = g[opt], n = m.params.size;
        const mom = new Float32Array(n), vel = new Float32Array(n);
        const losses: number[] = [];
        for (let s = 1; s <= 5; s++) {
          losses.push(m.forwardBackward(x, y, B, T, null));
          backend.adam(m.params.data, m.params.grad, mom, vel, n, o.lr, o.betas[0], o.betas[1], o.eps,
                       o.weight_decay, opt === 'adamw', s);
          m.weightsChanged();
        }
        const dl = diffs(losses, o.losses);
        let worst = 0;
        for (const p of o.params_after) worst = Math.max(worst, diffs(m.params.value(p.name), p.data).abs);
        console.log(`  ${label} ${cell} ${opt}: losses max diff ${dl.abs.toExponential(2)}, weights max abs diff ${worst.toExponential(2)}`);
        assert.ok(dl.abs <= ADAM_TOL);
        assert.ok(worst <= ADAM_TOL);
      });
    }
  }
}
