// The `wasm` backend over a compiled module (wasm/kernels.ts, built by scripts/build-wasm.mjs): browser-safe, no
// node: imports (src/kernels/wasm/node.ts finds the files in Node; a page fetches them). Buffers are views into the
// module's memory (BackendMemory): a kernel passes view.byteOffset as the pointer, after checking that the view is
// one of this memory's, so no data is copied per call. read/write have nothing to do: the memory is host-visible.
import type { Backend, F32, I32 } from '../backend.js';
import { WasmHeap } from './heap.js';

/** The four builds: relaxed-SIMD FMA or plain SIMD128, importing a shared (growable) or a private memory. */
export type WasmSimd = 'relaxed' | 'simd128';
export function wasmFileName(simd: WasmSimd, shared: boolean): string {
  return `charlm-${simd}-${shared ? 'shared' : 'private'}.wasm`;
}

/** A module with one f32x4.relaxed_madd: WebAssembly.validate says whether this engine runs relaxed SIMD. */
export function relaxedSimdSupported(): boolean {
  const v128 = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const body = [0x00, ...v128, ...v128, ...v128, 0xfd, 0x85, 0x02, 0x0b];
  const bytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
    0x03, 0x02, 0x01, 0x00, 0x0a, body.length + 2, 0x01, body.length, ...body]);
  return WebAssembly.validate(bytes);
}

/** Whether this engine gives shared memory (Node: always; a browser page: only when cross-origin isolated). */
export function sharedMemorySupported(): boolean {
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch { return false; }
}

export interface WasmBackendOptions {
  /** Shared memory: grows on demand up to maxMiB. Private: maxMiB reserved up front, never grows. */
  shared: boolean;
  /** Memory limit (shared: the maximum, default 2048; private: the reservation, default 512). */
  maxMiB?: number;
}

export type WasmBackend = Backend & { readonly simd: WasmSimd; readonly shared: boolean; readonly heap: WasmHeap };

type Ptr = number;
interface Exports {
  matmul(c: Ptr, a: Ptr, b: Ptr, M: number, N: number, K: number, tA: number, tB: number, acc: number, scratch: Ptr): void;
  matmulScratch(M: number, N: number, K: number): number;
  attentionScratch(T: number): number;
  [kernel: string]: (...args: number[]) => number | void;
}

const PAGE = 65536;

/** Instantiates the backend from a compiled module (its memory import must match options.shared). */
export async function instantiateWasmBackend(module: WebAssembly.Module, simd: WasmSimd,
                                             options: WasmBackendOptions): Promise<WasmBackend> {
  const { memory, maxPages } = makeMemory(options);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return wrap(instance.exports as unknown as Exports, memory, maxPages, simd, options.shared);
}

/** Synchronous twin of instantiateWasmBackend (Node; a browser main thread refuses modules over 4 KB). */
export function instantiateWasmBackendSync(module: WebAssembly.Module, simd: WasmSimd, options: WasmBackendOptions): WasmBackend {
  const { memory, maxPages } = makeMemory(options);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return wrap(instance.exports as unknown as Exports, memory, maxPages, simd, options.shared);
}

function makeMemory(o: WasmBackendOptions): { memory: WebAssembly.Memory; maxPages: number } {
  const maxPages = Math.min(32768, Math.floor(((o.maxMiB ?? (o.shared ? 2048 : 512)) * 2 ** 20) / PAGE));
  const memory = o.shared
    ? new WebAssembly.Memory({ initial: Math.min(maxPages, 256), maximum: maxPages, shared: true })
    : new WebAssembly.Memory({ initial: maxPages });
  return { memory, maxPages };
}

