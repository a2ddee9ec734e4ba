// Kernels chosen by timing them on the GPU at hand. The first SGEMM of each shape times every candidate (tile,
// unrolled or vector form, K slices) on its own operands (into C itself, or scratch where it adds into C), by the
// GPU's clock where the device has one, and the fastest runs that shape from then on;
// the GPT's attention likewise times the ranges its walks are cut into (ops.ts attentionParts), forward and backward.
// The choices persist per adapter and kernel set (GpuTuneStore: a cache file in Node), so a later run (a resumed one
// included) makes the same choices without timing again. Browser-safe (no node: import).
/// <reference types="@webgpu/types" />
import type { GpuArg, GpuRunner } from './runner.js';
import { chooseMatmul, dispatchMatmul, MATMUL_KERNELS, vec4Ok, type MatmulKernel } from './ops.js';
import { forLayout } from './wgsl/matmul.js';
import { attentionKernels } from './wgsl/attention.js';

export interface MatmulChoice { kernel: MatmulKernel; slices: number }
/** Attention's walks in P ranges of L rows (P = 1: whole walks), rows read 4 floats per load or not (vec). */
export interface PartsChoice { P: number; L: number; vec: boolean }
/**
 * A timed choice as stored, with its time per call (µs) and the rule's: an SGEMM's kernel and K slices (keys from
 * shapeKey), or attention's ranges (keys from attentionKey).
 */
export type TunedEntry = { us: number; ruleUs: number } & (MatmulChoice | PartsChoice);

/** Where choices persist between runs: one table of shape → entry per adapter and kernel set (`key`). */
export interface GpuTuneStore {
  load(key: string): Record<string, TunedEntry>;
  save(key: string, table: Record<string, TunedEntry>): void;
}

/** Time per candidate and measurement (ms): enough repetitions to dwarf a readback's latency. */
const TARGET_MS = 2, MAX_REPS = 64, ROUNDS = 2;
/** A candidate replaces the rule's choice only when it is this much faster (timings vary a few % between rounds). */
const MARGIN = 0.95;
/**
 * Products the rule decides without timing: those under MIN_FLOP (a few µs on a GPU, where launch cost dominates any
 * kernel: sampling's one-row products, which `serve` makes at every batch size it meets), and those that add into C
 * (which the timing runs must then leave alone) whose scratch output, M·N floats, would exceed MAX_SCRATCH. A product
 * that overwrites C is timed into C itself: the product about to be made writes it afterwards, so the largest
 * products (the seed's input projection, 6400×2048, was over the cap, and ran the rule's kernel at 70% of the fastest
 * one's speed on an H200) are timed too, with no scratch held for them.
 */
const MAX_SCRATCH = 1 << 24;
export const MIN_FLOP = 1 << 24;

/**
 * FNV-1a of the timed kernels' WGSL (every SGEMM in every layout; the attention kernels as generated for head size
 * 32): stored choices are dropped when any of them changes.
 */
