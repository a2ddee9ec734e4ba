// Portable kernels (any CPU: SSE2 baseline on x86-64, NEON on ARM64): 4-wide vector extensions, 4x8 micro-tile.
// Also the fallback when CHARLM_ISA=portable.
#include "common.h"

namespace charlm {
namespace portable {
#define CHARLM_W 4
#include "simd.h"
#include "pointwise_impl.h"
#include "gemv_impl.h"
#include "transformer_impl.h"
#include "attention_impl.h"
#undef CHARLM_W
}  // namespace portable

const KernelTable* tablePortable() {
  using namespace portable;
  static KernelTable t = [] {
    KernelTable k{};
    k.name = "portable";
    k.MR = 4; k.NR = 8; k.KC = 256; k.MC = 128; k.NC = 2048;
    k.ukr = ukrGeneric<4, 2>;
    k.ukrBf16 = nullptr;
    k.pack = nullptr;
    CHARLM_FILL_COMMON(k);
    return k;
  }();
  return &t;
}
}  // namespace charlm
