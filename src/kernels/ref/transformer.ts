// Reference Transformer kernels (the readable twins of native/transformer*.cc): LayerNorm, exact-erf GELU, causal
// multi-head attention (flash-style: forward keeps only the per-row log-sum-exp, backward recomputes the scores, so
// no (B,nh,T,T) tensor is ever stored), cached attention for generation, and a residual add.
// Attention dropout uses a counter-based hash of (seed, b·nh+h, i, j) so backward regenerates forward's mask.
import type { F32, I32 } from '../backend.js';

/** out(N,C) = (x - mean)·rstd·w + b per row; saves mean(N), rstd(N). b may be null (nanoGPT's bias=False). */
export function layerNormForward(out: F32, mean: F32, rstd: F32, x: F32, w: F32, b: F32 | null,
                                 N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let m = 0;
    for (let c = 0; c < C; c++) m += x[o + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) { const d = x[o + c] - m; v += d * d; }
    const r = 1 / Math.sqrt(v / C + eps);
    mean[n] = m; rstd[n] = r;
    for (let c = 0; c < C; c++) out[o + c] = (x[o + c] - m) * r * w[c] + (b ? b[c] : 0);
  }
}

/** ACCUMULATES dx(N,C), dw(C), db(C) (db may be null) from dout(N,C) and forward's x, mean, rstd. */
export function layerNormBackward(dx: F32, dw: F32, db: F32 | null, dout: F32, x: F32, w: F32, mean: F32, rstd: F32,
                                  N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C, m = mean[n], r = rstd[n];
    let sumD = 0, sumDX = 0; // Σ dxhat, Σ dxhat·xhat
    for (let c = 0; c < C; c++) {
      const xh = (x[o + c] - m) * r, dxh = dout[o + c] * w[c];
      sumD += dxh; sumDX += dxh * xh;
    }
    sumD /= C; sumDX /= C;
    for (let c = 0; c < C; c++) {
      const xh = (x[o + c] - m) * r, d = dout[o + c];
      dw[c] += d * xh;
      if (db) db[c] += d;
      dx[o + c] += r * (d * w[c] - sumD - xh * sumDX);
    }
  }
}

