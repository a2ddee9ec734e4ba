// Every backend (ref included) against the independent float64 oracles of oracles.ts and closed forms, so the
// reference kernels are not only checked against themselves. Tolerances from the observed max diffs (printed,
// docs/testing.md): fp32 results vs float64 math, with 10–30× margin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/kernels/backend.js';
import { clipGradNorm } from '../../src/train/optimizer.js';
import { checkGuards, copyView, expectClose, randView, rng, useMemory, view, viewI32 } from './check.js';
import { hostMemory } from '../../src/kernels/host-memory.js';
import * as O from './oracles.js';
import { backendsUnderTest } from '../skips.js';

const TOL_EW = 2e-6;        // elementwise fp32 math vs float64: |d| <= 2e-6·(1+|want|)
const TOL_SUM = 1e-6;       // fp32 sums vs float64: |d| <= 1e-6·Σ|terms|

const abs = (a: ArrayLike<number>) => Array.from(a, (x) => Math.abs(x));

function suite(label: string, b: Backend): void {
  const t = (name: string, fn: () => void) => test(`[${label}] oracle: ${name}`, () => {
    useMemory(b); // buffers from the backend under test (wasm runs only on its own memory)
    try { fn(); checkGuards(`${label} ${name}`); } finally { useMemory(hostMemory); }
  });

  t('lstmCellForward / lstmCellBackward vs float64 closed form and finite differences', () => {
    const r = rng(41);
    for (const [B, H] of [[1, 1], [3, 17], [8, 64]]) {
      const pre = randView(B * 4 * H, r, -5, 5), cPrev = randView(B * H, r, -2, 2), gates = copyView(pre);
      const h = view(B * H), c = view(B * H), tc = view(B * H);
      b.lstmCellForward(h, c, tc, gates, cPrev, B, H);
      const f = O.lstmForward(pre, cPrev, B, H);
      const tag = `${label} lstm ${B}x${H}`;
      expectClose(`${tag} h`, h, f.h, TOL_EW); expectClose(`${tag} c`, c, f.c, TOL_EW);
      expectClose(`${tag} tanhC`, tc, f.tanhC, TOL_EW); expectClose(`${tag} activations`, gates, f.act, TOL_EW);
      const dh = randView(B * H, r), dc = randView(B * H, r), dcCopy = Float64Array.from(dc);
      const dG = view(B * 4 * H), dcp = view(B * H);
      b.lstmCellBackward(dG, dcp, dh, dc, gates, cPrev, tc, B, H);
      const o = O.lstmBackward(pre, cPrev, dh, dcCopy, B, H);
      expectClose(`${tag} dGates`, dG, o.dGates, 1e-5); expectClose(`${tag} dcPrev`, dcp, o.dcPrev, 1e-5);
    }
  });

  t('gruCellForward / gruCellBackward vs float64 closed form and finite differences', () => {
    const r = rng(42);
    for (const [B, H] of [[1, 1], [3, 17], [8, 64]]) {
      const gi = randView(B * 3 * H, r, -4, 4), gh = randView(B * 3 * H, r, -4, 4), hPrev = randView(B * H, r);
      const h = view(B * H), act = view(B * 4 * H);
      b.gruCellForward(h, act, gi, gh, hPrev, B, H);
      const tag = `${label} gru ${B}x${H}`;
      expectClose(`${tag} h`, h, O.gruForward(gi, gh, hPrev, B, H), TOL_EW);
      const dh = randView(B * H, r), dGi = view(B * 3 * H), dGh = view(B * 3 * H), dhp = view(B * H).fill(0);
      b.gruCellBackward(dGi, dGh, dhp, dh, act, hPrev, B, H);   // dhp starts at 0: the direct part only
      const o = O.gruBackward(gi, gh, hPrev, dh, B, H);
      expectClose(`${tag} dGi`, dGi, o.dGi, 1e-5); expectClose(`${tag} dGh`, dGh, o.dGh, 1e-5);
      expectClose(`${tag} dhPrev (direct part)`, dhp, o.dhPrev, 1e-5);
    }
  });

  t('tanhForward / tanhBackward / scale / mul vs float64', () => {
    const r = rng(43);
    const n = 4099, x = randView(n, r, -6, 6), h = view(n);
    b.tanhForward(h, x, n);
    expectClose(`${label} tanh`, h, Array.from(x, Math.tanh), TOL_EW);
    const dh = randView(n, r), d = view(n);
    b.tanhBackward(d, dh, h, n);
    expectClose(`${label} tanhBackward (finite differences)`, d, O.tanhBackward(dh, h), 1e-5);
    const s = copyView(dh);
    b.scale(s, n, -0.37);
    expectClose(`${label} scale`, s, Array.from(dh, (v) => v * -0.37), 2e-7);   // one fp32 rounding
    const m = view(n), mask = randView(n, r, 0, 2);
    b.mul(m, dh, mask, n);
    expectClose(`${label} mul`, m, Array.from(dh, (v, i) => v * mask[i]), 2e-7);
  });

  t('sumSquares vs float64 and closed forms', () => {
    const r = rng(44);
    for (const n of [1, 17, 1000, 100003]) {
      const x = randView(n, r, -3, 3);
      let want = 0;
      for (let i = 0; i < n; i++) want += x[i] * x[i];   // float32² is exact in float64
      expectClose(`${label} sumSquares ${n}`, [b.sumSquares(x, n)], [want], TOL_SUM, [want]);
    }
    const half = view(1001).fill(0.5);
    assert.equal(b.sumSquares(half, 1001), 250.25, 'Σ 0.5² over 1001 values is exactly 250.25');
    assert.equal(b.sumSquares(view(3).fill(0), 3), 0);
  });

  t('softmaxXent vs float64 −log p and p − onehot (ignored rows, scale)', () => {
    const r = rng(45);
    for (const [N, V] of [[1, 1], [4, 5], [64, 65]]) {
      const logits = randView(N * V, r, -8, 8), tg = viewI32(N);
      for (let n = 0; n < N; n++) tg[n] = n % 7 === 3 ? -1 : Math.floor(r() * V);
      const d = randView(N * V, r), scale = 1 / N;
      const loss = b.softmaxXent(d, logits, tg, N, V, scale);
      const o = O.softmaxXent(logits, tg, N, V, scale);
      expectClose(`${label} softmaxXent ${N}x${V} loss`, [loss], [o.loss], TOL_SUM, [N * (8 + Math.log(V))]);
      expectClose(`${label} softmaxXent ${N}x${V} dLogits`, d, o.d, TOL_EW * scale);
    }
    // Closed form: equal logits give loss log V per scored row and gradient (1/V − onehot)·scale.
    const V = 8, l = view(2 * V).fill(0.25), d = view(2 * V);
    const two = viewI32(2); two.set([3, 5]);
    const loss = b.softmaxXent(d, l, two, 2, V, 0.5);
    expectClose(`${label} softmaxXent uniform loss`, [loss], [2 * Math.log(V)], 1e-7);
    expectClose(`${label} softmaxXent uniform dLogits`, d,
      Array.from({ length: 2 * V }, (_, i) => (1 / V - (i === 3 || i === V + 5 ? 1 : 0)) * 0.5), 1e-7);
  });

  t('adam: Adam, Adam L2 and AdamW (3 steps) vs float64 textbook form; step 1 closed form', () => {
    const r = rng(46), n = 1001;
    for (const [wd, adamw] of [[0, false], [0.1, false], [0.5, false], [0.1, true], [0.5, true]] as [number, boolean][]) {
      const p = randView(n, r), p0 = Float64Array.from(p), m = view(n).fill(0), v = view(n).fill(0);
      const grads = [0, 1, 2].map(() => randView(n, r, -0.1, 0.1));
      grads.forEach((g, s) => b.adam(p, g, m, v, n, 2e-3, 0.9, 0.999, 1e-8, wd, adamw, s + 1));
      const o = O.adam(p0, grads, 2e-3, 0.9, 0.999, 1e-8, wd, adamw);
      const tag = `${label} ${adamw ? 'adamw' : 'adam'} wd ${wd}`;
      // p moves by ~lr per step: 1e-6·(1+|p|) is ~1/1000 of a step.
      expectClose(`${tag} p`, p, o.p, 1e-6);
      // m and v are sums of terms with cancelling signs (m) or tiny squares (v): bounded per tensor, by max|m|, max|v|.
      expectClose(`${tag} m`, m, o.m, 1e-6, o.m.map(() => Math.max(...abs(o.m))));
      expectClose(`${tag} v`, v, o.v, 1e-6, o.v.map(() => Math.max(...o.v)));
    }
    // Step 1 without weight decay: m̂ = g, v̂ = g², so p1 = p0 − lr·g/(|g| + ε) exactly.
    const p = randView(n, r), p0 = Float64Array.from(p), g = randView(n, r, -1, 1);
    b.adam(p, g, view(n).fill(0), view(n).fill(0), n, 1e-2, 0.9, 0.999, 1e-8, 0, false, 1);
    expectClose(`${label} adam step 1 closed form`, p, Array.from(p0, (x, i) => x - 1e-2 * g[i] / (Math.abs(g[i]) + 1e-8)), 1e-6);
  });

  t('clipGradNorm (sumSquares + scale) vs the float64 clip_grad_norm_ formula', () => {
    const r = rng(47);
    for (const [n, maxNorm] of [[3, 0.5], [1000, 1], [1000, 1e6], [4099, 2]] as [number, number][]) {
      const g = randView(n, r, -1, 1), g0 = Float64Array.from(g);
      const norm = clipGradNorm(b, g, maxNorm);
      const o = O.clip(g0, maxNorm);
      expectClose(`${label} clip n=${n} max ${maxNorm} norm`, [norm], [o.norm], TOL_SUM, [o.norm]);
      expectClose(`${label} clip n=${n} max ${maxNorm} g`, g, o.g, TOL_EW);
    }
    const g = view(3); g.set([3, 4, 12]);        // norm 13 exactly
    assert.equal(clipGradNorm(b, g, 0), 13);
    expectClose(`${label} clip 3-4-12 to 6.5`, [clipGradNorm(b, g, 6.5), ...g], [13, 1.5, 2, 6], 1e-6);
  });

  t('addRowVector / sumRows / embedding gather and scatter-add vs float64', () => {
    const r = rng(48);
    const M = 37, N = 29, Y = randView(M * N, r), bias = randView(N, r), Y0 = Float64Array.from(Y);
    b.addRowVector(Y, bias, M, N);
    expectClose(`${label} addRowVector`, Y, Array.from(Y0, (y, i) => y + bias[i % N]), 2e-7);
    const db = randView(N, r), db0 = Float64Array.from(db), dY = randView(M * N, r);
    b.sumRows(db, dY, M, N);
    const want = Array.from(db0), scale = abs(db0);
    for (let i = 0; i < M * N; i++) { want[i % N] += dY[i]; scale[i % N] += Math.abs(dY[i]); }
    expectClose(`${label} sumRows`, db, want, TOL_SUM, scale);
    const V = 7, E = 5, Nn = 40, table = randView(V * E, r), ids = viewI32(Nn);
    for (let n = 0; n < Nn; n++) ids[n] = Math.floor(r() * V);
    const out = view(Nn * E);
    b.embeddingForward(out, table, ids, Nn, E);
    assert.deepEqual(Array.from(out), Array.from({ length: Nn * E }, (_, k) => table[ids[Math.floor(k / E)] * E + (k % E)]));
    const dT = view(V * E).fill(0), dOut = randView(Nn * E, r);
    b.embeddingBackward(dT, dOut, ids, Nn, E);
    const w = new Array<number>(V * E).fill(0), sc = new Array<number>(V * E).fill(0);
    for (let k = 0; k < Nn * E; k++) { const i = ids[Math.floor(k / E)] * E + (k % E); w[i] += dOut[k]; sc[i] += Math.abs(dOut[k]); }
    expectClose(`${label} embeddingBackward (repeated ids)`, dT, w, TOL_SUM, sc.map((s) => s + 1e-30));
  });
}

for (const { label, backend } of await backendsUnderTest('float64 oracles')) suite(label, backend);
