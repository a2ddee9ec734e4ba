// The GPU side of the webgpu backend, for Node and the browser alike: it owns the GPUDevice, the GPU buffers and the
// runner, and runs the kernel calls client.ts posts, in order. The client blocks (Atomics.wait) only where a result
// must come back: a loss, Σx², or a read/write of host shadows. WebGPU's readback is asynchronous (mapAsync), and this
// is how the synchronous Backend interface gets a value out of it. worker.ts runs it in a Node worker thread on Dawn,
// src/web/gpu-worker.ts in a page's Web Worker on navigator.gpu.
/// <reference types="@webgpu/types" />
import type { GpuDevice } from './device.js';
import { GpuRunner, type GpuArg, type GpuTuning } from './runner.js';
import { gpuOps } from './ops.js';
import { MatmulTuner, type GpuTuneStore } from './tuner.js';
import { STATS, type Batch, type Msg, type WireArg } from './protocol.js';
import type { GpuHello } from './client.js';

/** What the runtime gives the core: the shared control memory, its message channel and its device. */
export interface GpuWorkerIo {
  ctrl: SharedArrayBuffer;
  err: SharedArrayBuffer;
  /** Sends the hello (the only message this side sends). */
  post(m: GpuHello): void;
  /** Registers the handler of the client's batches of messages. */
  onMessage(handler: (batch: Batch) => void): void;
  openDevice(): Promise<GpuDevice>;
  /**
   * Profile mode: kernels are timed on the GPU, and the table (GpuRunner.profileReport) is handed here after each
   * readback, at most every PROFILE_MS, so it stays current however the program ends.
   */
  profile?: (report: string) => void;
  /** Overrides of the runner's kernel choices (GpuRunner.tuning). */
  tuning?: GpuTuning;
  /** Where timed SGEMM choices persist (tuner.ts); absent, they last as long as the worker. */
  tuneStore?: GpuTuneStore;
}
const PROFILE_MS = 250;

/** Views of the shared control memory (layout: client.ts): made once per worker, not per answer. */
interface Control { ctrl: Int32Array; result: Float64Array; errBytes: Uint8Array }
function control(io: Pick<GpuWorkerIo, 'ctrl' | 'err'>): Control {
  return { ctrl: new Int32Array(io.ctrl, 0, 4), result: new Float64Array(io.ctrl, 16, STATS.length), errBytes: new Uint8Array(io.err) };
}

/** A fatal error in the worker: marks it dead and wakes a waiting client with the message (then the runtime exits). */
export function gpuWorkerFailed(io: Pick<GpuWorkerIo, 'ctrl' | 'err'>, message: string): void {
  const c = control(io);
  Atomics.store(c.ctrl, 2, 1);
  finish(c, 2, 0, `the GPU worker failed: ${message}`);
}

/** Answers a waiting client: status 1 with a value, or 2 with an error message. */
function finish(c: Control, status: 1 | 2, value = 0, message = ''): void {
  c.result[0] = value;
  if (status === 2) {
    const b = new TextEncoder().encode(message.slice(0, 2000));
    c.errBytes.set(b.subarray(0, c.errBytes.length));
    c.ctrl[1] = Math.min(b.length, c.errBytes.length);
  }
  Atomics.store(c.ctrl, 0, status);
  Atomics.notify(c.ctrl, 0);
}

interface Held { buf: GPUBuffer; sab: SharedArrayBuffer }

