// Persistent worker pool (see threadpool.h). The pool is process-wide and intentionally leaked: workers are
// detached so process exit never waits on them. A mutex serialises jobs from different JS threads.
#include "threadpool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__linux__)
#include <sched.h>
#include <cstdio>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

namespace charlm {
namespace {
const int kSpin = 5000;  // ~100 µs of pause-spinning before sleeping: back-to-back per-step GEMMs stay hot

struct Pool {
  std::mutex jobMutex;                 // one job at a time
  std::mutex m;
  std::condition_variable wake, done;
  std::atomic<unsigned long> gen{0};   // job word: (generation << 8) | participating threads, published together
  std::atomic<int> remaining{0};
  PoolFn fn = nullptr;
  void* ctx = nullptr;
  int workers = 0;

  void worker(int tid, unsigned long seen) {  // seen: the job word current when the thread was created
    for (;;) {
      unsigned long g;
      int spins = 0;
      while ((g = gen.load(std::memory_order_acquire)) == seen && spins++ < kSpin) CPU_RELAX();
      if (g == seen) {
        std::unique_lock<std::mutex> lk(m);
        wake.wait(lk, [&] { return gen.load(std::memory_order_acquire) != seen; });
        g = gen.load(std::memory_order_acquire);
      }
      seen = g;
      if (tid < (int)(g & 255)) {
        fn(ctx, tid);
        if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          std::lock_guard<std::mutex> lk(m);
          done.notify_one();
        }
      }
    }
  }

  void run(int n, PoolFn f, void* c) {
    std::lock_guard<std::mutex> job(jobMutex);
    while (workers < n - 1) {
      const int tid = ++workers;
      const unsigned long seen = gen.load(std::memory_order_relaxed);
      std::thread([this, tid, seen] { worker(tid, seen); }).detach();
    }
    fn = f; ctx = c;
    remaining.store(n - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(m);
      const unsigned long g = gen.load(std::memory_order_relaxed);
      gen.store(((g >> 8) + 1) << 8 | (unsigned long)n, std::memory_order_release);
    }
    wake.notify_all();
    f(c, 0);
    int spins = 0;
    while (remaining.load(std::memory_order_acquire) > 0 && spins++ < kSpin) CPU_RELAX();
    if (remaining.load(std::memory_order_acquire) > 0) {
      std::unique_lock<std::mutex> lk(m);
      done.wait(lk, [&] { return remaining.load(std::memory_order_acquire) == 0; });
    }
  }
};

Pool* pool() {
  static Pool* p = new Pool();  // leaked on purpose (see header comment)
  return p;
}
}  // namespace

void poolRun(int n, PoolFn fn, void* ctx) {
  if (n > 255) n = 255;
  if (n <= 1) { fn(ctx, 0); return; }
  pool()->run(n, fn, ctx);
}

// Physical cores this process may use: the affinity mask (taskset, containers) on Linux, halved when SMT is on
// (two GEMM threads on one core's FMA units only add contention).
int hardwareThreads() {
  int n = (int)std::thread::hardware_concurrency();
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (FILE* f = std::fopen("/sys/devices/system/cpu/smt/active", "r")) {
    int active = 0;
    if (std::fscanf(f, "%d", &active) == 1 && active == 1) n /= 2;
    std::fclose(f);
  }
#endif
  return n < 1 ? 1 : n;
}
}  // namespace charlm
