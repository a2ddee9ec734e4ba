// The "strict" test backend: ref's kernels behind a memory seam as strict as a GPU's. Every buffer it allocates has
// a separate device copy that the kernels run on; the host copy of a kernel output is poisoned (a NaN with a marked
// payload) until read() brings it back, a kernel refuses an array it did not allocate, a kernel refuses an input the
// host changed without write(), and write() refuses to upload host elements still poisoned. Training, evaluation and
// sampling on it prove that everything above the kernels goes through alloc/fill/copy/read/write.
import type { Backend, F32, I32 } from '../../src/kernels/backend.js';
import { refBackend } from '../../src/kernels/ref/index.js';

/** Output arguments (indices) of each kernel: their host copies are stale after the call. */
const OUTPUTS: Record<string, number[]> = {
  matmul: [0], addRowVector: [0], sumRows: [0], embeddingForward: [0], embeddingBackward: [0],
  lstmCellForward: [0, 1, 2, 3], lstmCellBackward: [0, 1, 3], gruCellForward: [0, 1], gruCellBackward: [0, 1, 2],
  tanhForward: [0], tanhBackward: [0], softmaxXent: [0], adam: [0, 1, 2, 3], layerNormForward: [0, 1, 2],
  layerNormBackward: [0, 1, 2], geluForward: [0], geluBackward: [0], dropout: [0], add: [0],
  attentionForward: [0, 1], attentionBackward: [0], attentionDecode: [0], kvCacheWrite: [0, 1], sumSquares: [], scale: [0], mul: [0],
};

const POISON = 0x7fa5a5a5; // a quiet NaN as float32, 2141558181 as int32

interface Alloc { host: F32 | I32; dev: F32 | I32; bits: Uint32Array; devBits: Uint32Array; valid: Uint8Array }

export interface StrictStats { allocs: number; reads: number; writes: number; readValues: number; writeValues: number; kernels: number }

export type StrictBackend = Backend & { readonly stats: StrictStats; resetStats(): void; readonly live: number };

export function createStrictBackend(inner: Backend = refBackend): StrictBackend {
  const allocs = new Map<ArrayBufferLike, Alloc>();
  const stats: StrictStats = { allocs: 0, reads: 0, writes: 0, readValues: 0, writeValues: 0, kernels: 0 };

  const make = (host: F32 | I32, dev: F32 | I32) => {
    const a: Alloc = { host, dev, bits: new Uint32Array(host.buffer), devBits: new Uint32Array(dev.buffer),
                       valid: new Uint8Array(host.length).fill(1) };
    allocs.set(host.buffer, a);
    stats.allocs++;
    return host;
  };
  /** The allocation and element range of a view; throws on an array this backend did not allocate. */
  const find = (v: F32 | I32, what: string): { a: Alloc; off: number; n: number } => {
    const a = allocs.get(v.buffer);
    if (!a || a.host.constructor !== v.constructor) {
      throw new Error(`strict backend: ${what} got a ${v.constructor.name}(${v.length}) that this backend did not allocate`);
    }
    return { a, off: v.byteOffset / 4, n: v.length };
  };
  const devView = (v: F32 | I32, what: string): F32 | I32 => {
    const { a, off, n } = find(v, what);
    return a.dev.subarray(off, off + n);
  };
  /** Refuses a range whose host copy the host changed after the last read/write (a missing write()). */
  const checkSynced = (v: F32 | I32, what: string): void => {
    const { a, off, n } = find(v, what);
    for (let i = off; i < off + n; i++) {
      if (a.valid[i] && a.bits[i] !== a.devBits[i]) {
        throw new Error(`strict backend: ${what}: element ${i - off} of a ${v.constructor.name}(${v.length}) view was changed on the host without write()`);
      }
    }
  };
  const poison = (v: F32 | I32, what: string, start = 0, end = v.length): void => {
    const { a, off } = find(v, what);
    a.bits.fill(POISON, off + start, off + end);
    a.valid.fill(0, off + start, off + end);
  };

  const be: Record<string, unknown> = {
    name: `strict(${inner.name})`,
    alloc: (n: number) => make(new Float32Array(n), new Float32Array(n)),
    allocI32: (n: number) => make(new Int32Array(n), new Int32Array(n)),
    free(buf: F32 | I32) { find(buf, 'free'); allocs.delete(buf.buffer); },
    fill(buf: F32, v: number, start = 0, end = buf.length) {
      devView(buf, 'fill').fill(v, start, end);
      poison(buf, 'fill', start, end);
    },
    copy(dst: F32, src: F32, n: number, dstOff = 0, srcOff = 0) {
      if (dstOff < 0 || srcOff < 0 || dstOff + n > dst.length || srcOff + n > src.length) throw new Error('strict backend: copy out of range');
      checkSynced(src, 'copy source');
      const s = devView(src, 'copy source'), d = devView(dst, 'copy destination');
      d.set(s.subarray(srcOff, srcOff + n), dstOff);
      poison(dst, 'copy destination', dstOff, dstOff + n);
    },
    read(v: F32 | I32) {
      const { a, off, n } = find(v, 'read');
      a.bits.set(a.devBits.subarray(off, off + n), off);
      a.valid.fill(1, off, off + n);
      stats.reads++; stats.readValues += n;
    },
    write(v: F32 | I32) {
      const { a, off, n } = find(v, 'write');
      for (let i = off; i < off + n; i++) {
        if (!a.valid[i] && a.bits[i] === POISON) {
          throw new Error(`strict backend: write() of a ${v.constructor.name}(${v.length}) view whose element ${i - off} was never read back (a stale host copy would overwrite the backend's)`);
        }
      }
      a.devBits.set(a.bits.subarray(off, off + n), off);
      a.valid.fill(1, off, off + n);
      stats.writes++; stats.writeValues += n;
    },
  };
  for (const [name, outs] of Object.entries(OUTPUTS)) {
    const kernel = (inner as unknown as Record<string, (...args: unknown[]) => unknown>)[name].bind(inner);
    be[name] = (...args: unknown[]) => {
      const isBuf = (x: unknown): x is F32 | I32 => x instanceof Float32Array || x instanceof Int32Array;
      args.forEach((x, i) => { if (isBuf(x)) checkSynced(x, `${name} argument ${i}`); });
      const r = kernel(...args.map((x, i) => (isBuf(x) ? devView(x, `${name} argument ${i}`) : x)));
      for (const i of outs) if (isBuf(args[i])) poison(args[i] as F32, `${name} output ${i}`);
      stats.kernels++;
      return r;
    };
  }
  Object.defineProperty(be, 'stats', { get: () => stats });
  Object.defineProperty(be, 'live', { get: () => allocs.size });
  be.resetStats = () => { for (const k of Object.keys(stats) as (keyof StrictStats)[]) stats[k] = 0; };
  return be as unknown as StrictBackend;
}
