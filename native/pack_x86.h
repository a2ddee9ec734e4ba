// GEMM panel packing with AVX2 8x8 transposes, shared by the AVX2 and AVX-512 translation units (included INSIDE
// their namespaces; needs <immintrin.h> and -mavx2). Same contract as the generic packF32 in gemm.cc:
// rows [0,cnt) × k [0,kc) of X(r,k) = src[r*rs + k*cs] into R-row panels dst[panel*R*kc + k*R + r], zero-padded.
// Any R; the vector paths cover whole groups of 8 (AVX2's MR=6 panels take the scalar tails).

static inline void transpose8x8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5,
                                __m256& r6, __m256& r7) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20); r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20); r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31); r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31); r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
}

static void packPanels(float* dst, const float* src, long rs, long cs, long cnt, long kc, int R) {
  long p0 = 0;
  if (cs != 1) {                                     // contiguous along r: whole panels stream each k-row once
    p0 = cnt / R * R;
    for (long k = 0; k < kc; k++) {
      const float* sk = src + k * cs;
      for (long p = 0; p < p0; p += R) {
        float* dk = dst + p * kc + k * R;
        long r = 0;
        for (; r + 8 <= R; r += 8) _mm256_storeu_ps(dk + r, _mm256_loadu_ps(sk + p + r));
        for (; r < R; r++) dk[r] = sk[p + r];
      }
    }
  }
  for (long p = p0; p < cnt; p += R) {
    const long rr = cnt - p < R ? cnt - p : R;
    float* d = dst + p * kc;
    const float* s = src + p * rs;
    if (cs == 1) {                                   // contiguous along k: transpose 8 rows x 8 k at a time
      long g = 0;
      for (; g + 8 <= rr; g += 8) {
        const float* s0 = s + g * rs;
        long k = 0;
        for (; k + 8 <= kc; k += 8) {
          __m256 r0 = _mm256_loadu_ps(s0 + k), r1 = _mm256_loadu_ps(s0 + rs + k);
          __m256 r2 = _mm256_loadu_ps(s0 + 2 * rs + k), r3 = _mm256_loadu_ps(s0 + 3 * rs + k);
          __m256 r4 = _mm256_loadu_ps(s0 + 4 * rs + k), r5 = _mm256_loadu_ps(s0 + 5 * rs + k);
          __m256 r6 = _mm256_loadu_ps(s0 + 6 * rs + k), r7 = _mm256_loadu_ps(s0 + 7 * rs + k);
          transpose8x8(r0, r1, r2, r3, r4, r5, r6, r7);
          float* dk = d + k * R + g;
          _mm256_storeu_ps(dk, r0); _mm256_storeu_ps(dk + R, r1); _mm256_storeu_ps(dk + 2 * R, r2);
          _mm256_storeu_ps(dk + 3 * R, r3); _mm256_storeu_ps(dk + 4 * R, r4); _mm256_storeu_ps(dk + 5 * R, r5);
          _mm256_storeu_ps(dk + 6 * R, r6); _mm256_storeu_ps(dk + 7 * R, r7);
        }
        for (; k < kc; k++) for (int i = 0; i < 8; i++) d[k * R + g + i] = s0[i * rs + k];
      }
      for (long r = g; r < R; r++)                   // leftover rows (< 8) and zero padding
        for (long k = 0; k < kc; k++) d[k * R + r] = r < rr ? s[r * rs + k] : 0.0f;
    } else {                                         // contiguous along r: copy R floats per k
      for (long k = 0; k < kc; k++) {
        const float* sk = s + k * cs;
        float* dk = d + k * R;
        long r = 0;
        for (; r + 8 <= rr; r += 8) _mm256_storeu_ps(dk + r, _mm256_loadu_ps(sk + r));
        for (; r < rr; r++) dk[r] = sk[r];
        for (; r < R; r++) dk[r] = 0.0f;
      }
    }
  }
}
