// Causal attention kernels (the gpt family), flash-style: forward keeps only the per-row log-sum-exp, backward
// recomputes scores, no (T,T) matrix exists. A thread owns one query row (forward, dq, decode) or one key row (dk, dv)
// and walks the other side's rows, so nothing is accumulated across threads.
//
// Each kernel comes in two forms (ops.ts's attentionParts picks):
// - whole: a thread walks the whole causal range and writes the result. On an H200 these were the GPT's bottleneck:
//   shakespeare-gpt's 24,576 rows are 96 workgroups on a 132-SM GPU, and the thread that walks 256 rows sets the
//   kernel's time (the dk/dv kernel took 37% of the step's GPU time, docs/performance.md);
// - part: the walk is cut into P ranges of L rows, a thread per (range, row) writes its partial state to scratch
//   (a softmax's running max, sum and weighted sum; or a gradient's partial sums), and a merge pass combines the
//   ranges in order. P× the threads, each walking at most L rows: flash-decoding's split, for training too.
//
// Kernels are generated per head size hd: q, the accumulators and (backward) the row's own vectors live in hd scalar
// registers each, every loop over e written out. The first version kept them in arrays indexed by a runtime hd, which
// the GPU compiler puts in (slow, per-thread) local memory: on an H200 its three training kernels took 49 ms of a
// 79 ms shakespeare-gpt step. Within a range, sums run over e in ref's order, and over rows in ref's order except
// dk/dv's (from the last query down: see backwardKV).
import { elementwise, type KernelDef } from '../runner.js';
import { HASH } from './common.js';

export const MAX_HD = 128;

const R = (n: number, f: (e: number) => string, sep = ' ') => Array.from({ length: n }, (_, e) => f(e)).join(sep);
/** Σ_e a(e)·b(e), left to right (the same order as a loop over e). */
const dot = (n: number, a: (e: number) => string, b: (e: number) => string) => R(n, (e) => `${a(e)} * ${b(e)}`, ' + ');

export interface AttentionKernels {
  forward: KernelDef; backwardQ: KernelDef; backwardKV: KernelDef; decode: KernelDef;
  forwardPart: KernelDef; backwardQPart: KernelDef; backwardKVPart: KernelDef; decodePart: KernelDef;
}
const attnCache = new Map<string, AttentionKernels>();

/**
 * The attention kernels for head size hd (1 … MAX_HD), made once per hd. With `vec` (hd a multiple of 4), the rows
 * walked in the inner loops (k and v; q and dy in dk/dv; the cache's k and v in decode) are read 4 floats per load:
 * the f32 buffers are bound as vec4 arrays, so those views' offsets must be multiples of 4 (ops.ts checks). The
 * arithmetic and its order are the same as the scalar form's.
 */
export function attentionKernels(hd: number, vec = false): AttentionKernels {
  if (vec && hd % 4 !== 0) throw new Error(`vec4 attention needs a head size that is a multiple of 4, not ${hd}`);
  const key = `${hd}${vec ? 'v' : ''}`;
  let k = attnCache.get(key);
  if (!k) {
    k = { forward: forward(hd, false, vec), backwardQ: backwardQ(hd, false, vec), backwardKV: backwardKV(hd, false, vec),
      decode: decode(hd, false, vec), forwardPart: forward(hd, true, vec), backwardQPart: backwardQ(hd, true, vec),
      backwardKVPart: backwardKV(hd, true, vec), decodePart: decode(hd, true, vec) };
    attnCache.set(key, k);
  }
  return k;
}

const COMP = ['x', 'y', 'z', 'w'];
/**
 * A row of hd floats of buffer `buf` at `off`, read in the inner loop: `decl` loads it (vec: hd/4 vec4 loads into
 * `name`0…; scalar: nothing, each use loads), `at(e)` is element e.
 */
