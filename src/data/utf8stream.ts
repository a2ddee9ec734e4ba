// Strict, streaming UTF-8: bytes arrive in chunks of any size (a character may be split across chunks); a sequence
// cut by a chunk's end is carried to the next, a leading BOM of the stream is dropped, and a bad sequence is a
// CharlmError naming the source and the absolute byte offset of its lead byte (the offset firstInvalidUtf8 reports
// for a whole file). Each chunk is decoded into code points (push), counted, or written as token ids by a
// Utf8Kernels pair (native or TypeScript, utf8kernels.ts).
import { CharlmError } from '../errors.js';
import type { Tokens } from './corpus.js';
import { decodeUtf8Chunk, fillCodePoints, firstContinuationOk, trailing, type Utf8Kernels } from './utf8kernels.js';

export class Utf8Stream {
  private readonly carry = new Uint8Array(4); // the start of a sequence cut by the chunk's end
  private carryLen = 0;
  private offset = 0;                          // absolute offset of the next byte to arrive
  private atStart = true;
  private readonly st = new Float64Array(1);

  /** `name` is used in error messages; `where` describes offsets (e.g. "of its decompressed text"). */
  constructor(readonly name: string, readonly where = '') {}

  /**
   * Decodes `bytes` and returns a view of `out` holding the code points completed by them. `out` must hold at
   * least bytes.length + 1 entries.
   */
  push(bytes: Uint8Array, out: Uint32Array): Uint32Array {
    let k = 0;
    this.feed(bytes, (cp) => { out[k++] = cp; }, (b) => {
      const r = decodeUtf8Chunk(b, out.subarray(k), this.st);
      k += this.st[0];
      return r;
    });
    return out.subarray(0, k);
  }

  /** Pass 1: counts[cp] += 1 per code point completed by `bytes`; st[0] += their number. */
  count(bytes: Uint8Array, counts: Float64Array, st: Float64Array, kern: Utf8Kernels): void {
    this.feed(bytes, (cp) => { counts[cp]++; st[0]++; }, (b) => kern.count(b, counts, st));
  }

  /** Pass 2: token ids of the code points completed by `bytes` into `out` (st as for Utf8Kernels.fill). */
  fill(bytes: Uint8Array, map: Int32Array, out: Tokens, st: Float64Array, kern: Utf8Kernels): void {
    this.feed(bytes, (cp) => fillCodePoints(Uint32Array.of(cp), map, out, st), (b) => kern.fill(b, map, out, st));
  }

  /** Call after the last chunk: a sequence still open is truncated. */
  end(): void {
    if (this.carryLen > 0) this.fail(this.carry.subarray(0, this.carryLen), 0, this.offset - this.carryLen);
  }

  /** Bytes consumed so far. */
  get bytesSeen(): number { return this.offset; }

  /** True while a sequence cut by the last chunk's end awaits its remaining bytes. */
  get pending(): boolean { return this.carryLen > 0; }

  /**
   * Completes a carried sequence (its code point goes to `one`), drops the stream's leading BOM, runs `kernel` on
   * the rest (from a sequence boundary; it returns the bytes consumed or -1 - offset of a bad sequence) and carries
   * the cut sequence it leaves.
   */
  private feed(bytes: Uint8Array, one: (cp: number) => void, kernel: (b: Uint8Array) => number): void {
    const n = bytes.length;
    let i = 0;
    if (this.carryLen > 0) {
      const need = trailing(this.carry[0]) + 1;
      while (this.carryLen < need && i < n) this.carry[this.carryLen++] = bytes[i++];
      if (this.carryLen < need) { this.offset += n; return; }
      const cp = this.decodeCarry(need, this.offset - (this.carryLen - i));
      this.carryLen = 0;
      if (!(this.atStart && cp === 0xfeff)) one(cp);
      this.atStart = false;
    }
    if (this.atStart && i < n) {
      // The first code point of the stream is a BOM exactly when the stream starts with EF BB BF; a lone EF at
      // the end of a tiny first chunk is carried and decided above.
      if (n - i >= 3 && bytes[i] === 0xef && bytes[i + 1] === 0xbb && bytes[i + 2] === 0xbf) i += 3;
      if (bytes[i] !== 0xef || n - i >= 3 || i > 0) this.atStart = false;
    }
    if (i < n) {
      const r = kernel(i === 0 ? bytes : bytes.subarray(i));
      if (r < 0) this.fail(bytes, i - 1 - r, this.offset + i - 1 - r);
      for (let j = i + r; j < n; j++) this.carry[this.carryLen++] = bytes[j];
    }
    this.offset += n;
  }

  private decodeCarry(len: number, at: number): number {
    const b = this.carry, c = b[0];
    if (!firstContinuationOk(c, b[1])) this.fail(b.subarray(0, len), 0, at);
    for (let k = 2; k < len; k++) if ((b[k] & 0xc0) !== 0x80) this.fail(b.subarray(0, len), 0, at);
    if (len === 2) return ((c & 0x1f) << 6) | (b[1] & 0x3f);
    if (len === 3) return ((c & 0x0f) << 12) | ((b[1] & 0x3f) << 6) | (b[2] & 0x3f);
    return ((c & 0x07) << 18) | ((b[1] & 0x3f) << 12) | ((b[2] & 0x3f) << 6) | (b[3] & 0x3f);
  }

  private fail(b: Uint8Array, i: number, at: number): never {
    const shown = Array.from(b.subarray(i, i + 4), (x) => '0x' + x.toString(16).padStart(2, '0')).join(' ');
    throw new CharlmError('INVALID_UTF8',
      `${this.name} is not valid UTF-8: bad byte sequence at byte offset ${at}${this.where ? ' ' + this.where : ''} (${shown})`,
      `convert it first, e.g. iconv -f latin1 -t utf-8 ${this.name} > fixed.txt`);
  }
}
