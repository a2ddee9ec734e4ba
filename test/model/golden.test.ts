// Golden parity with PyTorch: the fixtures (test/fixtures/make_golden.py) hold weights, inputs, logits, loss,
// every gradient and 5 steps of Adam, Adam with L2 weight decay and AdamW (decoupled) of the seed's model (and
// GRU/RNN variants); every backend must match them within tolerances set from the observed diffs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharModel } from '../../src/model/charmodel.js';
import { backendsUnderTest } from '../skips.js';
import type { Backend } from '../../src/kernels/backend.js';
import { expectWithin, loadGolden, OPTIMIZER_CASES, toBatchMajor, type Golden } from '../helpers.js';

function build(g: Golden, backend: Backend): CharModel {
  const m = new CharModel({ cell: g.cell, vocabSize: g.V, embeddingDim: g.E, hiddenSize: g.H, numLayers: g.L,
                            dropout: 0, embedDropout: 0 }, backend);
  for (const p of g.params) {
    assert.deepEqual(m.params.entry(p.name).shape, p.shape, `shape of ${p.name}`);
    m.params.value(p.name).set(p.data);
  }
  m.params.write();
  assert.equal(m.params.entries.length, g.params.length);
  m.weightsChanged();
  return m;
}

// Tolerances from the observed max diffs (docs/testing.md), with a 10–30× margin: logits, states and losses agree to
// ~1e-7 (fp32 GEMMs summing in another order than PyTorch's), gradients to ~3e-8,
// weights after 5 optimizer steps to ~1e-6 (Adam's m/√v amplifies the last-bit differences of tiny gradients).
const LOGIT_ABS = 2e-6, LOSS_ABS = 2e-6, GRAD_ABS = 1e-7, GRAD_REL = 1e-5, ADAM_ABS = 2e-5;

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
      expectWithin(`${label} ${cell} logits`, logits, g.logits, LOGIT_ABS, 0);
      expectWithin(`${label} ${cell} loss`, [loss], [g.loss], LOSS_ABS, 0);
      expectWithin(`${label} ${cell} h_n`, state.h, g.h_n, LOGIT_ABS, 0);
      if (g.c_n) expectWithin(`${label} ${cell} c_n`, state.c!, g.c_n, LOGIT_ABS, 0);
      for (const gr of g.grads) {
        expectWithin(`${label} ${cell} grad ${gr.name}`, m.params.gradOf(gr.name), gr.data, GRAD_ABS, GRAD_REL);
      }
    });

    test(`[${label}] ${cell}: forward from a nonzero initial state matches PyTorch`, () => {
      const m = build(g, backend);
      const state = m.createState(B);
      state.h.set(g.with_state.h0);
      if (state.c) state.c.set(g.with_state.c0!);
      const logits = toBatchMajor(m.forward(x, B, T, state), B, T, V);
      expectWithin(`${label} ${cell} with_state logits`, logits, g.with_state.logits, LOGIT_ABS, 0);
      expectWithin(`${label} ${cell} with_state h_n`, state.h, g.with_state.h_n, LOGIT_ABS, 0);
      if (state.c) expectWithin(`${label} ${cell} with_state c_n`, state.c, g.with_state.c_n!, LOGIT_ABS, 0);
    });

    for (const opt of OPTIMIZER_CASES) {
      if (!g[opt]) continue;
      test(`[${label}] ${cell}: 5 ${opt} steps give PyTorch's losses and weights`, () => {
        const m = build(g, backend);
        const o = g[opt]!, n = m.params.size;
        const mom = backend.alloc(n), vel = backend.alloc(n);
        const losses: number[] = [];
        for (let s = 1; s <= 5; s++) {
          losses.push(m.forwardBackward(x, y, B, T, null));
          backend.adam(m.params.data, m.params.grad, mom, vel, n, o.lr, o.betas[0], o.betas[1], o.eps,
                       o.weight_decay, opt === 'adamw', s);
          m.weightsChanged();
        }
        console.log(`  ${opt}: weight_decay ${o.weight_decay}`);
        expectWithin(`${label} ${cell} ${opt} losses`, losses, o.losses, LOSS_ABS, 0);
        for (const p of o.params_after) {
          expectWithin(`${label} ${cell} ${opt} ${p.name} after 5 steps`, m.params.value(p.name), p.data, ADAM_ABS, 0);
        }
      });
    }
  }
}
