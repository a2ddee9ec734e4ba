// Elementwise and small-reduction kernels: bias rows, embedding gather/scatter, tanh, scale, mul, add, fill, copy,
// and Σx² (per-workgroup partial sums, then one workgroup sums those: deterministic, no atomics).
// Column reductions: the embedding scatter-add gives each thread one column and walks the rows in order, so repeated
// ids accumulate without atomics. sumRows over many rows runs in two passes (colPartial: a thread per column and
// chunk of rows; colFinish: a thread per column sums the chunks in order), so a GPU gets columns × chunks threads
// instead of one per column walking every row. Every order is fixed: results do not depend on scheduling.
import { elementwise, type KernelDef } from '../runner.js';
import { MATH } from './common.js';

const ew = (name: string, bufs: KernelDef['bufs'], body: string, floats: string[] = [], ints: string[] = []): KernelDef =>
  ({ name, bufs, ints: ['n', ...ints], floats, body: MATH + elementwise('n', body) });

export const addRowVector = ew('addRowVector', [['Y', 'f32'], ['b', 'f32']],
  '  st_Y(i, ld_Y(i) + ld_b(i % d_N()));', [], ['N']);

export const sumRows = ew('sumRows', [['db', 'f32'], ['dY', 'f32']], `
  var s = 0.0;
  for (var r = 0u; r < d_M(); r++) { s += ld_dY(r * d_n() + i); }
  st_db(i, ld_db(i) + s);`, [], ['M']);   // n = N columns

/** Pass 1 of a column sum: part[r·N + c] = Σ of column c over rows [r·rows, (r+1)·rows) ∩ [0, M); n = N·chunks. */
export const colPartial = ew('colPartial', [['part', 'f32'], ['dY', 'f32']], `
  let N = d_N(); let c = i % N; let r0 = (i / N) * d_rows(); let r1 = min(r0 + d_rows(), d_M());
  var s = 0.0;
  for (var r = r0; r < r1; r++) { s += ld_dY(r * N + c); }
  st_part(i, s);`, [], ['N', 'M', 'rows']);

/** Pass 2: out[c] += Σ_r part[r·n + c] over R chunks, in order (n = N columns). */
export const colFinish = ew('colFinish', [['out', 'f32'], ['part', 'f32']], `
  var s = 0.0;
  for (var r = 0u; r < d_R(); r++) { s += ld_part(r * d_n() + i); }
  st_out(i, ld_out(i) + s);`, [], ['R']);

export const embeddingForward = ew('embeddingForward', [['out', 'f32'], ['table', 'f32'], ['ids', 'i32']], `
  let E = d_E();
  st_out(i, ld_table(u32(ld_ids(i / E)) * E + i % E));`, [], ['E']);

export const embeddingBackward = ew('embeddingBackward', [['dTable', 'f32'], ['dOut', 'f32'], ['ids', 'i32']], `
  let E = d_n();
  for (var r = 0u; r < d_N(); r++) {
    let d = u32(ld_ids(r)) * E + i;
    st_dTable(d, ld_dTable(d) + ld_dOut(r * E + i));
  }`, [], ['N']);   // n = E columns

/**
 * The embedding scatter-add with a thread per table entry (v, e) instead of per column: each walks the rows in order
 * and adds those whose id is v, so a GPU gets V·E threads instead of E, and each entry sums in the same order as the
 * per-column kernel and ref (bit-identical). ops.ts takes it while V·N is small (each thread reads all N ids).
 */
export const embeddingBackwardRows = ew('embeddingBackwardRows', [['dTable', 'f32'], ['dOut', 'f32'], ['ids', 'i32']], `
  let E = d_E(); let v = i32(i / E); let e = i % E;
  var s = ld_dTable(i);
  for (var r = 0u; r < d_N(); r++) {
    if (ld_ids(r) == v) { s += ld_dOut(r * E + e); }
  }
  st_dTable(i, s);`, [], ['N', 'E']);   // n = V·E entries