function wrap(ex: Exports, memory: WebAssembly.Memory, maxPages: number, simd: WasmSimd, shared: boolean): WasmBackend {
  const heap = new WasmHeap(memory, shared, maxPages);
  const collected = new FinalizationRegistry<number>((start) => heap.release(start));
  let scratch = 0, scratchBytes = 0;
  /** A scratch block of at least n floats (grown on demand, kept). */
  const scratchFor = (n: number): Ptr => {
    if (n * 4 > scratchBytes) {
      if (scratch) heap.release(scratch);
      scratchBytes = Math.max(n * 4, scratchBytes * 2);
      scratch = heap.alloc(scratchBytes);
    }
    return scratch;
  };
  /** The pointer of a view; refuses one that is not in this backend's memory. */
  const p = (v: F32 | I32, what: string): Ptr => {
    if (!heap.owns(v.buffer)) {
      throw new Error(`wasm backend: ${what} is a ${v.constructor.name}(${v.length}) that the wasm backend did not allocate (use backend.alloc)`);
    }
    return v.byteOffset;
  };
  const opt = (v: F32 | null, what: string): Ptr => (v ? p(v, what) : 0);
  const view = <T extends F32 | I32>(Ctor: new (b: ArrayBufferLike, o: number, n: number) => T, n: number): T => {
    if (n === 0) return new Ctor(memory.buffer, 0, 0);
    const start = heap.alloc(n * 4), arr = new Ctor(memory.buffer, start, n);
    collected.register(arr, start, arr);
    return arr;
  };

  const be: WasmBackend = {
    name: 'wasm', simd, shared, heap,
    alloc: (n) => view(Float32Array, n),
    allocI32: (n) => view(Int32Array, n),
    free(buf) {
      if (buf.length === 0) return;
      p(buf, 'free');
      collected.unregister(buf);
      heap.release(buf.byteOffset);
    },
    fill(buf, v, start = 0, end = buf.length) { if (end > start) ex.fill(p(buf, 'fill') + 4 * start, v, end - start); },
    copy(dst, src, n, dstOff = 0, srcOff = 0) {
      if (dstOff + n > dst.length || srcOff + n > src.length) throw new RangeError('wasm backend: copy out of range');
      if (n > 0) ex.copy(p(dst, 'copy dst') + 4 * dstOff, p(src, 'copy src') + 4 * srcOff, n);
    },
    read: () => {},
    write: () => {},
    matmul(C, A, B, M, N, K, tA, tB, acc) {
      ex.matmul(p(C, 'matmul C'), p(A, 'matmul A'), p(B, 'matmul B'), M, N, K, +tA, +tB, +acc, scratchFor(ex.matmulScratch(M, N, K)));
    },
    addRowVector: (Y, b, M, N) => { ex.addRowVector(p(Y, 'Y'), p(b, 'b'), M, N); },
    sumRows: (db, dY, M, N) => { ex.sumRows(p(db, 'db'), p(dY, 'dY'), M, N); },
    embeddingForward: (out, table, ids, N, E) => { ex.embeddingForward(p(out, 'out'), p(table, 'table'), p(ids, 'ids'), N, E); },
    embeddingBackward: (dT, dOut, ids, N, E) => { ex.embeddingBackward(p(dT, 'dTable'), p(dOut, 'dOut'), p(ids, 'ids'), N, E); },
    lstmCellForward: (h, c, tc, g, cp, B, H) => { ex.lstmCellForward(p(h, 'h'), p(c, 'c'), p(tc, 'tanhC'), p(g, 'gates'), p(cp, 'cPrev'), B, H); },
    lstmCellBackward: (dG, dcp, dh, dc, g, cp, tc, B, H) => {
      ex.lstmCellBackward(p(dG, 'dGates'), p(dcp, 'dcPrev'), p(dh, 'dh'), p(dc, 'dc'), p(g, 'gates'), p(cp, 'cPrev'), p(tc, 'tanhC'), B, H);
    },
    gruCellForward: (h, act, gi, gh, hp, B, H) => { ex.gruCellForward(p(h, 'h'), p(act, 'act'), p(gi, 'gi'), p(gh, 'gh'), p(hp, 'hPrev'), B, H); },
    gruCellBackward: (dGi, dGh, dhp, dh, act, hp, B, H) => {
      ex.gruCellBackward(p(dGi, 'dGi'), p(dGh, 'dGh'), p(dhp, 'dhPrev'), p(dh, 'dh'), p(act, 'act'), p(hp, 'hPrev'), B, H);
    },
    tanhForward: (h, pre, n) => { ex.tanhForward(p(h, 'h'), p(pre, 'pre'), n); },
    tanhBackward: (dPre, dh, h, n) => { ex.tanhBackward(p(dPre, 'dPre'), p(dh, 'dh'), p(h, 'h'), n); },
    softmaxXent: (d, logits, tg, N, V, s) => ex.softmaxXent(opt(d, 'dLogits'), p(logits, 'logits'), p(tg, 'targets'), N, V, s) as number,
    adam: (pp, g, m, v, n, lr, b1, b2, eps, wd, adamw, step) => {
      ex.adam(p(pp, 'p'), p(g, 'g'), p(m, 'm'), p(v, 'v'), n, lr, b1, b2, eps, wd, +adamw, step);
    },
    layerNormForward: (out, mean, rstd, x, w, b, N, C, eps) => {
      ex.layerNormForward(p(out, 'out'), p(mean, 'mean'), p(rstd, 'rstd'), p(x, 'x'), p(w, 'w'), opt(b, 'b'), N, C, eps);
    },
    layerNormBackward: (dx, dw, db, dout, x, w, mean, rstd, N, C) => {
      ex.layerNormBackward(p(dx, 'dx'), p(dw, 'dw'), opt(db, 'db'), p(dout, 'dout'), p(x, 'x'), p(w, 'w'), p(mean, 'mean'), p(rstd, 'rstd'), N, C);
    },
    geluForward: (out, x, n) => { ex.geluForward(p(out, 'out'), p(x, 'x'), n); },
    geluBackward: (dx, dout, x, n) => { ex.geluBackward(p(dx, 'dx'), p(dout, 'dout'), p(x, 'x'), n); },
    dropout: (out, x, n, pr, seed) => { ex.dropout(p(out, 'out'), p(x, 'x'), n, pr, seed); },
    add: (out, a, b, n) => { ex.add(p(out, 'out'), p(a, 'a'), p(b, 'b'), n); },
    attentionForward: (y, lse, qkv, B, T, nh, hd, pr, seed) => {
      ex.attentionForward(p(y, 'y'), p(lse, 'lse'), p(qkv, 'qkv'), B, T, nh, hd, pr, seed, scratchFor(ex.attentionScratch(T)));
    },
    attentionBackward: (dqkv, dy, y, lse, qkv, B, T, nh, hd, pr, seed) => {
      ex.attentionBackward(p(dqkv, 'dqkv'), p(dy, 'dy'), p(y, 'y'), p(lse, 'lse'), p(qkv, 'qkv'), B, T, nh, hd, pr, seed);
    },
    attentionDecode: (y, q, qs, kc, vc, pos, B, T, nh, hd, S) => {
      ex.attentionDecode(p(y, 'y'), p(q, 'q'), qs, p(kc, 'kc'), p(vc, 'vc'), p(pos, 'pos'), B, T, nh, hd, S, scratchFor(ex.attentionScratch(S)));
    },
    sumSquares: (x, n) => ex.sumSquares(p(x, 'x'), n) as number,
    scale: (x, n, s) => { ex.scale(p(x, 'x'), n, s); },
    mul: (out, a, b, n) => { ex.mul(p(out, 'out'), p(a, 'a'), p(b, 'b'), n); },
  };
  return be;
}
