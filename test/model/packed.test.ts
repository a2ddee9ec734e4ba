// The model's pre-packed weights (Backend.packWeights): results match the same backend without the packed API, and
// the copies never go stale through the paths that change weights — an optimizer step after forwardBackward (with
// or without weightsChanged), direct edits followed by weightsChanged, multi-step calls, and switching backends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharModel } from '../../src/model/charmodel.js';
import type { Backend } from '../../src/kernels/backend.js';
import { loadNative } from '../../src/kernels/native/index.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { Rng } from '../../src/util/rng.js';
import { diffs } from '../helpers.js';
import { skipNativeBlock } from '../skips.js';

/** The same kernels without the optional packed trio: every product goes through matmul. */
function plain(be: Backend): Backend {
  const { packWeights: _p, repack: _r, matmulPacked: _m, ...rest } = be;
  return { ...rest, name: `${be.name}-unpacked` };
}

const V = 11, E = 8, H = 40, L = 2;

for (const precision of ['fp32', 'bf16'] as const) {
  const loaded = loadNative({ precision });
  if ('error' in loaded) { skipNativeBlock('packed weights in the model'); break; }
  const be = loaded.backend, unpacked = plain(be);
  // fp32: the blocked GEMM reads the same panels either way; the batch <= 4 kernels sum in another order.
  // bf16: same bf16-rounded inputs, fp32 sums in another order (vdpbf16ps pairs).
  const TOL = precision === 'fp32' ? 2e-5 : 5e-4;

  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    test(`native ${precision} ${cell}: packed weights give the unpacked results and never go stale`, () => {
      const make = (b: Backend) => {
        const m = new CharModel({ cell, vocabSize: V, embeddingDim: E, hiddenSize: H, numLayers: L, dropout: 0, embedDropout: 0 }, b);
        m.initialize(new Rng(7));
        return m;
      };
      const m = make(be), u = make(unpacked);
      const r = new Rng(3);
      const B = 6, T = 9;
      const x = Int32Array.from({ length: B * T }, () => r.int(V)), y = Int32Array.from({ length: B * T }, () => r.int(V));
      const close = (what: string, a: Float32Array, b: Float32Array) => {
        const d = diffs(a, b);
        console.log(`  ${precision} ${cell} ${what}: max abs diff ${d.abs.toExponential(2)}`);
        assert.ok(d.abs <= TOL, `${what}: ${d.abs}`);
      };
      const steps = (mm: CharModel, batch: number) => {
        const st = mm.createState(batch), ids = Int32Array.from({ length: batch }, (_, b) => b % V);
        const out: number[] = [];
        for (let i = 0; i < 4; i++) out.push(...mm.step(ids, st));
        return Float32Array.from(out);
      };
      close('forward', m.forward(x, B, T, null).slice(), u.forward(x, B, T, null).slice());
      for (const batch of [1, 3, 6]) close(`step B=${batch}`, steps(m, batch), steps(u, batch));
      // Training step: gradients, then an optimizer edit WITHOUT weightsChanged: forwardBackward left the copies stale.
      const lm = m.forwardBackward(x, y, B, T, null), lu = u.forwardBackward(x, y, B, T, null);
      assert.ok(Math.abs(lm - lu) <= TOL, `loss ${lm} vs ${lu}`);
      close('gradients', m.params.grad, u.params.grad);
      for (const mm of [m, u]) for (let i = 0; i < mm.params.size; i++) mm.params.data[i] -= 0.05 * mm.params.grad[i];
      for (const batch of [1, 6]) close(`step B=${batch} after an update`, steps(m, batch), steps(u, batch));
      // Direct edits + weightsChanged, then single steps (the path that relies on the call).
      for (const mm of [m, u]) { mm.params.value('fc.weight').fill(0.01); mm.weightsChanged(); }
      close('step after weightsChanged', steps(m, 1), steps(u, 1));
      // Direct edits without the call: multi-step forward repacks anyway.
      for (const mm of [m, u]) mm.params.data[mm.params.entry('embed.weight').size + 3] += 0.5;
      close('forward T>1 after a direct edit', m.forward(x, B, T, null).slice(), u.forward(x, B, T, null).slice());
      // Switching the model to another backend drops to that backend's products.
      m.backend = refBackend;
      u.backend = refBackend;
      close('ref after switching backends', steps(m, 2), steps(u, 2));
    });
  }
}
