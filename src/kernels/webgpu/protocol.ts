// Messages from the webgpu Backend (client.ts) to its GPU worker (gpu-core.ts). Buffers travel as ids: the worker
// holds the GPUBuffer and the SharedArrayBuffer host shadow of each. They travel in batches (Batch, one postMessage),
// in order: a kernel call is queued, and the queue goes out when it holds BATCH messages, when the caller needs an
// answer, or when the caller's thread yields.
export type WireArg = { id: number; off: number } | number | boolean | null;
export type Msg = { sync?: boolean } & (
  | { k: 'alloc'; id: number; sab: SharedArrayBuffer; init: boolean }
  | { k: 'free'; id: number }
  | { k: 'sync' }
  | { k: 'stats' }
  | { k: 'write'; id: number; byteOff: number; bytes: number }
  | { k: 'read'; id: number; byteOff: number; bytes: number }
  | { k: 'call'; op: string; args: WireArg[] });
/** One postMessage: messages in the order they were made. */
export type Batch = Msg[];
/** Most messages queued before they go out (the worker starts on a batch while the caller makes the next). */
export const BATCH = 64;

/** The GPU worker's counters since it started (WebGpuBackend.workerStats). */
export interface GpuWorkerStats {
  /** Kernel dispatches recorded, command buffers submitted, bind groups created (cached ones are reused). */
  dispatches: number; submits: number; bindGroups: number;
  /** Batches and messages received, and the worker's milliseconds inside them (recording, not waiting on the GPU). */
  batches: number; messages: number; busyMs: number;
  /** SGEMM shapes timed by the tuner in this worker, shapes whose choice came from the store, milliseconds timing. */
  tunedShapes: number; storedShapes: number; tuneMs: number;
}
export const STATS: (keyof GpuWorkerStats)[] = ['dispatches', 'submits', 'bindGroups', 'batches', 'messages', 'busyMs',
  'tunedShapes', 'storedShapes', 'tuneMs'];
