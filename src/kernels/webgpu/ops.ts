// The Backend's kernels as GPU encoders: the same names and argument order as Backend, with every buffer argument
// resolved to (GPUBuffer, element offset). Shared by the Node worker (worker.ts) and the browser. Kernels that
// return a number (the loss, Σx²) reduce on the GPU and read back one float.
/// <reference types="@webgpu/types" />
import { grid, type GpuArg, type GpuRunner } from './runner.js';
import { forLayout, matmul, matmul128, matmul128u, matmul128up, matmul128v, matmul64u, matmul64v, matmul64vp, matmul64vv, splitKFinish } from './wgsl/matmul.js';
import * as pw from './wgsl/pointwise.js';
import * as cells from './wgsl/cells.js';
import { adam, softmaxXentRows } from './wgsl/loss-optim.js';
import * as tf from './wgsl/transformer.js';
import * as att from './wgsl/attention.js';

type A = GpuArg;
type Choice = { kernel: MatmulKernel; slices: number };
const b2u = (b: boolean) => (b ? 1 : 0);

async function readScalar(r: GpuRunner, a: GpuArg): Promise<number> {
  return new Float32Array(await r.download(a.buf, a.off * 4, 4))[0];
}

function checkHd(hd: number): void {
  if (hd > att.MAX_HD) throw new Error(`webgpu attention: head size ${hd} > ${att.MAX_HD} is not supported`);
}

/**
 * The SGEMM kernels: the 64×64 tile (4×4 outputs per thread; K can be split) and the 128×128 tile (8×8 per thread),
 * each with loops (`m64`, `m128`) and unrolled (`m64u`, `m128u`), and the 64 tile with vector reads of workgroup
 * memory (`m64v`), also prefetching the next K step (`m64vp`), and the unrolled 128 tile prefetching (`m128up`); and
 * with vector global loads, for views aligned to 4 floats (`vec4`: `m64vv`, `m128v`). bench/gpu/webgpu-gemm.mjs times
 * them all; on a GPU the tuner (tuner.ts) picks among them per shape.
 */
export const MATMUL_KERNELS = {
  m64: { def: matmul, tile: 64, split: true, vec4: false },
  m64u: { def: matmul64u, tile: 64, split: true, vec4: false },
  m64v: { def: matmul64v, tile: 64, split: true, vec4: false },
  m64vp: { def: matmul64vp, tile: 64, split: true, vec4: false },
  m64vv: { def: matmul64vv, tile: 64, split: true, vec4: true },
  m128: { def: matmul128, tile: 128, split: false, vec4: false },
  m128u: { def: matmul128u, tile: 128, split: false, vec4: false },
  m128up: { def: matmul128up, tile: 128, split: false, vec4: false },
  m128v: { def: matmul128v, tile: 128, split: false, vec4: true },
} as const;
export type MatmulKernel = keyof typeof MATMUL_KERNELS;

/**
 * Whether a product can take a vec4 kernel (`m64vv`, `m128v`): every view's offset, and each operand's contiguous dimension
 * (A: K, or M when transposed; B: N, or K when transposed; C: N), a multiple of 4.
 */
export function vec4Ok(C: GpuArg, Am: GpuArg, B: GpuArg, M: number, N: number, K: number, transA: boolean, transB: boolean): boolean {
  return C.off % 4 === 0 && Am.off % 4 === 0 && B.off % 4 === 0 && N % 4 === 0 && (transA ? M : K) % 4 === 0 &&
    (transB ? K : N) % 4 === 0;
}

/**
 * Which SGEMM ops.matmul runs, and in how many K slices. On a GPU (an H200, docs/performance.md) the 64 tile ran the
 * large products 6-8× faster than the rolled 128 tile and within ±15% of the unrolled kernels either way, and split K
 * paid 1.8-5× on the recurrent products. On SwiftShader (a CPU) split K does not pay, and the unrolled kernels ran
 * 1.3-4× faster than the rolled ones (bench/gpu/webgpu-gemm.mjs --quick, 2026-11-28): the 128 tile where both sides
 * have 128 and A is not transposed, else the 64 (with a transposed A, the weight gradients, m64u took 0.57-0.85× of
 * m128u's time).
 */
