// Weights packed once for many GEMMs (gemm.h's PackedW): the B-operand panels of W for C = A·Wᵀ (nt) and C = A·W
// (nn), built with the same packers as the per-call driver, then read in place by the blocked loop nest (M > 4) or
// by the small-M kernels (M <= 4, batch-1/2/3/4 sampling), which stream each KC block as one contiguous run.
#include <cstring>

#include "gemm_internal.h"
#include "threadpool.h"

namespace charlm {
using namespace gemm;
namespace {

struct PackJob {
  const KernelTable* t;
  bool bf16, native16, half16;
  PackedB* pb;
  Mat X;
  long chunk;   // panels per thread
};

// Thread tid packs panels [tid*chunk, (tid+1)*chunk) of every KC block.
void packThread(void* ctx, int tid) {
  const PackJob& j = *(const PackJob*)ctx;
  const KernelTable& t = *j.t;
  const PackedB& pb = *j.pb;
  const long NR = t.NR, r0 = tid * j.chunk * NR;
  if (r0 >= pb.n) return;
  const long cnt = lmin(j.chunk * NR, pb.n - r0);
  for (long pc = 0; pc < pb.depth; pc += t.KC) {
    const long kc = lmin(t.KC, pb.depth - pc);
    if (j.half16) {
      packPanels16((uint16_t*)pb.data + pc * pb.npad + r0 * kc, j.X, r0, cnt, pc, kc, (int)NR);
      continue;
    }
    void* dst = j.native16 ? (void*)((uint32_t*)pb.data + pc / 2 * pb.npad + r0 * ((kc + 1) / 2))
                           : (void*)((float*)pb.data + pc * pb.npad + r0 * kc);
    packPanels(t, j.bf16, j.native16, dst, j.X, r0, cnt, pc, kc, (int)NR);
  }
}

// Packs X (n × depth) into pb, (re)allocating when the size changed. Returns the change in bytes held.
long packOperand(const KernelTable& t, int threads, bool bf16, bool native16, bool half16, PackedB& pb, Mat X, long n,
                 long depth) {
  const long npad = ceilDiv(n, t.NR) * t.NR;
  const size_t bytes = native16 ? sizeof(uint32_t) * npad * ((depth + 1) / 2)
                       : (half16 ? sizeof(uint16_t) : sizeof(float)) * npad * depth;
  long delta = 0;
  if (bytes != pb.bytes) {
    std::free(pb.data);
    pb.data = bytes ? std::aligned_alloc(64, (bytes + 63) & ~(size_t)63) : nullptr;
    delta = (long)bytes - (long)pb.bytes;
    pb.bytes = bytes;
  }
  pb.n = n; pb.depth = depth; pb.npad = npad;
  if (!bytes) return delta;
  PackJob j{&t, bf16, native16, half16, &pb, X, 0};
  const long panels = npad / t.NR;
  int nt = bytes >= (1 << 20) ? threads : 1;   // a wake-up pays for itself only on large copies
  if (nt > panels) nt = (int)panels;
  if (nt < 1) nt = 1;
  j.chunk = ceilDiv(panels, nt);
  poolRun((int)ceilDiv(panels, j.chunk), packThread, &j);
  return delta;
}

struct SmallPackedJob {
  const KernelTable* t;
  const PackedB* pb;
  float* C;
  const void* A;   // fp32 (M,depth), or uint32 k-pairs (M, ceil(depth/2)) when native16
  long M, chunk;   // columns per thread (a multiple of NR)
  bool native16, half16;
  int beta;
};

void smallPackedThread(void* ctx, int tid) {
  const SmallPackedJob& s = *(const SmallPackedJob*)ctx;
  const PackedB& pb = *s.pb;
  const long j0 = tid * s.chunk, j1 = lmin(pb.n, j0 + s.chunk);
  if (j0 >= j1) return;
  if (s.native16)
    s.t->gemvPackedBf16(s.C, pb.n, (const uint32_t*)s.A, (const uint32_t*)pb.data, s.M, pb.npad, pb.depth, s.t->KC,
                        j0, j1, s.beta);
  else if (s.half16)
    s.t->gemvPacked16(s.C, pb.n, (const float*)s.A, (const uint16_t*)pb.data, s.M, pb.npad, pb.depth, s.t->KC, j0, j1,
                      s.beta);
  else
    s.t->gemvPacked(s.C, pb.n, (const float*)s.A, (const float*)pb.data, s.M, pb.npad, pb.depth, s.t->KC, j0, j1,
                    s.beta);
}
}  // namespace

long packWeights(const KernelTable& t, int threads, PackedW& pw, const float* W) {
  if (threads < 1) threads = 1;
  pw.t = &t;
  pw.native16 = pw.bf16 && t.ukrBf16 != nullptr && t.gemvPackedBf16 != nullptr;
  // Without vdpbf16ps, bf16 weights are still stored as 16-bit: the products are the same (bf16 values widened
  // exactly), the bytes half those of bf16-rounded fp32 panels.
  pw.half16 = pw.bf16 && !pw.native16 && t.gemvPacked16 != nullptr;
  long delta = 0;
  const long N = pw.N, K = pw.K;
  if (pw.hasNt) delta += packOperand(t, threads, pw.bf16, pw.native16, pw.half16, pw.nt, Mat{W, K, 1}, N, K);
  if (pw.hasNn) delta += packOperand(t, threads, pw.bf16, pw.native16, pw.half16, pw.nn, Mat{W, 1, K}, K, N);
  return delta;
}

void freePacked(PackedW& pw) {
  std::free(pw.nt.data); std::free(pw.nn.data);
  pw.nt = PackedB{}; pw.nn = PackedB{};
}

void sgemmPacked(const KernelTable& t, int threads, float* C, const float* A, const PackedW& pw, long M, bool nn,
                 bool acc) {
  const PackedB& pb = nn ? pw.nn : pw.nt;
  const long N = pb.n, K = pb.depth;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { if (!acc) std::memset(C, 0, sizeof(float) * M * N); return; }
  std::lock_guard<std::mutex> lock(gGemmMutex);
  if (threads < 1) threads = 1;

  if (M <= 4) {
    // A (tiny) rounded for bf16, or turned into k-pairs for vdpbf16ps; the weights stream once from their panels.
    const void* Ak = A;
    if (pw.native16) {
      const long D2 = (K + 1) / 2;
      uint32_t* a2 = (uint32_t*)gSmallA.get(sizeof(uint32_t) * M * D2);
      for (long i = 0; i < M; i++)
        for (long q = 0; q < D2; q++)
          a2[i * D2 + q] = bf16Bits(A[i * K + 2 * q]) | (2 * q + 1 < K ? bf16Bits(A[i * K + 2 * q + 1]) << 16 : 0u);
      Ak = a2;
    } else if (pw.bf16) {
      float* s = (float*)gSmallA.get(sizeof(float) * M * K);
      for (long i = 0; i < M * K; i++) s[i] = bf16Round(A[i]);
      Ak = s;
    }
    SmallPackedJob s{&t, &pb, C, Ak, M, 0, pw.native16, pw.half16, acc ? 1 : 0};
    // Memory-bound: split the columns once the panels are big enough (>= 256 KB) to outlast a wake-up.
    const long panels = pb.npad / t.NR;
    int nt = pb.bytes >= (1 << 18) ? threads : 1;
    if (nt > panels) nt = (int)panels;
    s.chunk = ceilDiv(panels, nt) * t.NR;
    poolRun((int)ceilDiv(N, s.chunk), smallPackedThread, &s);
    return;
  }

  Job jb;
  jb.t = &t; jb.bf16 = pw.bf16; jb.native16 = pw.native16; jb.half16 = pw.half16;
  jb.C = C; jb.ldc = N; jb.M = M; jb.N = N; jb.K = K; jb.acc = acc;
  jb.A = Mat{A, K, 1};
  jb.B = Mat{nullptr, 0, 0};
  jb.pre = &pb;
  runBlocked(jb, threads);
}
}  // namespace charlm
