// AVX-512 kernels (F/BW/VL/DQ + FMA): 16-wide pointwise code, an MRx32 intrinsic SGEMM micro-kernel
// (2*MR zmm accumulators, A broadcast from the packed panel) and, when the CPU has AVX512_BF16, a vdpbf16ps
// micro-kernel over bf16 k-pairs. Compiled with the -mavx512* flags from binding.gyp; bf16 code via target().
#include "common.h"
#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__FMA__)
#include <immintrin.h>

namespace charlm {
namespace avx512 {
#define CHARLM_W 16
#include "simd.h"
#include "pointwise_impl.h"
#include "gemv_impl.h"
#include "transformer_impl.h"
#include "attention_impl.h"
#include "pack_x86.h"
#undef CHARLM_W

static const int MR = 8;  // 8x32: 16 accumulators keep both FMA pipes busy; M=64 (batch) splits evenly.
static_assert(MR == 8, "the n <= 4 tail path below loads one ymm (8 rows) per k");

static inline __mmask16 lo16(int n) { return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

// Adds/stores the MR x 32 register tile into C with the m,n edges masked.
#define CHARLM_STORE_TILE()                                                          \
  const __mmask16 m0 = lo16(n), m1 = lo16(n - 16);                                   \
  _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                            \
    if (i < m) {                                                                     \
      float* p = C + i * ldc;                                                        \
      if (beta) {                                                                    \
        c0[i] = _mm512_add_ps(c0[i], _mm512_maskz_loadu_ps(m0, p));                  \
        c1[i] = _mm512_add_ps(c1[i], _mm512_maskz_loadu_ps(m1, p + 16));             \
      }                                                                              \
      _mm512_mask_storeu_ps(p, m0, c0[i]);                                           \
      _mm512_mask_storeu_ps(p + 16, m1, c1[i]);                                      \
    }                                                                                \
  }

// Prefetch the C tile (it is read/written only at the end, usually from DRAM) while the k loop runs.
#define CHARLM_PREFETCH_C()                                                          \
  _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                            \
    if (i < m) { _mm_prefetch((const char*)(C + i * ldc), _MM_HINT_T0);              \
                 _mm_prefetch((const char*)(C + i * ldc + 16), _MM_HINT_T0); }       \
  }

static void ukrF32(long K, const float* A, const float* B, float* C, long ldc, int m, int n, int beta) {
  __m512 c0[MR], c1[MR];
  CHARLM_PREFETCH_C()
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm512_setzero_ps();
  if (n <= 4) {   // narrow N tail (V=65 = 32+32+1): one 8-row ymm FMA per column instead of a 32-wide tile
    __m256 t[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (long k = 0; k < K; k++) {
      const __m256 a = _mm256_load_ps(A);          // MR == 8 rows of this k
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++)
        if (q < n) t[q] = _mm256_fmadd_ps(a, _mm256_set1_ps(B[q]), t[q]);
      A += MR; B += 32;
    }
    alignas(32) float r[4][8];
    for (int q = 0; q < 4; q++) _mm256_store_ps(r[q], t[q]);
    for (int i = 0; i < m; i++)
      for (int q = 0; q < n; q++) C[i * ldc + q] = beta ? C[i * ldc + q] + r[q][i] : r[q][i];
    return;
  }
  if (n <= 16) {  // N tail up to 16: half the FMAs; the packed panel keeps its 32-float stride
    for (long k = 0; k < K; k++) {
      const __m512 b0 = _mm512_load_ps(B);
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) c0[i] = _mm512_fmadd_ps(_mm512_set1_ps(A[i]), b0, c0[i]);
      A += MR; B += 32;
    }
    K = 0;
  }
  for (long k = 0; k < K; k++) {
    _mm_prefetch((const char*)(A + 8 * MR), _MM_HINT_T0);
    const __m512 b0 = _mm512_load_ps(B), b1 = _mm512_load_ps(B + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const __m512 a = _mm512_set1_ps(A[i]);
      c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
    }
    A += MR; B += 32;
  }
  CHARLM_STORE_TILE()
}

