// The one kernel suite: every Backend kernel on random inputs at several shapes (odd sizes included), compared with
// refBackend on identical inputs (and matmul with float64). All buffers are subarray views with nonzero byteOffset.
// Tolerances (observed max diffs in docs/testing.md): elementwise |got-ref| <= 1e-5·(1+|ref|) (fp32 transcendentals
// are within a few ulp; worst seen 6% of it); reductions (matmul, sumRows, scatter-add, Σx², loss)
// |got-ref| <= 1e-5·Σ|terms|, the scale that bounds fp32 summation error (worst seen 3e-7·Σ|terms|, K up to 6400).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/kernels/backend.js';
import { refBackend as ref } from '../../src/kernels/ref/index.js';
import { checkGuards, copyView, exactEntries, expectClose, randView, rng, useMemory, view, viewI32 } from './check.js';
import { hostMemory } from '../../src/kernels/host-memory.js';
import { checkPacked, checkPackedLarge, PACKED_ODD, PACKED_SEED } from './packed.js';
import { transformerCases } from './transformer.js';
import { sampleCases } from './sample.js';

const TOL_EW = 1e-5;
const TOL_SUM = 1e-5;

export const MATMUL_SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 17, 65], [17, 3, 129], [65, 129, 17], [129, 65, 3], [4, 300, 129], [2, 65, 17], [1, 129, 512],
  [64, 65, 33], [33, 100, 300], [130, 140, 33],   // the last: over 128 rows and columns (webgpu's 128-tile kernel)
];

/** Checks backend.matmul on one shape and all 4 transposes × accumulate against float64 and against ref. */
export function checkMatmul(b: Backend, label: string, M: number, N: number, K: number, seed: number,
                            tol = TOL_SUM, againstRef: Backend = ref): void {
  const r = rng(seed);
  for (const tA of [false, true]) for (const tB of [false, true]) for (const acc of [false, true]) {
    const A = randView(M * K, r), B = randView(K * N, r), C0 = randView(M * N, r);
    const C = copyView(C0), Cr = copyView(C0);
    b.matmul(C, A, B, M, N, K, tA, tB, acc);
    againstRef.matmul(Cr, A, B, M, N, K, tA, tB, acc);
    const all = Array.from({ length: M * N }, (_, i) => i);
    const { want, scale } = exactEntries(A, B, acc ? C0 : null, M, N, K, tA, tB, all);
    const tag = `${label} matmul ${M}x${N}x${K} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}${acc ? ' acc' : ''}`;
    expectClose(tag, C, Cr, tol, scale);
    if (againstRef === ref) expectClose(`${tag} vs float64`, C, want, tol, scale);
  }
  checkGuards(`${label} matmul`);
}

function pre(n: number, r: () => number): Float32Array {
  // Pre-activations mostly in [-6,6], plus saturating extremes that exercise the exp/tanh clamps.
  const v = randView(n, r, -6, 6);
  for (let i = 0; i < n; i += 37) v[i] = [50, -50, 100, -100, 9, -9, 0][i % 7];
  if (n > 40) v[40] = NaN;   // NaN must come out as NaN (divergence stays visible), as with Math.exp/Math.tanh
  return v;
}

