// AssemblyScript: the wasm backend's Transformer kernels, ports of src/kernels/ref/transformer.ts: LayerNorm, GELU
// (erf to 1.2e-7), hash-seeded dropout, flash-style causal attention forward/backward, cached attention for generation.
// GELU runs as float32x4 (simd-math.ts erf4, exp4) with a float64 tail. Statistics and softmax weights are float64 as
// in ref; dot products over a head's hd channels are float32 SIMD (gemm.ts dot), as the native kernels. The score
// row lives in the caller's scratch (attentionScratch floats).

import { dot } from './gemm';
import { erf4, exp4 } from './simd-math';

@inline function ld(p: usize, i: i32): f64 { return <f64>load<f32>(p + (<usize>i << 2)); }
@inline function st(p: usize, i: i32, v: f64): void { store<f32>(p + (<usize>i << 2), <f32>v); }
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }
@inline function sd(p: usize, j: i32): f64 { return load<f64>(p + (<usize>j << 3)); }
@inline function ssd(p: usize, j: i32, v: f64): void { store<f64>(p + (<usize>j << 3), v); }

export function layerNormForward(out: usize, mean: usize, rstd: usize, x: usize, w: usize, b: usize, N: i32, C: i32,
                                 eps: f64): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let m: f64 = 0;
    for (let c = 0; c < C; c++) m += ld(x, o + c);
    m /= C;
    let v: f64 = 0;
    for (let c = 0; c < C; c++) { const d = ld(x, o + c) - m; v += d * d; }
    const r = 1 / Math.sqrt(v / C + eps);
    st(mean, n, m); st(rstd, n, r);
    for (let c = 0; c < C; c++) st(out, o + c, (ld(x, o + c) - m) * r * ld(w, c) + (b ? ld(b, c) : 0));
  }
}

export function layerNormBackward(dx: usize, dw: usize, db: usize, dout: usize, x: usize, w: usize, mean: usize,
                                  rstd: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const o = n * C, m = ld(mean, n), r = ld(rstd, n);
    let sumD: f64 = 0, sumDX: f64 = 0;
    for (let c = 0; c < C; c++) {
      const xh = (ld(x, o + c) - m) * r, dxh = ld(dout, o + c) * ld(w, c);
      sumD += dxh; sumDX += dxh * xh;
    }
    sumD /= C; sumDX /= C;
    for (let c = 0; c < C; c++) {
      const xh = (ld(x, o + c) - m) * r, d = ld(dout, o + c);
      st(dw, c, ld(dw, c) + d * xh);
      if (db) st(db, c, ld(db, c) + d);
      st(dx, o + c, ld(dx, o + c) + r * (d * ld(w, c) - sumD - xh * sumDX));
    }
  }
}

/**
 * erf for GELU: Numerical Recipes' Chebyshev fit of erfc (fractional error < 1.2e-7 everywhere, one exp), in
 * float64. GELU's error is then below 0.6e-7·|x|, a few % of the suite's 2e-6·(1+|want|); ref's float64 series costs up to
 * 60 terms per element and was most of a GPT training step's time on wasm.
 */
@inline function erf(x: f64): f64 {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

const INV_SQRT2: f64 = Math.SQRT1_2;
const INV_SQRT_2PI: f64 = 0.3989422804014327;

export function geluForward(out: usize, x: usize, n: i32): void {
  const half = f32x4.splat(0.5), one = f32x4.splat(1), s2 = f32x4.splat(<f32>INV_SQRT2);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(at(x, i));
    v128.store(at(out, i), f32x4.mul(f32x4.mul(half, v), f32x4.add(one, erf4(f32x4.mul(v, s2)))));
  }
  for (; i < n; i++) { const v = ld(x, i); st(out, i, 0.5 * v * (1 + erf(v * INV_SQRT2))); }
}

export function geluBackward(dx: usize, dout: usize, x: usize, n: i32): void {
  const half = f32x4.splat(0.5), one = f32x4.splat(1), s2 = f32x4.splat(<f32>INV_SQRT2), c = f32x4.splat(<f32>INV_SQRT_2PI);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(at(x, i));
    const cdf = f32x4.mul(half, f32x4.add(one, erf4(f32x4.mul(v, s2))));
    const pdf = f32x4.mul(c, exp4(f32x4.mul(f32x4.splat(-0.5), f32x4.mul(v, v))));
    v128.store(at(dx, i), f32x4.mul(v128.load(at(dout, i)), f32x4.add(cdf, f32x4.mul(v, pdf))));
  }
  for (; i < n; i++) {
    const v = ld(x, i);
    st(dx, i, ld(dout, i) * (0.5 * (1 + erf(v * INV_SQRT2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v)));
  }
}

