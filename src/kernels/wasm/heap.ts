// The wasm backend's allocator: first-fit free list over a WebAssembly.Memory, 64-byte aligned blocks, neighbours
// merged on free. Addresses below BASE belong to the module (its static data). A shared memory grows when full
// and its old views stay valid (a shared buffer is never detached); a private memory (browsers without cross-origin
// isolation, where shared memory is refused) is reserved up front and never grows, because growing would detach
// every view already handed out.
import { CharlmError } from '../../errors.js';

export const BASE = 65536;
const ALIGN = 64;
const PAGE = 65536;

interface Block { start: number; size: number }

/** Where a heap writes its tag (inside the module's reserved first page, above AssemblyScript's static data). */
const TAG_AT = BASE - 16;
const MAGIC = 0x63686c6d; // 'chlm'
let heapsMade = 0;

export class WasmHeap {
  private free: Block[] = [];
  private live = new Map<number, number>(); // start → size
  /**
   * ArrayBuffers known to be this memory's. A shared memory hands out a new SharedArrayBuffer after each grow, and
   * V8 may give a new wrapper object for the same memory at other times too, so identity alone cannot tell; a
   * buffer not seen before is recognised by the tag this heap wrote into the memory, then remembered.
   */
  private readonly known = new WeakSet<ArrayBufferLike>();
  private readonly tag: number;
  constructor(readonly memory: WebAssembly.Memory, readonly shared: boolean, private readonly maxPages: number) {
    this.free.push({ start: BASE, size: memory.buffer.byteLength - BASE });
    this.tag = ++heapsMade;
    new Uint32Array(memory.buffer, TAG_AT, 2).set([MAGIC, this.tag]);
    this.known.add(memory.buffer);
  }

  /** Whether an ArrayBuffer is (a view of) this heap's memory. */
  owns(buf: ArrayBufferLike): boolean {
    if (this.known.has(buf)) return true;
    if (buf.byteLength < BASE || buf.byteLength > this.memory.buffer.byteLength) return false;
    const t = new Uint32Array(buf, TAG_AT, 2);
    if (t[0] !== MAGIC || t[1] !== this.tag) return false;
    this.known.add(buf);
    return true;
  }

  get bytesInUse(): number { let s = 0; for (const n of this.live.values()) s += n; return s; }

  /** Start of a zeroed block of at least `bytes` bytes. */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let i = this.free.findIndex((b) => b.size >= size);
    if (i < 0) { this.grow(size); i = this.free.findIndex((b) => b.size >= size); }
    const b = this.free[i], start = b.start;
    if (b.size === size) this.free.splice(i, 1); else { b.start += size; b.size -= size; }
    this.live.set(start, size);
    new Uint8Array(this.memory.buffer, start, size).fill(0);
    return start;
  }

  /** Returns a block alloc handed out; unknown starts are ignored (a block freed twice). */
  release(start: number): void {
    const size = this.live.get(start);
    if (size === undefined) return;
    this.live.delete(start);
    let i = 0;
    while (i < this.free.length && this.free[i].start < start) i++;
    this.free.splice(i, 0, { start, size });
    const next = this.free[i + 1];
    if (next && start + size === next.start) { this.free[i].size += next.size; this.free.splice(i + 1, 1); }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === start) { prev.size += this.free[i].size; this.free.splice(i, 1); }
  }

  private grow(size: number): void {
    const have = this.memory.buffer.byteLength / PAGE;
    const want = Math.max(Math.ceil(size / PAGE) + 1, Math.ceil(have / 2)); // at least 1.5× the memory
    const pages = Math.min(want, this.maxPages - have);
    if (!this.shared || pages * PAGE < size) {
      throw new CharlmError('WASM_MEMORY_FULL',
        `the wasm backend is out of memory (${have / 16} MiB in use${this.shared ? '' : ', not growable'}; ${Math.ceil(size / 2 ** 20)} MiB more wanted)`,
        this.shared ? 'use a smaller --batch-size or model' : 'serve the page with COOP/COEP headers (cross-origin isolation) so memory can grow, or use a smaller batch or model');
    }
    const oldEnd = this.memory.buffer.byteLength;
    this.memory.grow(pages);
    this.known.add(this.memory.buffer);
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === oldEnd) last.size += pages * PAGE;
    else this.free.push({ start: oldEnd, size: pages * PAGE });
  }
}