function row(buf: string, off: string, hd: number, vec: boolean, name: string): { decl: string; at: (e: number) => string } {
  if (!vec) return { decl: '', at: (e) => `ld_${buf}(${off} + ${e}u)` };
  return { decl: R(hd / 4, (w) => `let ${name}${w} = ld4_${buf}(${off} + ${4 * w}u);`), at: (e) => `${name}${e >> 2}.${COMP[e & 3]}` };
}
/**
 * Buffers of a kernel: in the vec form, the ones its inner loop reads 4 floats at a time (`wide`, never written by
 * the kernel) are bound as vec4 arrays. Only those: a scalar written into a vec4 array might be compiled as a
 * read-modify-write of its whole vec4, and neighbouring threads write neighbouring floats of lse, D and the partial
 * states. ops.ts takes the vec form only when no other argument lives in a wide buffer's GPUBuffer (attentionVec4).
 */
const bufsOf = (vec: boolean, list: [string, 'f32' | 'i32'][], wide: string[]): KernelDef['bufs'] =>
  list.map(([n, t]) => [n, vec && wide.includes(n) ? 'vec4f' : t]);
const vname = (vec: boolean) => (vec ? 'v' : '');

const HEAD = (hd: number) => `
  let T = d_T(); let nh = d_nh(); let C = nh * ${hd}u; let C3 = 3u * C;
  let sc = 1.0 / sqrt(${hd}.0); let drop = d_drop() != 0u;`;
const INTS = ['n', 'T', 'nh', 'seed', 'thr', 'drop'];
/**
 * The row rr this thread owns and the start r0 of its range. Part kernels run P·rows threads: range p = i / rows
 * covers rows [p·L, p·L + L) of the walk.
 */
const ROW = (part: boolean) => part
  ? 'let rr = i % d_rows(); let r0 = (i / d_rows()) * d_L();'
  : 'let rr = i; let r0 = 0u;';
const END = (part: boolean, whole: string) => (part ? `min(r0 + d_L(), ${whole})` : whole);
const reg = (name: string) => (e: number) => `${name}${e}`;
/** A part kernel's partial softmax state: (m, l) pairs in pml, the weighted sums in pacc, both indexed by thread. */
const storeState = (hd: number) => `st_pml(2u * i, m); st_pml(2u * i + 1u, lsum);
  let ao = i * ${hd}u;
  ${R(hd, (e) => `st_pacc(ao + ${e}u, a${e});`)}`;

/** y (B,T,C), lse (B,nh,T): a thread per (b, h, i), online softmax over keys j ≤ i (part: j in its range). */
function forward(hd: number, part: boolean, vec: boolean): KernelDef {
  const kr = row('qkv', 'ko', hd, vec, 'kk'), vr = row('qkv', 'vo', hd, vec, 'vv');
  return {
    name: `attentionForward${part ? 'Part' : ''}${hd}${vname(vec)}`,
    bufs: bufsOf(vec, part ? [['pml', 'f32'], ['pacc', 'f32'], ['qkv', 'f32']] : [['y', 'f32'], ['lse', 'f32'], ['qkv', 'f32']], ['qkv']),
    ints: part ? [...INTS, 'rows', 'L'] : INTS, floats: part ? [] : ['ks'],
    body: HASH + elementwise('n', `${HEAD(hd)}
  ${ROW(part)}
  let ii = rr % T; let bh = rr / T; let h = bh % nh; let b = bh / nh;
  let qo = (b * T + ii) * C3 + h * ${hd}u;
  let r = select(0u, rowHash(d_seed(), bh, ii), drop);
  ${R(hd, (e) => `let q${e} = ld_qkv(qo + ${e}u);`)}
  ${R(hd, (e) => `var a${e} = 0.0;`)}
  var m = -1.0e30; var lsum = 0.0;
  for (var j = r0; j < ${END(part, 'ii + 1u')}; j++) {
    let ko = (b * T + j) * C3 + C + h * ${hd}u;
    ${kr.decl}
    let s = (${dot(hd, reg('q'), kr.at)}) * sc;
    if (s > m) {
      let f = exp(m - s);
      lsum *= f;
      ${R(hd, (e) => `a${e} *= f;`)}
      m = s;
    }
    let w = exp(s - m);
    lsum += w;
    if (drop && !keep(r, j, d_thr())) { continue; }
    let vo = ko + C;
    ${vr.decl}
    ${R(hd, (e) => `a${e} += w * ${vr.at(e)};`)}
  }
  ${part ? storeState(hd) : `st_lse(rr, m + log(lsum));
  let yo = (b * T + ii) * C + h * ${hd}u; let k = select(1.0, f_ks(), drop) / lsum;
  ${R(hd, (e) => `st_y(yo + ${e}u, a${e} * k);`)}`}`),
  };
}

