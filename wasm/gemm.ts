// AssemblyScript: the wasm backend's GEMM, C(M,N) (+)= op(A)·op(B) over 128-bit SIMD. GotoBLAS-style: B is packed
// into 8-column panels (KC×8 each) and A into 4-row panels (KC×4), so all four transposes share one register-
// blocked 4×8 micro-kernel (8 accumulators, 2 B vectors, 1 broadcast A: 11 of the 16 registers V8 has on x64).
// Small M (generation, M ≤ 3) skips packing: NT is dot products over rows of B, NN is axpy over rows of B.
// The FMA is relaxed-SIMD's f32x4.relaxed_madd when the build enables it, else mul + add (build-wasm.mjs).
// Pointers are byte offsets into the imported memory; `scratch` holds the packed panels (caller-sized).


const MR: i32 = 4;
const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 64;

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** Element (i,j) of op(X) where X is stored row-major with `ld` floats per row. */
@inline function at(x: usize, trans: bool, ld: i32, i: i32, j: i32): f32 {
  return trans ? load<f32>(x + ((<usize>j * ld + i) << 2)) : load<f32>(x + ((<usize>i * ld + j) << 2));
}

/**
 * Transposes 4 rows × kc columns (row stride ld floats) into kc groups of 4 at dst (group stride `step` bytes):
 * dst[k·step + r] = src[r·ld + k]. 4×4 blocks by shuffles, the kc % 4 tail scalar.
 */
@inline function transpose4(dst: usize, step: usize, src: usize, ld: i32, kc: i32): void {
  const rs = <usize>ld << 2;
  let k = 0;
  for (; k + 4 <= kc; k += 4) {
    const s = src + (<usize>k << 2);
    const r0 = v128.load(s), r1 = v128.load(s + rs), r2 = v128.load(s + 2 * rs), r3 = v128.load(s + 3 * rs);
    const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
    const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
    const d = dst + <usize>k * step;
    v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
    v128.store(d + step, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
    v128.store(d + 2 * step, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
    v128.store(d + 3 * step, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
  }
  for (; k < kc; k++) {
    const d = dst + <usize>k * step, s = src + (<usize>k << 2);
    for (let r = 0; r < 4; r++) store<f32>(d + (<usize>r << 2), load<f32>(s + <usize>r * rs));
  }
}

/** Packs op(B)[k0..k0+kc, 0..N) into panels of NR columns: panel p at bp + p·kc·NR floats, zero-padded. */
function packB(bp: usize, b: usize, transB: bool, N: i32, K: i32, k0: i32, kc: i32): void {
  const ld = transB ? K : N;
  for (let j0 = 0; j0 < N; j0 += NR) {
    const nr = min(NR, N - j0);
    let dst = bp + ((<usize>j0 * kc) << 2);
    if (transB && nr == NR) { // B stored (N,K): rows j0..j0+7 from column k0, transposed in two halves
      const src = b + ((<usize>j0 * ld + k0) << 2);
      transpose4(dst, NR << 2, src, ld, kc);
      transpose4(dst + 16, NR << 2, src + ((<usize>4 * ld) << 2), ld, kc);
    } else if (!transB && nr == NR) {
      for (let k = 0; k < kc; k++) {
        const src = b + ((<usize>(k0 + k) * ld + j0) << 2);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += NR << 2;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let j = 0; j < NR; j++) store<f32>(dst + (j << 2), j < nr ? at(b, transB, ld, k0 + k, j0 + j) : 0);
        dst += NR << 2;
      }
    }
  }
}

/** Packs op(A)[i0..i0+mc, k0..k0+kc) into panels of MR rows: panel p at ap + p·kc·MR floats, zero-padded. */
function packA(ap: usize, a: usize, transA: bool, M: i32, K: i32, i0: i32, mc: i32, k0: i32, kc: i32): void {
  const ld = transA ? M : K;
  for (let r0 = 0; r0 < mc; r0 += MR) {
    const mr = min(MR, mc - r0);
    let dst = ap + ((<usize>r0 * kc) << 2);
    if (!transA && mr == MR) { // A stored (M,K): rows i0+r0.. from column k0, transposed
      transpose4(dst, MR << 2, a + ((<usize>(i0 + r0) * ld + k0) << 2), ld, kc);
    } else if (transA && mr == MR) {
      for (let k = 0; k < kc; k++) {
        v128.store(dst, v128.load(a + ((<usize>(k0 + k) * ld + i0 + r0) << 2)));
        dst += MR << 2;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let r = 0; r < MR; r++) store<f32>(dst + (r << 2), r < mr ? at(a, transA, ld, i0 + r0 + r, k0 + k) : 0);
        dst += MR << 2;
      }
    }
  }
}

/** C[0..mr, 0..nr) += Ap(kc×4) · Bp(kc×8); ldc in floats. */
function micro(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, mr: i32, nr: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    ap += MR << 2; bp += NR << 2;
  }
  const rs = <usize>ldc << 2;
  if (mr == MR && nr == NR) {
    v128.store(c, f32x4.add(v128.load(c), c00)); v128.store(c, f32x4.add(v128.load(c, 16), c01), 16); c += rs;
    v128.store(c, f32x4.add(v128.load(c), c10)); v128.store(c, f32x4.add(v128.load(c, 16), c11), 16); c += rs;
    v128.store(c, f32x4.add(v128.load(c), c20)); v128.store(c, f32x4.add(v128.load(c, 16), c21), 16); c += rs;
    v128.store(c, f32x4.add(v128.load(c), c30)); v128.store(c, f32x4.add(v128.load(c, 16), c31), 16);
    return;
  }
  // Edge tile: spill the accumulators to a stack tile and add the valid part.
  const t = memory.data(MR * NR * 4, 16);
  v128.store(t, c00, 0); v128.store(t, c01, 16); v128.store(t, c10, 32); v128.store(t, c11, 48);
  v128.store(t, c20, 64); v128.store(t, c21, 80); v128.store(t, c30, 96); v128.store(t, c31, 112);
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nr; j++) {
      const p = c + <usize>r * rs + (j << 2);
      store<f32>(p, load<f32>(p) + load<f32>(t + ((r * NR + j) << 2)));
    }
  }
}

