// Finite-difference gradient checks of every layer on the ref and wasm kernels: embedding, LSTM/GRU/RNN (both weight
// matrices and both biases of every layer, so the input and recurrent gradients are exercised), Linear,
// softmax-cross-entropy, and dropout (with fixed masks). Central differences in float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharModel } from '../../src/model/charmodel.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { createWasmBackend } from '../../src/kernels/wasm/node.js';
import type { Backend } from '../../src/kernels/backend.js';
import { Rng } from '../../src/util/rng.js';

const V = 7, E = 5, H = 6, L = 2, T = 6;
// float32 central differences: truncation O(eps²) and rounding O(ulp(loss)/eps) ≈ 2e-7/eps. With eps = 1e-2 on a
// loss of ~2 the rounding term is ~2e-5 absolute; we require |fd − analytic| ≤ 1e-4 + 2e-3·|analytic|.
const EPS = 1e-2, ABS_TOL = 1e-4, REL_TOL = 2e-3;

const BACKENDS: [string, Backend][] = [['ref', refBackend], ['wasm', createWasmBackend()]];

// B = 257 makes backward split T into time chunks of 4 (see chunkSteps), a partial one included.
for (const [label, be] of BACKENDS) for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  for (const [dropout, B] of [[0, 2], [0.3, 2], [0, 257]]) {
    test(`[${label}] ${cell}${dropout ? ' with dropout' : ''}, B=${B}: analytic gradients match finite differences for every parameter`, () => {
      const m = new CharModel({ cell, vocabSize: V, embeddingDim: E, hiddenSize: H, numLayers: L, dropout, embedDropout: dropout }, be);
      m.initialize(new Rng(3));
      const r = new Rng(4);
      const x = Int32Array.from({ length: B * T }, () => r.int(V));
      const y = Int32Array.from({ length: B * T }, (_, i) => (i === 3 ? -1 : r.int(V))); // one ignored target
      // Same Rng seed each call → the same dropout masks, so the loss is a deterministic function of the weights.
      const loss = () => m.forwardBackward(x, y, B, T, null, new Rng(99));
      loss();
      const analytic = Float32Array.from(m.params.readGrad());
      let worst = 0, checked = 0;
      const pick = new Rng(5);
      const data = m.params.read();
      const at = (i: number, v: number) => { data[i] = v; m.params.write(); m.weightsChanged(); };
      for (const e of m.params.entries) {
        for (let k = 0; k < Math.min(e.size, 6); k++) {
          const i = e.offset + pick.int(e.size);
          const orig = data[i];
          at(i, orig + EPS); const lp = loss();
          at(i, orig - EPS); const lm = loss();
          at(i, orig);
          const fd = (lp - lm) / (2 * EPS), an = analytic[i];
          const err = Math.abs(fd - an);
          worst = Math.max(worst, err / (ABS_TOL + REL_TOL * Math.abs(an)));
          assert.ok(err <= ABS_TOL + REL_TOL * Math.abs(an), `${e.name}[${i - e.offset}]: fd ${fd} vs analytic ${an}`);
          checked++;
        }
      }
      console.log(`  [${label}] ${cell} dropout=${dropout} B=${B}: ${checked} entries over ${m.params.entries.length} tensors, worst error/tolerance ${worst.toFixed(3)}`);
    });
  }
}

test('softmax cross-entropy: gradient w.r.t. logits matches finite differences (float64 loss)', () => {
  const N = 3, Vv = 5, r = new Rng(8);
  const logits = Float32Array.from({ length: N * Vv }, () => r.normal() * 2);
  const tg = Int32Array.of(1, -1, 4);
  const d = new Float32Array(N * Vv);
  refBackend.softmaxXent(d, logits, tg, N, Vv, 0.5);
  let worst = 0;
  for (let i = 0; i < N * Vv; i++) {
    const o = logits[i], eps = 1e-2;
    logits[i] = o + eps; const lp = refBackend.softmaxXent(null, logits, tg, N, Vv, 0) * 0.5;
    logits[i] = o - eps; const lm = refBackend.softmaxXent(null, logits, tg, N, Vv, 0) * 0.5;
    logits[i] = o;
    const fd = (lp - lm) / (2 * eps);
    worst = Math.max(worst, Math.abs(fd - d[i]));
    assert.ok(Math.abs(fd - d[i]) <= 1e-4 + 1e-3 * Math.abs(d[i]), `logit ${i}: ${fd} vs ${d[i]}`);
  }
  console.log(`  softmax-xent max abs diff ${worst.toExponential(2)}`);
});
