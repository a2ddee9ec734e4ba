// The per-chunk kernels of the two encoding passes, straight from UTF-8 bytes: count code points (pass 1) and write
// token ids (pass 2). Two twins with one contract: the native addon's (native/data.cc, used when built) and the
// TypeScript ones here (the reference and the fallback); test/data/utf8kernels.test.ts checks they agree bit for bit.
// A chunk must start at a sequence boundary; Utf8Stream carries sequences cut by a chunk's end and drops the BOM.
import { isAscii } from 'node:buffer';
import type { Tokens } from './corpus.js';
import { dataAddon } from './native.js';

/**
 * Both kernels return the bytes consumed — all of them, or up to a final sequence cut by the chunk's end (at most 3
 * bytes, for the caller to carry) — or -1 - offset of the first ill-formed sequence (Unicode Table 3-7).
 * count: counts[cp] += 1 per code point (counts: 0x110000 entries); st[0] += code points.
 * fill: st = [pos, k, h, tailAt, noDrops, changed]. The k-th kept character of the source goes to out[pos++], and
 *   pos jumps to tailAt when k reaches h (the end of the source's training part); map[cp] < 0 drops a character.
 *   With noDrops = 1 no character may map below 0 (the source changed since pass 1): such a character sets
 *   changed to 1 and is stored anyway (as -1 cast to the array type). Nothing is written at or past out.length.
 */
export interface Utf8Kernels {
  readonly name: 'native' | 'js';
  count(bytes: Uint8Array, counts: Float64Array, st: Float64Array): number;
  fill(bytes: Uint8Array, map: Int32Array, out: Tokens, st: Float64Array): number;
}

/** The native kernels when the addon is built, else the TypeScript twins. */
export function defaultUtf8Kernels(): Utf8Kernels {
  const a = dataAddon();
  return a ? { name: 'native', count: a.utf8Count, fill: a.utf8Fill } : createJsKernels();
}

/** The TypeScript twins (each object owns its decoding scratch). */
export function createJsKernels(): Utf8Kernels {
  let scratch = new Uint32Array(0);
  const dst = new Float64Array(1);
  const decodeInto = (b: Uint8Array): number => {
    if (scratch.length < b.length) scratch = new Uint32Array(b.length);
    return decodeUtf8Chunk(b, scratch, dst);
  };
  return {
    name: 'js',
    count(b, counts, st) {
      if (isAscii(b)) { countCodePoints(counts, b); st[0] += b.length; return b.length; }
      const r = decodeInto(b);
      if (r >= 0) { countCodePoints(counts, scratch.subarray(0, dst[0])); st[0] += dst[0]; }
      return r;
    },
    fill(b, map, out, st) {
      if (isAscii(b)) { fillCodePoints(b, map, out, st); return b.length; }
      const r = decodeInto(b);
      if (r >= 0) fillCodePoints(scratch.subarray(0, dst[0]), map, out, st);
      return r;
    },
  };
}

/** Continuation bytes after a lead byte, or -1 when the byte cannot start a sequence (Unicode Table 3-7). */
export function trailing(c: number): number {
  if (c < 0x80) return 0;
  if (c >= 0xc2 && c <= 0xdf) return 1;
  if (c >= 0xe0 && c <= 0xef) return 2;
  if (c >= 0xf0 && c <= 0xf4) return 3;
  return -1;
}

/** Allowed range of the first continuation byte after lead `c` (no overlongs, surrogates or > U+10FFFF). */
export function firstContinuationOk(c: number, b: number): boolean {
  if (c === 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (c === 0xed) return b >= 0x80 && b <= 0x9f;
  if (c === 0xf0) return b >= 0x90 && b <= 0xbf;
  if (c === 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}

/**
 * Decodes b (from a sequence boundary) into out (length ≥ b.length); st[0] = code points written. Returns the bytes
 * consumed or -1 - offset of the first bad sequence, like the kernels.
 */
export function decodeUtf8Chunk(b: Uint8Array, out: Uint32Array, st: Float64Array): number {
  const n = b.length;
  let i = 0, k = 0, r = n;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) { out[k++] = c; i++; continue; }
    const t = trailing(c);
    if (t < 0) { r = -1 - i; break; }
    if (i + t >= n) { r = i; break; } // cut by the chunk's end
    const b1 = b[i + 1];
    if (!firstContinuationOk(c, b1)) { r = -1 - i; break; }
    if (t === 1) out[k++] = ((c & 0x1f) << 6) | (b1 & 0x3f);
    else if (t === 2) {
      const b2 = b[i + 2];
      if ((b2 & 0xc0) !== 0x80) { r = -1 - i; break; }
      out[k++] = ((c & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
    } else {
      const b2 = b[i + 2], b3 = b[i + 3];
      if ((b2 & 0xc0) !== 0x80 || (b3 & 0xc0) !== 0x80) { r = -1 - i; break; }
      out[k++] = ((c & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
    }
    i += t + 1;
  }
  st[0] = k;
  return r;
}

const asciiTables = new Uint32Array(4 * 128);

/** counts[cp] += 1 for each code point (for ASCII bytes: four interleaved tables, no stalls on runs of one letter). */
export function countCodePoints(counts: Float64Array, cps: Uint8Array | Uint32Array): void {
  if (cps instanceof Uint8Array && isAscii(cps)) return count8(counts, asciiTables, cps);
  for (let j = 0; j < cps.length; j++) counts[cps[j]]++;
}

// Hot loops, kept small and monomorphic so V8 optimizes each for its one array type.
function count8(counts: Float64Array, t: Uint32Array, cps: Uint8Array): void {
  t.fill(0);
  const n = cps.length & ~3;
  let j = 0;
  for (; j < n; j += 4) { t[cps[j]]++; t[128 + cps[j + 1]]++; t[256 + cps[j + 2]]++; t[384 + cps[j + 3]]++; }
  for (; j < cps.length; j++) t[cps[j]]++;
  for (let b = 0; b < 128; b++) counts[b] += t[b] + t[128 + b] + t[256 + b] + t[384 + b];
}

/** The fill kernel's contract over code points (see Utf8Kernels.fill). */
export function fillCodePoints(cps: Uint8Array | Uint32Array, map: Int32Array, out: Tokens, st: Float64Array): void {
  let pos = st[0], k = st[1];
  const h = st[2], tailAt = st[3], noDrops = st[4] !== 0, n = cps.length;
  if (noDrops && !(k <= h && h < k + n) && pos + n <= out.length) {
    const neg = cps instanceof Uint8Array ? run8(out, pos, map, cps) : run32(out, pos, map, cps);
    if (neg < 0) st[5] = 1;
    st[0] = pos + n; st[1] = k + n;
    return;
  }
  for (let j = 0; j < n; j++) {
    const id = map[cps[j]];
    if (id < 0) { if (!noDrops) continue; st[5] = 1; }
    if (k === h) pos = tailAt;
    if (pos < out.length) out[pos] = id;
    pos++; k++;
  }
  st[0] = pos; st[1] = k;
}
function run8(out: Tokens, at: number, map: Int32Array, cps: Uint8Array): number {
  let neg = 0;
  const d = out.subarray(at, at + cps.length);
  for (let j = 0; j < cps.length; j++) { const id = map[cps[j]]; neg |= id; d[j] = id; }
  return neg;
}
function run32(out: Tokens, at: number, map: Int32Array, cps: Uint32Array): number {
  let neg = 0;
  const d = out.subarray(at, at + cps.length);
  for (let j = 0; j < cps.length; j++) { const id = map[cps[j]]; neg |= id; d[j] = id; }
  return neg;
}