export function registerKernelSuite(label: string, get: () => Backend, setup: () => void = () => {}): void {
  const t = (name: string, fn: (b: Backend) => void) => test(`${label}: ${name}`, () => {
    setup();
    const b = get();
    useMemory(b); // every buffer of the case comes from the backend under test
    try {
      fn(b);
      checkGuards(`${label} ${name}`);
    } finally { useMemory(hostMemory); }
  });

  t('matmul (odd shapes, NN/NT/TN/TT, accumulate)', (b) => {
    MATMUL_SHAPES.forEach(([M, N, K], s) => checkMatmul(b, label, M, N, K, 100 + s));
  });

  t('matmulPacked (optional: nt/nn, accumulate, repack; odd and seed shapes)', (b) => {
    if (!b.packWeights) { console.log(`  ${label}: no packed-weights API (callers use matmul)`); return; }
    PACKED_ODD.forEach(([N, K, M], s) => checkPacked(b, label, N, K, M, 300 + s, TOL_SUM));
    PACKED_SEED.forEach(([N, K, M], s) => checkPacked(b, label, N, K, M, 400 + s, TOL_SUM));
    checkPackedLarge(b, label, TOL_SUM);
  });

  t('addRowVector / sumRows', (b) => {
    const r = rng(2);
    for (const [M, N] of [[1, 1], [3, 17], [17, 65], [64, 129], [6400, 65]]) {
      const Y = randView(M * N, r), bias = randView(N, r), Yr = copyView(Y);
      b.addRowVector(Y, bias, M, N); ref.addRowVector(Yr, bias, M, N);
      expectClose(`${label} addRowVector ${M}x${N}`, Y, Yr, TOL_EW);
      const dY = randView(M * N, r), db = randView(N, r), dbr = copyView(db);
      b.sumRows(db, dY, M, N); ref.sumRows(dbr, dY, M, N);
      const scale = Array.from(dbr, (_, j) => { let s = Math.abs(dbr[j]); for (let i = 0; i < M; i++) s += Math.abs(dY[i * N + j]); return s; });
      expectClose(`${label} sumRows ${M}x${N}`, db, dbr, TOL_SUM, scale);
    }
  });

  t('embeddingForward / embeddingBackward (repeated ids)', (b) => {
    const r = rng(3);
    for (const [V, N, E] of [[1, 1, 1], [3, 17, 3], [65, 129, 17], [65, 6400, 256]]) {
      const table = randView(V * E, r), ids = viewI32(N);
      for (let n = 0; n < N; n++) ids[n] = Math.floor(r() * V);
      const out = view(N * E), outr = view(N * E);
      b.embeddingForward(out, table, ids, N, E); ref.embeddingForward(outr, table, ids, N, E);
      expectClose(`${label} embeddingForward ${N}x${E}`, out, outr, 0);
      const dOut = randView(N * E, r), dT = randView(V * E, r), dTr = copyView(dT);
      b.embeddingBackward(dT, dOut, ids, N, E); ref.embeddingBackward(dTr, dOut, ids, N, E);
      const scale = new Float64Array(V * E);
      for (let i = 0; i < V * E; i++) scale[i] = Math.abs(dTr[i]);
      for (let n = 0; n < N; n++) for (let e = 0; e < E; e++) scale[ids[n] * E + e] += Math.abs(dOut[n * E + e]);
      expectClose(`${label} embeddingBackward ${N}x${E}`, dT, dTr, TOL_SUM, scale);
    }
  });

  t('lstmCellForward / lstmCellBackward', (b) => {
    const r = rng(4);
    for (const [B, H] of [[1, 1], [3, 17], [17, 65], [64, 129], [64, 512]]) {
      const g = pre(B * 4 * H, r), gr = copyView(g), cPrev = randView(B * H, r, -3, 3);
      const h = view(B * H), c = view(B * H), tc = view(B * H), hr = view(B * H), cr = view(B * H), tcr = view(B * H);
      b.lstmCellForward(h, c, tc, g, cPrev, B, H); ref.lstmCellForward(hr, cr, tcr, gr, cPrev, B, H);
      const tag = `${label} lstmCellForward ${B}x${H}`;
      expectClose(`${tag} gates`, g, gr, TOL_EW); expectClose(`${tag} c`, c, cr, TOL_EW);
      expectClose(`${tag} tanhC`, tc, tcr, TOL_EW); expectClose(`${tag} h`, h, hr, TOL_EW);
      if (b.lstmStepForward) {   // optional: the recurrent product and the cell in one call, against ref's two
        const W = randView(4 * H * H, r, -0.3, 0.3), hPrev = randView(B * H, r), g0 = pre(B * 4 * H, r), g1 = copyView(g0);
        const hs = view(B * H), cs = view(B * H), ts = view(B * H), hsr = view(B * H), csr = view(B * H), tsr = view(B * H);
        b.lstmStepForward(hs, cs, ts, g0, cPrev, hPrev, W, B, H);
        ref.matmul(g1, hPrev, W, B, 4 * H, H, false, true, true); ref.lstmCellForward(hsr, csr, tsr, g1, cPrev, B, H);
        // the gates are activations of sums over H terms: |Δ| ≤ 1e-5·Σ|terms| before a ≤ 1-Lipschitz activation
        const sc = Array.from(g1, (_, i) => { const bb = Math.floor(i / (4 * H)), o = i % (4 * H); let s = 1;
          for (let k = 0; k < H; k++) s += Math.abs(hPrev[bb * H + k] * W[o * H + k]); return s; });
        const rows = (x: Float32Array) => Array.from(x, (_, i) => { let m = 0; const bb = Math.floor(i / H);
          for (let o = 0; o < 4 * H; o++) m = Math.max(m, sc[bb * 4 * H + o]); return 4 * m; });
        const tag = `${label} lstmStepForward ${B}x${H}`;
        expectClose(`${tag} gates`, g0, g1, TOL_EW, sc); expectClose(`${tag} c`, cs, csr, TOL_EW, rows(csr));
        expectClose(`${tag} h`, hs, hsr, TOL_EW, rows(hsr));
      }
      const dh = randView(B * H, r), dc = randView(B * H, r);
      const dG = view(B * 4 * H), dcp = view(B * H), dGr = view(B * 4 * H), dcpr = view(B * H);
      b.lstmCellBackward(dG, dcp, dh, dc, gr, cPrev, tcr, B, H);
      ref.lstmCellBackward(dGr, dcpr, dh, dc, gr, cPrev, tcr, B, H);
      expectClose(`${label} lstmCellBackward ${B}x${H} dGates`, dG, dGr, TOL_EW);
      expectClose(`${label} lstmCellBackward ${B}x${H} dcPrev`, dcp, dcpr, TOL_EW);
      if (b.lstmCellBackwardC) {   // optional: the same backward given c_t (tanh taken inside), against ref's two calls
        const dGc = view(B * 4 * H), dcpc = view(B * H);
        b.lstmCellBackwardC(dGc, dcpc, dh, dc, gr, cPrev, cr, B, H);
        expectClose(`${label} lstmCellBackwardC ${B}x${H} dGates`, dGc, dGr, TOL_EW);
        expectClose(`${label} lstmCellBackwardC ${B}x${H} dcPrev`, dcpc, dcpr, TOL_EW);
      }
    }
  });

  t('gruCellForward / gruCellBackward', (b) => {
    const r = rng(5);
    for (const [B, H] of [[1, 1], [3, 17], [17, 65], [64, 129], [64, 512]]) {
      const gi = pre(B * 3 * H, r), gh = pre(B * 3 * H, r), hPrev = randView(B * H, r);
      const h = view(B * H), act = view(B * 4 * H), hr = view(B * H), actr = view(B * 4 * H);
      b.gruCellForward(h, act, gi, gh, hPrev, B, H); ref.gruCellForward(hr, actr, gi, gh, hPrev, B, H);
      expectClose(`${label} gruCellForward ${B}x${H} h`, h, hr, TOL_EW);
      expectClose(`${label} gruCellForward ${B}x${H} act`, act, actr, TOL_EW);
      const dh = randView(B * H, r);
      const dGi = view(B * 3 * H), dGh = view(B * 3 * H), dhp = view(B * H);
      const dGir = view(B * 3 * H), dGhr = view(B * 3 * H), dhpr = view(B * H);
      b.gruCellBackward(dGi, dGh, dhp, dh, actr, hPrev, B, H);
      ref.gruCellBackward(dGir, dGhr, dhpr, dh, actr, hPrev, B, H);
      expectClose(`${label} gruCellBackward ${B}x${H} dGi`, dGi, dGir, TOL_EW);
      expectClose(`${label} gruCellBackward ${B}x${H} dGh`, dGh, dGhr, TOL_EW);
      expectClose(`${label} gruCellBackward ${B}x${H} dhPrev`, dhp, dhpr, TOL_EW);
    }
  });

  t('tanhForward / tanhBackward / scale / mul (also in place)', (b) => {
    const r = rng(6);
    for (const n of [1, 3, 17, 65, 129, 100003]) {
      const x = pre(n, r), h = view(n), hr = view(n);
      b.tanhForward(h, x, n); ref.tanhForward(hr, x, n);
      expectClose(`${label} tanhForward ${n}`, h, hr, TOL_EW);
      const xi = copyView(x), xir = copyView(x);
      b.tanhForward(xi, xi, n); ref.tanhForward(xir, xir, n);
      expectClose(`${label} tanhForward in place ${n}`, xi, xir, TOL_EW);
      const dh = randView(n, r), d = view(n), dr = view(n);
      b.tanhBackward(d, dh, hr, n); ref.tanhBackward(dr, dh, hr, n);
      expectClose(`${label} tanhBackward ${n}`, d, dr, TOL_EW);
      const s = copyView(dh), sr = copyView(dh);
      b.scale(s, n, 0.37); ref.scale(sr, n, 0.37);
      expectClose(`${label} scale ${n}`, s, sr, TOL_EW);
      const m = view(n), mr = view(n), mask = randView(n, r, 0, 2);
      b.mul(m, dh, mask, n); ref.mul(mr, dh, mask, n);
      expectClose(`${label} mul ${n}`, m, mr, TOL_EW);
      b.mul(s, s, mask, n); ref.mul(sr, sr, mask, n);
      expectClose(`${label} mul in place ${n}`, s, sr, TOL_EW);
    }
  });

  t('softmaxXent (ignored rows, with and without dLogits)', (b) => {
    const r = rng(7);
    for (const [N, V] of [[1, 1], [3, 3], [17, 65], [64, 129], [6400, 65]]) {
      const logits = randView(N * V, r, -8, 8), tg = viewI32(N);
      if (N * V > 200) logits[150] = NaN;   // a NaN logit makes its row's loss and gradient NaN
      for (let n = 0; n < N; n++) tg[n] = r() < 0.1 ? -1 : Math.floor(r() * V);
      const d = randView(N * V, r), dr = randView(N * V, r);
      const loss = b.softmaxXent(d, logits, tg, N, V, 1 / N), lossr = ref.softmaxXent(dr, logits, tg, N, V, 1 / N);
      const lossNo = b.softmaxXent(null, logits, tg, N, V, 1);
      let terms = 0;
      for (let n = 0; n < N; n++) if (tg[n] >= 0) terms += 8 + Math.log(V) + Math.abs(logits[n * V + tg[n]]);
      expectClose(`${label} softmaxXent ${N}x${V} loss`, [loss, lossNo], [lossr, lossr], TOL_SUM, [terms, terms]);
      // dLogits = softmax·scale with |scale| = 1/N: the elementwise tolerance is relative to the unscaled value.
      expectClose(`${label} softmaxXent ${N}x${V} dLogits`, d, dr, TOL_EW / N);
    }
  });

  t('adam / adamw (3 steps, weight decay)', (b) => {
    const r = rng(8);
    for (const n of [1, 17, 129, 100003]) for (const adamw of [false, true]) {
      const p = randView(n, r), m = view(n).fill(0), v = view(n).fill(0);
      const pr = copyView(p), mr = copyView(m), vr = copyView(v);
      for (let step = 1; step <= 3; step++) {
        const g = randView(n, r, -0.1, 0.1);
        b.adam(p, g, m, v, n, 2e-3, 0.9, 0.999, 1e-8, 0.01, adamw, step);
        ref.adam(pr, g, mr, vr, n, 2e-3, 0.9, 0.999, 1e-8, 0.01, adamw, step);
      }
      const tag = `${label} ${adamw ? 'adamw' : 'adam'} ${n}`;
      expectClose(`${tag} p`, p, pr, TOL_EW); expectClose(`${tag} m`, m, mr, TOL_EW); expectClose(`${tag} v`, v, vr, TOL_EW);
    }
  });

  for (const [name, fn] of transformerCases(label)) t(name, fn);   // LayerNorm, GELU, dropout, attention (transformer.ts)
  for (const [name, fn] of sampleCases(label)) t(name, fn);        // sampleRows (sample.ts)

  t('sumSquares', (b) => {
    const r = rng(9);
    for (const n of [1, 3, 17, 65, 129, 1000003]) {
      const x = randView(n, r, -3, 3);
      const s = b.sumSquares(x, n), sr = ref.sumSquares(x, n);
      assert.equal(typeof s, 'number');
      expectClose(`${label} sumSquares ${n}`, [s], [sr], TOL_SUM, [sr]);
    }
  });
}