/**
 * Backward, part 1 (a thread per query row i): D_i = dy_i·y_i into D (by the thread whose range starts at 0), and
 * dq_i = Σ_j dS_ij·k_j/√hd (part: over j in its range, into pg).
 */
function backwardQ(hd: number, part: boolean, vec: boolean): KernelDef {
  const kr = row('qkv', 'ko', hd, vec, 'kk'), vr = row('qkv', 'vo', hd, vec, 'vv');
  return {
    name: `attentionBackwardQ${part ? 'Part' : ''}${hd}${vname(vec)}`,
    bufs: bufsOf(vec, [[part ? 'pg' : 'dqkv', 'f32'], ['D', 'f32'], ['dy', 'f32'], ['y', 'f32'], ['lse', 'f32'], ['qkv', 'f32']], ['qkv']),
    ints: part ? [...INTS, 'rows', 'L'] : INTS, floats: ['ks'],
    body: HASH + elementwise('n', `${HEAD(hd)}
  ${ROW(part)}
  let ii = rr % T; let bh = rr / T; let h = bh % nh; let b = bh / nh;
  let qo = (b * T + ii) * C3 + h * ${hd}u; let yo = (b * T + ii) * C + h * ${hd}u; let L = ld_lse(rr);
  ${R(hd, (e) => `let dy${e} = ld_dy(yo + ${e}u);`)}
  ${R(hd, (e) => `let q${e} = ld_qkv(qo + ${e}u);`)}
  let D = ${dot(hd, reg('dy'), (e) => `ld_y(yo + ${e}u)`)};
  if (r0 == 0u) { st_D(rr, D); }
  let r = select(0u, rowHash(d_seed(), bh, ii), drop);
  ${R(hd, (e) => `var g${e} = 0.0;`)}
  for (var j = r0; j < ${END(part, 'ii + 1u')}; j++) {
    let ko = (b * T + j) * C3 + C + h * ${hd}u; let vo = ko + C;
    ${kr.decl}
    let P = exp((${dot(hd, reg('q'), kr.at)}) * sc - L);
    var M = 1.0;
    if (drop) { M = select(0.0, f_ks(), keep(r, j, d_thr())); }
    ${vr.decl}
    let dp = ${dot(hd, reg('dy'), vr.at)};
    let ds = P * (dp * M - D) * sc;
    ${R(hd, (e) => `g${e} += ds * ${kr.at(e)};`)}
  }
  ${part ? `let go = i * ${hd}u;\n  ${R(hd, (e) => `st_pg(go + ${e}u, g${e});`)}` : R(hd, (e) => `st_dqkv(qo + ${e}u, g${e});`)}`),
  };
}

/**
 * Backward, part 2 (a thread per key row j; needs D from part 1): dk_j = Σ_{i≥j} dS_ij·q_i/√hd,
 * dv_j = Σ_{i≥j} P_ij·M_ij·dy_i (part: over i in its range, into pk and pv), summed from the last i down.
 */
