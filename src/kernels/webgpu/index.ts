// The `webgpu` backend for Node: the GPU worker (worker.ts over gpu-core.ts) in a worker_threads thread on Dawn (the
// `webgpu` npm package), and client.ts's Backend over it. In a page, src/kernels/browser.ts does the same with a Web
// Worker and navigator.gpu.
import { Worker } from 'node:worker_threads';
import { connectWebGpuBackend, gpuControl, type GpuHello, type WebGpuBackend, type WebGpuOptions } from './client.js';

export { WEBGPU_KERNELS, type WebGpuBackend } from './client.js';

export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  const shared = gpuControl();
  // Under tsx (the tests run src/ directly) the worker is worker.ts and needs tsx's loader too.
  const fromTs = import.meta.url.endsWith('.ts');
  const url = new URL(fromTs ? './worker.ts' : './worker.js', import.meta.url);
  const workerData = shared;
  const worker = fromTs
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); ` +
      `return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData })
    : new Worker(url, { workerData });
  const hello = new Promise<GpuHello>((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  const be = await connectWebGpuBackend({ post: (m) => worker.postMessage(m), terminate: async () => { await worker.terminate(); } },
    shared, hello, opts);
  worker.unref();
  return be;
}