export function chooseMatmul(M: number, N: number, K: number, fallback: boolean, transA = false): { kernel: MatmulKernel; slices: number } {
  if (fallback) return M >= 128 && N >= 128 && !transA ? { kernel: 'm128u', slices: 1 } : { kernel: 'm64u', slices: 1 };
  return { kernel: 'm64', slices: splitK(M, N, K) };
}

/**
 * Slices of K for a 64-tile product with few tiles and a long K: the LSTM backward's dh = dG·W (64 × H from K = 4H)
 * is 8 tiles for H = 512, 8 workgroups each walking K = 2,048 on a GPU of 100+ cores. Split into S slices of at
 * least 128, it is 8·S workgroups (aiming at 256), then one elementwise pass sums the slices in order. 1 = no split.
 * On an H200 (bench/gpu/webgpu-gemm.mjs) the seed's dh ran at 0.43, 0.74, 1.23, 1.70 and 2.24 TFLOP/s in 1, 2, 4,
 * 8 and 16 slices, and its recurrent step (64 × 2,048 from K 512) at 1.38, 1.95, 2.51 and 2.50 in 1, 2, 4 and 8.
 */
export function splitK(M: number, N: number, K: number): number {
  const tiles = Math.ceil(M / 64) * Math.ceil(N / 64);
  if (tiles >= 64 || K < 256) return 1;
  return Math.max(1, Math.min(16, Math.floor(K / 128), Math.ceil(256 / tiles)));
}

/** C (+)= op(A)·op(B) with one SGEMM kernel, one workgroup per tile of C (and per K slice, 64 tiles only). */
export function dispatchMatmul(r: GpuRunner, kernel: MatmulKernel, C: GpuArg, Am: GpuArg, B: GpuArg, M: number,
                               N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean, slices = 1): void {
  if (M === 0 || N === 0) return;
  const { tile, split, vec4 } = MATMUL_KERNELS[kernel], def = forLayout(MATMUL_KERNELS[kernel].def, transA, transB);
  if (vec4 && !vec4Ok(C, Am, B, M, N, K, transA, transB)) throw new Error(`webgpu ${kernel}: views not aligned to 4 floats`);
  const groups: [number, number, number] = [Math.ceil(N / tile), Math.ceil(M / tile), 1];
  const ints = [M, N, K, b2u(transA), b2u(transB), b2u(accumulate)];
  if (!split) return r.dispatch(def, [C, Am, B], ints, [], groups);
  if (slices <= 1) return r.dispatch(def, [C, Am, B], [...ints, K], [], groups);
  const { part, S } = dispatchSplitK(r, kernel, Am, B, M, N, K, transA, transB, slices);
  r.dispatch(splitKFinish, [C, part], [M * N, S, b2u(accumulate)], [], grid(M * N));
}

/**
 * The first pass of a split-K product: S ≤ slices partial products op(A)·op(B) over K slices, slice z at part + z·M·N
 * (a 64-tile kernel). The caller sums them: splitKFinish, or a kernel that needs the sum (lstmStepForward's cell).
 */
export function dispatchSplitK(r: GpuRunner, kernel: MatmulKernel, Am: GpuArg, B: GpuArg, M: number, N: number, K: number,
                               transA: boolean, transB: boolean, slices: number): { part: GpuArg; S: number } {
  const kLen = Math.ceil(K / slices / 16) * 16, S = Math.ceil(K / kLen);
  const part = r.scratch('splitK', S * M * N);
  r.dispatch(forLayout(MATMUL_KERNELS[kernel].def, transA, transB), [part, Am, B], [M, N, K, b2u(transA), b2u(transB), 0, kLen], [],
    [Math.ceil(N / 64), Math.ceil(M / 64), S]);
  return { part, S };
}

/**
 * Rows per chunk for a column sum over M rows: one pass (a thread per column walking all rows) up to COL_CHUNK rows,
 * else chunks of COL_CHUNK or more, at most COL_CHUNKS of them, summed by a second pass. The seed's bias gradient
 * (6,400 rows × 2,048 columns) becomes 131,072 threads of 100 rows and a LayerNorm's dw/db (4,096 × 192) 12,288
 * threads of 64, instead of 2,048 and 192 threads walking every row.
 */
