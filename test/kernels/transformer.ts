// The kernel suite's Transformer cases (registered by suite.ts for every backend and ISA path): LayerNorm, GELU,
// dropout, add, causal attention forward/backward and cached decode, each against refBackend on identical inputs
// and against an independent float64 oracle written here (attention materialises the full (T,T) softmax, which the
// kernels never do). Dropout and add must equal ref bit for bit (same hash, same rounding).
// Tolerances were set at 10-30x the largest diff observed on avx512, avx2 and portable (see each constant).
import assert from 'node:assert/strict';
import type { Backend } from '../../src/kernels/backend.js';
import { refBackend as ref } from '../../src/kernels/ref/index.js';
import { dropoutKeep, dropoutRowHash } from '../../src/kernels/ref/transformer.js';
import { copyView, expectClose, randView, rng, view, viewI32 } from './check.js';

// |got - want| <= tol·(1 + |want|). Largest observed, as a fraction of 1 + |want| over avx512/avx2/portable/ref:
// LayerNorm 7e-7 (14x margin), GELU 1.2e-7 (17x), attention y/lse/dqkv and decode 4.8e-7 (21x).
const TOL_LN = 1e-5, TOL_GELU = 2e-6, TOL_ATT = 1e-5;
// Reductions over rows (LayerNorm dw/db): |got - want| <= tol·Σ|terms|; observed 1e-7 of Σ|terms| (20x).
const TOL_LN_SUM = 2e-6;

/** GELU(x) = x·Φ(x) at a few points, from Python's math.erf (anchors ref's erf, which the oracle reuses). */
const GELU_POINTS: [number, number][] = [
  [-3, -0.0040496198676619], [-1, -0.15865525393145707], [-0.5, -0.15426876936299344], [0.1, 0.053982783727702904],
  [1, 0.8413447460685429], [2.5, 2.4844757901493826], [6, 5.999999994079843],
];

function lnOracle(x: Float32Array, w: Float32Array, b: Float32Array | null, N: number, C: number, eps: number) {
  const out = new Float64Array(N * C), mean = new Float64Array(N), rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x[n * C + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[n * C + c] - m) ** 2;
    mean[n] = m; rstd[n] = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) out[n * C + c] = (x[n * C + c] - m) * rstd[n] * w[c] + (b ? b[c] : 0);
  }
  return { out, mean, rstd };
}

/** Full-matrix float64 attention for one (b,h): returns P (with dropout applied) per row, materialised. */
function attOracle(qkv: Float32Array, dy: Float32Array | null, B: number, T: number, nh: number, hd: number, p: number,
                   seed: number) {
  const C = nh * hd, C3 = 3 * C, sc = 1 / Math.sqrt(hd), thr = Math.floor(p * 2 ** 32), ks = p > 0 ? 1 / (1 - p) : 1;
  const y = new Float64Array(B * T * C), lse = new Float64Array(B * nh * T), dqkv = new Float64Array(B * T * C3);
  for (let b = 0; b < B; b++) for (let h = 0; h < nh; h++) {
    const bh = b * nh + h, q = (i: number, e: number) => qkv[(b * T + i) * C3 + h * hd + e];
    const k = (j: number, e: number) => qkv[(b * T + j) * C3 + C + h * hd + e];
    const v = (j: number, e: number) => qkv[(b * T + j) * C3 + 2 * C + h * hd + e];
    const P: Float64Array[] = [], M: Float64Array[] = [];
    for (let i = 0; i < T; i++) {
      const s = new Float64Array(i + 1);
      for (let j = 0; j <= i; j++) { let d = 0; for (let e = 0; e < hd; e++) d += q(i, e) * k(j, e); s[j] = d * sc; }
      const mx = Math.max(...s);
      let l = 0;
      for (let j = 0; j <= i; j++) l += Math.exp(s[j] - mx);
      lse[bh * T + i] = mx + Math.log(l);
      const r = p > 0 ? dropoutRowHash(seed, bh, i) : 0;
      P.push(s.map((x) => Math.exp(x - mx) / l));
      M.push(s.map((_, j) => (p > 0 ? (dropoutKeep(r, j, thr) ? ks : 0) : 1)));
      for (let e = 0; e < hd; e++) {
        let a = 0;
        for (let j = 0; j <= i; j++) a += P[i][j] * M[i][j] * v(j, e);
        y[(b * T + i) * C + h * hd + e] = a;
      }
    }
    if (!dy) continue;
    const g = (i: number, e: number) => dy[(b * T + i) * C + h * hd + e];
    for (let i = 0; i < T; i++) {
      // dP_ij = M_ij·(dy_i·v_j); softmax backward dS_ij = P_ij·(dP_ij − Σ_k P_ik dP_ik), then the 1/√hd of the scores.
      const dP = P[i].map((_, j) => { let d = 0; for (let e = 0; e < hd; e++) d += g(i, e) * v(j, e); return d * M[i][j]; });
      let rs = 0;
      for (let j = 0; j <= i; j++) rs += P[i][j] * dP[j];
      for (let j = 0; j <= i; j++) {
        const ds = P[i][j] * (dP[j] - rs) * sc, pm = P[i][j] * M[i][j];
        for (let e = 0; e < hd; e++) {
          dqkv[(b * T + i) * C3 + h * hd + e] += ds * k(j, e);
          dqkv[(b * T + j) * C3 + C + h * hd + e] += ds * q(i, e);
          dqkv[(b * T + j) * C3 + 2 * C + h * hd + e] += pm * g(i, e);
        }
      }
    }
  }
  return { y, lse, dqkv };
}

