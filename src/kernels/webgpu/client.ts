// The `webgpu` backend's front half, for Node and the browser alike: the Backend interface over WGSL kernels that run
// in a worker (gpu-core.ts) that owns the device. Memory is backend-owned: alloc returns a host shadow (a
// Float32Array over a SharedArrayBuffer) whose GPUBuffer lives in the worker; kernels run on the GPU copies,
// read(view) downloads and write(view) uploads. Arrays that this backend did not allocate still work, coherently but
// slowly: each call uploads them to temporary GPU buffers and copies its outputs back (so the shared kernel suite and
// code written before the memory seam run unchanged). The caller blocks (Atomics.wait) only where a result must come
// back, so this half runs where blocking is allowed: a Node thread, a Web Worker of a cross-origin-isolated page.
// index.ts starts the worker in Node (worker_threads), src/kernels/browser.ts in a page (a nested Web Worker).
import type { Backend, F32, I32 } from '../backend.js';
import { CharlmError } from '../../errors.js';
import { BATCH, STATS, type Batch, type GpuWorkerStats, type Msg, type WireArg } from './protocol.js';

export type { GpuWorkerStats } from './protocol.js';

type View = F32 | I32;

/** Which arguments each kernel writes (positions in the Backend signature): foreign outputs are copied back. */
const WRITES: Record<string, number[]> = {
  matmul: [0], addRowVector: [0], sumRows: [0], embeddingForward: [0], embeddingBackward: [0],
  lstmCellForward: [0, 1, 2, 3], lstmStepForward: [0, 1, 2, 3], lstmCellBackward: [0, 1, 3], lstmCellBackwardC: [0, 1, 3], gruCellForward: [0, 1], gruCellBackward: [0, 1, 2],
  tanhForward: [0], tanhBackward: [0], softmaxXent: [0], adam: [0, 2, 3], sumSquares: [], scale: [0], mul: [0],
  add: [0], fill: [0], copy: [0], layerNormForward: [0, 1, 2], layerNormBackward: [0, 1, 2], geluForward: [0],
  geluBackward: [0], dropout: [0], attentionForward: [0, 1], attentionBackward: [0], attentionDecode: [0], kvCacheWrite: [0, 1],
};
/** Kernels whose result (a number) the caller needs now. */
const RETURNS = new Set(['softmaxXent', 'sumSquares']);
export const WEBGPU_KERNELS = Object.keys(WRITES);

export interface WebGpuBackend extends Backend {
  readonly adapterName: string;
  alloc(n: number): F32;
  allocI32(n: number): I32;
  free(buf: View): void;
  fill(buf: F32, v: number, start?: number, end?: number): void;
  copy(dst: F32, src: F32, n: number, dstOff?: number, srcOff?: number): void;
  read(view: View): void;
  write(view: View): void;
  /**
   * Host↔GPU traffic since creation: downloads (read, a returned loss or Σx², foreign outputs) and uploads (write,
   * foreign inputs), with bytes; foreignCalls counts kernel calls that touched an array this backend did not allocate.
   */
  readonly traffic: { downloads: number; downloadBytes: number; uploads: number; uploadBytes: number; foreignCalls: number };
  /** Waits for every queued kernel and surfaces any GPU error. */
  sync(): void;
  /** The worker's counters (after the messages sent before this call). */
  workerStats(): GpuWorkerStats;
  /** Stops the worker (the device goes with it). */
  close(): Promise<void>;
}

/** What the GPU worker says first: ready with its adapter, or why it cannot run. */
export interface GpuHello {
  ready?: boolean; adapterName?: string; error?: { code: string; message: string; hint: string };
  /** The largest array the device can hold and bind (the lesser of maxBufferSize and maxStorageBufferBindingSize). */
  maxBufferBytes?: number;
}

const GIB = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const TOO_BIG_HINT = 'use a smaller model or batch (--hidden-size, --n-embd, --batch-size, --seq-length), or --backend native';

/** A GPU error the user can cause (the model does not fit) as a CharlmError; anything else stays an internal error. */
function gpuError(msg: string): Error {
  if (/out of memory|OutOfMemory|exceeds the max buffer size/i.test(msg)) {
    return new CharlmError('WEBGPU_OUT_OF_MEMORY', `the model does not fit in this GPU's memory (${msg.split('\n')[0].slice(0, 200)})`, TOO_BIG_HINT);
  }
  return new Error(`webgpu: ${msg}`);
}