function backwardKV(hd: number, part: boolean, vec: boolean): KernelDef {
  const qr = row('qkv', 'qo', hd, vec, 'qq'), dr = row('dy', 'yo', hd, vec, 'dd');
  return {
    name: `attentionBackwardKV${part ? 'Part' : ''}${hd}${vname(vec)}`,
    bufs: bufsOf(vec, part ? [['pk', 'f32'], ['pv', 'f32'], ['D', 'f32'], ['dy', 'f32'], ['lse', 'f32'], ['qkv', 'f32']]
      : [['dqkv', 'f32'], ['D', 'f32'], ['dy', 'f32'], ['lse', 'f32'], ['qkv', 'f32']], ['qkv', 'dy']),
    ints: part ? [...INTS, 'rows', 'L'] : INTS, floats: ['ks'],
    body: HASH + elementwise('n', `${HEAD(hd)}
  ${ROW(part)}
  let j = rr % T; let bh = rr / T; let h = bh % nh; let b = bh / nh;
  let ko = (b * T + j) * C3 + C + h * ${hd}u; let vo = ko + C;
  ${R(hd, (e) => `let k${e} = ld_qkv(ko + ${e}u);`)}
  ${R(hd, (e) => `let v${e} = ld_qkv(vo + ${e}u);`)}
  ${R(hd, (e) => `var gk${e} = 0.0;`)}
  ${R(hd, (e) => `var gv${e} = 0.0;`)}
  // Queries walked from the last down: neighbouring threads (neighbouring keys j) all start at the same query row,
  // so each load of q, dy, lse and D is one row for the whole warp; walked upwards from j, every thread of a warp
  // read a different row at each step.
  let first = max(j, r0);
  for (var ii = ${END(part, 'T')}; ii > first;) {
    ii--;
    let qo = (b * T + ii) * C3 + h * ${hd}u; let yo = (b * T + ii) * C + h * ${hd}u;
    ${qr.decl}
    let P = exp((${dot(hd, qr.at, reg('k'))}) * sc - ld_lse(bh * T + ii));
    var M = 1.0;
    if (drop) { M = select(0.0, f_ks(), keep(rowHash(d_seed(), bh, ii), j, d_thr())); }
    ${dr.decl}
    let dp = ${dot(hd, dr.at, reg('v'))};
    let ds = P * (dp * M - ld_D(bh * T + ii)) * sc;
    let pm = P * M;
    ${R(hd, (e) => `gk${e} += ds * ${qr.at(e)}; gv${e} += pm * ${dr.at(e)};`, '\n    ')}
  }
  ${part ? `let go = i * ${hd}u;\n  ${R(hd, (e) => `st_pk(go + ${e}u, gk${e}); st_pv(go + ${e}u, gv${e});`, '\n  ')}`
    : R(hd, (e) => `st_dqkv(ko + ${e}u, gk${e}); st_dqkv(vo + ${e}u, gv${e});`, '\n  ')}`),
  };
}

/** Cached attention for generation: a thread per (b, t, h) over keys 0..pos[b]+t (part: the keys in its range). */
function decode(hd: number, part: boolean, vec: boolean): KernelDef {
  const kr = row('kc', 'ko', hd, vec, 'kk'), vr = row('vc', 'ko', hd, vec, 'vv');
  return {
    name: `attentionDecode${part ? 'Part' : ''}${hd}${vname(vec)}`,
    bufs: bufsOf(vec, [...(part ? [['pml', 'f32'], ['pacc', 'f32']] : [['y', 'f32']]) as [string, 'f32'][],
      ['q', 'f32'], ['kc', 'f32'], ['vc', 'f32'], ['pos', 'i32']], ['kc', 'vc']),
    ints: ['n', 'T', 'nh', 'S', 'qStride', ...(part ? ['rows', 'L'] : [])],
    body: elementwise('n', `
  let T = d_T(); let nh = d_nh(); let S = d_S(); let C = nh * ${hd}u;
  ${ROW(part)}
  let h = rr % nh; let bt = rr / nh; let t = bt % T; let b = bt / T;
  let cnt = u32(ld_pos(b)) + t + 1u;
  let sc = 1.0 / sqrt(${hd}.0);
  let qo = (b * T + t) * d_qStride() + h * ${hd}u;
  ${R(hd, (e) => `let q${e} = ld_q(qo + ${e}u);`)}
  ${R(hd, (e) => `var a${e} = 0.0;`)}
  var m = -1.0e30; var lsum = 0.0;
  for (var j = r0; j < ${END(part, 'cnt')}; j++) {
    let ko = (b * S + j) * C + h * ${hd}u;
    ${kr.decl}
    let s = (${dot(hd, reg('q'), kr.at)}) * sc;
    if (s > m) { let f = exp(m - s); lsum *= f; ${R(hd, (e) => `a${e} *= f;`)} m = s; }
    let w = exp(s - m);
    lsum += w;
    ${vr.decl}
    ${R(hd, (e) => `a${e} += w * ${vr.at(e)};`)}
  }
  ${part ? storeState(hd) : `let yo = (b * T + t) * C + h * ${hd}u;
  ${R(hd, (e) => `st_y(yo + ${e}u, a${e} / lsum);`)}`}`),
  };
}

