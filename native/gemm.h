// SGEMM driver: BLIS/GotoBLAS-style blocking and packing around the per-ISA micro-kernels, a small-M (M <= 4)
// streaming path, a split of C across the persistent thread pool, and weights packed once for many products.
#pragma once
#include <cstddef>

#include "common.h"

namespace charlm {
// C(M,N) = op(A)·op(B) (+ C when acc). Row-major, contiguous, same conventions as Backend.matmul.
// C must not overlap A or B. Serialised process-wide (shared pack buffers), parallel inside.
// bf16: inputs rounded to bf16 (RNE), fp32 accumulation (vdpbf16ps when the table has it).
void sgemm(const KernelTable& t, int threads, bool bf16, float* C, const float* A, const float* B, long M, long N,
           long K, bool transA, bool transB, bool acc);

// One GEMM B operand packed ahead of time: X(j,k) for j < n (output columns), k < depth, laid out exactly as the
// driver packs B per call: KC-deep blocks, each holding ceil(n/NR) NR-wide panels, zero-padded to npad columns.
// fp32 (or bf16-rounded fp32): block pc starts at float pc*npad, its panel j (a multiple of NR) at + j*kc.
// native16 (vdpbf16ps tables): uint32 k-pairs; block pc starts at pc/2*npad, panel j at + j*ceil(kc/2).
// half16 (bf16 on tables without vdpbf16ps): the fp32 layout in uint16 bf16 bits (block pc at halfword pc*npad).
struct PackedB {
  void* data = nullptr;
  size_t bytes = 0;
  long n = 0, depth = 0, npad = 0;
};

// A weight matrix W(N,K) (row-major, PyTorch layout) packed for the two products the models need:
// nt: C(M,N) (+)= A(M,K)·Wᵀ (operand X(j,k) = W[j,k]);  nn: C(M,K) (+)= A(M,N)·W (operand X(j,k) = W[k,j]).
// Tied to the kernel table (its NR/KC layout) and the precision it was packed for.
struct PackedW {
  unsigned magic = 0x9ac4ed01u;
  const KernelTable* t = nullptr;
  bool bf16 = false, native16 = false, half16 = false, hasNt = false, hasNn = false;
  long N = 0, K = 0;
  PackedB nt, nn;
};

// (Re)packs W into pw for table t, keeping pw.hasNt/hasNn and reusing the buffers when the layout is unchanged.
// Returns the change in bytes held (for the JS engine's external-memory accounting).
long packWeights(const KernelTable& t, int threads, PackedW& pw, const float* W);
void freePacked(PackedW& pw);
// C (+)= A(M,·)·op(W) with W from pw (mode nn or nt, see PackedW); pw.t must be t. A and C contiguous row-major.
void sgemmPacked(const KernelTable& t, int threads, float* C, const float* A, const PackedW& pw, long M, bool nn,
                 bool acc);
}  // namespace charlm