/** Σ_k x[k]·y[k] over n contiguous floats (4 lanes × 2 accumulators, scalar tail). */
@inline export function dot(x: usize, y: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let k = 0;
  for (; k + 8 <= n; k += 8) {
    s0 = madd(v128.load(x), v128.load(y), s0);
    s1 = madd(v128.load(x, 16), v128.load(y, 16), s1);
    x += 32; y += 32;
  }
  const s = f32x4.add(s0, s1);
  let r = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; k < n; k++) { r += load<f32>(x) * load<f32>(y); x += 4; y += 4; }
  return r;
}

/** y[0..n) += a·x[0..n). */
@inline function axpy(y: usize, a: f32, x: usize, n: i32): void {
  const av = f32x4.splat(a);
  let j = 0;
  for (; j + 4 <= n; j += 4) { v128.store(y, madd(av, v128.load(x), v128.load(y))); x += 16; y += 16; }
  for (; j < n; j++) { store<f32>(y, load<f32>(y) + a * load<f32>(x)); x += 4; y += 4; }
}

/** Floats of scratch matmul needs for these dimensions. */
export function matmulScratch(M: i32, N: i32, K: i32): i32 {
  const kc = min(KC, K);
  return kc * ((N + NR - 1) / NR) * NR + kc * MC;
}

export function matmul(c: usize, a: usize, b: usize, M: i32, N: i32, K: i32, transA: i32, transB: i32, accumulate: i32,
                       scratch: usize): void {
  if (!accumulate) memory.fill(c, 0, (<usize>M * N) << 2);
  if (M == 0 || N == 0 || K == 0) return;
  if (M <= 3 && !transA) {
    if (transB) { // C[i,j] += A[i,:]·B[j,:]
      for (let i = 0; i < M; i++) {
        const ai = a + ((<usize>i * K) << 2), ci = c + ((<usize>i * N) << 2);
        for (let j = 0; j < N; j++) {
          const p = ci + (j << 2);
          store<f32>(p, load<f32>(p) + dot(ai, b + ((<usize>j * K) << 2), K));
        }
      }
    } else { // C[i,:] += Σ_k A[i,k]·B[k,:]
      for (let i = 0; i < M; i++) {
        const ai = a + ((<usize>i * K) << 2), ci = c + ((<usize>i * N) << 2);
        for (let k = 0; k < K; k++) {
          const av = load<f32>(ai + (k << 2));
          if (av != 0) axpy(ci, av, b + ((<usize>k * N) << 2), N);
        }
      }
    }
    return;
  }
  const tA = transA != 0, tB = transB != 0;
  const kcMax = min(KC, K);
  const bp = scratch, ap = scratch + ((<usize>kcMax * (((N + NR - 1) / NR) * NR)) << 2);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    packB(bp, b, tB, N, K, k0, kc);
    for (let i0 = 0; i0 < M; i0 += MC) {
      const mc = min(MC, M - i0);
      packA(ap, a, tA, M, K, i0, mc, k0, kc);
      for (let j0 = 0; j0 < N; j0 += NR) {
        const nr = min(NR, N - j0), bpj = bp + ((<usize>j0 * kc) << 2);
        for (let r0 = 0; r0 < mc; r0 += MR) {
          micro(kc, ap + ((<usize>r0 * kc) << 2), bpj, c + ((<usize>(i0 + r0) * N + j0) << 2), N, min(MR, mc - r0), nr);
        }
      }
    }
  }
}
