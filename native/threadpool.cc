// Persistent worker pool (see threadpool.h). The pool is process-wide and intentionally leaked: workers are
// detached so process exit never waits on them. A mutex serialises jobs from different JS threads.
#include "threadpool.h"

#include <atomic>
#include <cstdint>
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

// Tasks are claimed, not assigned: the caller and every awake worker take the next unclaimed task of the current
// job until none is left. A worker that is slow to wake (sleeping, or descheduled on a busy machine) then costs
// nothing — the caller runs its share — instead of the whole job waiting for it.
struct Pool {
  std::mutex jobMutex;                 // one job at a time
  std::mutex m;
  std::condition_variable wake, done;
  std::atomic<uint64_t> word{0};       // (generation << 32) | (tasks << 16) | next unclaimed task
  std::atomic<int> finished{0};        // tasks of the current job completed
  PoolFn fn = nullptr;                 // written only between jobs; read after claiming a task (acquire)
  void* ctx = nullptr;
  int workers = 0;

  // Runs tasks of job `gen` until none is left unclaimed (or another job has started).
  void work(uint32_t gen) {
    for (;;) {
      uint64_t w = word.load(std::memory_order_acquire);
      if ((uint32_t)(w >> 32) != gen) return;
      const int n = (int)((w >> 16) & 0xffff), k = (int)(w & 0xffff);
      if (k >= n) return;
      if (!word.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel)) continue;
      fn(ctx, k);
      if (finished.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
        std::lock_guard<std::mutex> lk(m);
        done.notify_one();
      }
    }
  }

  void worker(uint32_t seen) {  // seen: the generation current when the thread was created
    for (;;) {
      uint32_t g;
      int spins = 0;
      while ((g = (uint32_t)(word.load(std::memory_order_acquire) >> 32)) == seen && spins++ < kSpin) CPU_RELAX();
      if (g == seen) {
        std::unique_lock<std::mutex> lk(m);
        wake.wait(lk, [&] { return (uint32_t)(word.load(std::memory_order_acquire) >> 32) != seen; });
        g = (uint32_t)(word.load(std::memory_order_acquire) >> 32);
      }
      seen = g;
      work(g);
    }
  }

  void run(int n, PoolFn f, void* c) {
    std::lock_guard<std::mutex> job(jobMutex);
    while (workers < n - 1) {
      ++workers;
      const uint32_t seen = (uint32_t)(word.load(std::memory_order_relaxed) >> 32);
      std::thread([this, seen] { worker(seen); }).detach();
    }
    fn = f; ctx = c;
    finished.store(0, std::memory_order_relaxed);
    uint32_t gen;
    {
      std::lock_guard<std::mutex> lk(m);
      gen = (uint32_t)(word.load(std::memory_order_relaxed) >> 32) + 1;
      word.store((uint64_t)gen << 32 | (uint64_t)n << 16, std::memory_order_release);
    }
    wake.notify_all();
    work(gen);
    int spins = 0;
    while (finished.load(std::memory_order_acquire) < n && spins++ < kSpin) CPU_RELAX();
    if (finished.load(std::memory_order_acquire) < n) {
      std::unique_lock<std::mutex> lk(m);
      done.wait(lk, [&] { return finished.load(std::memory_order_acquire) >= n; });
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
