// bf16 rounding is exact, so it is tested exactly: on every native ISA path and GEMM path (GEMV M=1, small M, blocked
// M=64, pre-packed weights), a bf16 product with an identity matrix must return each input rounded to bf16 by
// round-to-nearest-even, bit for bit (ties included). A truncating or ties-away rounding changes the training loss
// by less than the 0.2% bf16 loss tolerance, so only this test sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16Round } from '../../src/kernels/ref/bf16.js';
import { loadNative, setNativeIsa, type Isa } from '../../src/kernels/native/index.js';
import { addonIsaPaths, skipNativeBlock } from '../skips.js';
import { rng } from './check.js';

test('bf16Round: ties go to even, others to nearest (spot values)', () => {
  const e = 2 ** -8;   // half an ulp of bf16 at 1
  assert.equal(bf16Round(1 + e), 1);                   // tie, even below
  assert.equal(bf16Round(1 + 3 * e), 1 + 4 * e);       // tie, even above
  assert.equal(bf16Round(1 + 1.5 * e), 1 + 2 * e);     // above half: up (truncation gives 1)
  assert.equal(bf16Round(-(1 + 3 * e)), -(1 + 4 * e));
  assert.equal(bf16Round(1 + 0.5 * e), 1);
});

/** K values: ties, near-ties, both signs, several binades (no denormals: vdpbf16ps flushes them). */
function values(K: number, seed: number): Float32Array {
  const r = rng(seed), e = 2 ** -8, out = new Float32Array(K);
  const special = [1 + e, 1 + 3 * e, 1 + 1.5 * e, -(1 + 3 * e), 3 * (1 + e), 0.75 * (1 + 3 * e), 1 + 0.5 * e, 0];
  for (let k = 0; k < K; k++) out[k] = k < special.length ? special[k] : (r() - 0.5) * 2 ** Math.floor(r() * 16 - 8);
  return out;
}

if (!skipNativeBlock('bf16 rounding on every ISA and GEMM path')) {
  const loaded = loadNative();
  const def = ('error' in loaded ? 'portable' : loaded.backend.isa) as Isa;
  for (const isa of addonIsaPaths()) {
    test(`native-bf16[${isa}]: A·I and I·Wᵀ return bf16Round of every input, bit for bit`, () => {
      setNativeIsa(isa);
      const bf = loadNative({ precision: 'bf16' });
      assert.ok(!('error' in bf));
      const be = bf.backend;
      for (const [M, K] of [[1, 40], [3, 33], [64, 48]]) {
        const A = new Float32Array(M * K);
        for (let i = 0; i < M; i++) A.set(values(K, 7 + i), i * K);
        const I = new Float32Array(K * K);
        for (let k = 0; k < K; k++) I[k * K + k] = 1;
        const want = Array.from(A, bf16Round);
        for (const tB of [false, true]) {
          const C = new Float32Array(M * K).fill(NaN);
          be.matmul(C, A, I, M, K, K, false, tB, false);
          assert.deepEqual(Array.from(C), want, `matmul ${M}x${K}x${K} N${tB ? 'T' : 'N'}`);
        }
        // Pre-packed weights: W = A (M rows of K), C(K,M) = I(K,K) · Wᵀ holds Wᵀ rounded.
        const p = be.packWeights!(A, M, K, 'nt');
        const C = new Float32Array(K * M).fill(NaN);
        be.matmulPacked!(C, I, p, K, 'nt', false);
        const wantT = Array.from({ length: K * M }, (_, q) => want[(q % M) * K + Math.floor(q / M)]);
        assert.deepEqual(Array.from(C), wantT, `matmulPacked W ${M}x${K}`);
      }
      console.log(`  native-bf16[${isa}]: M 1/3/64, NN/NT and packed: exact`);
      setNativeIsa(def);
    });
  }
}
