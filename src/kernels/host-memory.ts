// BackendMemory for backends whose kernels address ordinary JavaScript memory (ref, native): buffers are plain
// typed arrays, the host copy is the only copy, so read and write have nothing to do.
import type { BackendMemory, F32, I32 } from './backend.js';
import { CharlmError } from '../errors.js';

const TOO_BIG_HINT = 'lower --batch-size or --seq-length (--block-size for a GPT), train in --micro-batch pieces, or use a smaller model';

const GIB = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/**
 * Bytes in the arrays alloc/allocI32 handed out whose buffers are not yet collected, against the machine's memory
 * (Node: os.totalmem(); a browser does not say, so no cap there). Large typed arrays are zero pages until first
 * written, so a batch whose arrays each fit but together exceed the machine allocates fine and then, as the first
 * step writes them, swaps or is killed by the system. Counting them as they are made stops it before any is touched.
 * The count is per process: host memory is.
 */
let liveBytes = 0;
const collected = new FinalizationRegistry<number>((bytes) => { liveBytes -= bytes; });
let machineBytes: number | undefined;
function machineMemory(): number {
  if (machineBytes === undefined) {
    const os = (globalThis as { process?: { getBuiltinModule?: (m: string) => { totalmem(): number } | undefined } })
      .process?.getBuiltinModule?.('node:os');
    machineBytes = os ? os.totalmem() : Infinity;
  }
  return machineBytes;
}

/**
 * A zeroed typed array of n elements, or a one-line OUT_OF_MEMORY error: past the machine's memory counting the
 * arrays already made (above), past JavaScript's limit on a typed array's length ("Invalid typed array length": a
 * batch of 65,536 × 4,000 characters asks for a 67-billion-float activation), or refused by the machine (the last two
 * a RangeError that would otherwise surface as an internal error).
 */
function hostArray<T extends Float32Array | Int32Array>(Ctor: new (n: number) => T, n: number): T {
  const bytes = 4 * n;
  if (liveBytes + bytes > machineMemory()) {
    throw new CharlmError('OUT_OF_MEMORY', `this run's arrays need more than the machine's ${GIB(machineMemory())} of memory ` +
      `(${GIB(liveBytes)} made, ${GIB(bytes)} more asked for)`, TOO_BIG_HINT);
  }
  let a: T;
  try {
    a = new Ctor(n);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new CharlmError('OUT_OF_MEMORY', `cannot allocate an array of ${n.toLocaleString('en-US')} numbers (${GIB(bytes)}): ` +
      e.message, TOO_BIG_HINT);
  }
  liveBytes += bytes;
  collected.register(a.buffer, bytes);
  return a;
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
