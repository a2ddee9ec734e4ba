// Drivers of the Transformer kernels (Backend's layerNorm*, gelu*, dropout, add, attention*): argument-level
// semantics exactly as src/kernels/backend.ts, split over the thread pool, calling the ISA table's kernels.
// fp32 on every precision (bf16 applies to GEMMs only). Results do not depend on the thread count.
#pragma once
#include <cstdint>

#include "common.h"

namespace charlm {
void layerNormForward(const KernelTable& t, int threads, float* out, float* mean, float* rstd, const float* x,
                      const float* w, const float* b, long N, long C, double eps);
void layerNormBackward(const KernelTable& t, int threads, float* dx, float* dw, float* db, const float* dout,
                       const float* x, const float* w, const float* mean, const float* rstd, long N, long C);
void geluForward(const KernelTable& t, int threads, float* out, const float* x, long n);
void geluBackward(const KernelTable& t, int threads, float* dx, const float* dout, const float* x, long n);
void dropout(const KernelTable& t, int threads, float* out, const float* x, long n, double p, uint32_t seed);
void add(const KernelTable& t, int threads, float* out, const float* a, const float* b, long n);
void attentionForward(const KernelTable& t, int threads, float* y, float* lse, const float* qkv, long B, long T,
                      long nh, long hd, double p, uint32_t seed);
void attentionBackward(const KernelTable& t, int threads, float* dqkv, const float* dy, const float* y,
                       const float* lse, const float* qkv, long B, long T, long nh, long hd, double p, uint32_t seed);
void attentionDecode(const KernelTable& t, int threads, float* y, const float* q, long qStride, const float* kc,
                     const float* vc, const int32_t* pos, long B, long T, long nh, long hd, long S);
}  // namespace charlm
