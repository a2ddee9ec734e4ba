// BackendMemory for backends whose kernels address ordinary JavaScript memory (ref, native): buffers are plain
// typed arrays, the host copy is the only copy, so read and write have nothing to do.
import type { BackendMemory, F32, I32 } from './backend.js';

export const hostMemory: BackendMemory = {
  alloc: (n: number): F32 => new Float32Array(n),
  allocI32: (n: number): I32 => new Int32Array(n),
  free: () => {},
  fill(buf: F32, v: number, start = 0, end = buf.length): void { buf.fill(v, start, end); },
  copy(dst: F32, src: F32, n: number, dstOff = 0, srcOff = 0): void {
    if (n < 64) { for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]; return; } // no view for short rows
    dst.set(src.subarray(srcOff, srcOff + n), dstOff);
  },
  read: () => {},
  write: () => {},
};
