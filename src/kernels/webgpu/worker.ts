// The Node side of the webgpu backend runs here, in a worker thread: it owns the GPUDevice, the GPU buffers and the
// runner. The main thread's Backend (index.ts) posts kernel calls in order and blocks (Atomics.wait) only where a
// result must come back: a loss, Σx², or a read/write of host shadows. WebGPU's readback is asynchronous (mapAsync),
// and this is how the synchronous Backend interface gets a value out of it without spinning the main event loop.
/// <reference types="@webgpu/types" />
import { parentPort, workerData } from 'node:worker_threads';
import { openNodeDevice } from './node-gpu.js';
import { GpuRunner, type GpuArg } from './runner.js';
import { gpuOps } from './ops.js';
import type { Msg, WireArg } from './protocol.js';

const ctrl = new Int32Array(workerData.ctrl as SharedArrayBuffer, 0, 4);   // layout: index.ts
const result = new Float64Array(workerData.ctrl as SharedArrayBuffer, 16, 1);
const errBytes = new Uint8Array(workerData.err as SharedArrayBuffer);

interface Held { buf: GPUBuffer; sab: SharedArrayBuffer }
const held = new Map<number, Held>();
let pendingError: string | null = null;

function done(status: 1 | 2, value = 0, message = ''): void {
  result[0] = value;
  if (status === 2) {
    const b = new TextEncoder().encode(message.slice(0, 2000));
    errBytes.set(b.subarray(0, errBytes.length));
    ctrl[1] = Math.min(b.length, errBytes.length);
  }
  Atomics.store(ctrl, 0, status);
  Atomics.notify(ctrl, 0);
}

/** The worker is going down (an exception nothing caught): tell a waiting or later caller instead of leaving it blocked. */
process.on('uncaughtException', (e) => {
  Atomics.store(ctrl, 2, 1);
  done(2, 0, `the GPU worker failed: ${(e as Error).message}`);
  process.exit(1);
});

async function main(): Promise<void> {
  let gpu;
  try {
    gpu = await openNodeDevice();
  } catch (e) {
    const err = e as { code?: string; message: string; hint?: string };
    parentPort!.postMessage({ error: { code: err.code ?? 'WEBGPU_FAILED', message: err.message, hint: err.hint ?? '' } });
    return;
  }
  const { device } = gpu;
  device.addEventListener('uncapturederror', (ev) => { pendingError ??= (ev as GPUUncapturedErrorEvent).error.message; });
  const runner = new GpuRunner(device, gpu.gpu, gpu.adapter);
  const ops = gpuOps(runner) as unknown as Record<string, (...a: unknown[]) => unknown>;
  const arg = (a: WireArg): unknown => {
    if (a === null || typeof a !== 'object') return a;
    const h = held.get(a.id);
    if (!h) throw new Error(`webgpu: buffer ${a.id} was freed or never allocated`);
    return { buf: h.buf, off: a.off } satisfies GpuArg;
  };

  async function handle(m: Msg): Promise<void> {
    switch (m.k) {
      case 'alloc': {
        const buf = runner.createBuffer(m.sab.byteLength);
        held.set(m.id, { buf, sab: m.sab });
        if (m.init) runner.upload(buf, 0, new Uint8Array(m.sab));
        return;
      }
      case 'free':   // submit first: a recorded but unsubmitted kernel may still use the buffer
        runner.flush(); held.get(m.id)?.buf.destroy(); held.delete(m.id); return;
      case 'write': {
        const h = held.get(m.id)!;
        runner.upload(h.buf, m.byteOff, new Uint8Array(h.sab, m.byteOff, m.bytes));
        return;
      }
      case 'read': {
        const h = held.get(m.id)!;
        if (m.bytes > 0) new Uint8Array(h.sab, m.byteOff, m.bytes).set(new Uint8Array(await runner.download(h.buf, m.byteOff, m.bytes)));
        return;
      }
      case 'sync': await runner.download(runner.scratch('sync', 1).buf, 0, 4); return;
      case 'call': {
        const v = await ops[m.op](...m.args.map(arg));
        if (typeof v === 'number') result[0] = v;
        return;
      }
    }
  }

  let chain = Promise.resolve();
  parentPort!.on('message', (m: Msg) => {
    chain = chain.then(async () => {
      try {
        await handle(m);
        if (m.sync) {
          if (pendingError) { const e = pendingError; pendingError = null; done(2, 0, e); } else done(1, result[0]);
        }
      } catch (e) {
        const msg = `${(m as { op?: string }).op ?? m.k}: ${(e as Error).message}`;
        if (m.sync) done(2, 0, msg); else pendingError ??= msg;
      }
    });
  });
  parentPort!.postMessage({ ready: true, adapterName: gpu.adapterName });
}

void main();
