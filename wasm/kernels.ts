// AssemblyScript: every Backend kernel of charlm (src/kernels/backend.ts) for the wasm backend, over 128-bit SIMD
// where the loop is a plain stream (bias rows, sums, products, Adam, Σx²) and in float64 scalar code where ref
// computes in float64 (transcendentals, LayerNorm statistics, softmax, attention weights), so results follow ref.
// Pointers are byte offsets into the imported memory; dimensions are element counts. Kernels never allocate: the
// loader passes `scratch` (sized by *Scratch()) for the GEMM panels and the attention score rows.
// src/kernels/wasm/ wraps these exports into the Backend interface. Built by scripts/build-wasm.mjs.

export { matmul, matmulScratch } from './gemm';
import { sigmoid4, tanh4 } from './simd-math';

@inline function f(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
@inline function sf(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }
@inline function ld(p: usize, i: i32): f64 { return <f64>load<f32>(p + (<usize>i << 2)); }
@inline function st(p: usize, i: i32, v: f64): void { store<f32>(p + (<usize>i << 2), <f32>v); }
@inline function id(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }

/** y[0..n) = x[0..n) + z[0..n) (SIMD; y may alias x or z). */
@inline function addv(y: usize, x: usize, z: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { v128.store(y, f32x4.add(v128.load(x), v128.load(z))); x += 16; y += 16; z += 16; }
  for (; i < n; i++) { store<f32>(y, load<f32>(x) + load<f32>(z)); x += 4; y += 4; z += 4; }
}

export function addRowVector(Y: usize, b: usize, M: i32, N: i32): void {
  for (let i = 0; i < M; i++) { const row = Y + ((<usize>i * N) << 2); addv(row, row, b, N); }
}

export function sumRows(db: usize, dY: usize, M: i32, N: i32): void {
  for (let i = 0; i < M; i++) addv(db, db, dY + ((<usize>i * N) << 2), N);
}

export function embeddingForward(out: usize, table: usize, ids: usize, N: i32, E: i32): void {
  for (let n = 0; n < N; n++) memory.copy(out + ((<usize>n * E) << 2), table + ((<usize>id(ids, n) * E) << 2), <usize>E << 2);
}

export function embeddingBackward(dTable: usize, dOut: usize, ids: usize, N: i32, E: i32): void {
  for (let n = 0; n < N; n++) {
    const row = dTable + ((<usize>id(ids, n) * E) << 2);
    addv(row, row, dOut + ((<usize>n * E) << 2), E);
  }
}

@inline function sigmoid(x: f64): f64 { return 1 / (1 + Math.exp(-x)); }

@inline function vat(p: usize, i: i32): usize { return p + (<usize>i << 2); }

export function lstmCellForward(h: usize, c: usize, tanhC: usize, gates: usize, cPrev: usize, B: i32, H: i32): void {
  const G = 4 * H, H4 = H & ~3;
  for (let b = 0; b < B; b++) {
    const g0 = b * G, s0 = b * H;
    for (let j = 0; j < H4; j += 4) {
      const ig = sigmoid4(v128.load(vat(gates, g0 + j))), fg = sigmoid4(v128.load(vat(gates, g0 + H + j)));
      const gg = tanh4(v128.load(vat(gates, g0 + 2 * H + j))), og = sigmoid4(v128.load(vat(gates, g0 + 3 * H + j)));
      v128.store(vat(gates, g0 + j), ig); v128.store(vat(gates, g0 + H + j), fg);
      v128.store(vat(gates, g0 + 2 * H + j), gg); v128.store(vat(gates, g0 + 3 * H + j), og);
      const cv = f32x4.add(f32x4.mul(fg, v128.load(vat(cPrev, s0 + j))), f32x4.mul(ig, gg));
      v128.store(vat(c, s0 + j), cv);
      const tc = tanh4(cv);
      v128.store(vat(tanhC, s0 + j), tc);
      v128.store(vat(h, s0 + j), f32x4.mul(og, tc));
    }
    for (let j = H4; j < H; j++) {
      const ig = sigmoid(ld(gates, g0 + j)), fg = sigmoid(ld(gates, g0 + H + j));
      const gg = Math.tanh(ld(gates, g0 + 2 * H + j)), og = sigmoid(ld(gates, g0 + 3 * H + j));
      st(gates, g0 + j, ig); st(gates, g0 + H + j, fg); st(gates, g0 + 2 * H + j, gg); st(gates, g0 + 3 * H + j, og);
      const cv = fg * ld(cPrev, s0 + j) + ig * gg; // in float64 from the unrounded activations, as ref
      st(c, s0 + j, cv);
      const tc = Math.tanh(cv);
      st(tanhC, s0 + j, tc);
      st(h, s0 + j, og * tc);
    }
  }
}

export function lstmCellBackward(dGates: usize, dcPrev: usize, dh: usize, dc: usize, gates: usize, cPrev: usize,
                                 tanhC: usize, B: i32, H: i32): void {
  const G = 4 * H, H4 = H & ~3, one = f32x4.splat(1);
  for (let b = 0; b < B; b++) {
    const g0 = b * G, s0 = b * H;
    for (let j = 0; j < H4; j += 4) {
      const ig = v128.load(vat(gates, g0 + j)), fg = v128.load(vat(gates, g0 + H + j));
      const gg = v128.load(vat(gates, g0 + 2 * H + j)), og = v128.load(vat(gates, g0 + 3 * H + j));
      const tc = v128.load(vat(tanhC, s0 + j)), dhv = v128.load(vat(dh, s0 + j));
      const dcv = f32x4.add(v128.load(vat(dc, s0 + j)), f32x4.mul(f32x4.mul(dhv, og), f32x4.sub(one, f32x4.mul(tc, tc))));
      v128.store(vat(dGates, g0 + j), f32x4.mul(f32x4.mul(dcv, gg), f32x4.mul(ig, f32x4.sub(one, ig))));
      v128.store(vat(dGates, g0 + H + j), f32x4.mul(f32x4.mul(dcv, v128.load(vat(cPrev, s0 + j))), f32x4.mul(fg, f32x4.sub(one, fg))));
      v128.store(vat(dGates, g0 + 2 * H + j), f32x4.mul(f32x4.mul(dcv, ig), f32x4.sub(one, f32x4.mul(gg, gg))));
      v128.store(vat(dGates, g0 + 3 * H + j), f32x4.mul(f32x4.mul(dhv, tc), f32x4.mul(og, f32x4.sub(one, og))));
      v128.store(vat(dcPrev, s0 + j), f32x4.mul(dcv, fg));
    }
    for (let j = H4; j < H; j++) {
      const ig = ld(gates, g0 + j), fg = ld(gates, g0 + H + j), gg = ld(gates, g0 + 2 * H + j), og = ld(gates, g0 + 3 * H + j);
      const tc = ld(tanhC, s0 + j), dhv = ld(dh, s0 + j);
      const dcv = ld(dc, s0 + j) + dhv * og * (1 - tc * tc);
      st(dGates, g0 + j, dcv * gg * ig * (1 - ig));
      st(dGates, g0 + H + j, dcv * ld(cPrev, s0 + j) * fg * (1 - fg));
      st(dGates, g0 + 2 * H + j, dcv * ig * (1 - gg * gg));
      st(dGates, g0 + 3 * H + j, dhv * tc * og * (1 - og));
      st(dcPrev, s0 + j, dcv * fg);
    }
  }
}

export function gruCellForward(h: usize, act: usize, gi: usize, gh: usize, hPrev: usize, B: i32, H: i32): void {
  const G = 3 * H, A = 4 * H, H4 = H & ~3, one = f32x4.splat(1);
  for (let b = 0; b < B; b++) {
    const g0 = b * G, a0 = b * A, s0 = b * H;
    for (let j = 0; j < H4; j += 4) {
      const r = sigmoid4(f32x4.add(v128.load(vat(gi, g0 + j)), v128.load(vat(gh, g0 + j))));
      const z = sigmoid4(f32x4.add(v128.load(vat(gi, g0 + H + j)), v128.load(vat(gh, g0 + H + j))));
      const ghn = v128.load(vat(gh, g0 + 2 * H + j));
      const n = tanh4(f32x4.add(v128.load(vat(gi, g0 + 2 * H + j)), f32x4.mul(r, ghn)));
      v128.store(vat(act, a0 + j), r); v128.store(vat(act, a0 + H + j), z);
      v128.store(vat(act, a0 + 2 * H + j), n); v128.store(vat(act, a0 + 3 * H + j), ghn);
      v128.store(vat(h, s0 + j), f32x4.add(f32x4.mul(f32x4.sub(one, z), n), f32x4.mul(z, v128.load(vat(hPrev, s0 + j)))));
    }
    for (let j = H4; j < H; j++) {
      const r = sigmoid(ld(gi, g0 + j) + ld(gh, g0 + j));
      const z = sigmoid(ld(gi, g0 + H + j) + ld(gh, g0 + H + j));
      const ghn = ld(gh, g0 + 2 * H + j);
      const n = Math.tanh(ld(gi, g0 + 2 * H + j) + r * ghn);
      st(act, a0 + j, r); st(act, a0 + H + j, z); st(act, a0 + 2 * H + j, n); st(act, a0 + 3 * H + j, ghn);
      st(h, s0 + j, (1 - z) * n + z * ld(hPrev, s0 + j));
    }
  }
}

export function gruCellBackward(dGi: usize, dGh: usize, dhPrev: usize, dh: usize, act: usize, hPrev: usize,
                                B: i32, H: i32): void {
  const G = 3 * H, A = 4 * H;
  for (let b = 0; b < B; b++) {
    const g0 = b * G, a0 = b * A, s0 = b * H;
    for (let j = 0; j < H; j++) {
      const r = ld(act, a0 + j), z = ld(act, a0 + H + j), n = ld(act, a0 + 2 * H + j), ghn = ld(act, a0 + 3 * H + j);
      const d = ld(dh, s0 + j);
      const dn = d * (1 - z) * (1 - n * n);
      const dz = d * (ld(hPrev, s0 + j) - n) * z * (1 - z);
      const dr = dn * ghn * r * (1 - r);
      st(dGi, g0 + j, dr); st(dGi, g0 + H + j, dz); st(dGi, g0 + 2 * H + j, dn);
      st(dGh, g0 + j, dr); st(dGh, g0 + H + j, dz); st(dGh, g0 + 2 * H + j, dn * r);
      st(dhPrev, s0 + j, ld(dhPrev, s0 + j) + d * z);
    }
  }
}

export function tanhForward(h: usize, pre: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(vat(h, i), tanh4(v128.load(vat(pre, i))));
  for (; i < n; i++) st(h, i, Math.tanh(ld(pre, i)));
}

export function tanhBackward(dPre: usize, dh: usize, h: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const hv = v128.load(h + (<usize>i << 2));
    v128.store(dPre + (<usize>i << 2), f32x4.mul(v128.load(dh + (<usize>i << 2)), f32x4.sub(one, f32x4.mul(hv, hv))));
  }
  for (; i < n; i++) { const hv = f(h, i); sf(dPre, i, f(dh, i) * (1 - hv * hv)); }
}

