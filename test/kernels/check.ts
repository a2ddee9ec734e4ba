// Helpers for the kernel suite: a seeded RNG, buffers that are deliberately subarray views (nonzero byteOffset,
// guarded by sentinels), and comparisons that print max abs / max rel diff and assert a stated tolerance.
import assert from 'node:assert/strict';
import type { BackendMemory } from '../../src/kernels/backend.js';
import { hostMemory } from '../../src/kernels/host-memory.js';

/** mulberry32: small deterministic RNG for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PAD = 5;            // floats before and after every view
const SENTINEL = 1234.5;
const guards: { base: Float32Array; n: number }[] = [];
const bases: (Float32Array | Int32Array)[] = [];
let mem: BackendMemory = hostMemory;

/**
 * Where the suite's buffers come from: the backend under test (a backend with its own memory, such as wasm, runs
 * only on buffers it allocated; ref runs on any). Its memory must be host-visible (read/write are not called).
 */
export function useMemory(m: BackendMemory): void { mem = m; }

/** A Float32Array view of n elements at byteOffset 4*PAD inside a larger buffer whose margins hold sentinels. */
export function view(n: number): Float32Array {
  const base = mem.alloc(n + 2 * PAD).fill(SENTINEL);
  guards.push({ base, n });
  bases.push(base);
  return base.subarray(PAD, PAD + n);
}

/** An Int32Array view of n elements at a nonzero byteOffset (ids, targets, positions). */
export function viewI32(n: number): Int32Array {
  const base = mem.allocI32(n + 2);
  bases.push(base);
  return base.subarray(1, n + 1);
}

/** A view filled with uniform values in [lo, hi). */
export function randView(n: number, r: () => number, lo = -1, hi = 1): Float32Array {
  const v = view(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * r();
  return v;
}

export function copyView(x: Float32Array): Float32Array {
  const v = view(x.length);
  v.set(x);
  return v;
}

/** Asserts no kernel wrote outside any view made since the last call (then forgets them). */
export function checkGuards(what: string): void {
  for (const { base, n } of guards) {
    for (let i = 0; i < PAD; i++) {
      assert.equal(base[i], SENTINEL, `${what}: wrote before a view`);
      assert.equal(base[PAD + n + i], SENTINEL, `${what}: wrote past a view`);
    }
  }
  guards.length = 0;
  for (const b of bases) mem.free?.(b);
  bases.length = 0;
}

export interface DiffStats { maxAbs: number; maxRel: number; worst: number }

/**
 * Compares got vs want elementwise with |got - want| <= tol * scale(i), scale(i) = 1 + |want| for elementwise
 * kernels or a caller-given scale (Σ|terms|) for reductions. Logs max abs and max rel diff; asserts.
 */
export function expectClose(label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number,
                            scale?: ArrayLike<number>): DiffStats {
  assert.equal(got.length, want.length, `${label}: length`);
  let maxAbs = 0, maxRel = 0, worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]) && Number.isNaN(got[i])) continue;   // NaN must propagate, and did
    const d = Math.abs(got[i] - want[i]);
    if (Number.isNaN(d)) maxAbs = Infinity;
    else if (d > maxAbs) maxAbs = d;
    const rel = d / Math.max(Math.abs(want[i]), 1e-30);
    if (rel > maxRel && Math.abs(want[i]) > 1e-6) maxRel = rel;
    const s = scale ? scale[i] : 1 + Math.abs(want[i]);
    const ratio = Number.isNaN(d) ? Infinity : d / (tol * s);
    if (ratio > worst) { worst = ratio; at = i; }
  }
  console.log(`  ${label}: max abs diff ${maxAbs.toExponential(2)}, max rel diff ${maxRel.toExponential(2)}` +
    ` (${(worst * 100).toFixed(1)}% of tolerance)`);
  assert.ok(worst <= 1, `${label}: diff ${at >= 0 ? Math.abs(got[at] - want[at]) : NaN} at ${at} ` +
    `(got ${at >= 0 ? got[at] : NaN}, want ${at >= 0 ? want[at] : NaN}) exceeds tolerance ${tol} x scale`);
  return { maxAbs, maxRel, worst };
}

/** Element (r,c) of op(X) where X is stored (rows,cols) or transposed. */
function at(X: Float32Array, r: number, c: number, ld: number, trans: boolean): number {
  return trans ? X[c * ld + r] : X[r * ld + c];
}

/**
 * float64 reference for sampled entries of C = op(A)op(B) (+ C0) and Σ|terms| per entry, the scale that bounds
 * fp32 rounding (|err| <= ~K·u·Σ|a_ik b_kj| in the worst case, far less in practice).
 */
export function exactEntries(A: Float32Array, B: Float32Array, C0: Float32Array | null, M: number, N: number,
                             K: number, tA: boolean, tB: boolean, idx: number[]): { want: number[]; scale: number[] } {
  const want: number[] = [], scale: number[] = [];
  const lda = tA ? M : K, ldb = tB ? K : N;
  for (const e of idx) {
    const i = Math.floor(e / N), j = e % N;
    let s = C0 ? C0[e] : 0, a = C0 ? Math.abs(C0[e]) : 0;
    for (let k = 0; k < K; k++) {
      const p = at(A, i, k, lda, tA) * at(B, k, j, ldb, tB);
      s += p; a += Math.abs(p);
    }
    want.push(s); scale.push(a);
  }
  return { want, scale };
}
