// Messages from the main thread's webgpu Backend (index.ts) to its worker (worker.ts). Buffers travel as ids: the
// worker holds the GPUBuffer and the SharedArrayBuffer host shadow of each.
export type WireArg = { id: number; off: number } | number | boolean | null;
export type Msg = { sync?: boolean } & (
  | { k: 'alloc'; id: number; sab: SharedArrayBuffer; init: boolean }
  | { k: 'free'; id: number }
  | { k: 'sync' }
  | { k: 'write'; id: number; byteOff: number; bytes: number }
  | { k: 'read'; id: number; byteOff: number; bytes: number }
  | { k: 'call'; op: string; args: WireArg[] });