@inline function fmix32(h: u32): u32 {
  h ^= h >>> 16; h *= 0x85ebca6b;
  h ^= h >>> 13; h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

/** floor(p·2³²) as ref computes it (p in [0,1)). */
@inline function threshold(p: f64): u32 { return <u32>Math.floor(p * 4294967296.0); }

export function dropout(out: usize, x: usize, n: i32, p: f64, seed: u32): void {
  const thr = threshold(p), s = 1 / (1 - p);
  for (let i = 0; i < n; i++) {
    st(out, i, fmix32(seed ^ (<u32>(i + 1) * 0x9e3779b1)) >= thr ? ld(x, i) * s : 0);
  }
}

@inline function rowHash(seed: u32, bh: i32, i: i32): u32 {
  return fmix32(fmix32(seed ^ (<u32>(bh + 1) * 0x9e3779b1)) ^ (<u32>(i + 1) * 0x85ebca77));
}
@inline function keep(r: u32, j: i32, thr: u32): bool { return fmix32(r ^ (<u32>(j + 1) * 0x27d4eb2f)) >= thr; }

/** Scratch floats the attention kernels need for T (training) or S (decode) keys: one float64 score row. */
export function attentionScratch(T: i32): i32 { return 2 * T; }

export function attentionForward(y: usize, lse: usize, qkv: usize, B: i32, T: i32, nh: i32, hd: i32, p: f64, seed: u32,
                                 scratch: usize): void {
  const C = nh * hd, C3 = 3 * C, scale = 1 / Math.sqrt(<f64>hd);
  const thr = threshold(p), keepScale = p > 0 ? 1 / (1 - p) : 1;
  for (let b = 0; b < B; b++) for (let h = 0; h < nh; h++) {
    const bh = b * nh + h;
    for (let i = 0; i < T; i++) {
      const qo = (b * T + i) * C3 + h * hd;
      let m: f64 = -Infinity;
      for (let j = 0; j <= i; j++) {
        const s = <f64>dot(at(qkv, qo), at(qkv, (b * T + j) * C3 + C + h * hd), hd) * scale;
        ssd(scratch, j, s);
        if (s > m) m = s;
      }
      let l: f64 = 0;
      for (let j = 0; j <= i; j++) { const e = Math.exp(sd(scratch, j) - m); ssd(scratch, j, e); l += e; }
      st(lse, bh * T + i, m + Math.log(l));
      const yo = (b * T + i) * C + h * hd, r = p > 0 ? rowHash(seed, bh, i) : 0;
      memory.fill(at(y, yo), 0, <usize>hd << 2);
      for (let j = 0; j <= i; j++) {
        if (p > 0 && !keep(r, j, thr)) continue;
        axpyd(at(y, yo), (sd(scratch, j) / l) * keepScale, at(qkv, (b * T + j) * C3 + 2 * C + h * hd), hd);
      }
    }
  }
}

/** y[0..n) += w·x[0..n) (float32 storage; w from float64). */
@inline function axpyd(y: usize, w: f64, x: usize, n: i32): void {
  const wv = f32x4.splat(<f32>w);
  let e = 0;
  for (; e + 4 <= n; e += 4) { v128.store(y, f32x4.add(v128.load(y), f32x4.mul(wv, v128.load(x)))); x += 16; y += 16; }
  for (; e < n; e++) { store<f32>(y, load<f32>(y) + <f32>w * load<f32>(x)); x += 4; y += 4; }
}

export function attentionBackward(dqkv: usize, dy: usize, y: usize, lse: usize, qkv: usize, B: i32, T: i32, nh: i32,
                                  hd: i32, p: f64, seed: u32): void {
  const C = nh * hd, C3 = 3 * C, scale = 1 / Math.sqrt(<f64>hd);
  const thr = threshold(p), keepScale = p > 0 ? 1 / (1 - p) : 1;
  memory.fill(dqkv, 0, (<usize>B * T * C3) << 2);
  for (let b = 0; b < B; b++) for (let h = 0; h < nh; h++) {
    const bh = b * nh + h;
    for (let i = 0; i < T; i++) {
      const qo = (b * T + i) * C3 + h * hd, yo = (b * T + i) * C + h * hd, L = ld(lse, bh * T + i);
      const D = <f64>dot(at(dy, yo), at(y, yo), hd);
      const r = p > 0 ? rowHash(seed, bh, i) : 0;
      for (let j = 0; j <= i; j++) {
        const ko = (b * T + j) * C3 + C + h * hd, vo = ko + C;
        const P = Math.exp(<f64>dot(at(qkv, qo), at(qkv, ko), hd) * scale - L);
        const M: f64 = p > 0 ? (keep(r, j, thr) ? keepScale : 0) : 1;
        const dp = <f64>dot(at(dy, yo), at(qkv, vo), hd) * M;
        axpyd(at(dqkv, vo), P * M, at(dy, yo), hd);
        const ds = P * (dp - D) * scale;
        axpyd(at(dqkv, qo), ds, at(qkv, ko), hd);
        axpyd(at(dqkv, ko), ds, at(qkv, qo), hd);
      }
    }
  }
}

export function attentionDecode(y: usize, q: usize, qStride: i32, kc: usize, vc: usize, pos: usize, B: i32, T: i32,
                                nh: i32, hd: i32, S: i32, scratch: usize): void {
  const C = nh * hd, scale = 1 / Math.sqrt(<f64>hd);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const n = load<i32>(pos + (<usize>b << 2)) + t + 1;
    for (let h = 0; h < nh; h++) {
      const qo = (b * T + t) * qStride + h * hd;
      let m: f64 = -Infinity;
      for (let j = 0; j < n; j++) {
        const s = <f64>dot(at(q, qo), at(kc, (b * S + j) * C + h * hd), hd) * scale;
        ssd(scratch, j, s);
        if (s > m) m = s;
      }
      let l: f64 = 0;
      for (let j = 0; j < n; j++) { const e = Math.exp(sd(scratch, j) - m); ssd(scratch, j, e); l += e; }
      const yo = (b * T + t) * C + h * hd;
      memory.fill(at(y, yo), 0, <usize>hd << 2);
      for (let j = 0; j < n; j++) axpyd(at(y, yo), sd(scratch, j) / l, at(vc, (b * S + j) * C + h * hd), hd);
    }
  }
}
