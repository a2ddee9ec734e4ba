// Reference twin of the native `bf16` precision: refBackend whose matmul first rounds A and B to bfloat16
// (round-to-nearest-even, kept in float32: every bf16 value is exact in fp32) and then runs the fp32 ref GEMM.
// Products of bf16 values are exact in fp32, so this matches native bf16 up to fp32 summation order.
import type { Backend, F32 } from '../backend.js';
import { refBackend } from './index.js';
import { matmul } from './matmul.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** x rounded to the nearest bfloat16 (ties to even); NaN stays NaN. */
export function bf16Round(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) { u32[0] = (u | 0x400000) & 0xffff0000; return f32[0]; }
  u32[0] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 0) & 0xffff0000;
  return f32[0];
}

/** dst[0..n) = bf16Round(src[0..n)). */
export function roundToBf16(dst: F32, src: F32, n: number): void {
  for (let i = 0; i < n; i++) dst[i] = bf16Round(src[i]);
}

/**
 * refBackend with bf16 GEMM inputs. Each backend owns two scratch buffers (grown on demand, reused across calls)
 * that hold the rounded copies of A and B, so the caller's inputs are never modified.
 */
export function createRefBf16Backend(): Backend {
  let sa = new Float32Array(0), sb = new Float32Array(0);
  return {
    ...refBackend,
    name: 'ref-bf16',
    matmul(C, A, B, M, N, K, transA, transB, accumulate) {
      if (sa.length < M * K) sa = new Float32Array(M * K);
      if (sb.length < K * N) sb = new Float32Array(K * N);
      roundToBf16(sa, A, M * K);
      roundToBf16(sb, B, K * N);
      matmul(C, sa, sb, M, N, K, transA, transB, accumulate);
    },
  };
}
