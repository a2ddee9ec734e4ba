// Internals shared by gemm.cc (the blocked driver, per-call packing) and gemm_packed.cc (weights packed once):
// pack buffers, the operand view, the panel packers and the blocked job. Not part of the engine's interface.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <mutex>

#include "gemm.h"

namespace charlm {
namespace gemm {

struct Buf {
  void* p = nullptr;
  size_t cap = 0;
  void* get(size_t bytes) {
    if (bytes > cap) {
      std::free(p);
      cap = (bytes + 4095) & ~(size_t)4095;
      p = std::aligned_alloc(64, cap);
    }
    return p;
  }
};
extern Buf gSmallA;          // small-M paths: A made contiguous / rounded / paired
extern std::mutex gGemmMutex;  // the pack buffers are shared: one GEMM at a time per process (JS worker threads)

// X(r,k) = p[r*rs + k*cs]: a row-panel view of op(A) (r = i) or of op(B)ᵀ (r = j). Either rs or cs is 1.
struct Mat { const float* p; long rs, cs; };

inline long lmin(long a, long b) { return a < b ? a : b; }
inline long ceilDiv(long a, long b) { return (a + b - 1) / b; }

// Rows [r0,r0+cnt) × k [k0,k0+kc) of X into R-row panels at dst (fp32, bf16-rounded fp32, or native16 k-pairs),
// with the ISA's fast packer when it has one.
void packPanels(const KernelTable& t, bool bf16, bool native16, void* dst, Mat X, long r0, long cnt, long k0, long kc,
                int R);

// Rows [r0,r0+cnt) × k [k0,k0+kc) of X as bf16 bits (round to nearest even) in the fp32 panel layout (half16).
void packPanels16(uint16_t* dst, Mat X, long r0, long cnt, long k0, long kc, int R);

struct Job {
  const KernelTable* t;
  bool bf16, native16;     // native16: vdpbf16ps kernel; else bf16 rounds while packing
  bool half16 = false;     // pre holds half16 panels: each block is widened to fp32 before the micro-kernel
  float* C;
  long ldc, M, N, K;
  Mat A, B;                // A(i,k); B as (j,k)
  const PackedB* pre;      // B already packed (B unused), or null
  bool acc, splitM;
  long chunk;              // rows (splitM) or columns per thread
};

// Splits C over up to `threads` threads (fills splitM/chunk) and runs the blocked loop nest. Caller holds gGemmMutex.
void runBlocked(Job& jb, int threads);

}  // namespace gemm
}  // namespace charlm