const COL_CHUNK = 64, COL_CHUNKS = 64;
export function colChunks(M: number): { rows: number; R: number } {
  if (M <= COL_CHUNK) return { rows: M, R: 1 };
  const rows = Math.max(COL_CHUNK, Math.ceil(M / COL_CHUNKS));
  return { rows, R: Math.ceil(M / rows) };
}

/**
 * Ranges to cut attention's walks into (wgsl/attention.ts): P ranges of L rows, a thread per (range, row), then a
 * merge pass. shakespeare-gpt's 24,576 rows (16 × 6 heads × 256) as whole walks are 96 workgroups, the longest
 * thread walking 256 rows; in 8 ranges of 32 they are 8× the threads, none walking more than 32. Rows already
 * numerous enough for the GPU (ATT_THREADS), short walks (under 2 ranges of `chunk`), and CPU adapters, where 2 cores
 * gain nothing from more threads, stay whole. Each partial array is at most ATT_SCRATCH floats.
 * `r.tuning.attnParts` overrides (CHARLM_WEBGPU_ATTN_PARTS in Node; 1 = whole), so one GPU run can time both.
 */
const ATT_CHUNK = 32, DECODE_CHUNK = 16, ATT_THREADS = 3 << 16, ATT_SCRATCH = 1 << 24;
export function attentionParts(rows: number, T: number, hd: number, chunk: number,
                               r: Pick<GpuRunner, 'fallback' | 'tuning'>): { P: number; L: number } {
  const cap = Math.max(1, Math.floor(ATT_SCRATCH / (rows * Math.max(hd, 2))));   // pml holds 2 floats per row
  const want = r.tuning.attnParts ?? (r.fallback ? 1 : Math.min(Math.floor(T / chunk), Math.ceil(ATT_THREADS / rows)));
  const P0 = Math.max(1, Math.min(want, cap, T));
  const L = Math.ceil(T / P0);
  return { P: Math.ceil(T / L), L };
}

/**
 * Most V·N (table rows × ids) for the thread-per-entry embedding backward: each of its V·E threads reads all N ids.
 * The seed (65 × 6,400) and a GPT's position table (256 × 4,096) are well inside; a large vocabulary falls back.
 */
const EMB_ROWS_MAX = 1 << 22;

/**
 * Chunks of ids for the per-entry embedding backward on a GPU: above EMB_CHUNK ids, R chunks of at least EMB_CHUNK
 * (at most 64 of them, and R·V·E partial sums at most 2^24 floats), summed in order by colFinish. CPU adapters walk
 * every id per entry in one pass, as before (2 cores gain nothing from more threads).
 */
const EMB_CHUNK = 256;
export function embeddingChunks(N: number, VE: number, fallback: boolean): { rows: number; R: number } {
  if (fallback || N <= EMB_CHUNK) return { rows: N, R: 1 };
  const most = Math.max(1, Math.min(64, Math.floor((1 << 24) / VE)));
  const rows = Math.max(EMB_CHUNK, Math.ceil(N / most));
  return { rows, R: Math.ceil(N / rows) };
}

/** The SGEMM for a product: the tuner's (timed on this GPU, tuner.ts) when the runner has one, else the rule. */
function pickMatmul(r: GpuRunner, C: A, Am: A, B: A, M: number, N: number, K: number, tA: boolean, tB: boolean,
                    accumulate: boolean): Choice | Promise<Choice> {
  return r.tuner ? r.tuner.choose(C, Am, B, M, N, K, tA, tB, accumulate) : chooseMatmul(M, N, K, r.fallback, tA);
}
/**
 * f(choice) now, or once the choice resolves (a product of a shape the tuner has not timed yet). A vec4 kernel chosen
 * for a shape whose views, this time, are not aligned to 4 floats gives way to its scalar twin (the same tile and K
 * slices).
 */
const withChoice = (v: Choice | Promise<Choice>, aligned: boolean, f: (c: Choice) => void): void | Promise<void> => {
  const g = (c: Choice) => f(!MATMUL_KERNELS[c.kernel].vec4 || aligned ? c
    : c.kernel === 'm64vv' ? { kernel: 'm64vp', slices: c.slices } : { kernel: 'm128up', slices: 1 });
  return v instanceof Promise ? v.then(g) : g(v);
};

