// Shared test helpers: max-abs-diff reporting and loading of the PyTorch golden fixtures.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_DATA = join(ROOT, '..', 'shared', 'data');

export interface GoldenTensor { name: string; shape: number[]; data: number[] }
export interface Golden {
  cell: 'lstm' | 'gru' | 'rnn'; V: number; E: number; H: number; L: number; B: number; T: number;
  params: GoldenTensor[]; x: number[]; y: number[]; logits: number[]; loss: number; grads: GoldenTensor[];
  h_n: number[]; c_n?: number[];
  with_state: { h0: number[]; c0?: number[]; logits: number[]; loss: number; h_n: number[]; c_n?: number[] };
  adam: GoldenOptim; adam_l2?: GoldenOptim; adamw: GoldenOptim;
}
export interface GoldenOptim { lr: number; betas: [number, number]; eps: number; weight_decay: number; losses: number[]; params_after: GoldenTensor[] }
/** The optimizer cases in the fixtures: Adam (wd 0), Adam with L2 weight decay (wd 0.5), AdamW (decoupled, wd 0.1). */
export const OPTIMIZER_CASES = ['adam', 'adam_l2', 'adamw'] as const;

export function loadGolden(cell: string): Golden {
  return JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', `golden_${cell}.json`), 'utf8')) as Golden;
}

/** Max |a-b| and max |a-b|/(|b|+1e-8) over two arrays of equal length. */
export function diffs(a: ArrayLike<number>, b: ArrayLike<number>): { abs: number; rel: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let abs = 0, rel = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    abs = Math.max(abs, d);
    rel = Math.max(rel, d / (Math.abs(b[i]) + 1e-8));
  }
  return { abs, rel };
}

/** (T,B,X) time-major → (B,T,X) batch-major. */
export function toBatchMajor(a: Float32Array, B: number, T: number, X: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) out.set(a.subarray((t * B + b) * X, (t * B + b + 1) * X), (b * T + t) * X);
  return out;
}

/**
 * Asserts |got - want| <= abs + rel·max|want| elementwise (a per-tensor bound: the relative part scales with the
 * tensor's largest magnitude, so tiny entries that fp32 summation order moves by an ulp of the big ones pass) and
 * prints the max abs diff next to the bound. Returns the max abs diff and the worst diff/bound ratio.
 */
export function expectWithin(label: string, got: ArrayLike<number>, want: ArrayLike<number>, abs: number, rel: number):
    { maxAbs: number; ratio: number } {
  if (got.length !== want.length) throw new Error(`${label}: length ${got.length} != ${want.length}`);
  let scale = 0, maxAbs = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  const bound = abs + rel * scale;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
  }
  console.log(`  ${label}: max abs diff ${maxAbs.toExponential(2)} <= tol ${bound.toExponential(2)} ` +
    `(${abs.toExponential(0)} abs + ${rel.toExponential(0)}·max|want| ${scale.toExponential(2)})`);
  if (!(maxAbs <= bound)) throw new Error(`${label}: max abs diff ${maxAbs} exceeds ${bound}`);
  return { maxAbs, ratio: maxAbs / bound };
}
