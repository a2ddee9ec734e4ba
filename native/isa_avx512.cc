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
#include "pack_x86.h"
#undef CHARLM_W

static const int MR = 8;  // 8x32: 16 accumulators keep both FMA pipes busy; M=64 (batch) splits evenly

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
  if (n <= 16) {  // N tail (e.g. V=65 = 32+32+1): half the FMAs; the packed panel keeps its 32-float stride
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
    k.ukrBf16 = __builtin_cpu_supports("avx512bf16") ? ukrBf16 : nullptr;
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
