// Strict, streaming UTF-8 → code points: bytes arrive in chunks of any size (a character may be split across
// chunks), code points come out in a caller-owned Uint32Array, and a bad sequence is a CharlmError naming the
// source and the absolute byte offset of its lead byte (the same offset firstInvalidUtf8 reports for a whole file).
// Browser-safe: no Node imports.
import { CharlmError } from '../errors.js';

/** Continuation bytes after a lead byte, or -1 when the byte cannot start a sequence (Unicode Table 3-7). */
function trailing(c: number): number {
  if (c < 0x80) return 0;
  if (c >= 0xc2 && c <= 0xdf) return 1;
  if (c >= 0xe0 && c <= 0xef) return 2;
  if (c >= 0xf0 && c <= 0xf4) return 3;
  return -1;
}

/** Allowed range of the first continuation byte after lead `c` (no overlongs, surrogates or > U+10FFFF). */
function firstContinuationOk(c: number, b: number): boolean {
  if (c === 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (c === 0xed) return b >= 0x80 && b <= 0x9f;
  if (c === 0xf0) return b >= 0x90 && b <= 0xbf;
  if (c === 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}

export class Utf8Stream {
  private readonly carry = new Uint8Array(4); // the start of a sequence cut by the chunk's end
  private carryLen = 0;
  private offset = 0;                          // absolute offset of the next byte to arrive
  private atStart = true;

  /** `name` is used in error messages; `where` describes offsets (e.g. "of its decompressed text"). */
  constructor(readonly name: string, readonly where = '') {}

  /**
   * Decodes `bytes` and returns a view of `out` holding the code points completed by them (a leading BOM of the
   * stream is dropped). `out` must hold at least bytes.length + 1 entries.
   */
  push(bytes: Uint8Array, out: Uint32Array): Uint32Array {
    const n = bytes.length;
    let i = 0, k = 0;
    if (this.carryLen > 0) {
      // Finish the sequence started in an earlier chunk, byte by byte.
      const lead = this.carry[0], need = trailing(lead) + 1;
      while (this.carryLen < need && i < n) this.carry[this.carryLen++] = bytes[i++];
      if (this.carryLen < need) { this.offset += n; return out.subarray(0, 0); }
      const start = this.offset - (this.carryLen - i);
      const cp = this.decodeOne(this.carry, 0, need, start);
      out[k++] = cp;
      this.carryLen = 0;
    }
    while (i < n) {
      const c = bytes[i];
      if (c < 0x80) { out[k++] = c; i++; continue; }
      const t = trailing(c);
      if (t < 0) this.fail(bytes, i, this.offset + i);
      if (i + t >= n) { // cut by the chunk's end: keep it for the next chunk
        for (let j = i; j < n; j++) this.carry[this.carryLen++] = bytes[j];
        break;
      }
      out[k++] = this.decodeOne(bytes, i, t + 1, this.offset + i);
      i += t + 1;
    }
    this.offset += n;
    let view = out.subarray(0, k);
    if (this.atStart && k > 0) {
      this.atStart = false;
      if (view[0] === 0xfeff) view = view.subarray(1);
    }
    return view;
  }

  /** Call after the last chunk: a sequence still open is truncated. */
  end(): void {
    if (this.carryLen > 0) this.fail(this.carry.subarray(0, this.carryLen), 0, this.offset - this.carryLen);
  }

  /** Bytes consumed so far. */
  get bytesSeen(): number { return this.offset; }

  /** True while a sequence cut by the last chunk's end awaits its remaining bytes. */
  get pending(): boolean { return this.carryLen > 0; }

  /** Accounts for `n` pure-ASCII bytes the caller used directly (only when nothing is pending). */
  skipAscii(n: number): void {
    if (n > 0) { this.offset += n; this.atStart = false; }
  }

  private decodeOne(b: Uint8Array, i: number, len: number, at: number): number {
    const c = b[i];
    if (!firstContinuationOk(c, b[i + 1])) this.fail(b, i, at);
    for (let k = 2; k < len; k++) if ((b[i + k] & 0xc0) !== 0x80) this.fail(b, i, at);
    if (len === 2) return ((c & 0x1f) << 6) | (b[i + 1] & 0x3f);
    if (len === 3) return ((c & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
    return ((c & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) | (b[i + 3] & 0x3f);
  }

  private fail(b: Uint8Array, i: number, at: number): never {
    const shown = Array.from(b.subarray(i, i + 4), (x) => '0x' + x.toString(16).padStart(2, '0')).join(' ');
    throw new CharlmError('INVALID_UTF8',
      `${this.name} is not valid UTF-8: bad byte sequence at byte offset ${at}${this.where ? ' ' + this.where : ''} (${shown})`,
      `convert it first, e.g. iconv -f latin1 -t utf-8 ${this.name} > fixed.txt`);
  }
}
