// Reference GEMM in plain TypeScript. Loops are ordered so the innermost loop walks contiguous memory
// (i-k-j for NN and TN, dot products for NT); it is the correctness twin of the native SGEMM.
import type { F32 } from '../backend.js';

export function matmul(C: F32, A: F32, B: F32, M: number, N: number, K: number,
                       transA: boolean, transB: boolean, accumulate: boolean): void {
  if (!accumulate) C.fill(0, 0, M * N);
  if (!transA && !transB) {
    // A(M,K) · B(K,N)
    for (let i = 0; i < M; i++) {
      const ci = i * N, ai = i * K;
      for (let k = 0; k < K; k++) {
        const a = A[ai + k];
        if (a === 0) continue;
        const bk = k * N;
        for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
      }
    }
  } else if (!transA && transB) {
    // A(M,K) · B(N,K)ᵀ : dot products. Blocked so 4 rows of B stay in L1 while a 64-row block of A (in L2) streams
    // past them; each weight row is then read once per 64 rows of A instead of once per row (batched sampling).
    for (let i0 = 0; i0 < M; i0 += 64) {
      const i1 = Math.min(M, i0 + 64);
      let j = 0;
      for (; j + 4 <= N; j += 4) {
        const b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
        for (let i = i0; i < i1; i++) {
          const ai = i * K, ci = i * N + j;
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let k = 0; k < K; k++) {
            const a = A[ai + k];
            s0 += a * B[b0 + k]; s1 += a * B[b1 + k]; s2 += a * B[b2 + k]; s3 += a * B[b3 + k];
          }
          C[ci] += s0; C[ci + 1] += s1; C[ci + 2] += s2; C[ci + 3] += s3;
        }
      }
      for (; j < N; j++) {
        const bj = j * K;
        for (let i = i0; i < i1; i++) {
          const ai = i * K;
          let s = 0;
          for (let k = 0; k < K; k++) s += A[ai + k] * B[bj + k];
          C[i * N + j] += s;
        }
      }
    }
  } else if (transA && !transB) {
    // A stored (K,M): Aᵀ · B(K,N) = Σ_k outer(A[k,:], B[k,:])
    for (let k = 0; k < K; k++) {
      const ak = k * M, bk = k * N;
      for (let i = 0; i < M; i++) {
        const a = A[ak + i];
        if (a === 0) continue;
        const ci = i * N;
        for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
      }
    }
  } else {
    // A stored (K,M), B stored (N,K)
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[k * M + i] * B[j * K + k];
        C[i * N + j] += s;
      }
    }
  }
}
