// Drivers of the Transformer kernels (see transformer.h): thread splits and scratch. Elementwise kernels and
// LayerNorm forward split their rows/elements into contiguous ranges; LayerNorm backward sums dw/db per fixed
// block of kLnRows rows and adds the blocks in order; attention hands (batch, head) pairs to whichever thread is
// free. Every output element is therefore computed in the same order whatever the thread count.
// Scratch (attention panels, LayerNorm partial sums) grows once and is reused: steady-state calls never allocate.
#include "transformer.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "threadpool.h"

namespace charlm {
namespace {

const long kLnRows = 32;          // LayerNorm backward: rows per partial-sum block (fixed: determinism)
const int kMaxTasks = 256;
std::mutex gScratchMutex;         // the scratch below is process-wide: one Transformer kernel at a time

struct Scratch {
  float* p = nullptr;
  size_t cap = 0;
  float* get(size_t floats) {
    const size_t bytes = floats * sizeof(float);
    if (bytes > cap) {
      std::free(p);
      cap = (bytes + 4095) & ~(size_t)4095;
      p = (float*)std::aligned_alloc(64, cap);
    }
    return p;
  }
};
Scratch gTask[kMaxTasks], gPartial;

int clampThreads(int threads, long units) {
  if (threads > kMaxTasks) threads = kMaxTasks;
  if (threads > units) threads = (int)units;
  return threads < 1 ? 1 : threads;
}

// f(lo, hi) over contiguous ranges of [0,n) (multiples of `grain`), one per task, when the work is worth a split.
template <typename F>
void splitRange(int threads, long n, long grain, bool worth, F f) {
  const int nt = worth ? clampThreads(threads, (n + grain - 1) / grain) : 1;
  if (nt <= 1) { if (n > 0) f(0L, n); return; }
  struct Ctx { F* f; long n, chunk; } ctx{&f, n, ((n + grain - 1) / grain + nt - 1) / nt * grain};
  poolRun(nt, [](void* p, int tid) {
    const Ctx& c = *(const Ctx*)p;
    const long lo = tid * c.chunk, hi = lo + c.chunk < c.n ? lo + c.chunk : c.n;
    if (lo < hi) (*c.f)(lo, hi);
  }, &ctx);
}

// f(item, task) for every item in [0,n), items claimed one at a time by `threads` tasks (task < threads indexes
// per-task scratch). Which task runs an item never changes the item's result.
template <typename F>
void eachItem(int threads, long n, bool worth, F f) {
  const int nt = worth ? clampThreads(threads, n) : 1;
  if (nt <= 1) { for (long i = 0; i < n; i++) f(i, 0); return; }
  struct Ctx { F* f; long n; std::atomic<long> next; } ctx{&f, n, {0}};
  poolRun(nt, [](void* p, int tid) {
    Ctx& c = *(Ctx*)p;
    for (long i; (i = c.next.fetch_add(1, std::memory_order_relaxed)) < c.n;) (*c.f)(i, tid);
  }, &ctx);
}

const long kPointwiseSplit = 1 << 16;   // elements: below this a wake-up costs more than the split saves
}  // namespace

void layerNormForward(const KernelTable& t, int threads, float* out, float* mean, float* rstd, const float* x,
                      const float* w, const float* b, long N, long C, double eps) {
  splitRange(threads, N, 8, (double)N * C >= kPointwiseSplit, [&](long lo, long hi) {
    t.lnForward(out + lo * C, mean + lo, rstd + lo, x + lo * C, w, b, hi - lo, C, (float)eps);
  });
}

void layerNormBackward(const KernelTable& t, int threads, float* dx, float* dw, float* db, const float* dout,
                       const float* x, const float* w, const float* mean, const float* rstd, long N, long C) {
  if (N <= 0 || C <= 0) return;
  std::lock_guard<std::mutex> lock(gScratchMutex);
  const long blocks = (N + kLnRows - 1) / kLnRows;
  float* part = gPartial.get((size_t)blocks * 2 * C);   // per block: Σ dout·x̂ (C), Σ dout (C)
  const bool worth = (double)N * C >= kPointwiseSplit;
  eachItem(threads, blocks, worth, [&](long k, int) {
    const long lo = k * kLnRows, n = N - lo < kLnRows ? N - lo : kLnRows;
    t.lnBackward(dx + lo * C, part + k * 2 * C, part + k * 2 * C + C, dout + lo * C, x + lo * C, w, mean + lo,
                 rstd + lo, n, C);
  });
  splitRange(threads, C, 16, worth, [&](long lo, long hi) {
    for (long c = lo; c < hi; c++) {
      float sw = 0, sb = 0;
      for (long k = 0; k < blocks; k++) { sw += part[k * 2 * C + c]; sb += part[k * 2 * C + C + c]; }
      dw[c] += sw;
      if (db) db[c] += sb;
    }
  });
}

void geluForward(const KernelTable& t, int threads, float* out, const float* x, long n) {
  splitRange(threads, n, 64, n >= kPointwiseSplit / 4, [&](long lo, long hi) { t.geluForward(out + lo, x + lo, hi - lo); });
}

void geluBackward(const KernelTable& t, int threads, float* dx, const float* dout, const float* x, long n) {
  splitRange(threads, n, 64, n >= kPointwiseSplit / 4, [&](long lo, long hi) {
    t.geluBackward(dx + lo, dout + lo, x + lo, hi - lo);
  });
}

void dropout(const KernelTable& t, int threads, float* out, const float* x, long n, double p, uint32_t seed) {
  const uint32_t thr = (uint32_t)std::floor(p * 4294967296.0);
  const double s = 1 / (1 - p);
  splitRange(threads, n, 64, n >= kPointwiseSplit, [&](long lo, long hi) {
    t.dropout(out + lo, x + lo, hi - lo, lo, thr, s, seed);
  });
}

void add(const KernelTable& t, int threads, float* out, const float* a, const float* b, long n) {
  splitRange(threads, n, 64, n >= kPointwiseSplit, [&](long lo, long hi) { t.add(out + lo, a + lo, b + lo, hi - lo); });
}

namespace {
AttnArgs attnArgs(long B, long T, long nh, long hd, double p, uint32_t seed) {
  AttnArgs a{};
  a.B = B; a.T = T; a.nh = nh; a.hd = hd;
  a.ldk = attnLdk(T);
  a.scale = (float)(1 / std::sqrt((double)hd));
  a.drop = p > 0;
  a.thr = (uint32_t)std::floor(p * 4294967296.0);
  a.keepScale = (float)(p > 0 ? 1 / (1 - p) : 1);
  a.seed = seed;
  return a;
}
// Worth a thread split: ~T²·hd MACs per pair (about 20 µs at T=64, hd=32 on one core).
bool attnWorth(long B, long T, long nh, long hd) { return (double)B * nh * T * T * hd >= (1 << 18); }
}  // namespace

void attentionForward(const KernelTable& t, int threads, float* y, float* lse, const float* qkv, long B, long T,
                      long nh, long hd, double p, uint32_t seed) {
  if (B <= 0 || T <= 0 || nh <= 0 || hd <= 0) return;
  std::lock_guard<std::mutex> lock(gScratchMutex);
  AttnArgs a = attnArgs(B, T, nh, hd, p, seed);
  a.y = y; a.lse = lse; a.qkv = qkv;
  const bool worth = attnWorth(B, T, nh, hd);
  const int nt = worth ? clampThreads(threads, B * nh) : 1;
  for (int i = 0; i < nt; i++) gTask[i].get((size_t)(hd + kAttnBQ) * a.ldk);
  eachItem(nt, B * nh, worth, [&](long bh, int tid) { t.attnForward(a, bh, gTask[tid].p); });
}

void attentionBackward(const KernelTable& t, int threads, float* dqkv, const float* dy, const float* y,
                       const float* lse, const float* qkv, long B, long T, long nh, long hd, double p, uint32_t seed) {
  if (B <= 0 || T <= 0 || nh <= 0 || hd <= 0) return;
  std::lock_guard<std::mutex> lock(gScratchMutex);
  AttnArgs a = attnArgs(B, T, nh, hd, p, seed);
  a.dqkv = dqkv; a.dy = dy; a.yin = y; a.lse = const_cast<float*>(lse); a.qkv = qkv;
  const bool worth = attnWorth(B, T, nh, hd);
  const int nt = worth ? clampThreads(threads, B * nh) : 1;
  for (int i = 0; i < nt; i++) gTask[i].get((size_t)2 * (hd + kAttnBQ) * a.ldk);
  eachItem(nt, B * nh, worth, [&](long bh, int tid) { t.attnBackward(a, bh, gTask[tid].p); });
}

void attentionDecode(const KernelTable& t, int threads, float* y, const float* q, long qStride, const float* kc,
                     const float* vc, const int32_t* pos, long B, long T, long nh, long hd, long S) {
  if (B <= 0 || T <= 0 || nh <= 0 || hd <= 0) return;
  std::lock_guard<std::mutex> lock(gScratchMutex);
  DecodeArgs a{y, q, kc, vc, pos, qStride, B, T, nh, hd, S, (float)(1 / std::sqrt((double)hd))};
  double macs = 0;
  for (long b = 0; b < B; b++) macs += (double)T * (pos[b] + T) * nh * hd;
  const bool worth = macs >= (1 << 18);
  const int nt = worth ? clampThreads(threads, B * nh) : 1;
  for (int i = 0; i < nt; i++) gTask[i].get((size_t)S + 64);
  eachItem(nt, B * nh, worth, [&](long bh, int tid) { t.attnDecode(a, bh, gTask[tid].p); });
}
}  // namespace charlm
