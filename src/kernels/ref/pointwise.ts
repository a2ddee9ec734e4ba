// Reference pointwise kernels: bias rows, embedding gather/scatter, tanh, elementwise helpers, norms.
import type { F32, I32 } from '../backend.js';

export function addRowVector(Y: F32, b: F32, M: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const o = i * N;
    for (let j = 0; j < N; j++) Y[o + j] += b[j];
  }
}

export function sumRows(db: F32, dY: F32, M: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const o = i * N;
    for (let j = 0; j < N; j++) db[j] += dY[o + j];
  }
}

export function embeddingForward(out: F32, table: F32, ids: I32, N: number, E: number): void {
  for (let n = 0; n < N; n++) {
    const src = ids[n] * E;
    out.set(table.subarray(src, src + E), n * E);
  }
}

export function embeddingBackward(dTable: F32, dOut: F32, ids: I32, N: number, E: number): void {
  for (let n = 0; n < N; n++) {
    const d = ids[n] * E, s = n * E;
    for (let e = 0; e < E; e++) dTable[d + e] += dOut[s + e];
  }
}

export function tanhForward(h: F32, pre: F32, n: number): void {
  for (let i = 0; i < n; i++) h[i] = Math.tanh(pre[i]);
}

export function tanhBackward(dPre: F32, dh: F32, h: F32, n: number): void {
  for (let i = 0; i < n; i++) dPre[i] = dh[i] * (1 - h[i] * h[i]);
}

export function sumSquares(x: F32, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}

export function scale(x: F32, n: number, s: number): void {
  for (let i = 0; i < n; i++) x[i] *= s;
}

export function mul(out: F32, a: F32, b: F32, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
}
