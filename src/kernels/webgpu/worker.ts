// The GPU worker in Node: gpu-core.ts in a worker_threads thread, on Dawn (the `webgpu` npm package).
import { writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { openNodeDevice } from './node-gpu.js';
import { gpuWorkerFailed, runGpuWorker } from './gpu-core.js';
import type { Batch } from './protocol.js';
import type { GpuTuning } from './runner.js';
import { fileTuneStore } from './tune-store.js';

const shared = workerData as { ctrl: SharedArrayBuffer; err: SharedArrayBuffer };

/** The worker is going down (an exception nothing caught): tell a waiting or later caller instead of leaving it blocked. */
process.on('uncaughtException', (e) => {
  gpuWorkerFailed(shared, (e as Error).message);
  process.exit(1);
});

// CHARLM_WEBGPU_PROFILE=file: time every kernel on the GPU and keep a table of them in that file (docs/performance.md).
const profilePath = process.env.CHARLM_WEBGPU_PROFILE;
// CHARLM_WEBGPU_ATTN_PARTS=P: attention's walks in P ranges (1 = whole), overriding ops.ts's rule, to time both on a GPU.
const parts = Number(process.env.CHARLM_WEBGPU_ATTN_PARTS);
const tuning: GpuTuning = Number.isInteger(parts) && parts >= 1 ? { attnParts: parts } : {};
// CHARLM_WEBGPU_TUNE=0: SGEMM kernels and attention ranges by ops.ts's rules; =1: timed per shape (tuner.ts) even on
// a CPU adapter; =all: small shapes too. Unset, GPUs time. The choices persist in tune-store.ts's file
// (CHARLM_WEBGPU_TUNE_FILE).
const tune = ({ 0: 'rule', 1: 'time', all: 'all' } as const)[process.env.CHARLM_WEBGPU_TUNE as '0' | '1' | 'all'];
if (tune) tuning.matmul = tune;

void runGpuWorker({
  ...shared,
  post: (m) => parentPort!.postMessage(m),
  onMessage: (h) => parentPort!.on('message', (b: Batch) => h(b)),
  // CHARLM_WEBGPU_ROBUSTNESS=off: kernels without WebGPU's index clamps (node-gpu.ts), to time both on a GPU.
  openDevice: () => openNodeDevice({ unchecked: process.env.CHARLM_WEBGPU_ROBUSTNESS === 'off' }),
  profile: profilePath ? (report) => writeFileSync(profilePath, report) : undefined,
  tuning,
  tuneStore: fileTuneStore(),
});
