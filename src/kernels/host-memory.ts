// BackendMemory for backends whose kernels address ordinary JavaScript memory (ref, native): buffers are plain
// typed arrays, the host copy is the only copy, so read and write have nothing to do.
import type { BackendMemory, F32, I32 } from './backend.js';
import { CharlmError } from '../errors.js';

const TOO_BIG_HINT = 'lower --batch-size or --seq-length (--block-size for a GPT), train in --micro-batch pieces, or use a smaller model';

/**
 * A zeroed typed array of n elements, or a one-line OUT_OF_MEMORY error: JavaScript refuses lengths past its limit
 * ("Invalid typed array length": a batch of 65,536 × 4,000 characters asks for a 67-billion-float activation) and
 * allocations the machine cannot give, both as a RangeError that would otherwise surface as an internal error.
 */
function hostArray<T>(Ctor: new (n: number) => T, n: number): T {
  try {
    return new Ctor(n);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new CharlmError('OUT_OF_MEMORY', `cannot allocate an array of ${n.toLocaleString('en-US')} numbers ` +
      `(${(n * 4 / 2 ** 30).toFixed(1)} GiB): ${e.message}`, TOO_BIG_HINT);
  }
}

export const hostMemory: BackendMemory = {
  alloc: (n: number): F32 => hostArray(Float32Array, n),
  allocI32: (n: number): I32 => hostArray(Int32Array, n),
  free: () => {},
  fill(buf: F32, v: number, start = 0, end = buf.length): void { buf.fill(v, start, end); },
  copy(dst: F32, src: F32, n: number, dstOff = 0, srcOff = 0): void {
    if (n < 64) { for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]; return; } // no view for short rows
    dst.set(src.subarray(srcOff, srcOff + n), dstOff);
  },
  read: () => {},
  write: () => {},
};
