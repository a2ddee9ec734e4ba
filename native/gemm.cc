// SGEMM driver (see gemm.h). Loop nest per thread, Goto-style: jc (NC cols of B, L3) > pc (KC deep, packed B
// panel) > ic (MC rows, packed A block in L2) > jr (NR-wide B micro-panel in L1) > ir (MR rows: micro-kernel).
// Threads split C into contiguous row (or column) ranges, each with its own pack buffers; buffers grow once and
// are reused, so steady-state calls never allocate. Packing reads any op(A)/op(B) layout, so TT needs no extra path.
// A pre-packed B (gemm_packed.cc) skips the B packing: its panels are read in place.
#include <cstring>

#include "gemm_internal.h"
#include "threadpool.h"

namespace charlm {
namespace gemm {
Buf gSmallA;
std::mutex gGemmMutex;
}  // namespace gemm
using namespace gemm;
namespace {

const int kMaxThreads = 256;
Buf gPackA[kMaxThreads], gPackB[kMaxThreads];

// Rows [r0,r0+cnt) × k [k0,k0+kc) of X into R-row panels: dst[panel*R*kc + k*R + r], zero-padded to R rows.
void packF32(float* dst, Mat X, long r0, long cnt, long k0, long kc, int R, bool round) {
  for (long p = 0; p < cnt; p += R) {
    const int rr = (int)lmin(R, cnt - p);
    float* d = dst + p * kc;
    if (X.cs == 1) {
      for (int r = 0; r < rr; r++) {
        const float* s = X.p + (r0 + p + r) * X.rs + k0;
        if (round) for (long k = 0; k < kc; k++) d[k * R + r] = bf16Round(s[k]);
        else for (long k = 0; k < kc; k++) d[k * R + r] = s[k];
      }
      for (int r = rr; r < R; r++) for (long k = 0; k < kc; k++) d[k * R + r] = 0;
    } else {
      for (long k = 0; k < kc; k++) {
        const float* s = X.p + (k0 + k) * X.cs + r0 + p;
        float* dk = d + k * R;
        if (round) for (int r = 0; r < rr; r++) dk[r] = bf16Round(s[r]);
        else std::memcpy(dk, s, rr * sizeof(float));
        for (int r = rr; r < R; r++) dk[r] = 0;
      }
    }
  }
}

// Same, as bf16 k-pairs for vdpbf16ps: dst[panel*R*kc2 + q*R + r] = bf16(X(r,2q)) | bf16(X(r,2q+1)) << 16.
void packBf16(uint32_t* dst, Mat X, long r0, long cnt, long k0, long kc, int R) {
  const long kc2 = (kc + 1) / 2;
  for (long p = 0; p < cnt; p += R) {
    const int rr = (int)lmin(R, cnt - p);
    uint32_t* d = dst + p * kc2;
    for (int r = 0; r < R; r++) {
      if (r >= rr) { for (long q = 0; q < kc2; q++) d[q * R + r] = 0; continue; }
      const float* s = X.p + (r0 + p + r) * X.rs + k0 * X.cs;
      for (long q = 0; q < kc2; q++) {
        const uint32_t lo = bf16Bits(s[2 * q * X.cs]);
        const uint32_t hi = 2 * q + 1 < kc ? bf16Bits(s[(2 * q + 1) * X.cs]) : 0;
        d[q * R + r] = lo | hi << 16;
      }
    }
  }
}

}  // namespace

void gemm::packPanels16(uint16_t* dst, Mat X, long r0, long cnt, long k0, long kc, int R) {
  for (long p = 0; p < cnt; p += R) {
    const int rr = (int)lmin(R, cnt - p);
    uint16_t* d = dst + p * kc;
    for (int r = 0; r < R; r++) {
      if (r >= rr) { for (long k = 0; k < kc; k++) d[k * R + r] = 0; continue; }
      const float* s = X.p + (r0 + p + r) * X.rs + k0 * X.cs;
      for (long k = 0; k < kc; k++) d[k * R + r] = (uint16_t)bf16Bits(s[k * X.cs]);
    }
  }
}

namespace {
// n half16 values → fp32 (bf16 bits into the high half): the blocked path's view of a half16 block.
void widen16(float* dst, const uint16_t* src, long n) {
  uint32_t* d = (uint32_t*)dst;
  for (long i = 0; i < n; i++) d[i] = (uint32_t)src[i] << 16;
}

void packPanels(const Job& jb, float* dst, Mat X, long r0, long cnt, long k0, long kc, int R) {
  gemm::packPanels(*jb.t, jb.bf16, jb.native16, dst, X, r0, cnt, k0, kc, R);
}

// Spreads software prefetches of the NEXT A block's source (usually DRAM) over the micro-kernel calls of the
// current block, so packing it later reads from cache. The block is `lines` rows of `len` floats, `stride` apart.
// Used for transposed A (weight gradients dGᵀ·X), whose short strided runs defeat the hardware prefetcher.
struct Prefetcher {
  const float* base = nullptr;
  long lines = 0, len = 0, stride = 0, perCall = 0, next = 0, total = 0;
  void start(Mat X, long r0, long cnt, long k0, long kc, long calls) {
    base = X.p + r0 * X.rs + k0 * X.cs;
    if (X.cs == 1) { lines = cnt; len = kc; stride = X.rs; } else { lines = kc; len = cnt; stride = X.cs; }
    const long perLine = (len + 15) / 16;
    total = lines * perLine;
    perCall = (total + calls - 1) / (calls > 0 ? calls : 1);
    next = 0;
  }
  void step() {
    const long perLine = (len + 15) / 16;
    for (long e = next + perCall; next < e && next < total; next++)
      __builtin_prefetch(base + (next / perLine) * stride + (next % perLine) * 16, 0, 3);
  }
};

// jOff: the global column of this thread's first B column (where its panels start in a pre-packed B).
void blockGemm(const Job& jb, int tid, float* C, Mat A, Mat B, long M, long N, long jOff) {
  const KernelTable& t = *jb.t;
  const int MR = t.MR, NR = t.NR;
  const long K = jb.K, ldc = jb.ldc;
  float* Ap = (float*)gPackA[tid].p;
  float* const Bbuf = (float*)gPackB[tid].p;
  float* Bp = Bbuf;
  for (long jc = 0; jc < N; jc += t.NC) {
    const long nc = lmin(t.NC, N - jc);
    for (long pc = 0; pc < K; pc += t.KC) {
      const long kc = lmin(t.KC, K - pc), kc2 = (kc + 1) / 2;
      const int beta = (pc > 0 || jb.acc) ? 1 : 0;
      if (!jb.pre) packPanels(jb, Bp, B, jc, nc, pc, kc, NR);
      else if (jb.native16) Bp = (float*)((const uint32_t*)jb.pre->data + pc / 2 * jb.pre->npad + (jOff + jc) * kc2);
      else if (jb.half16) {   // this block's panels are contiguous: widen them into the thread's B buffer
        widen16(Bbuf, (const uint16_t*)jb.pre->data + pc * jb.pre->npad + (jOff + jc) * kc, ceilDiv(nc, NR) * NR * kc);
        Bp = Bbuf;
      }
      else Bp = (float*)jb.pre->data + pc * jb.pre->npad + (jOff + jc) * kc;
      for (long ic = 0; ic < M; ic += t.MC) {
        const long mc = lmin(t.MC, M - ic);
        packPanels(jb, Ap, A, ic, mc, pc, kc, MR);
        Prefetcher pf;
        const long calls = ((nc + NR - 1) / NR) * ((mc + MR - 1) / MR);
        if (A.cs == 1) {}  // row-major A: long contiguous runs the hardware prefetcher already covers
        else if (ic + t.MC < M) pf.start(A, ic + t.MC, lmin(t.MC, M - ic - t.MC), pc, kc, calls);
        else if (pc + t.KC < K) pf.start(A, 0, lmin(t.MC, M), pc + t.KC, lmin(t.KC, K - pc - t.KC), calls);
        for (long jr = 0; jr < nc; jr += NR) {
          const int n = (int)lmin(NR, nc - jr);
          for (long ir = 0; ir < mc; ir += MR) {
            const int m = (int)lmin(MR, mc - ir);
            pf.step();
            float* c = C + (ic + ir) * ldc + jc + jr;
            if (jb.native16)
              t.ukrBf16(kc2, (const uint32_t*)Ap + ir * kc2, (const uint32_t*)Bp + jr * kc2, c, ldc, m, n, beta);
            else
              t.ukr(kc, Ap + ir * kc, Bp + jr * kc, c, ldc, m, n, beta);
          }
        }
      }
    }
  }
}

void jobThread(void* ctx, int tid) {
  const Job& jb = *(const Job*)ctx;
  const long lo = tid * jb.chunk;
  if (jb.splitM) {
    if (lo >= jb.M) return;
    Mat A = jb.A; A.p += lo * A.rs;
    blockGemm(jb, tid, jb.C + lo * jb.ldc, A, jb.B, lmin(jb.chunk, jb.M - lo), jb.N, 0);
  } else {
    if (lo >= jb.N) return;
    Mat B = jb.B;
    if (!jb.pre) B.p += lo * B.rs;
    blockGemm(jb, tid, jb.C + lo, jb.A, B, jb.M, lmin(jb.chunk, jb.N - lo), lo);
  }
}

struct SmallJob {
  const KernelTable* t;
  float* C; const float* A; const float* B;
  long M, N, K, chunk;
  bool transB, bf16;
  int beta;
};

void smallThread(void* ctx, int tid) {
  const SmallJob& s = *(const SmallJob*)ctx;
  const long j0 = tid * s.chunk, j1 = lmin(s.N, j0 + s.chunk);
  if (j0 >= j1) return;
  if (s.transB) s.t->gemvNT(s.C, s.N, s.A, s.B, s.M, j0, j1, s.K, s.beta, s.bf16);
  else s.t->gemvNN(s.C, s.N, s.A, s.B, s.M, j0, j1, s.K, s.N, s.beta, s.bf16);
}

}  // namespace

void gemm::packPanels(const KernelTable& t, bool bf16, bool native16, void* dst, Mat X, long r0, long cnt, long k0,
                      long kc, int R) {
  const float* src = X.p + r0 * X.rs + k0 * X.cs;
  if (native16) {
    if (t.packBf16) t.packBf16((uint32_t*)dst, src, X.rs, X.cs, cnt, kc, R);
    else packBf16((uint32_t*)dst, X, r0, cnt, k0, kc, R);
  } else if (t.pack && !bf16) {
    t.pack((float*)dst, src, X.rs, X.cs, cnt, kc, R);
  } else {
    packF32((float*)dst, X, r0, cnt, k0, kc, R, bf16);
  }
}

void gemm::runBlocked(Job& jb, int threads) {
  const KernelTable& t = *jb.t;
  if (threads > kMaxThreads) threads = kMaxThreads;
  if (threads < 1) threads = 1;
  const long M = jb.M, N = jb.N;
  const long tilesM = ceilDiv(M, t.MR), tilesN = ceilDiv(N, t.NR);
  // Below ~4M MACs (~20 µs on one core) a split loses: besides the wake-up, C and A then cross between the cores'
  // caches every time step (hidden 128 at batch 24 sampled ~20% faster single-threaded per step).
  int nt = (double)M * N * jb.K < (1 << 22) ? 1 : threads;
  jb.splitM = tilesM >= tilesN;
  const long tiles = jb.splitM ? tilesM : tilesN, unit = jb.splitM ? t.MR : t.NR;
  if (nt > tiles) nt = (int)tiles;
  jb.chunk = ceilDiv(tiles, nt) * unit;
  nt = (int)ceilDiv(jb.splitM ? M : N, jb.chunk);
  const size_t aBytes = sizeof(float) * (size_t)ceilDiv(t.MC, t.MR) * t.MR * t.KC;
  const size_t bBytes = jb.pre && !jb.half16 ? 0 : sizeof(float) * (size_t)ceilDiv(t.NC, t.NR) * t.NR * t.KC;
  for (int i = 0; i < nt; i++) { gPackA[i].get(aBytes); if (bBytes) gPackB[i].get(bBytes); }
  poolRun(nt, jobThread, &jb);
}

void sgemm(const KernelTable& t, int threads, bool bf16, float* C, const float* A, const float* B, long M, long N,
           long K, bool transA, bool transB, bool acc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { if (!acc) std::memset(C, 0, sizeof(float) * M * N); return; }
  std::lock_guard<std::mutex> lock(gGemmMutex);
  if (threads > kMaxThreads) threads = kMaxThreads;
  if (threads < 1) threads = 1;
  const double macs = (double)M * N * K;

  if (M <= 4) {
    // Batch-1 sampling and friends: stream B once; A (tiny) made contiguous (M,K) first (and rounded for bf16).
    const float* Ac = A;
    if ((transA && M > 1) || bf16) {
      float* s = (float*)gSmallA.get(sizeof(float) * M * K);
      for (long k = 0; k < K; k++)
        for (long i = 0; i < M; i++) {
          const float a = transA ? A[k * M + i] : A[i * K + k];
          s[i * K + k] = bf16 ? bf16Round(a) : a;
        }
      Ac = s;
    }
    SmallJob s{&t, C, Ac, B, M, N, K, 0, transB, bf16, acc ? 1 : 0};
    int nt = macs >= (1 << 22) ? threads : 1;   // below ~4M MACs a wake-up costs more than it saves
    s.chunk = ceilDiv(ceilDiv(N, nt), 64) * 64;
    nt = (int)ceilDiv(N, s.chunk);
    poolRun(nt, smallThread, &s);
    return;
  }

  Job jb;
  jb.t = &t; jb.bf16 = bf16; jb.native16 = bf16 && t.ukrBf16 != nullptr;
  jb.C = C; jb.ldc = N; jb.M = M; jb.N = N; jb.K = K; jb.acc = acc;
  jb.A = transA ? Mat{A, 1, M} : Mat{A, K, 1};
  jb.B = transB ? Mat{B, K, 1} : Mat{B, 1, N};
  jb.pre = nullptr;
  runBlocked(jb, threads);
}
}  // namespace charlm