/** Attention's form: P ranges of L rows (P = 1: whole walks), rows read 4 floats per load or not (vec). */
type Parts = { P: number; L: number; vec: boolean };
/**
 * Whether attention can take its vec4 form (wgsl/attention.ts): a head size that is a multiple of 4, the views its
 * inner loops read (`wide`) at offsets that are multiples of 4 floats, each in a GPUBuffer of its own (no other
 * argument there: those are bound as plain float arrays).
 */
export function attentionVec4(hd: number, wide: A[], others: (A | null)[]): boolean {
  if (hd % 4 !== 0 || wide.some((w) => w.off % 4 !== 0)) return false;
  const bufs = wide.map((w) => w.buf);
  return new Set(bufs).size === bufs.length && !others.some((o) => o && bufs.includes(o.buf));
}
/** The tuner's key for attention's ranges: forward or backward, and the walk's rows, length and head size. */
export const attentionKey = (kind: 'fwd' | 'bwd', rows: number, T: number, hd: number) => `att-${kind}:${rows}x${T}x${hd}`;
/**
 * Forms worth timing for a walk of T rows: the rule's first (its ranges, vec4 where it can), then whole walks and 2,
 * 4, … ranges of ≥ 8 rows, each with and without vec4 loads (`vec`: whether the vec4 form can run).
 */
export function partsCandidates(rows: number, T: number, hd: number, r: Pick<GpuRunner, 'fallback' | 'tuning'>, vec = false): Parts[] {
  const out = [{ ...attentionParts(rows, T, hd, ATT_CHUNK, r), vec }];
  for (let P = 1; P === 1 || T / P >= 8; P *= 2) {
    const c = attentionParts(rows, T, hd, ATT_CHUNK, { fallback: r.fallback, tuning: { attnParts: P } });
    for (const v of vec ? [true, false] : [false]) if (!out.some((o) => o.P === c.P && o.vec === v)) out.push({ ...c, vec: v });
  }
  return out;
}
/**
 * Attention's ranges (forward or backward) then the call: timed by the tuner (each candidate run by `timed` into
 * scratch) on a GPU with one and no CHARLM_WEBGPU_ATTN_PARTS override, else ops.ts's rule.
 */
function withParts(r: GpuRunner, kind: 'fwd' | 'bwd', rows: number, T: number, hd: number, canVec: boolean,
                   timed: (c: Parts) => void, f: (c: Parts) => void): void | Promise<void> {
  // (walks under the tuner's floor, about 2·rows·T·hd flops forward: the rule, as for small SGEMMs)
  const rule = () => f({ ...attentionParts(rows, T, hd, ATT_CHUNK, r), vec: canVec });
  if (!r.tuner || r.tuning.attnParts !== undefined || 2 * rows * T * hd < r.tuner.minFlop) return rule();
  const c = r.tuner.chooseParts(attentionKey(kind, rows, T, hd), partsCandidates(rows, T, hd, r, canVec), timed);
  // (a stored vec4 choice for a shape whose views, this time, cannot take it: the same ranges, scalar loads)
  const g = (x: Parts) => f({ P: x.P, L: x.L, vec: !!x.vec && canVec });
  return c instanceof Promise ? c.then(g) : g(c);
}

