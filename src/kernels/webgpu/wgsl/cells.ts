// Fused recurrent-cell pointwise kernels (PyTorch gate orders: LSTM i,f,g,o; GRU r,z,n), one thread per (b, j).
// The same formulas as ref/cells.ts, in f32.
import type { KernelDef } from '../runner.js';
import { elementwise } from '../runner.js';
import { MATH } from './common.js';

/** A cell kernel over (b, j); `fns` (WGSL functions) and `ints` (more scalars) for the kernels that need them. */
const cell = (name: string, bufs: KernelDef['bufs'], body: string, fns = '', ints: string[] = []): KernelDef =>
  ({ name, bufs, ints: ['n', 'H', ...ints], body: MATH + fns + elementwise('n', `  let H = d_H(); let b = i / H; let j = i % H;\n${body}`) });

/**
 * The LSTM cell forward; with `split`, the gates' pre-activations are gates + Σ_s part[s·n4 + ·] over the S slices of
 * a split-K recurrent product (ops.ts lstmStepForward), summed in splitKFinish's order (n4 = B·4H), so the same values.
 */
const lstmForward = (split: boolean): KernelDef => cell(split ? 'lstmCellForwardSplit' : 'lstmCellForward',
  [['h', 'f32'], ['c', 'f32'], ['tanhC', 'f32'], ['gates', 'f32'], ['cPrev', 'f32'], ...(split ? [['part', 'f32']] as KernelDef['bufs'] : [])], `
  let g0 = b * 4u * H + j;
  let ig = sigm(pre(g0)); let fg = sigm(pre(g0 + H));
  let gg = tanhs(pre(g0 + 2u * H)); let og = sigm(pre(g0 + 3u * H));
  st_gates(g0, ig); st_gates(g0 + H, fg); st_gates(g0 + 2u * H, gg); st_gates(g0 + 3u * H, og);
  let cv = fg * ld_cPrev(i) + ig * gg;
  st_c(i, cv);
  let tc = tanhs(cv);
  st_tanhC(i, tc);
  st_h(i, og * tc);`, split ? `
fn pre(g: u32) -> f32 {
  var s = 0.0;
  for (var z = 0u; z < d_S(); z++) { s += ld_part(z * d_n() * 4u + g); }
  return ld_gates(g) + s;
}
` : `
fn pre(g: u32) -> f32 { return ld_gates(g); }
`, split ? ['S'] : []);
export const lstmCellForward = lstmForward(false);
export const lstmCellForwardSplit = lstmForward(true);

/** The LSTM cell backward given tanh(c_t) (`tanhC`), or with `fromC` given c_t (`c`), taking tanhs of it here. */
const lstmBackward = (fromC: boolean) => cell(fromC ? 'lstmCellBackwardC' : 'lstmCellBackward',
  [['dGates', 'f32'], ['dcPrev', 'f32'], ['dh', 'f32'], ['dc', 'f32'], ['gates', 'f32'], ['cPrev', 'f32'], [fromC ? 'c' : 'tanhC', 'f32']], `
  let g0 = b * 4u * H + j;
  let ig = ld_gates(g0); let fg = ld_gates(g0 + H); let gg = ld_gates(g0 + 2u * H); let og = ld_gates(g0 + 3u * H);
  let tc = ${fromC ? 'tanhs(ld_c(i))' : 'ld_tanhC(i)'}; let dhv = ld_dh(i);
  let dcv = ld_dc(i) + dhv * og * (1.0 - tc * tc);
  st_dGates(g0, dcv * gg * ig * (1.0 - ig));
  st_dGates(g0 + H, dcv * ld_cPrev(i) * fg * (1.0 - fg));
  st_dGates(g0 + 2u * H, dcv * ig * (1.0 - gg * gg));
  st_dGates(g0 + 3u * H, dhv * tc * og * (1.0 - og));
  st_dcPrev(i, dcv * fg);`);
export const lstmCellBackward = lstmBackward(false);
export const lstmCellBackwardC = lstmBackward(true);

export const gruCellForward = cell('gruCellForward',
  [['h', 'f32'], ['act', 'f32'], ['gi', 'f32'], ['gh', 'f32'], ['hPrev', 'f32']], `
  let g0 = b * 3u * H + j; let a0 = b * 4u * H + j;
  let r = sigm(ld_gi(g0) + ld_gh(g0));
  let z = sigm(ld_gi(g0 + H) + ld_gh(g0 + H));
  let ghn = ld_gh(g0 + 2u * H);
  let nn = tanhs(ld_gi(g0 + 2u * H) + r * ghn);
  st_act(a0, r); st_act(a0 + H, z); st_act(a0 + 2u * H, nn); st_act(a0 + 3u * H, ghn);
  st_h(i, (1.0 - z) * nn + z * ld_hPrev(i));`);

export const gruCellBackward = cell('gruCellBackward',
  [['dGi', 'f32'], ['dGh', 'f32'], ['dhPrev', 'f32'], ['dh', 'f32'], ['act', 'f32'], ['hPrev', 'f32']], `
  let g0 = b * 3u * H + j; let a0 = b * 4u * H + j;
  let r = ld_act(a0); let z = ld_act(a0 + H); let nn = ld_act(a0 + 2u * H); let ghn = ld_act(a0 + 3u * H);
  let d = ld_dh(i);
  let dn = d * (1.0 - z) * (1.0 - nn * nn);
  let dz = d * (ld_hPrev(i) - nn) * z * (1.0 - z);
  let dr = dn * ghn * r * (1.0 - r);
  st_dGi(g0, dr); st_dGi(g0 + H, dz); st_dGi(g0 + 2u * H, dn);
  st_dGh(g0, dr); st_dGh(g0 + H, dz); st_dGh(g0 + 2u * H, dn * r);
  st_dhPrev(i, ld_dhPrev(i) + d * z);`);