__attribute__((target("avx512bf16")))
static void ukrBf16(long K2, const uint32_t* A, const uint32_t* B, float* C, long ldc, int m, int n, int beta) {
  __m512 c0[MR], c1[MR];
  CHARLM_PREFETCH_C()
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm512_setzero_ps();
  if (n <= 16) {
    for (long p = 0; p < K2; p++) {
      const __m512bh b0 = (__m512bh)_mm512_load_si512(B);
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) c0[i] = _mm512_dpbf16_ps(c0[i], (__m512bh)_mm512_set1_epi32((int)A[i]), b0);
      A += MR; B += 32;
    }
    K2 = 0;
  }
  for (long p = 0; p < K2; p++) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(B), b1 = (__m512bh)_mm512_load_si512(B + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32((int)A[i]);
      c0[i] = _mm512_dpbf16_ps(c0[i], a, b0);
      c1[i] = _mm512_dpbf16_ps(c1[i], a, b1);
    }
    A += MR; B += 32;
  }
  CHARLM_STORE_TILE()
}

// Small-M GEMM over pre-packed native16 k-pair panels (gemm.h's PackedB): C(M, j0..j1) (+)= A2(M, pairs)·B, with
// vdpbf16ps; blocks outermost (contiguous streams), partial sums added to C per block. M <= 2: two chains per vector.
template <int MM>
__attribute__((target("avx512bf16")))
static void gemvPackedBf16M(float* C, long ldc, const uint32_t* A2, const uint32_t* Bp, long npad, long depth, long KC,
                            long j0, long j1, int beta) {
  constexpr int U = MM <= 2 ? 2 : 1;
  const long D2 = (depth + 1) / 2;
  for (long pc = 0; pc < depth; pc += KC) {
    const long kc = depth - pc < KC ? depth - pc : KC, kc2 = (kc + 1) / 2, p0 = pc / 2;
    const int bt = pc > 0 ? 1 : beta;
    for (long j = j0; j < j1; j += 32) {
      const uint32_t* b = Bp + p0 * npad + j * kc2;
      __m512 acc[U][MM][2];
      for (int u = 0; u < U; u++) for (int i = 0; i < MM; i++) acc[u][i][0] = acc[u][i][1] = _mm512_setzero_ps();
      long q = 0;
      for (; q + U <= kc2; q += U) {
#pragma GCC unroll 2
        for (int u = 0; u < U; u++) {
          const __m512bh b0 = (__m512bh)_mm512_load_si512(b + (q + u) * 32);
          const __m512bh b1 = (__m512bh)_mm512_load_si512(b + (q + u) * 32 + 16);
#pragma GCC unroll 4
          for (int i = 0; i < MM; i++) {
            const __m512bh a = (__m512bh)_mm512_set1_epi32((int)A2[i * D2 + p0 + q + u]);
            acc[u][i][0] = _mm512_dpbf16_ps(acc[u][i][0], a, b0);
            acc[u][i][1] = _mm512_dpbf16_ps(acc[u][i][1], a, b1);
          }
        }
      }
      for (; q < kc2; q++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(b + q * 32), b1 = (__m512bh)_mm512_load_si512(b + q * 32 + 16);
        for (int i = 0; i < MM; i++) {
          const __m512bh a = (__m512bh)_mm512_set1_epi32((int)A2[i * D2 + p0 + q]);
          acc[0][i][0] = _mm512_dpbf16_ps(acc[0][i][0], a, b0);
          acc[0][i][1] = _mm512_dpbf16_ps(acc[0][i][1], a, b1);
        }
      }
      const int n = (int)(j1 - j < 32 ? j1 - j : 32);
      const __mmask16 m0 = lo16(n), m1 = lo16(n - 16);
      for (int i = 0; i < MM; i++) {
        __m512 r0 = acc[0][i][0], r1 = acc[0][i][1];
        if (U == 2) { r0 = _mm512_add_ps(r0, acc[U - 1][i][0]); r1 = _mm512_add_ps(r1, acc[U - 1][i][1]); }
        float* p = C + i * ldc + j;
        if (bt) {
          r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, p));
          r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, p + 16));
        }
        _mm512_mask_storeu_ps(p, m0, r0);
        _mm512_mask_storeu_ps(p + 16, m1, r1);
      }
    }
  }
}

