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
  adam: { lr: number; betas: [number, number]; eps: number; weight_decay: number; losses: number[]; params_after: GoldenTensor[] };
  adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number; losses: number[]; params_after: GoldenTensor[] };
}

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
