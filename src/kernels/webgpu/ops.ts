// The Backend's kernels as GPU encoders: the same names and argument order as Backend, with every buffer argument
// resolved to (GPUBuffer, element offset). Shared by the Node worker (worker.ts) and the browser. Kernels that
// return a number (the loss, Σx²) reduce on the GPU and read back one float.
/// <reference types="@webgpu/types" />
import { grid, type GpuArg, type GpuRunner } from './runner.js';
import { matmul, matmul128, splitKFinish } from './wgsl/matmul.js';
import * as pw from './wgsl/pointwise.js';
import * as cells from './wgsl/cells.js';
import { adam, softmaxXentRows } from './wgsl/loss-optim.js';
import * as tf from './wgsl/transformer.js';

type A = GpuArg;
const b2u = (b: boolean) => (b ? 1 : 0);

async function readScalar(r: GpuRunner, a: GpuArg): Promise<number> {
  return new Float32Array(await r.download(a.buf, a.off * 4, 4))[0];
}

function checkHd(hd: number): void {
  if (hd > tf.MAX_HD) throw new Error(`webgpu attention: head size ${hd} > ${tf.MAX_HD} is not supported`);
}

/**
 * The SGEMM kernels, by tile. ops.matmul takes the 128×128 tile (8×8 outputs per thread) when C has at least 128 rows
 * and 128 columns, else the 64×64 tile (4×4 per thread), which leaves fewer idle threads on small products and makes
 * 4× more workgroups for a product with few rows (the recurrent step's 64 × 4H). On SwiftShader the 128 tile ran the
 * large products 2.7-2.9× faster (docs/performance.md); on a GPU both are timed by bench/gpu/webgpu-gemm.mjs.
 */
export const MATMUL_TILES = { 64: matmul, 128: matmul128 } as const;

/**
 * Slices of K for a 64-tile product with few tiles and a long K: the LSTM backward's dh = dG·W (64 × H from K = 4H)
 * is 8 tiles for H = 512, 8 workgroups each walking K = 2,048 on a GPU of 100+ cores. Split into S slices of at
 * least 256, it is 8·S workgroups, then one elementwise pass sums the slices in order. 1 = no split.
 */
export function splitK(M: number, N: number, K: number): number {
  const tiles = Math.ceil(M / 64) * Math.ceil(N / 64);
  if (tiles >= 64 || K < 512) return 1;
  return Math.max(1, Math.min(8, Math.floor(K / 256), Math.ceil(128 / tiles)));
}

/** C (+)= op(A)·op(B) with one SGEMM kernel, one workgroup per tile of C (and per K slice: `slices`, 64 tile only). */
export function dispatchMatmul(r: GpuRunner, tile: keyof typeof MATMUL_TILES, C: GpuArg, Am: GpuArg, B: GpuArg, M: number,
                               N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean, slices = 1): void {
  if (M === 0 || N === 0) return;
  const groups: [number, number, number] = [Math.ceil(N / tile), Math.ceil(M / tile), 1];
  const ints = [M, N, K, b2u(transA), b2u(transB), b2u(accumulate)];
  if (tile === 128) return r.dispatch(matmul128, [C, Am, B], ints, [], groups);
  if (slices <= 1) return r.dispatch(matmul, [C, Am, B], [...ints, K], [], groups);
  const kLen = Math.ceil(K / slices / 16) * 16, S = Math.ceil(K / kLen);
  const part = r.scratch('splitK', S * M * N);
  r.dispatch(matmul, [part, Am, B], [M, N, K, b2u(transA), b2u(transB), 0, kLen], [], [groups[0], groups[1], S]);
  r.dispatch(splitKFinish, [C, part], [M * N, S, b2u(accumulate)], [], grid(M * N));
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

export function gpuOps(r: GpuRunner) {
  const ew = (def: Parameters<GpuRunner['dispatch']>[0], args: (A | null)[], n: number, ints: number[] = [], floats: number[] = []) => {
    if (n > 0) r.dispatch(def, args, [n, ...ints], floats, grid(n));
  };
  return {
    matmul(C: A, Am: A, B: A, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean) {
      if (M >= 128 && N >= 128) dispatchMatmul(r, 128, C, Am, B, M, N, K, transA, transB, accumulate);
      else dispatchMatmul(r, 64, C, Am, B, M, N, K, transA, transB, accumulate, splitK(M, N, K));
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
    embeddingBackward(dT: A, dOut: A, ids: A, N: number, E: number) { ew(pw.embeddingBackward, [dT, dOut, ids], E, [N]); },
    lstmCellForward(h: A, c: A, tanhC: A, gates: A, cPrev: A, B: number, H: number) {
      ew(cells.lstmCellForward, [h, c, tanhC, gates, cPrev], B * H, [H]);
    },
    lstmCellBackward(dG: A, dcPrev: A, dh: A, dc: A, gates: A, cPrev: A, tanhC: A, B: number, H: number) {
      ew(cells.lstmCellBackward, [dG, dcPrev, dh, dc, gates, cPrev, tanhC], B * H, [H]);
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
      ew(tf.layerNormForward, [out, mean, rstd, x, w, b], N, [C, b2u(b !== null)], [eps]);
    },
    layerNormBackward(dx: A, dw: A, db: A | null, dout: A, x: A, w: A, mean: A, rstd: A, N: number, C: number) {
      ew(tf.layerNormBackwardDx, [dx, dout, x, w, mean, rstd], N, [C]);
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
      ew(tf.attentionForward, [y, lse, qkv], B * nh * T, [T, nh, hd, seed >>> 0, Math.floor(p * 0x100000000), b2u(p > 0)],
        [p > 0 ? 1 / (1 - p) : 1]);
    },
    attentionBackward(dqkv: A, dy: A, y: A, lse: A, qkv: A, B: number, T: number, nh: number, hd: number, p: number, seed: number) {
      checkHd(hd);
      const D = r.scratch('attD', B * nh * T);
      const ints = [T, nh, hd, seed >>> 0, Math.floor(p * 0x100000000), b2u(p > 0)], ks = [p > 0 ? 1 / (1 - p) : 1];
      ew(tf.attentionBackwardQ, [dqkv, D, dy, y, lse, qkv], B * nh * T, ints, ks);
      ew(tf.attentionBackwardKV, [dqkv, D, dy, lse, qkv], B * nh * T, ints, ks);
    },
    attentionDecode(y: A, q: A, qStride: number, kc: A, vc: A, pos: A, B: number, T: number, nh: number, hd: number, S: number) {
      checkHd(hd);
      ew(tf.attentionDecode, [y, q, kc, vc, pos], B * T * nh, [T, nh, hd, S, qStride]);
    },
    fill(x: A, n: number, v: number) { ew(pw.fill, [x], n, [], [v]); },
    copy(dst: A, src: A, n: number) { ew(pw.copy, [dst, src], n); },
  };
}

export type GpuOps = ReturnType<typeof gpuOps>;
