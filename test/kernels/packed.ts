// Checks for the optional pre-packed weights API (Backend.packWeights / repack / matmulPacked): both modes (nt:
// A·Wᵀ, nn: A·W), with and without accumulate, before and after a repack of changed weights, against `ref` (or the
// bf16 twin) matmul on the same inputs. Shapes: odd ones (edge panels, several KC blocks, odd depth for bf16
// k-pairs) and the seed model's (W_hh 2048×512 at batch 1/32/64, fc, W_ih over 6400 rows by sampled entries).
import assert from 'node:assert/strict';
import type { Backend } from '../../src/kernels/backend.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { checkGuards, copyView, exactEntries, expectClose, randView, rng } from './check.js';

/** [N, K, M]: W is (N,K); the products are (M,K)·Wᵀ → (M,N) and (M,N)·W → (M,K). */
export const PACKED_ODD: [number, number, number][] = [
  [1, 1, 1], [3, 17, 5], [17, 3, 2], [65, 129, 17], [129, 65, 3], [300, 129, 4], [65, 17, 64], [33, 300, 33],
  [37, 515, 1], [515, 37, 6], [100, 601, 9],
];
export const PACKED_SEED: [number, number, number][] = [
  [2048, 512, 1], [2048, 512, 2], [2048, 512, 32], [2048, 512, 64], [65, 512, 1], [65, 512, 32], [2048, 256, 1],
];

/**
 * matmulPacked vs againstRef.matmul on one shape: packs W for both modes, checks nt/nn × accumulate, then changes W,
 * repacks, and checks again. Tolerance: tol·Σ|terms| per entry (the fp32 summation bound, as for matmul).
 */
export function checkPacked(b: Backend, label: string, N: number, K: number, M: number, seed: number,
                            tol: number, againstRef: Backend = refBackend): void {
  assert.ok(b.packWeights && b.repack && b.matmulPacked, `${label}: no packed API`);
  const r = rng(seed);
  const W = randView(N * K, r);
  const packed = b.packWeights(W, N, K, 'both');
  assert.equal(packed.N, N); assert.equal(packed.K, K); assert.equal(packed.modes, 'both');
  for (const round of ['packed', 'repacked']) {
    if (round === 'repacked') {
      for (let i = 0; i < W.length; i++) W[i] = 2 * r() - 1;
      b.repack(packed, W);
    }
    for (const mode of ['nt', 'nn'] as const) for (const acc of [false, true]) {
      const n = mode === 'nt' ? N : K, depth = mode === 'nt' ? K : N;
      const A = randView(M * depth, r), C0 = randView(M * n, r);
      const C = copyView(C0), Cr = copyView(C0);
      b.matmulPacked(C, A, packed, M, mode, acc);
      againstRef.matmul(Cr, A, W, M, n, depth, false, mode === 'nt', acc);
      const all = Array.from({ length: M * n }, (_, i) => i);
      const { scale } = exactEntries(A, W, acc ? C0 : null, M, n, depth, false, mode === 'nt', all);
      expectClose(`${label} matmulPacked W ${N}x${K} M=${M} ${mode}${acc ? ' acc' : ''} ${round}`, C, Cr, tol, scale);
    }
  }
  checkGuards(`${label} matmulPacked`);
}

/** The seed's input projection: 6400 rows through W_ih (2048×256), sampled entries vs float64 (ref is too slow). */
export function checkPackedLarge(b: Backend, label: string, tol: number, round16: (x: number) => number = (x) => x): void {
  const N = 2048, K = 256, M = 6400, r = rng(77);
  const W = randView(N * K, r), A = randView(M * K, r), C0 = randView(M * N, r), C = copyView(C0);
  const packed = b.packWeights!(W, N, K, 'nt');
  b.matmulPacked!(C, A, packed, M, 'nt', true);
  const idx = Array.from({ length: 400 }, () => Math.floor(r() * M * N));
  idx.push(0, M * N - 1, N - 1, (M - 1) * N);
  const { want, scale } = exactEntries(A.map(round16), W.map(round16), C0, M, N, K, false, true, idx);
  expectClose(`${label} matmulPacked ${M}x${N}x${K} nt acc (sampled vs float64)`, idx.map((i) => C[i]), want, tol, scale);
  assert.throws(() => b.matmulPacked!(C, A, packed, 1, 'nn', false), /not packed for mode nn/);
  checkGuards(`${label} matmulPacked large`);
}