/**
 * Merges a forward or decode part kernel's P partial softmax states, in range order: a thread per (row, e).
 * M = max_p m_p, L = Σ_p l_p·e^(m_p−M), y = ks·Σ_p acc_p·e^(m_p−M) / L, lse = M + log L (when hasLse). A range with
 * no keys left m = -1e30 and weighs 0; range 0 always has key 0. Rows are the forward's (b, h, t) order when
 * byHead = 1, else the decode's (b, t, h), which is y's own order.
 */
export const attentionMerge: KernelDef = {
  name: 'attentionMerge', bufs: [['y', 'f32'], ['lse', 'f32'], ['pml', 'f32'], ['pacc', 'f32']],
  ints: ['n', 'rows', 'hd', 'P', 'T', 'nh', 'byHead', 'hasLse'], floats: ['ks'],
  body: elementwise('n', `
  let hd = d_hd(); let rows = d_rows(); let rr = i / hd; let e = i % hd;
  var M = -1.0e30;
  for (var p = 0u; p < d_P(); p++) { M = max(M, ld_pml(2u * (p * rows + rr))); }
  var lt = 0.0; var a = 0.0;
  for (var p = 0u; p < d_P(); p++) {
    let s = p * rows + rr; let f = exp(ld_pml(2u * s) - M);
    lt += ld_pml(2u * s + 1u) * f;
    a += ld_pacc(s * hd + e) * f;
  }
  var yo = i;
  if (d_byHead() != 0u) {
    let T = d_T(); let nh = d_nh(); let t = rr % T; let bh = rr / T;
    yo = ((bh / nh * T + t) * nh + bh % nh) * hd + e;
  }
  st_y(yo, a * f_ks() / lt);
  if (d_hasLse() != 0u && e == 0u) { st_lse(rr, M + log(lt)); }`),
};

/** Sums the backward part kernels' P partial dq, dk and dv in range order into dqkv: a thread per (row, e). */
export const attentionBackwardMerge: KernelDef = {
  name: 'attentionBackwardMerge', bufs: [['dqkv', 'f32'], ['pq', 'f32'], ['pk', 'f32'], ['pv', 'f32']],
  ints: ['n', 'rows', 'hd', 'P', 'T', 'nh'],
  body: elementwise('n', `
  let hd = d_hd(); let rows = d_rows(); let rr = i / hd; let e = i % hd;
  let T = d_T(); let nh = d_nh(); let t = rr % T; let bh = rr / T; let C = nh * hd;
  let qo = (bh / nh * T + t) * 3u * C + bh % nh * hd + e;
  var gq = 0.0; var gk = 0.0; var gv = 0.0;
  for (var p = 0u; p < d_P(); p++) {
    let s = (p * rows + rr) * hd + e;
    gq += ld_pq(s); gk += ld_pk(s); gv += ld_pv(s);
  }
  st_dqkv(qo, gq); st_dqkv(qo + C, gk); st_dqkv(qo + 2u * C, gv);`),
};

/** Backend.kvCacheWrite: a thread per (b, t, c) copies row (b,t)'s k and v into cache row b·S + pos[b] + t. */
export const kvCacheWrite: KernelDef = {
  name: 'kvCacheWrite', bufs: [['kc', 'f32'], ['vc', 'f32'], ['qkv', 'f32'], ['pos', 'i32']], ints: ['n', 'T', 'C', 'S'],
  body: elementwise('n', `
  let C = d_C(); let T = d_T(); let c = i % C; let bt = i / C; let t = bt % T; let b = bt / T;
  let src = bt * 3u * C + C + c; let dst = (b * d_S() + u32(ld_pos(b)) + t) * C + c;
  st_kc(dst, ld_qkv(src));
  st_vc(dst, ld_qkv(src + C));`),
};
