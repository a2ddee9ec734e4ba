// Fused softmax + cross-entropy (one thread per row: max, Σexp, per-row loss into a scratch vector that sumPartial and
// sumAll reduce on the GPU, so a step reads back one float) and Adam/AdamW (bias corrections computed on the host in
// float64, as ref does, and passed in as f32 scalars).
import { elementwise, type KernelDef } from '../runner.js';
import { MATH } from './common.js';

/** One thread per row: max, Σexp, the row's loss into rowLoss[n], and (when hasD) the scaled gradient. */
export const softmaxXentRows: KernelDef = {
  name: 'softmaxXentRows', bufs: [['d', 'f32'], ['logits', 'f32'], ['targets', 'i32'], ['rowLoss', 'f32']],
  ints: ['N', 'V', 'hasD'], floats: ['scale'],
  body: MATH + elementwise('N', `
  let n = i; let V = d_V(); let o = n * V; let t = ld_targets(n); let hasD = d_hasD() != 0u;
  if (t < 0) {
    if (hasD) { for (var v = 0u; v < V; v++) { st_d(o + v, 0.0); } }
    st_rowLoss(n, 0.0);
    return;
  }
  var mx = ld_logits(o);
  var nan = false; var nanv = 0.0;
  for (var v = 0u; v < V; v++) { let x = ld_logits(o + v); mx = max(mx, x); if (isNan(x)) { nan = true; nanv = x; } }
  var s = 0.0;
  for (var v = 0u; v < V; v++) { s += exp(ld_logits(o + v) - mx); }
  var logZ = mx + log(s);
  if (nan) { logZ = nanv; }   // a NaN logit makes the row's loss and gradient NaN, as in ref
  st_rowLoss(n, logZ - ld_logits(o + u32(t)));
  if (hasD) {
    let sc = f_scale();
    for (var v = 0u; v < V; v++) {
      var g = exp(ld_logits(o + v) - logZ) * sc;
      if (v == u32(t)) { g -= sc; }
      if (nan) { g = nanv; }   // SwiftShader's exp(x - NaN) is +inf
      st_d(o + v, g);
    }
  }`),
};

export const adam: KernelDef = {
  name: 'adam', bufs: [['p', 'f32'], ['g', 'f32'], ['m', 'f32'], ['v', 'f32']], ints: ['n'],
  floats: ['beta1', 'beta2', 'eps', 'stepSize', 'bc2s', 'decay', 'l2'],
  body: elementwise('n', `
  var gi = ld_g(i);
  var p = ld_p(i);
  gi += f_l2() * p;
  p *= f_decay();
  let m = f_beta1() * ld_m(i) + (1.0 - f_beta1()) * gi;
  let v = f_beta2() * ld_v(i) + (1.0 - f_beta2()) * gi * gi;
  st_m(i, m); st_v(i, v);
  st_p(i, p - f_stepSize() * m / (sqrt(v) / f_bc2s() + f_eps()));`),
};