export function gpuOps(r: GpuRunner) {
  const ew = (def: Parameters<GpuRunner['dispatch']>[0], args: (A | null)[], n: number, ints: number[] = [], floats: number[] = []) => {
    if (n > 0) r.dispatch(def, args, [n, ...ints], floats, grid(n));
  };
  /** A kernel with a workgroup of tf.LN_GROUP threads per row (the GPU's LayerNorms). */
  const perRow = (def: Parameters<GpuRunner['dispatch']>[0], args: (A | null)[], N: number, ints: number[], floats: number[] = []) => {
    if (N > 0) r.dispatch(def, args, [N, ...ints], floats, grid(N * tf.LN_GROUP, tf.LN_GROUP));
  };
  return {
    matmul(C: A, Am: A, B: A, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean) {
      return withChoice(pickMatmul(r, C, Am, B, M, N, K, transA, transB, accumulate), vec4Ok(C, Am, B, M, N, K, transA, transB), ({ kernel, slices }) =>
        dispatchMatmul(r, kernel, C, Am, B, M, N, K, transA, transB, accumulate, slices));
    },
    addRowVector(Y: A, b: A, M: number, N: number) { ew(pw.addRowVector, [Y, b], M * N, [N]); },
    sumRows(db: A, dY: A, M: number, N: number) {
      const { rows, R } = colChunks(M);
      if (R === 1) return ew(pw.sumRows, [db, dY], N, [M]);
      const part = r.scratch('colPartial', R * N);
      ew(pw.colPartial, [part, dY], R * N, [N, M, rows]);
      ew(pw.colFinish, [db, part], N, [R]);
    },
    embeddingForward(out: A, table: A, ids: A, N: number, E: number) { ew(pw.embeddingForward, [out, table, ids], N * E, [E]); },
    /** V (the table's rows) comes from client.ts, which knows the table view's length; absent, one thread per column. */
    embeddingBackward(dT: A, dOut: A, ids: A, N: number, E: number, V = 0) {
      if (!(V > 0 && V * N <= EMB_ROWS_MAX)) return ew(pw.embeddingBackward, [dT, dOut, ids], E, [N]);
      const { rows, R } = embeddingChunks(N, V * E, r.fallback);
      if (R === 1) return ew(pw.embeddingBackwardRows, [dT, dOut, ids], V * E, [N, E]);
      const part = r.scratch('embPartial', R * V * E);
      ew(pw.embeddingBackwardChunk, [part, dOut, ids], R * V * E, [N, E, V * E, rows]);
      ew(pw.colFinish, [dT, part], V * E, [R]);
    },
    lstmCellForward(h: A, c: A, tanhC: A, gates: A, cPrev: A, B: number, H: number) {
      ew(cells.lstmCellForward, [h, c, tanhC, gates, cPrev], B * H, [H]);
    },
    /** gates += hPrev·Whhᵀ, then the cell; a product split over K has its slices summed in the cell kernel. */
    lstmStepForward(h: A, c: A, tanhC: A, gates: A, cPrev: A, hPrev: A, Whh: A, B: number, H: number) {
      const G = 4 * H;
      return withChoice(pickMatmul(r, gates, hPrev, Whh, B, G, H, false, true, true), vec4Ok(gates, hPrev, Whh, B, G, H, false, true), ({ kernel, slices }) => {
        if (slices <= 1) {   // (only a 64-tile kernel is ever split)
          dispatchMatmul(r, kernel, gates, hPrev, Whh, B, G, H, false, true, true, slices);
          return ew(cells.lstmCellForward, [h, c, tanhC, gates, cPrev], B * H, [H]);
        }
        const { part, S } = dispatchSplitK(r, kernel, hPrev, Whh, B, G, H, false, true, slices);
        ew(cells.lstmCellForwardSplit, [h, c, tanhC, gates, cPrev, part], B * H, [H, S]);
      });
    },
    lstmCellBackward(dG: A, dcPrev: A, dh: A, dc: A, gates: A, cPrev: A, tanhC: A, B: number, H: number) {
      ew(cells.lstmCellBackward, [dG, dcPrev, dh, dc, gates, cPrev, tanhC], B * H, [H]);
    },
    lstmCellBackwardC(dG: A, dcPrev: A, dh: A, dc: A, gates: A, cPrev: A, c: A, B: number, H: number) {
      ew(cells.lstmCellBackwardC, [dG, dcPrev, dh, dc, gates, cPrev, c], B * H, [H]);
    },
    gruCellForward(h: A, act: A, gi: A, gh: A, hPrev: A, B: number, H: number) {
      ew(cells.gruCellForward, [h, act, gi, gh, hPrev], B * H, [H]);
    },
    gruCellBackward(dGi: A, dGh: A, dhPrev: A, dh: A, act: A, hPrev: A, B: number, H: number) {
      ew(cells.gruCellBackward, [dGi, dGh, dhPrev, dh, act, hPrev], B * H, [H]);
    },
    tanhForward(h: A, pre: A, n: number) { ew(pw.tanhForward, [h, pre], n); },
    tanhBackward(dPre: A, dh: A, h: A, n: number) { ew(pw.tanhBackward, [dPre, dh, h], n); },
    async softmaxXent(d: A | null, logits: A, targets: A, N: number, V: number, scale: number): Promise<number> {
      if (N === 0) return 0;
      const rows = r.scratch('rowLoss', N), total = r.scratch('loss', 1);
      const part = r.scratch('partial', 256);
      r.dispatch(softmaxXentRows, [d, logits, targets, rows], [N, V, b2u(d !== null)], [scale], grid(N));
      r.dispatch(pw.sumPartial, [rows, part], [N], [], [1]);
      r.dispatch(pw.sumAll, [total, part], [256], [], [1]);
      return readScalar(r, total);
    },
    adam(p: A, g: A, m: A, v: A, n: number, lr: number, beta1: number, beta2: number, eps: number,
         weightDecay: number, adamw: boolean, step: number) {
      const bc1 = 1 - Math.pow(beta1, step), bc2s = Math.sqrt(1 - Math.pow(beta2, step));
      ew(adam, [p, g, m, v], n, [], [beta1, beta2, eps, lr / bc1, bc2s, adamw ? 1 - lr * weightDecay : 1,
        adamw ? 0 : weightDecay]);
    },
    async sumSquares(x: A, n: number): Promise<number> {
      if (n === 0) return 0;
      const wide = pw.WIDE_GROUPS * 256;
      const part = r.scratch('partialWide', wide), part2 = r.scratch('partial', 256), total = r.scratch('sumsq', 1);
      r.dispatch(pw.sumSquaresPartial, [x, part], [n], [], [pw.WIDE_GROUPS]);
      r.dispatch(pw.sumPartial, [part, part2], [wide], [], [1]);
      r.dispatch(pw.sumAll, [total, part2], [256], [], [1]);
      return readScalar(r, total);
    },
    scale(x: A, n: number, s: number) { ew(pw.scale, [x], n, [], [s]); },
    mul(out: A, a: A, b: A, n: number) { ew(pw.mul, [out, a, b], n); },
    add(out: A, a: A, b: A, n: number) { ew(pw.add, [out, a, b], n); },
    layerNormForward(out: A, mean: A, rstd: A, x: A, w: A, b: A | null, N: number, C: number, eps: number) {
      if (r.fallback) ew(tf.layerNormForwardSerial, [out, mean, rstd, x, w, b], N, [C, b2u(b !== null)], [eps]);
      else perRow(tf.layerNormForward, [out, mean, rstd, x, w, b], N, [C, b2u(b !== null)], [eps]);
    },
    layerNormBackward(dx: A, dw: A, db: A | null, dout: A, x: A, w: A, mean: A, rstd: A, N: number, C: number) {
      if (r.fallback) ew(tf.layerNormBackwardDxSerial, [dx, dout, x, w, mean, rstd], N, [C]);
      else perRow(tf.layerNormBackwardDx, [dx, dout, x, w, mean, rstd], N, [C]);
      const { rows, R } = colChunks(N);
      if (R === 1) return ew(tf.layerNormBackwardDw, [dw, db, dout, x, mean, rstd], C, [N, b2u(db !== null)]);
      const pW = r.scratch('lnPartialW', R * C), pB = r.scratch('lnPartialB', R * C);
      ew(tf.layerNormDwPartial, [pW, pB, dout, x, mean, rstd], R * C, [C, N, rows]);
      ew(pw.colFinish, [dw, pW], C, [R]);
      if (db) ew(pw.colFinish, [db, pB], C, [R]);
    },
    geluForward(out: A, x: A, n: number) { ew(tf.geluForward, [out, x], n); },
    geluBackward(dx: A, dout: A, x: A, n: number) { ew(tf.geluBackward, [dx, dout, x], n); },
    dropout(out: A, x: A, n: number, p: number, seed: number) {
      const s = 1 / (1 - p), sHi = Math.fround(s);
      ew(tf.dropout, [out, x], n, [seed >>> 0, Math.floor(p * 0x100000000)], [sHi, s - sHi]);
    },
    attentionForward(y: A, lse: A, qkv: A, B: number, T: number, nh: number, hd: number, p: number, seed: number) {
      checkHd(hd);
      const rows = B * nh * T, ints = [T, nh, seed >>> 0, Math.floor(p * 0x100000000), b2u(p > 0)], ks = p > 0 ? 1 / (1 - p) : 1;
      const canVec = attentionVec4(hd, [qkv], [y, lse]);
      const run = ({ P, L, vec }: Parts, y: A, lse: A) => {
        const k = att.attentionKernels(hd, vec);
        if (P === 1) return ew(k.forward, [y, lse, qkv], rows, ints, [ks]);
        const pml = r.scratch('attPml', 2 * P * rows), pacc = r.scratch('attPacc', P * rows * hd);
        ew(k.forwardPart, [pml, pacc, qkv], P * rows, [...ints, rows, L]);
        ew(att.attentionMerge, [y, lse, pml, pacc], rows * hd, [rows, hd, P, T, nh, 1, 1], [ks]);
      };
      return withParts(r, 'fwd', rows, T, hd, canVec, (c) => run(c, r.scratch('tuneY', rows * hd), r.scratch('tuneLse', rows)),
        (c) => run(c, y, lse));
    },
    attentionBackward(dqkv: A, dy: A, y: A, lse: A, qkv: A, B: number, T: number, nh: number, hd: number, p: number, seed: number) {
      checkHd(hd);
      const rows = B * nh * T, D = r.scratch('attD', rows);
      const ints = [T, nh, seed >>> 0, Math.floor(p * 0x100000000), b2u(p > 0)], ks = [p > 0 ? 1 / (1 - p) : 1];
      const canVec = attentionVec4(hd, [qkv, dy], [dqkv, y, lse]);
      const run = ({ P, L, vec }: Parts, dqkv: A) => {
        const k = att.attentionKernels(hd, vec);
        if (P === 1) {
          ew(k.backwardQ, [dqkv, D, dy, y, lse, qkv], rows, ints, ks);
          return ew(k.backwardKV, [dqkv, D, dy, lse, qkv], rows, ints, ks);
        }
        const n = P * rows * hd, pq = r.scratch('attPq', n), pk = r.scratch('attPk', n), pv = r.scratch('attPv', n);
        ew(k.backwardQPart, [pq, D, dy, y, lse, qkv], P * rows, [...ints, rows, L], ks);
        ew(k.backwardKVPart, [pk, pv, D, dy, lse, qkv], P * rows, [...ints, rows, L], ks);
        ew(att.attentionBackwardMerge, [dqkv, pq, pk, pv], rows * hd, [rows, hd, P, T, nh]);
      };
      return withParts(r, 'bwd', rows, T, hd, canVec, (c) => run(c, r.scratch('tuneDqkv', 3 * rows * hd)), (c) => run(c, dqkv));
    },
    attentionDecode(y: A, q: A, qStride: number, kc: A, vc: A, pos: A, B: number, T: number, nh: number, hd: number, S: number) {
      checkHd(hd);
      const rows = B * T * nh, k = att.attentionKernels(hd, attentionVec4(hd, [kc, vc], [y, q, pos]));
      const { P, L } = attentionParts(rows, S, hd, DECODE_CHUNK, r);
      if (P === 1) return ew(k.decode, [y, q, kc, vc, pos], rows, [T, nh, S, qStride]);
      const pml = r.scratch('attPml', 2 * P * rows), pacc = r.scratch('attPacc', P * rows * hd);
      ew(k.decodePart, [pml, pacc, q, kc, vc, pos], P * rows, [T, nh, S, qStride, rows, L]);
      ew(att.attentionMerge, [y, null, pml, pacc], rows * hd, [rows, hd, P, T, nh, 0, 0], [1]);
    },
    kvCacheWrite(kc: A, vc: A, qkv: A, pos: A, B: number, T: number, C: number, S: number) {
      ew(att.kvCacheWrite, [kc, vc, qkv, pos], B * T * C, [T, C, S]);
    },
    fill(x: A, n: number, v: number) { ew(pw.fill, [x], n, [], [v]); },
    copy(dst: A, src: A, n: number) { ew(pw.copy, [dst, src], n); },
  };
}

export type GpuOps = ReturnType<typeof gpuOps>;