export function kernelSetKey(): string {
  const texts: string[] = [];
  for (const [name, k] of Object.entries(MATMUL_KERNELS)) {
    for (const tA of [false, true]) for (const tB of [false, true]) texts.push(name, forLayout(k.def, tA, tB).body);
  }
  for (const vec of [false, true]) for (const k of Object.values(attentionKernels(32, vec))) texts.push(k.body);
  let h = 0x811c9dc5;
  for (const s of texts) for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * Every kernel and K-slice count worth timing for a product (the 128 tile only where C has 128 rows and columns; the
 * vec4 kernel only where the views are aligned for it: `aligned`, ops.ts vec4Ok). The 64 tiles are split in 2-16
 * slices of ≥ 64 under 128 tiles, and in 2 or 4 slices of ≥ 256 from 128 to 255 tiles: one or two workgroups per SM
 * on a 132-SM GPU, where the seed's weight gradient (2048×256 from K 6,400, 128 tiles) ran 3× faster in 4 slices
 * than whole on an H200 (`m64`, run 9). Partial sums then take at most 4 · 255 · 64² floats (16 MiB).
 */
export function matmulCandidates(M: number, N: number, K: number, aligned = false): MatmulChoice[] {
  const out: MatmulChoice[] = [];
  const tiles64 = Math.ceil(M / 64) * Math.ceil(N / 64);
  const slices = tiles64 < 128 ? [2, 4, 8, 16].filter((s) => K / s >= 64) : tiles64 < 256 ? [2, 4].filter((s) => K / s >= 256) : [];
  for (const [kernel, k] of Object.entries(MATMUL_KERNELS) as [MatmulKernel, (typeof MATMUL_KERNELS)[MatmulKernel]][]) {
    if ((k.tile === 128 && (M < 128 || N < 128)) || (k.vec4 && !aligned)) continue;
    out.push({ kernel, slices: 1 });
    if (k.split) for (const s of slices) out.push({ kernel, slices: s });
  }
  return out;
}

export const shapeKey = (M: number, N: number, K: number, tA: boolean, tB: boolean) =>
  `${M}x${N}x${K}${tA ? 't' : 'n'}${tB ? 't' : 'n'}`;

const validEntry = (key: string, e: unknown): e is TunedEntry => {
  const x = e as TunedEntry & Partial<MatmulChoice & PartsChoice>;
  if (!x || typeof x !== 'object' || !Number.isFinite(x.us) || !Number.isFinite(x.ruleUs)) return false;
  if (key.startsWith('att-')) {
    const T = Number(key.split('x')[1]);
    return Number.isInteger(x.P) && Number.isInteger(x.L) && x.P! >= 1 && x.L! >= 1 && (x.P! - 1) * x.L! < T && x.P! * x.L! >= T &&
      typeof x.vec === 'boolean';
  }
  return Object.hasOwn(MATMUL_KERNELS, x.kernel!) && Number.isInteger(x.slices) &&
    x.slices! >= 1 && x.slices! <= 16 && (x.slices === 1 || MATMUL_KERNELS[x.kernel!].split);
};

export class MatmulTuner {
  private table: Record<string, TunedEntry> = {};
  private readonly key: string;
  /** Shapes timed here and shapes taken from the store, and the milliseconds spent timing. */
  readonly counts = { tuned: 0, loaded: 0, tuneMs: 0 };

  /**
   * `minFlop`: calls under this many flops keep the rule (0: time every shape, CHARLM_WEBGPU_TUNE=all, which the
   * SwiftShader tests use on their small models).
   */
  constructor(private readonly r: GpuRunner, adapterName: string, private readonly store?: GpuTuneStore,
              readonly minFlop = MIN_FLOP) {
    // (choices timed by the GPU's clock and by the wall clock are kept apart: they can differ on small products)
    this.key = `${adapterName}|${kernelSetKey()}|${r.hasGpuClock ? 'gpu' : 'wall'} clock`;
    try {
      for (const [k, e] of Object.entries(store?.load(this.key) ?? {})) if (validEntry(k, e)) this.table[k] = e;
    } catch { /* a cache that cannot be read is an empty one */ }
    this.counts.loaded = Object.keys(this.table).length;
  }

  /**
   * The kernel for this product: known (stored or timed before), else a promise that times the candidates.
   * `accumulate`: the product adds into C (C's contents are read), so the candidates are timed into scratch.
   */
  choose(Cv: GpuArg, A: GpuArg, B: GpuArg, M: number, N: number, K: number, tA: boolean, tB: boolean,
         accumulate: boolean): MatmulChoice | Promise<MatmulChoice> {
    const key = shapeKey(M, N, K, tA, tB), e = this.table[key];
    if (e) return e as MatmulChoice;
    const rule = chooseMatmul(M, N, K, this.r.fallback, tA);
    if ((accumulate && M * N > MAX_SCRATCH) || 2 * M * N * K < this.minFlop) return rule;
    // (a scratch output stands in for C: aligned, as every scratch view is, when C is. The K-split candidates' partial
    // sums go to the split's own scratch, S·M·N floats: at most 16 · 127 · 64² (32 MiB) or 4 · 255 · 64² floats
    // (16 MiB), matmulCandidates.)
    const C = accumulate ? this.r.scratch('tuneC', M * N) : Cv, same = (a: MatmulChoice, b: MatmulChoice) => a.kernel === b.kernel && a.slices === b.slices;
    const cands = matmulCandidates(M, N, K, vec4Ok(Cv, A, B, M, N, K, tA, tB));
    if (!cands.some((c) => same(c, rule))) cands.unshift(rule);
    return this.time(key, cands, cands.findIndex((c) => same(c, rule)),
      (c) => dispatchMatmul(this.r, c.kernel, C, A, B, M, N, K, tA, tB, false, c.slices));
  }

  /**
   * Attention's ranges for a walk: known, else a promise that times `cands` (the rule's among them), each run by
   * `run` into scratch. `cands[0]` must be the rule's choice.
   */
  chooseParts(key: string, cands: PartsChoice[], run: (c: PartsChoice) => void): PartsChoice | Promise<PartsChoice> {
    const e = this.table[key];
    if (e) return e as PartsChoice;
    return cands.length === 1 ? cands[0] : this.time(key, cands, 0, run);
  }

  /** All stored and timed choices (for reports). */
  entries(): Record<string, TunedEntry> { return { ...this.table }; }

  /** Times every candidate (alternating, the best of ROUNDS) and keeps the fastest, the rule's unless beaten by MARGIN. */
  private async time<C extends MatmulChoice | PartsChoice>(key: string, cands: C[], ri: number, dispatch: (c: C) => void): Promise<C> {
    this.r.unprofiled++;
    try { return await this.timeAll(key, cands, ri, dispatch); } finally { this.r.unprofiled--; }
  }

  private async timeAll<C extends MatmulChoice | PartsChoice>(key: string, cands: C[], ri: number, dispatch: (c: C) => void): Promise<C> {
    const t0 = performance.now(), r = this.r;
    const fence = () => r.download(r.scratch('sync', 1).buf, 0, 4);
    // By the GPU's clock where the device has exact timestamps (Node): the kernels' own time. The wall clock (a
    // browser) also counts the host's recording of each dispatch, which is overlapped with the GPU in training but not
    // here: on an H200 the wall-clock times of one small product (the seed's recurrent step, ~15-40 µs on the GPU)
    // came out at 50-60 µs, and its K split (2 dispatches) won in one run and lost in the next, 370k against 254k
    // chars/s of training.
    const run = async (c: C, reps: number) => {
      const many = () => { for (let i = 0; i < reps; i++) dispatch(c); };
      if (r.hasGpuClock) return (await r.gpuTime(many)) / reps;
      await fence();
      const s = performance.now();
      many();
      await fence();
      return (performance.now() - s) / reps;
    };
    // Each candidate's pipeline is compiled and run once inside error scopes: one that a driver refuses (a shader it
    // cannot compile) drops out here instead of failing the run later. Then the repetitions are sized from one timed call.
    const reps: number[] = [], works: boolean[] = [];
    for (const c of cands) {
      r.device.pushErrorScope('validation');
      r.device.pushErrorScope('internal');
      await fence();
      dispatch(c);
      r.flush();
      const errors = await Promise.all([r.device.popErrorScope(), r.device.popErrorScope()]);
      works.push(errors.every((e) => e === null));
      reps.push(works.at(-1) ? Math.max(1, Math.min(MAX_REPS, Math.ceil(TARGET_MS / Math.max(1e-3, await run(c, 1))))) : 0);
    }
    if (!works[ri]) throw new Error(`webgpu: the rule's kernel for ${key} failed on this device`);
    const best = cands.map(() => Infinity);
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < cands.length; i++) if (works[i]) best[i] = Math.min(best[i], await run(cands[i], reps[i]));
    }
    let pick = ri;
    for (let i = 0; i < cands.length; i++) if (best[i] < best[pick] && best[i] < MARGIN * best[ri]) pick = i;
    const entry = { ...cands[pick], us: Math.round(best[pick] * 1e4) / 10, ruleUs: Math.round(best[ri] * 1e4) / 10 };
    this.table[key] = entry;
    this.counts.tuned++;
    this.counts.tuneMs += performance.now() - t0;
    try { this.store?.save(this.key, this.table); } catch { /* the choice still holds for this run */ }
    return cands[pick];
  }
}
