// Persistent worker pool for the GEMM: threads are created once (grown on demand), spin briefly then sleep on a
// condition variable between jobs. poolRun(n, fn, ctx) executes fn(ctx, tid) once for each task tid in [0,n), spread
// over the calling thread and the awake workers (whoever claims a task runs it); it returns when all n are done.
#pragma once

namespace charlm {
typedef void (*PoolFn)(void* ctx, int tid);
void poolRun(int n, PoolFn fn, void* ctx);
int hardwareThreads();
}  // namespace charlm