/**
 * The per-entry scatter-add over many rows, pass 1 (pass 2 is colFinish over the V·E entries): thread (r, v, e) sums
 * the rows of chunk r whose id is v. V·E·R threads each walking `rows` ids, where embeddingBackwardRows has V·E
 * threads walking all N (on an H200, 0.49 ms for shakespeare-gpt's 256 × 192 position table over 4,096 rows).
 */
export const embeddingBackwardChunk = ew('embeddingBackwardChunk', [['part', 'f32'], ['dOut', 'f32'], ['ids', 'i32']], `
  let E = d_E(); let VE = d_VE(); let ve = i % VE; let v = i32(ve / E); let e = ve % E;
  let r0 = (i / VE) * d_rows(); let r1 = min(r0 + d_rows(), d_N());
  var s = 0.0;
  for (var r = r0; r < r1; r++) {
    if (ld_ids(r) == v) { s += ld_dOut(r * E + e); }
  }
  st_part(i, s);`, [], ['N', 'E', 'VE', 'rows']);   // n = R·V·E

export const tanhForward = ew('tanhForward', [['h', 'f32'], ['pre', 'f32']], '  st_h(i, tanhs(ld_pre(i)));');
export const tanhBackward = ew('tanhBackward', [['dPre', 'f32'], ['dh', 'f32'], ['h', 'f32']],
  '  let h = ld_h(i);\n  st_dPre(i, ld_dh(i) * (1.0 - h * h));');
export const scale = ew('scale', [['x', 'f32']], '  st_x(i, ld_x(i) * f_s());', ['s']);
export const mul = ew('mul', [['out', 'f32'], ['a', 'f32'], ['b', 'f32']], '  st_out(i, ld_a(i) * ld_b(i));');
export const add = ew('add', [['out', 'f32'], ['a', 'f32'], ['b', 'f32']], '  st_out(i, ld_a(i) + ld_b(i));');
export const fill = ew('fill', [['x', 'f32']], '  st_x(i, f_v());', ['v']);
export const copy = ew('copy', [['dst', 'f32'], ['src', 'f32']], '  st_dst(i, ld_src(i));');

/**
 * Σx² stage 1: thread g of the grid (WIDE_GROUPS workgroups of 256) sums x[g], x[g + 256·WIDE_GROUPS], … into
 * partial[g]. Stages 2 and 3 are sumPartial (down to 256) and sumAll: a fixed order, so results are reproducible.
 */
export const WIDE_GROUPS = 64;
export const sumSquaresPartial: KernelDef = {
  name: 'sumSquaresPartial', bufs: [['x', 'f32'], ['partial', 'f32']], ints: ['n'],
  body: `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let stride = nwg.x * 256u;
  var s = 0.0;
  for (var i = g.x; i < d_n(); i += stride) { let v = ld_x(i); s += v * v; }
  st_partial(g.x, s);
}
`,
};

/** Strided partial sums of n values into partial[0..256) (stage 1 of a sum; sumAll finishes it). */
export const sumPartial: KernelDef = {
  name: 'sumPartial', bufs: [['x', 'f32'], ['partial', 'f32']], ints: ['n'],
  body: `
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) l: u32) {
  var s = 0.0;
  for (var i = l; i < d_n(); i += 256u) { s += ld_x(i); }
  st_partial(l, s);
}
`,
};

/** out[0] = Σ x[0..n) in one thread, in order (n is 256 partial sums here). */
export const sumAll: KernelDef = {
  name: 'sumAll', bufs: [['out', 'f32'], ['x', 'f32']], ints: ['n'],
  body: `
@compute @workgroup_size(1)
fn main() {
  var s = 0.0;
  for (var i = 0u; i < d_n(); i++) { s += ld_x(i); }
  st_out(0u, s);
}
`,
};
