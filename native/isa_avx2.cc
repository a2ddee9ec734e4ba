// AVX2+FMA kernels: 8-wide vector-extension pointwise code and a 6x16 intrinsic SGEMM micro-kernel
// (12 ymm accumulators). Compiled with -mavx2 -mfma (binding.gyp); used only when the CPU reports both.
#include "common.h"
#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace charlm {
namespace avx2 {
#define CHARLM_W 8
#include "simd.h"
#include "pointwise_impl.h"
#include "gemv_impl.h"
#include "transformer_impl.h"
#include "attention_impl.h"
#include "pack_x86.h"
#undef CHARLM_W

static void ukr6x16(long K, const float* A, const float* B, float* C, long ldc, int m, int n, int beta) {
  __m256 c[6][2];
#pragma GCC unroll 6
  for (int i = 0; i < 6; i++) {
    if (i < m) _mm_prefetch((const char*)(C + i * ldc), _MM_HINT_T0);  // C is touched only at the end
    c[i][0] = c[i][1] = _mm256_setzero_ps();
  }
  for (long k = 0; k < K; k++) {
    const __m256 b0 = _mm256_load_ps(B), b1 = _mm256_load_ps(B + 8);
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
      const __m256 a = _mm256_broadcast_ss(A + i);
      c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
    }
    A += 6; B += 16;
  }
  if (m == 6 && n == 16) {
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
      float* p = C + i * ldc;
      if (beta) { c[i][0] = _mm256_add_ps(c[i][0], _mm256_loadu_ps(p)); c[i][1] = _mm256_add_ps(c[i][1], _mm256_loadu_ps(p + 8)); }
      _mm256_storeu_ps(p, c[i][0]); _mm256_storeu_ps(p + 8, c[i][1]);
    }
    return;
  }
  alignas(32) float t[6][16];
#pragma GCC unroll 6
  for (int i = 0; i < 6; i++) { _mm256_store_ps(t[i], c[i][0]); _mm256_store_ps(t[i] + 8, c[i][1]); }
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) C[i * ldc + j] = beta ? C[i * ldc + j] + t[i][j] : t[i][j];
}
}  // namespace avx2

const KernelTable* tableAvx2() {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return nullptr;
  using namespace avx2;
  static KernelTable t = [] {
    KernelTable k{};
    k.name = "avx2";
    k.MR = 6; k.NR = 16; k.KC = 256; k.MC = 120; k.NC = 2048;
    k.ukr = ukr6x16;
    k.ukrBf16 = nullptr;
    k.pack = packPanels;
    CHARLM_FILL_COMMON(k);
    return k;
  }();
  return &t;
}
}  // namespace charlm
#else
namespace charlm { const KernelTable* tableAvx2() { return nullptr; } }
#endif
