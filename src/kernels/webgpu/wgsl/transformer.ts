// Transformer kernels (the gpt family): LayerNorm (a workgroup per row on a GPU, a thread per row on a CPU adapter;
// dw/db a thread per column and chunk of rows, then the chunks summed in order), exact-erf GELU and hash-seeded
// dropout (bit-identical to ref). Attention is in attention.ts.
import { elementwise, type KernelDef } from '../runner.js';
import { HASH } from './common.js';

/**
 * LayerNorm runs a workgroup of LN_WG threads per row: each thread sums a strided share of the row, and the shares are
 * added in a fixed tree in workgroup memory (wsum: the same order every run). A thread per row walked C values three
 * times one after another: on an H200 that took ~200 µs for 4,096 rows of 192 and ~76 µs for a sampling step's 32 rows,
 * latency-bound (docs/performance.md).
 */
const LN_WG = 64;
const LN_COMMON = `
var<workgroup> red: array<vec2<f32>, ${LN_WG}>;
/** Σ of v over the workgroup, as a fixed tree (call from uniform control flow). */
fn wsum(v: vec2<f32>, l: u32) -> vec2<f32> {
  red[l] = v;
  workgroupBarrier();
  for (var s = ${LN_WG / 2}u; s > 0u; s >>= 1u) {
    if (l < s) { red[l] += red[l + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
`;
/** The row this workgroup owns (groups laid out by grid(N·LN_WG, LN_WG)); every thread of a group gets the same. */
const LN_ROW = `@compute @workgroup_size(${LN_WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) l: u32) {
  let row = wg.y * nwg.x + wg.x;
  if (row >= d_N()) { return; }
  let C = d_C(); let o = row * C;`;
export const LN_GROUP = LN_WG;

export const layerNormForward: KernelDef = {
  name: 'layerNormForward', bufs: [['out', 'f32'], ['mean', 'f32'], ['rstd', 'f32'], ['x', 'f32'], ['w', 'f32'], ['b', 'f32']],
  ints: ['N', 'C', 'hasB'], floats: ['eps'],
  body: LN_COMMON + LN_ROW + `
  // Sums are taken relative to x0 = the row's first value: a row with a large mean and a small spread (LayerNorm
  // after a residual stream drifts) keeps its precision in f32 (x - x0 is exact for nearby values).
  let x0 = ld_x(o);
  var s = 0.0;
  for (var c = l; c < C; c += ${LN_WG}u) { s += ld_x(o + c) - x0; }
  let mc = wsum(vec2<f32>(s, 0.0), l).x / f32(C);
  var v = 0.0;
  for (var c = l; c < C; c += ${LN_WG}u) { let d = (ld_x(o + c) - x0) - mc; v += d * d; }
  let r = 1.0 / sqrt(wsum(vec2<f32>(v, 0.0), l).x / f32(C) + f_eps());
  if (l == 0u) { st_mean(row, x0 + mc); st_rstd(row, r); }
  for (var c = l; c < C; c += ${LN_WG}u) {
    var y = ((ld_x(o + c) - x0) - mc) * r * ld_w(c);
    if (d_hasB() != 0u) { y += ld_b(c); }
    st_out(o + c, y);
  }
}
`,
};

/** dx(N,C) += …, a workgroup per row. */
export const layerNormBackwardDx: KernelDef = {
  name: 'layerNormBackwardDx', bufs: [['dx', 'f32'], ['dout', 'f32'], ['x', 'f32'], ['w', 'f32'], ['mean', 'f32'], ['rstd', 'f32']],
  ints: ['N', 'C'],
  body: LN_COMMON + LN_ROW + `
  let m = ld_mean(row); let r = ld_rstd(row);
  var acc = vec2<f32>();   // (Σ dx̂, Σ dx̂·x̂)
  for (var c = l; c < C; c += ${LN_WG}u) {
    let xh = (ld_x(o + c) - m) * r; let dxh = ld_dout(o + c) * ld_w(c);
    acc += vec2<f32>(dxh, dxh * xh);
  }
  let t = wsum(acc, l) / f32(C);
  for (var c = l; c < C; c += ${LN_WG}u) {
    let xh = (ld_x(o + c) - m) * r;
    st_dx(o + c, ld_dx(o + c) + r * (ld_dout(o + c) * ld_w(c) - t.x - xh * t.y));
  }
}
`,
};

/**
 * The same LayerNorm with a thread per row walking it, for CPU adapters (ops.ts): on SwiftShader a workgroup barrier
 * is costly, and the workgroup-per-row kernel ran one 256-row LayerNorm in ~25 ms.
 */
export const layerNormForwardSerial: KernelDef = {
  name: 'layerNormForwardSerial', bufs: [['out', 'f32'], ['mean', 'f32'], ['rstd', 'f32'], ['x', 'f32'], ['w', 'f32'], ['b', 'f32']],
  ints: ['N', 'C', 'hasB'], floats: ['eps'],
  body: elementwise('N', `
  // Sums are taken relative to x0 = the row's first value: a row with a large mean and a small spread (LayerNorm
  // after a residual stream drifts) keeps its precision in f32 (x - x0 is exact for nearby values).
  let C = d_C(); let o = i * C; let x0 = ld_x(o);
  var mc = 0.0;
  for (var c = 0u; c < C; c++) { mc += ld_x(o + c) - x0; }
  mc /= f32(C);
  var v = 0.0;
  for (var c = 0u; c < C; c++) { let d = (ld_x(o + c) - x0) - mc; v += d * d; }
  let r = 1.0 / sqrt(v / f32(C) + f_eps());
  st_mean(i, x0 + mc); st_rstd(i, r);
  for (var c = 0u; c < C; c++) {
    var y = ((ld_x(o + c) - x0) - mc) * r * ld_w(c);
    if (d_hasB() != 0u) { y += ld_b(c); }
    st_out(o + c, y);
  }`),
};