/** A started GPU worker, whichever runtime: posts batches of messages to it, stops it. */
export interface GpuWorkerPort {
  post(batch: Batch): void;
  terminate(): Promise<void>;
}

export interface WebGpuOptions {
  /** Most messages per postMessage to the worker (default BATCH; 1 sends each at once: bench/gpu/webgpu-dispatch.mjs). */
  batch?: number;
}

/** The control memory the client and the worker share (see gpu-core.ts for the layout). */
export function gpuControl(): { ctrl: SharedArrayBuffer; err: SharedArrayBuffer } {
  return { ctrl: new SharedArrayBuffer(16 + 8 * STATS.length), err: new SharedArrayBuffer(4096) };
}

/**
 * The Backend over a started worker: `shared` is what gpuControl() made (and the worker was given), `hello` the
 * worker's first message.
 */
export async function connectWebGpuBackend(port: GpuWorkerPort, shared: { ctrl: SharedArrayBuffer; err: SharedArrayBuffer },
                                           hello: Promise<GpuHello>, opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  const batchMax = opts.batch ?? BATCH;
  const ctrlSab = shared.ctrl, errSab = shared.err;
  // ctrl: [0] status (0 waiting, 1 done, 2 error), [1] error length, [2] worker dead; result: a float64 at byte 16
  // (a stats answer fills STATS.length of them).
  const ctrl = new Int32Array(ctrlSab, 0, 4), result = new Float64Array(ctrlSab, 16, STATS.length);
  const h = await hello;
  if (h.error) {
    await port.terminate();
    throw new CharlmError(h.error.code, h.error.message, h.error.hint);
  }

  const traffic = { downloads: 0, downloadBytes: 0, uploads: 0, uploadBytes: 0, foreignCalls: 0 };
  const ids = new WeakMap<ArrayBufferLike, number>();
  let nextId = 1;
  // Messages queue here and go out together (a postMessage each cost the worker more than recording the dispatch):
  // when BATCH are queued, when an answer is needed (syncPost), or when this thread yields (a microtask).
  let queue: Msg[] = [], scheduled = false;
  const send = () => {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    port.post(batch);
  };
  const post = (m: Msg) => {
    queue.push(m);
    if (queue.length >= batchMax) send();
    else if (!scheduled) { scheduled = true; queueMicrotask(send); }
  };
  const freed = new FinalizationRegistry<number>((id) => post({ k: 'free', id }));
  const deadError = () => new Error(`webgpu: ${new TextDecoder().decode(new Uint8Array(errSab, 0, ctrl[1]).slice())}`);
  function syncPost(m: Msg): number {
    if (ctrl[2] === 1) throw deadError();   // ctrl[2]: the worker died (gpu-core.ts, an uncaught error)
    Atomics.store(ctrl, 0, 0);
    post({ ...m, sync: true });
    send();
    for (let waited = 0; Atomics.wait(ctrl, 0, 0, 1000) === 'timed-out'; waited++) {
      if (ctrl[2] === 1) throw deadError();
      if (waited >= 600) throw new Error('webgpu: the GPU worker did not answer in 600 s');
    }
    if (ctrl[0] === 2) throw gpuError(new TextDecoder().decode(new Uint8Array(errSab, 0, ctrl[1]).slice()));
    return result[0];
  }

  function register(sab: SharedArrayBuffer, init: boolean): number {
    const id = nextId++;
    ids.set(sab, id);
    post({ k: 'alloc', id, sab, init });
    return id;
  }
  function allocBytes(bytes: number): SharedArrayBuffer {
    if (h.maxBufferBytes !== undefined && bytes > h.maxBufferBytes) {
      throw new CharlmError('WEBGPU_BUFFER_TOO_LARGE', `an array of ${GIB(bytes)} is over this GPU's largest buffer (${GIB(h.maxBufferBytes)})`,
        TOO_BIG_HINT);
    }
    const sab = new SharedArrayBuffer(Math.max(4, bytes));
    freed.register(sab, register(sab, false), sab);
    return sab;
  }

  /** Runs one kernel; foreign arrays go through temporary GPU buffers and their outputs are copied back. */
  function call(op: string, args: unknown[]): number {
    const temps: { id: number; sab: SharedArrayBuffer; orig: ArrayBufferLike; out: boolean }[] = [];
    const writes = WRITES[op];
    const wire: WireArg[] = args.map((a, k) => {
      if (!ArrayBuffer.isView(a)) return a as WireArg;
      const v = a as View;
      let id = ids.get(v.buffer);
      if (id === undefined) {
        let t = temps.find((x) => x.orig === v.buffer);
        if (!t) {
          const sab = new SharedArrayBuffer(Math.max(4, v.buffer.byteLength));
          new Uint8Array(sab).set(new Uint8Array(v.buffer));
          t = { id: nextId++, sab, orig: v.buffer, out: false };
          post({ k: 'alloc', id: t.id, sab, init: true });
          temps.push(t);
          traffic.uploads++; traffic.uploadBytes += sab.byteLength;
        }
        t.out ||= writes.includes(k);
        id = t.id;
      }
      return { id, off: v.byteOffset / 4 };
    });
    if (temps.length) traffic.foreignCalls++;
    if (RETURNS.has(op)) { traffic.downloads++; traffic.downloadBytes += 4; }
    let value = 0;
    if (RETURNS.has(op) || temps.some((t) => t.out)) value = syncPost({ k: 'call', op, args: wire });
    else post({ k: 'call', op, args: wire });
    for (const t of temps) {
      if (t.out) {
        syncPost({ k: 'read', id: t.id, byteOff: 0, bytes: t.sab.byteLength });
        traffic.downloads++; traffic.downloadBytes += t.sab.byteLength;
        new Uint8Array(t.orig).set(new Uint8Array(t.sab).subarray(0, t.orig.byteLength));
      }
      post({ k: 'free', id: t.id });
    }
    return value;
  }
  const owned = (v: View, what: string): number => {
    const id = ids.get(v.buffer);
    if (id === undefined) throw new Error(`webgpu: ${what} of an array this backend did not allocate`);
    return id;
  };

  const kernels = Object.fromEntries(WEBGPU_KERNELS.filter((k) => k !== 'fill' && k !== 'copy')
    .map((op) => [op, (...args: unknown[]) => call(op, args)]));
  // The scatter-add also gets the table's row count (its view's length / E), for the thread-per-entry kernel (ops.ts).
  kernels.embeddingBackward = (...a: unknown[]) => {
    const dT = a[0] as F32, E = a[4] as number;
    return call('embeddingBackward', [...a.slice(0, 5), E > 0 ? Math.floor(dT.length / E) : 0]);
  };

  return {
    name: 'webgpu',
    adapterName: h.adapterName ?? 'unknown adapter',
    traffic,
    ...(kernels as unknown as Omit<Backend, 'name'>),
    alloc: (n: number) => new Float32Array(allocBytes(n * 4), 0, n) as F32,
    allocI32: (n: number) => new Int32Array(allocBytes(n * 4), 0, n) as I32,
    free(buf: View) {
      const id = ids.get(buf.buffer);
      if (id === undefined) return;
      freed.unregister(buf.buffer);
      ids.delete(buf.buffer);
      post({ k: 'free', id });
    },
    fill(buf: F32, v: number, start = 0, end = buf.length) {
      if (end > start) call('fill', [buf.subarray(start, end), end - start, v]);
    },
    copy(dst: F32, src: F32, n: number, dstOff = 0, srcOff = 0) {
      if (n > 0) call('copy', [dst.subarray(dstOff, dstOff + n), src.subarray(srcOff, srcOff + n), n]);
    },
    read(view: View) {
      traffic.downloads++; traffic.downloadBytes += view.byteLength;
      syncPost({ k: 'read', id: owned(view, 'read'), byteOff: view.byteOffset, bytes: view.byteLength });
    },
    write(view: View) {
      traffic.uploads++; traffic.uploadBytes += view.byteLength;
      syncPost({ k: 'write', id: owned(view, 'write'), byteOff: view.byteOffset, bytes: view.byteLength });
    },
    sync() { syncPost({ k: 'sync' }); },
    workerStats() {
      syncPost({ k: 'stats' });
      return Object.fromEntries(STATS.map((k, i) => [k, result[i]])) as unknown as GpuWorkerStats;
    },
    close: () => port.terminate(),
  } as WebGpuBackend;
}
