// SGEMM driver: BLIS/GotoBLAS-style blocking and packing around the per-ISA micro-kernels, a small-M (M <= 4)
// streaming path, and a split of C across the persistent thread pool.
#pragma once
#include "common.h"

namespace charlm {
// C(M,N) = op(A)·op(B) (+ C when acc). Row-major, contiguous, same conventions as Backend.matmul.
// C must not overlap A or B. Serialised process-wide (shared pack buffers), parallel inside.
// bf16: inputs rounded to bf16 (RNE), fp32 accumulation (vdpbf16ps when the table has it).
void sgemm(const KernelTable& t, int threads, bool bf16, float* C, const float* A, const float* B, long M, long N,
           long K, bool transA, bool transB, bool acc);
}  // namespace charlm