/** erf in float64 (series below 2.5, Lentz continued fraction for erfc above): |error| < 1e-14. */
export function erf(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 2.5) {
    // erf(a) = 2/√π Σ (-1)^n a^(2n+1) / (n! (2n+1))
    let term = a, sum = a;
    const a2 = a * a;
    for (let n = 1; n < 60; n++) {
      term *= -a2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else if (a < 9) {
    // erfc(a) = exp(-a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), evaluated by modified Lentz.
    const tiny = 1e-300;
    let f = a, C = a, D = 0;
    for (let k = 1; k < 200; k++) {
      const ak = k / 2;
      D = a + ak * D; D = D === 0 ? tiny : D; D = 1 / D;
      C = a + ak / C; C = C === 0 ? tiny : C;
      const delta = C * D;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
  } else r = 1;
  return x < 0 ? -r : r;
}

/** Score row scratch shared by the attention kernels (grown on demand, so steady-state calls allocate nothing). */
let scoreRow = new Float64Array(256);
function scores(n: number): Float64Array {
  if (scoreRow.length < n) scoreRow = new Float64Array(n);
  return scoreRow;
}

const INV_SQRT2 = Math.SQRT1_2, INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** out = x·Φ(x) = 0.5·x·(1 + erf(x/√2)) (PyTorch's nn.GELU() default, not the tanh approximation). */
export function geluForward(out: F32, x: F32, n: number): void {
  for (let i = 0; i < n; i++) { const v = x[i]; out[i] = 0.5 * v * (1 + erf(v * INV_SQRT2)); }
}

/** dx = dout · (Φ(x) + x·φ(x)), written (not accumulated). dx may alias dout. */
export function geluBackward(dx: F32, dout: F32, x: F32, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    dx[i] = dout[i] * (0.5 * (1 + erf(v * INV_SQRT2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
  }
}

/** out = a + b over n values (out may alias a or b): the residual connections. */
export function add(out: F32, a: F32, b: F32, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/** murmur3's 32-bit finaliser. */
function fmix32(h: number): number {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Inverted dropout from a counter hash: out[i] = x[i]/(1-p) where fmix32(seed ⊕ i·φ) ≥ p·2³², else 0. The same call
 * with the same seed is its own backward (dx = dropout(dy)), so no mask is stored. out may alias x.
 */
export function dropout(out: F32, x: F32, n: number, p: number, seed: number): void {
  const thr = Math.floor(p * 0x100000000), s = 1 / (1 - p);
  for (let i = 0; i < n; i++) {
    out[i] = fmix32((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0) >= thr ? x[i] * s : 0;
  }
}

/** The per-(b·nh+h, query i) hash that seeds attention-dropout decisions for that row of scores. */
export function dropoutRowHash(seed: number, bh: number, i: number): number {
  return fmix32(fmix32((seed ^ Math.imul(bh + 1, 0x9e3779b1)) >>> 0) ^ Math.imul(i + 1, 0x85ebca77));
}
/** Whether score (row hash r, key j) is kept; threshold = floor(p·2³²). */
export function dropoutKeep(r: number, j: number, threshold: number): boolean {
  return fmix32((r ^ Math.imul(j + 1, 0x27d4eb2f)) >>> 0) >= threshold;
}

/**
 * Causal self-attention, training forward. qkv (B,T,3C) holds [q | k | v] per row, head h at columns h·hd of each
 * (C = nh·hd); y (B,T,C). lse (B,nh,T) receives log Σ exp(scores) per query row for the backward pass. Scores are
 * q·k/√hd. With dropout p > 0 the probabilities are dropped and scaled by 1/(1-p) (as torch's attention dropout).
 */
export function attentionForward(y: F32, lse: F32, qkv: F32, B: number, T: number, nh: number, hd: number,
                                 p: number, seed: number): void {
  const C = nh * hd, C3 = 3 * C, scale = 1 / Math.sqrt(hd);
  const thr = Math.floor(p * 0x100000000), keepScale = p > 0 ? 1 / (1 - p) : 1;
  const s = scores(T);
  for (let b = 0; b < B; b++) for (let h = 0; h < nh; h++) {
    const bh = b * nh + h;
    for (let i = 0; i < T; i++) {
      const qo = (b * T + i) * C3 + h * hd;
      let m = -Infinity;
      for (let j = 0; j <= i; j++) {
        const ko = (b * T + j) * C3 + C + h * hd;
        let d = 0;
        for (let e = 0; e < hd; e++) d += qkv[qo + e] * qkv[ko + e];
        s[j] = d * scale;
        if (s[j] > m) m = s[j];
      }
      let l = 0;
      for (let j = 0; j <= i; j++) { s[j] = Math.exp(s[j] - m); l += s[j]; }
      lse[bh * T + i] = m + Math.log(l);
      const yo = (b * T + i) * C + h * hd, r = p > 0 ? dropoutRowHash(seed, bh, i) : 0;
      for (let e = 0; e < hd; e++) y[yo + e] = 0;
      for (let j = 0; j <= i; j++) {
        if (p > 0 && !dropoutKeep(r, j, thr)) continue;
        const w = (s[j] / l) * keepScale, vo = (b * T + j) * C3 + 2 * C + h * hd;
        for (let e = 0; e < hd; e++) y[yo + e] += w * qkv[vo + e];
      }
    }
  }
}

/**
 * Backward of attentionForward: writes dqkv (B,T,3C) from dy (B,T,C), recomputing the probabilities from qkv and
 * lse (and the dropout mask from the seed). With P the probabilities, M the dropout scale (0 or 1/(1-p)):
 * dV += (P∘M)ᵀ·dY; dP = (dY·Vᵀ)∘M; dS = P∘(dP − rowsum(dY∘Y)); dQ = dS·K/√hd; dK = dSᵀ·Q/√hd.
 */
export function attentionBackward(dqkv: F32, dy: F32, y: F32, lse: F32, qkv: F32, B: number, T: number, nh: number,
                                  hd: number, p: number, seed: number): void {
  const C = nh * hd, C3 = 3 * C, scale = 1 / Math.sqrt(hd);
  const thr = Math.floor(p * 0x100000000), keepScale = p > 0 ? 1 / (1 - p) : 1;
  dqkv.fill(0, 0, B * T * C3);
  for (let b = 0; b < B; b++) for (let h = 0; h < nh; h++) {
    const bh = b * nh + h;
    for (let i = 0; i < T; i++) {
      const qo = (b * T + i) * C3 + h * hd, yo = (b * T + i) * C + h * hd, L = lse[bh * T + i];
      let D = 0;
      for (let e = 0; e < hd; e++) D += dy[yo + e] * y[yo + e];
      const r = p > 0 ? dropoutRowHash(seed, bh, i) : 0;
      for (let j = 0; j <= i; j++) {
        const ko = (b * T + j) * C3 + C + h * hd, vo = ko + C;
        let sc = 0;
        for (let e = 0; e < hd; e++) sc += qkv[qo + e] * qkv[ko + e];
        const P = Math.exp(sc * scale - L);
        const M = p > 0 ? (dropoutKeep(r, j, thr) ? keepScale : 0) : 1;
        let dp = 0;
        for (let e = 0; e < hd; e++) dp += dy[yo + e] * qkv[vo + e];
        dp *= M;
        const pm = P * M;
        for (let e = 0; e < hd; e++) dqkv[vo + e] += pm * dy[yo + e];
        const ds = P * (dp - D) * scale;
        for (let e = 0; e < hd; e++) {
          dqkv[qo + e] += ds * qkv[ko + e];
          dqkv[ko + e] += ds * qkv[qo + e];
        }
      }
    }
  }
}

/** The KV-cache write (Backend.kvCacheWrite): row (b,t)'s k and v of qkv into row b·S + pos[b] + t of kc and vc. */
export function kvCacheWrite(kc: F32, vc: F32, qkv: F32, pos: I32, B: number, T: number, C: number, S: number): void {
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const src = (b * T + t) * 3 * C, dst = (b * S + pos[b] + t) * C;
    kc.set(qkv.subarray(src + C, src + 2 * C), dst);
    vc.set(qkv.subarray(src + 2 * C, src + 3 * C), dst);
  }
}

/**
 * Cached attention for generation (no dropout, no backward). q rows have stride qStride (q of row (b,t) starts at
 * (b·T+t)·qStride); kc, vc (B,S,C) hold keys/values for positions 0.. of each sequence (the new tokens' already
 * written). Query t of row b sits at position pos[b]+t and attends to positions 0..pos[b]+t. y (B,T,C).
 */
export function attentionDecode(y: F32, q: F32, qStride: number, kc: F32, vc: F32, pos: I32, B: number, T: number,
                                nh: number, hd: number, S: number): void {
  const C = nh * hd, scale = 1 / Math.sqrt(hd);
  const s = scores(S);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const n = pos[b] + t + 1; // keys visible
    for (let h = 0; h < nh; h++) {
      const qo = (b * T + t) * qStride + h * hd;
      let m = -Infinity;
      for (let j = 0; j < n; j++) {
        const ko = (b * S + j) * C + h * hd;
        let d = 0;
        for (let e = 0; e < hd; e++) d += q[qo + e] * kc[ko + e];
        s[j] = d * scale;
        if (s[j] > m) m = s[j];
      }
      let l = 0;
      for (let j = 0; j < n; j++) { s[j] = Math.exp(s[j] - m); l += s[j]; }
      const yo = (b * T + t) * C + h * hd;
      for (let e = 0; e < hd; e++) y[yo + e] = 0;
      for (let j = 0; j < n; j++) {
        const w = s[j] / l, vo = (b * S + j) * C + h * hd;
        for (let e = 0; e < hd; e++) y[yo + e] += w * vc[vo + e];
      }
    }
  }
}