export async function runGpuWorker(io: GpuWorkerIo): Promise<void> {
  const held = new Map<number, Held>();
  let pendingError: string | null = null;
  const c = control(io), result = c.result;
  const done = (status: 1 | 2, value = 0, message = '') => finish(c, status, value, message);
  let gpu;
  try {
    gpu = await io.openDevice();
  } catch (e) {
    const err = e as { code?: string; message: string; hint?: string };
    io.post({ error: { code: err.code ?? 'WEBGPU_FAILED', message: err.message, hint: err.hint ?? '' } });
    return;
  }
  const { device } = gpu;
  device.addEventListener('uncapturederror', (ev) => { pendingError ??= (ev as GPUUncapturedErrorEvent).error.message; });
  const runner = new GpuRunner(device, gpu.gpu, gpu.adapter);
  if (io.tuning) runner.tuning = io.tuning;
  // SGEMM kernels timed per shape on GPUs; CPU adapters (SwiftShader) keep the rule: two cores would spend
  // seconds per shape timing, and CI's runs stay on one known kernel per shape.
  const tune = runner.tuning.matmul ?? (runner.fallback ? 'rule' : 'time');
  if (tune !== 'rule') runner.tuner = new MatmulTuner(runner, gpu.adapterName, io.tuneStore, tune === 'all' ? 0 : undefined);
  const profiling = io.profile ? runner.startProfile() : false;
  if (io.profile && !profiling) io.profile('# webgpu kernel profile: this device has no timestamp-query feature\n');
  let lastReport = performance.now();
  const report = async () => {
    if (!profiling || performance.now() - lastReport < PROFILE_MS) return;
    lastReport = performance.now();
    const text = await runner.profileReport();
    if (text) io.profile!(text);
  };
  const ops = gpuOps(runner) as unknown as Record<string, (...a: unknown[]) => unknown>;
  const arg = (a: WireArg): unknown => {
    if (a === null || typeof a !== 'object') return a;
    const h = held.get(a.id);
    if (!h) throw new Error(`webgpu: buffer ${a.id} was freed or never allocated`);
    return { buf: h.buf, off: a.off } satisfies GpuArg;
  };

  /** Runs one message; only a read, a sync and a kernel that returns a number (it reads back) need awaiting. */
  function handle(m: Msg): Promise<void> | void {
    switch (m.k) {
      case 'alloc': {
        const buf = runner.createBuffer(m.sab.byteLength);
        held.set(m.id, { buf, sab: m.sab });
        if (m.init) runner.upload(buf, 0, new Uint8Array(m.sab));
        return;
      }
      case 'free': {   // destroyBuffer submits first: a recorded but unsubmitted kernel may still use the buffer
        const h = held.get(m.id);
        if (h) runner.destroyBuffer(h.buf);
        held.delete(m.id);
        return;
      }
      case 'write': {
        const h = held.get(m.id)!;
        runner.upload(h.buf, m.byteOff, new Uint8Array(h.sab, m.byteOff, m.bytes));
        return;
      }
      case 'read': {
        const h = held.get(m.id)!;
        if (m.bytes === 0) return;
        return runner.download(h.buf, m.byteOff, m.bytes).then((b) => { new Uint8Array(h.sab, m.byteOff, m.bytes).set(new Uint8Array(b)); });
      }
      case 'stats': {
        const t = runner.tuner?.counts ?? { tuned: 0, loaded: 0, tuneMs: 0 };
        const s = { ...runner.counts, ...received, tunedShapes: t.tuned, storedShapes: t.loaded, tuneMs: t.tuneMs };
        STATS.forEach((k, i) => { result[i] = s[k]; });
        return;
      }
      case 'sync': return runner.download(runner.scratch('sync', 1).buf, 0, 4).then(() => undefined);
      case 'call': {
        const v = ops[m.op](...m.args.map(arg));
        if (v instanceof Promise) return v.then((x: unknown) => { if (typeof x === 'number') result[0] = x; });
        return;
      }
    }
  }

  const received = { batches: 0, messages: 0, busyMs: 0 };
  async function run(batch: Batch): Promise<void> {
    received.batches++;
    received.messages += batch.length;
    for (const m of batch) {
      try {
        const t0 = performance.now();
        const p = handle(m);
        received.busyMs += performance.now() - t0;
        if (p) { await p; await report(); }
        if (m.sync) {
          if (pendingError) { const e = pendingError; pendingError = null; done(2, 0, e); } else done(1, result[0]);
        }
      } catch (e) {
        const msg = `${(m as { op?: string }).op ?? m.k}: ${(e as Error).message}`;
        if (m.sync) done(2, 0, msg); else pendingError ??= msg;
      }
    }
  }
  let chain = Promise.resolve();
  io.onMessage((batch: Batch) => { chain = chain.then(() => run(batch)); });
  const lim = device.limits;
  io.post({ ready: true, adapterName: gpu.adapterName, maxBufferBytes: Math.min(lim.maxBufferSize, lim.maxStorageBufferBindingSize) });
}
