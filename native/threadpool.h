// Persistent worker pool for the GEMM: threads are created once (grown on demand), spin briefly then sleep on a
// condition variable between jobs. run() executes fn(ctx, tid) for tid in [0,n), tid 0 on the calling thread.
#pragma once

namespace charlm {
typedef void (*PoolFn)(void* ctx, int tid);
void poolRun(int n, PoolFn fn, void* ctx);
int hardwareThreads();
}  // namespace charlm