export function softmaxXent(dLogits: usize, logits: usize, targets: usize, N: i32, V: i32, scale: f64): f64 {
  let total: f64 = 0;
  for (let n = 0; n < N; n++) {
    const o = n * V, t = id(targets, n);
    if (t < 0) {
      if (dLogits) memory.fill(dLogits + (<usize>o << 2), 0, <usize>V << 2);
      continue;
    }
    let mx: f64 = -Infinity;
    for (let v = 0; v < V; v++) { const x = ld(logits, o + v); if (x > mx) mx = x; }
    let sum: f64 = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(ld(logits, o + v) - mx);
    const logZ = mx + Math.log(sum);
    total += logZ - ld(logits, o + t);
    if (dLogits) {
      for (let v = 0; v < V; v++) st(dLogits, o + v, Math.exp(ld(logits, o + v) - logZ) * scale);
      st(dLogits, o + t, ld(dLogits, o + t) - scale);
    }
  }
  return total;
}

export function adam(p: usize, g: usize, m: usize, v: usize, n: i32, lr: f64, beta1: f64, beta2: f64, eps: f64,
                     weightDecay: f64, adamw: i32, step: i32): void {
  const bc1 = 1 - Math.pow(beta1, step), bc2s = Math.sqrt(1 - Math.pow(beta2, step));
  const stepSize = lr / bc1, decay = adamw ? 1 - lr * weightDecay : 1, l2 = adamw ? 0 : weightDecay;
  for (let i = 0; i < n; i++) {
    let gi = ld(g, i);
    if (l2 != 0) gi += l2 * ld(p, i);
    if (decay != 1) st(p, i, ld(p, i) * decay);
    st(m, i, beta1 * ld(m, i) + (1 - beta1) * gi);
    st(v, i, beta2 * ld(v, i) + (1 - beta2) * gi * gi);
    st(p, i, ld(p, i) - stepSize * ld(m, i) / (Math.sqrt(ld(v, i)) / bc2s + eps));
  }
}