/** dx(N,C) += …, a thread per row (SwiftShader: see layerNormForwardSerial). */
export const layerNormBackwardDxSerial: KernelDef = {
  name: 'layerNormBackwardDxSerial', bufs: [['dx', 'f32'], ['dout', 'f32'], ['x', 'f32'], ['w', 'f32'], ['mean', 'f32'], ['rstd', 'f32']],
  ints: ['N', 'C'],
  body: elementwise('N', `
  let C = d_C(); let o = i * C; let m = ld_mean(i); let r = ld_rstd(i);
  var sumD = 0.0; var sumDX = 0.0;
  for (var c = 0u; c < C; c++) {
    let xh = (ld_x(o + c) - m) * r; let dxh = ld_dout(o + c) * ld_w(c);
    sumD += dxh; sumDX += dxh * xh;
  }
  sumD /= f32(C); sumDX /= f32(C);
  for (var c = 0u; c < C; c++) {
    let xh = (ld_x(o + c) - m) * r;
    st_dx(o + c, ld_dx(o + c) + r * (ld_dout(o + c) * ld_w(c) - sumD - xh * sumDX));
  }`),
};

/**
 * dw/db over many rows, pass 1 (pass 2 is pointwise.ts's colFinish, once for dw and once for db): thread i sums
 * column c = i % C over its chunk of rows into pw[i] and pb[i].
 */
export const layerNormDwPartial: KernelDef = {
  name: 'layerNormDwPartial', bufs: [['pw', 'f32'], ['pb', 'f32'], ['dout', 'f32'], ['x', 'f32'], ['mean', 'f32'], ['rstd', 'f32']],
  ints: ['n', 'C', 'N', 'rows'],
  body: elementwise('n', `
  let C = d_C(); let c = i % C; let n0 = (i / C) * d_rows(); let n1 = min(n0 + d_rows(), d_N());
  var sw = 0.0; var sb = 0.0;
  for (var n = n0; n < n1; n++) {
    let d = ld_dout(n * C + c);
    sw += d * (ld_x(n * C + c) - ld_mean(n)) * ld_rstd(n);
    sb += d;
  }
  st_pw(i, sw);
  st_pb(i, sb);`),
};

/** dw(C) += Σ_n dout·x̂, db(C) += Σ_n dout: a thread per column (up to 64 rows; more go through layerNormDwPartial). */
export const layerNormBackwardDw: KernelDef = {
  name: 'layerNormBackwardDw', bufs: [['dw', 'f32'], ['db', 'f32'], ['dout', 'f32'], ['x', 'f32'], ['mean', 'f32'], ['rstd', 'f32']],
  ints: ['C', 'N', 'hasB'],
  body: elementwise('C', `
  let C = d_C();
  var sw = 0.0; var sb = 0.0;
  for (var n = 0u; n < d_N(); n++) {
    let d = ld_dout(n * C + i);
    sw += d * (ld_x(n * C + i) - ld_mean(n)) * ld_rstd(n);
    sb += d;
  }
  st_dw(i, ld_dw(i) + sw);
  if (d_hasB() != 0u) { st_db(i, ld_db(i) + sb); }`),
};

// erf from Numerical Recipes' erfc Chebyshev fit (fractional error < 1.2e-7): |GELU error| well inside 2e-6·(1+|y|).
const ERF = `
fn erfc_pos(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  return t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
}
fn erf_(x: f32) -> f32 { let e = 1.0 - erfc_pos(abs(x)); return select(e, -e, x < 0.0); }
fn cdf(x: f32) -> f32 { return 0.5 * (1.0 + erf_(x * 0.70710678118654752)); }
`;

export const geluForward: KernelDef = {
  name: 'geluForward', bufs: [['out', 'f32'], ['x', 'f32']], ints: ['n'],
  body: ERF + elementwise('n', '  let v = ld_x(i);\n  st_out(i, v * cdf(v));'),
};
export const geluBackward: KernelDef = {
  name: 'geluBackward', bufs: [['dx', 'f32'], ['dout', 'f32'], ['x', 'f32']], ints: ['n'],
  body: ERF + elementwise('n', `
  let v = ld_x(i);
  st_dx(i, ld_dout(i) * (cdf(v) + v * 0.3989422804014327 * exp(-0.5 * v * v)));`),
};

/**
 * out = x·s or 0, s = 1/(1-p) in float64 on the host, passed as sHi + sLo. ref rounds the float64 product x·s once;
 * here p = x·sHi is made exact with Dekker's two-product (plain f32 arithmetic, no fma needed) and the tail added
 * before the single rounding, so the result matches ref bit for bit except in ties too rare to meet.
 */
export const dropout: KernelDef = {
  name: 'dropout', bufs: [['out', 'f32'], ['x', 'f32']], ints: ['n', 'seed', 'thr'], floats: ['sHi', 'sLo'],
  body: HASH + `
fn split(a: f32) -> vec2f { let c = 4097.0 * a; let hi = c - (c - a); return vec2f(hi, a - hi); }
fn mulExact(x: f32) -> f32 {
  let p = x * f_sHi();
  let a = split(x); let b = split(f_sHi());
  let e = ((a.x * b.x - p) + a.x * b.y + a.y * b.x) + a.y * b.y;
  return p + (e + x * f_sLo());
}
` + elementwise('n', `
  let keepIt = fmix32(d_seed() ^ ((i + 1u) * 0x9e3779b1u)) >= d_thr();
  st_out(i, select(0.0, mulExact(ld_x(i)), keepIt));`),
};