/** The Transformer cases, as [name, body] pairs for suite.ts's per-backend test wrapper. */
export function transformerCases(label: string): [string, (b: Backend) => void][] {
  return [
    ['layerNormForward / layerNormBackward (bias and no bias; vs float64)', (b) => {
      const r = rng(21);
      for (const [N, C, bias] of [[1, 1, true], [3, 17, false], [17, 65, true], [64, 384, true], [300, 256, false],
                                  [2048, 384, true]] as [number, number, boolean][]) {
        const x = randView(N * C, r, -3, 3), w = randView(C, r, 0.5, 1.5), bb = bias ? randView(C, r) : null;
        if (N > 3) for (let c = 0; c < C; c++) x[2 * C + c] = 100 + 0.01 * x[2 * C + c]; // large mean, small spread
        const o = view(N * C), m = view(N), s = view(N), orr = view(N * C), mr = view(N), sr = view(N);
        b.layerNormForward(o, m, s, x, w, bb, N, C, 1e-5);
        ref.layerNormForward(orr, mr, sr, x, w, bb, N, C, 1e-5);
        const want = lnOracle(x, w, bb, N, C, 1e-5), tag = `${label} layerNormForward ${N}x${C}${bias ? '' : ' nobias'}`;
        expectClose(`${tag} out vs ref`, o, orr, TOL_LN);
        expectClose(`${tag} out vs float64`, o, want.out, TOL_LN);
        expectClose(`${tag} mean vs float64`, m, want.mean, TOL_LN);
        expectClose(`${tag} rstd vs float64`, s, want.rstd, TOL_LN, Array.from(want.rstd, (v) => v));
        // backward, accumulating into nonzero dx/dw/db
        const dout = randView(N * C, r), dx = randView(N * C, r), dw = randView(C, r), db = bias ? randView(C, r) : null;
        const dxr = copyView(dx), dwr = copyView(dw), dbr = db ? copyView(db) : null;
        const dx0 = Float64Array.from(dx), dw0 = Float64Array.from(dw), db0 = db ? Float64Array.from(db) : null;
        b.layerNormBackward(dx, dw, db, dout, x, w, mr, sr, N, C);
        ref.layerNormBackward(dxr, dwr, dbr, dout, x, w, mr, sr, N, C);
        // float64: x̂ from the saved statistics, dx = rstd·(g - mean(g) - x̂·mean(g·x̂)), g = dout·w
        const wdx = Float64Array.from(dx0), wdw = Float64Array.from(dw0), wdb = db0 ? Float64Array.from(db0) : null;
        const sdw = Float64Array.from(dw0, Math.abs), sdb = db0 ? Float64Array.from(db0, Math.abs) : null;
        for (let n = 0; n < N; n++) {
          let mg = 0, mgx = 0;
          const xh = (c: number) => (x[n * C + c] - mr[n]) * sr[n];
          for (let c = 0; c < C; c++) { const g = dout[n * C + c] * w[c]; mg += g; mgx += g * xh(c); }
          mg /= C; mgx /= C;
          for (let c = 0; c < C; c++) {
            const d = dout[n * C + c];
            wdx[n * C + c] += sr[n] * (d * w[c] - mg - xh(c) * mgx);
            wdw[c] += d * xh(c); sdw[c] += Math.abs(d * xh(c));
            if (wdb) { wdb[c] += d; sdb![c] += Math.abs(d); }
          }
        }
        const btag = `${label} layerNormBackward ${N}x${C}${bias ? '' : ' nobias'}`;
        expectClose(`${btag} dx vs ref`, dx, dxr, TOL_LN);
        expectClose(`${btag} dx vs float64`, dx, wdx, TOL_LN);
        expectClose(`${btag} dw vs float64`, dw, wdw, TOL_LN_SUM, sdw);
        if (db) expectClose(`${btag} db vs float64`, db, wdb!, TOL_LN_SUM, sdb!);
      }
    }],

    ['geluForward / geluBackward (exact erf; in place; vs float64)', (b) => {
      const pts = view(GELU_POINTS.length), out = view(GELU_POINTS.length);
      GELU_POINTS.forEach(([x], i) => { pts[i] = x; });
      b.geluForward(out, pts, pts.length);
      expectClose(`${label} gelu at Python math.erf points`, out, GELU_POINTS.map(([, y]) => y), TOL_GELU);
      const r = rng(22);
      for (const n of [1, 3, 17, 65, 129, 100003]) {
        const x = randView(n, r, -7, 7);
        for (let i = 0; i < n; i += 41) x[i] = [30, -30, 0, -1e-30, 13, -13, 0.5][(i / 41) % 7];
        if (n > 50) x[50] = NaN;
        const o = view(n), orr = view(n);
        b.geluForward(o, x, n); ref.geluForward(orr, x, n); // ref: float64 erf (|error| < 1e-14), rounded once
        expectClose(`${label} geluForward ${n} vs float64`, o, orr, TOL_GELU);
        const d = randView(n, r), g = view(n), gr = view(n);
        b.geluBackward(g, d, x, n); ref.geluBackward(gr, d, x, n);
        expectClose(`${label} geluBackward ${n} vs float64`, g, gr, TOL_GELU);
        const xi = copyView(x), di = copyView(d);
        b.geluForward(xi, xi, n); b.geluBackward(di, di, x, n);
        expectClose(`${label} geluForward in place ${n}`, xi, o, 0);
        expectClose(`${label} geluBackward in place ${n}`, di, g, 0);
      }
    }],

    ['dropout / add (bit-identical to ref; keep rate; in place)', (b) => {
      const r = rng(23);
      for (const n of [1, 3, 17, 65, 1000, 262147]) for (const [p, seed] of [[0, 5], [0.1, 1], [0.2, 0xdeadbeef], [0.5, 42]]) {
        const x = randView(n, r), o = view(n), orr = view(n);
        b.dropout(o, x, n, p, seed); ref.dropout(orr, x, n, p, seed);
        expectClose(`${label} dropout ${n} p=${p}`, o, orr, 0);
        if (n > 10000) {
          const rate = o.reduce((z, v) => z + (v === 0 ? 1 : 0), 0) / n, sd = Math.sqrt(p * (1 - p) / n);
          console.log(`  ${label} dropout ${n} p=${p}: dropped ${rate.toFixed(4)}`);
          assert.ok(Math.abs(rate - p) <= 5 * sd + 1e-12, `dropped fraction ${rate} vs p ${p}`);
        }
        const xi = copyView(x);
        b.dropout(xi, xi, n, p, seed);
        expectClose(`${label} dropout in place ${n} p=${p}`, xi, orr, 0);
      }
      for (const n of [1, 17, 100003]) {
        const x = randView(n, r), y = randView(n, r), o = view(n), orr = view(n);
        b.add(o, x, y, n); ref.add(orr, x, y, n);
        expectClose(`${label} add ${n}`, o, orr, 0);
        b.add(x, x, y, n);
        expectClose(`${label} add in place ${n}`, x, orr, 0);
      }
    }],

    ['attentionForward / attentionBackward (causal, heads, dropout; vs float64)', (b) => {
      const r = rng(24);
      // [B, T, nh, hd, p]: odd head sizes, query blocks crossing 64, one nanoGPT-sized head (hd 64, T 256)
      const shapes: [number, number, number, number, number][] = [
        [1, 1, 1, 1, 0], [2, 5, 3, 4, 0], [2, 17, 2, 8, 0.2], [1, 70, 2, 16, 0], [2, 129, 3, 12, 0.1],
        [1, 256, 1, 64, 0.2], [1, 200, 2, 48, 0],
      ];
      for (const [B, T, nh, hd, p] of shapes) {
        const C = nh * hd, seed = 1000 + T;
        const qkv = randView(B * T * 3 * C, r, -1.5, 1.5), dy = randView(B * T * C, r);
        const y = view(B * T * C), lse = view(B * nh * T), yr = view(B * T * C), lser = view(B * nh * T);
        b.attentionForward(y, lse, qkv, B, T, nh, hd, p, seed);
        ref.attentionForward(yr, lser, qkv, B, T, nh, hd, p, seed);
        const want = attOracle(qkv, dy, B, T, nh, hd, p, seed), tag = `${label} attention B${B} T${T} nh${nh} hd${hd} p${p}`;
        expectClose(`${tag} y vs ref`, y, yr, TOL_ATT);
        expectClose(`${tag} y vs float64`, y, want.y, TOL_ATT);
        expectClose(`${tag} lse vs float64`, lse, want.lse, TOL_ATT);
        const g = randView(B * T * 3 * C, r), gr = view(B * T * 3 * C);   // written, not accumulated: start dirty
        b.attentionBackward(g, dy, yr, lser, qkv, B, T, nh, hd, p, seed);
        ref.attentionBackward(gr, dy, yr, lser, qkv, B, T, nh, hd, p, seed);
        expectClose(`${tag} dqkv vs ref`, g, gr, TOL_ATT);
        expectClose(`${tag} dqkv vs float64`, g, want.dqkv, TOL_ATT);
      }
    }],

    ['kvCacheWrite (optional: backends that have it; exact copies to per-row positions)', (b) => {
      if (!b.kvCacheWrite) return;   // the gpt cache copies row by row instead (covered by the sampling tests)
      const r = rng(26);
      for (const [B, T, C, S] of [[1, 1, 1, 2], [3, 1, 8, 20], [2, 4, 12, 33], [2, 7, 48, 64]]) {
        const qkv = randView(B * T * 3 * C, r), kc = randView(B * S * C, r), vc = randView(B * S * C, r);
        const kr = copyView(kc), vr = copyView(vc), pos = viewI32(B);
        for (let i = 0; i < B; i++) pos[i] = Math.floor(r() * (S - T + 1));
        b.kvCacheWrite(kc, vc, qkv, pos, B, T, C, S);
        ref.kvCacheWrite!(kr, vr, qkv, pos, B, T, C, S);
        for (let bb = 0; bb < B; bb++) for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) {   // the oracle
          const src = (bb * T + t) * 3 * C + c, dst = (bb * S + pos[bb] + t) * C + c;
          if (kr[dst] !== qkv[src + C] || vr[dst] !== qkv[src + 2 * C]) throw new Error(`ref kvCacheWrite wrong at ${dst}`);
        }
        expectClose(`${label} kvCacheWrite B${B} T${T} C${C} S${S} k`, kc, kr, 0);
        expectClose(`${label} kvCacheWrite B${B} T${T} C${C} S${S} v`, vc, vr, 0);
      }
    }],

    ['attentionDecode (KV cache, per-row positions, strided q; vs float64)', (b) => {
      const r = rng(25);
      for (const [B, T, nh, hd, S] of [[1, 1, 1, 1, 4], [3, 1, 2, 8, 20], [2, 4, 3, 12, 33], [1, 1, 6, 64, 256],
                                       [2, 7, 2, 64, 256]]) {
        const C = nh * hd, qs = 3 * C;
        const q = randView(B * T * qs, r, -1.5, 1.5), kc = randView(B * S * C, r), vc = randView(B * S * C, r);
        const pos = viewI32(B);
        for (let i = 0; i < B; i++) pos[i] = i === 0 ? S - T : Math.floor(r() * (S - T + 1));
        const y = view(B * T * C), yr = view(B * T * C);
        b.attentionDecode(y, q, qs, kc, vc, pos, B, T, nh, hd, S);
        ref.attentionDecode(yr, q, qs, kc, vc, pos, B, T, nh, hd, S);
        const want = new Float64Array(B * T * C), sc = 1 / Math.sqrt(hd);
        for (let bb = 0; bb < B; bb++) for (let t = 0; t < T; t++) for (let h = 0; h < nh; h++) {
          const n = pos[bb] + t + 1, s: number[] = [];
          for (let j = 0; j < n; j++) {
            let d = 0;
            for (let e = 0; e < hd; e++) d += q[(bb * T + t) * qs + h * hd + e] * kc[(bb * S + j) * C + h * hd + e];
            s.push(d * sc);
          }
          const mx = Math.max(...s), z = s.reduce((a, v) => a + Math.exp(v - mx), 0);
          for (let e = 0; e < hd; e++) {
            let a = 0;
            for (let j = 0; j < n; j++) a += (Math.exp(s[j] - mx) / z) * vc[(bb * S + j) * C + h * hd + e];
            want[(bb * T + t) * C + h * hd + e] = a;
          }
        }
        const tag = `${label} attentionDecode B${B} T${T} nh${nh} hd${hd} S${S}`;
        expectClose(`${tag} vs ref`, y, yr, TOL_ATT);
        expectClose(`${tag} vs float64`, y, want, TOL_ATT);
      }
    }],
  ];
}
