// The page's GPU worker: gpu-core.ts in a Web Worker started by the compute worker (src/kernels/browser.ts, backend
// webgpu), on navigator.gpu. The compute worker waits on it with Atomics.wait over shared memory, so the page must be
// cross-origin isolated (COOP/COEP headers; `charlm serve` sends them). Bundled by scripts/build-web.mjs into
// dist/browser/gpu-worker.js. Its first message is { gpuInit: { ctrl, err } } (the shared control memory); every later
// one is a batch of client.ts messages (protocol.ts).
/// <reference types="@webgpu/types" />
import { openDevice } from '../kernels/webgpu/device.js';
import { gpuWorkerFailed, runGpuWorker } from '../kernels/webgpu/gpu-core.js';
import type { Batch } from '../kernels/webgpu/protocol.js';

interface Shared { ctrl: SharedArrayBuffer; err: SharedArrayBuffer }
interface GpuScope {
  postMessage(m: unknown): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  addEventListener(type: 'error' | 'unhandledrejection', fn: (e: { message?: string; reason?: unknown }) => void): void;
  navigator: { gpu?: GPU };
}
declare const self: GpuScope;

let handler: ((b: Batch) => void) | null = null;
const early: Batch[] = [];

self.onmessage = (e) => {
  const d = e.data as { gpuInit?: Shared } | Batch;
  if (!Array.isArray(d)) { if (d.gpuInit) start(d.gpuInit); return; }
  if (handler) handler(d); else early.push(d);
};

function start(shared: Shared): void {
  const fail = (why: unknown) => gpuWorkerFailed(shared, String(why instanceof Error ? why.message : why));
  self.addEventListener('error', (e) => fail(e.message ?? 'error'));
  self.addEventListener('unhandledrejection', (e) => fail(e.reason));
  void runGpuWorker({
    ...shared,
    post: (m) => self.postMessage(m),
    onMessage: (h) => { handler = h; for (const m of early.splice(0)) h(m); },
    openDevice: () => openDevice(self.navigator.gpu, 'this browser'),
  });
}