export function sumSquares(x: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    s0 = f64x2.add(s0, f64x2.mul(lo, lo)); s1 = f64x2.add(s1, f64x2.mul(hi, hi));
  }
  const s = f64x2.add(s0, s1);
  let r = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) { const v = ld(x, i); r += v * v; }
  return r;
}

export function scale(x: usize, n: i32, s: f64): void {
  const sv = f32x4.splat(<f32>s);
  let i = 0;
  for (; i + 4 <= n; i += 4) { const p = x + (<usize>i << 2); v128.store(p, f32x4.mul(v128.load(p), sv)); }
  for (; i < n; i++) sf(x, i, f(x, i) * <f32>s);
}

export function mul(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) sf(out, i, f(a, i) * f(b, i));
}

export function add(out: usize, a: usize, b: usize, n: i32): void { addv(out, a, b, n); }

export function copy(dst: usize, src: usize, n: i32): void { memory.copy(dst, src, <usize>n << 2); }

export function fill(p: usize, v: f32, n: i32): void {
  const vv = f32x4.splat(v);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(p + (<usize>i << 2), vv);
  for (; i < n; i++) sf(p, i, v);
}

export { layerNormForward, layerNormBackward, geluForward, geluBackward, dropout, attentionForward,
         attentionBackward, attentionDecode, attentionScratch } from './transformer';