static void gemvPackedBf16(float* C, long ldc, const uint32_t* A2, const uint32_t* Bp, long M, long npad, long depth,
                           long KC, long j0, long j1, int beta) {
  switch (M) {
    case 1: gemvPackedBf16M<1>(C, ldc, A2, Bp, npad, depth, KC, j0, j1, beta); break;
    case 2: gemvPackedBf16M<2>(C, ldc, A2, Bp, npad, depth, KC, j0, j1, beta); break;
    case 3: gemvPackedBf16M<3>(C, ldc, A2, Bp, npad, depth, KC, j0, j1, beta); break;
    default: gemvPackedBf16M<4>(C, ldc, A2, Bp, npad, depth, KC, j0, j1, beta); break;
  }
}

// bf16 k-pair packing (gemm.cc's packBf16 contract): dst[panel*R*kc2 + q*R + r] = bf16(X(r,2q)) | bf16(X(r,2q+1))<<16
// with vcvtne2ps2bf16 (round to nearest even; note: it treats denormal inputs as zero). R is a multiple of 8.
__attribute__((target("avx512bf16")))
static void packBf16Panels(uint32_t* dst, const float* src, long rs, long cs, long cnt, long kc, int R) {
  const long kc2 = (kc + 1) / 2;
  for (long p = 0; p < cnt; p += R) {
    const long rr = cnt - p < R ? cnt - p : R;
    uint32_t* d = dst + p * kc2;
    const float* s = src + p * rs;
    if (cs == 1) {  // k contiguous: a row's pairs are adjacent floats; 8 rows x 8 pairs, then an 8x8 transpose
      long g = 0;
      for (; g + 8 <= rr; g += 8) {
        const float* s0 = s + g * rs;
        long q = 0;
        for (; 2 * q + 16 <= kc; q += 8) {
          __m256 r[8];
#pragma GCC unroll 8
          for (int i = 0; i < 8; i++) {
            const float* x = s0 + i * rs + 2 * q;
            r[i] = (__m256)_mm256_cvtne2ps_pbh(_mm256_loadu_ps(x + 8), _mm256_loadu_ps(x));
          }
          transpose8x8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
#pragma GCC unroll 8
          for (int i = 0; i < 8; i++) _mm256_storeu_ps((float*)(d + (q + i) * R + g), r[i]);
        }
        for (; q < kc2; q++)
          for (int i = 0; i < 8; i++) {
            const float* x = s0 + i * rs;
            d[q * R + g + i] = bf16Bits(x[2 * q]) | (2 * q + 1 < kc ? bf16Bits(x[2 * q + 1]) << 16 : 0u);
          }
      }
      for (long r = g; r < R; r++)
        for (long q = 0; q < kc2; q++) {
          const float* x = s + r * rs;
          d[q * R + r] = r >= rr ? 0u : bf16Bits(x[2 * q]) | (2 * q + 1 < kc ? bf16Bits(x[2 * q + 1]) << 16 : 0u);
        }
    } else {        // r contiguous: round rows k=2q and 2q+1, interleave the two bf16 vectors lane by lane
      const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                           23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
      for (long q = 0; q < kc2; q++) {
        const float* lo = s + 2 * q * cs;
        const float* hi = 2 * q + 1 < kc ? lo + cs : nullptr;
        for (long r = 0; r < R; r += 16) {
          const __mmask16 m = lo16((int)(rr - r));
          const __m512 l = _mm512_maskz_loadu_ps(m, lo + r);
          const __m512 h = hi ? _mm512_maskz_loadu_ps(m, hi + r) : _mm512_setzero_ps();
          const __m512i v = _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(h, l));
          _mm512_mask_storeu_epi32(d + q * R + r, lo16((int)(R - r)), v);
        }
      }
    }
  }
}
}  // namespace avx512

const KernelTable* tableAvx512() {
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("fma"))
    return nullptr;
  using namespace avx512;
  static KernelTable t = [] {
    KernelTable k{};
    k.name = "avx512";
    k.MR = MR; k.NR = 32; k.KC = 256; k.MC = 128; k.NC = 2048;
    k.ukr = ukrF32;
    const bool bf = __builtin_cpu_supports("avx512bf16");
    k.ukrBf16 = bf ? ukrBf16 : nullptr;
    k.packBf16 = bf ? packBf16Panels : nullptr;
    k.gemvPackedBf16 = bf ? gemvPackedBf16 : nullptr;
    k.pack = packPanels;
    CHARLM_FILL_COMMON(k);
    return k;
  }();
  return &t;
}
}  // namespace charlm
#else
namespace charlm { const KernelTable* tableAvx512() { return nullptr; } }
#endif
