// Text to training tokens, with no file system (browser-safe): strict UTF-8 decoding (a bad byte is an error
// naming its offset, never a silent U+FFFD), the smallest typed array of token ids, the length check and the
// validation split. corpus.ts adds reading files.

import { CharlmError } from '../errors.js';
import { Vocab, unknownCharsError } from './vocab.js';

/** Token ids of a corpus, in the narrowest type that holds every id. */
export type Tokens = Uint8Array | Uint16Array | Uint32Array;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict UTF-8 -> string; drops one leading BOM. `name` (a path or URL) is used in error messages. */
export function decodeUtf8(bytes: Uint8Array, name: string): string {
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const body = bom ? bytes.subarray(bom) : bytes;
  try {
    return decoder.decode(body);
  } catch (e) {
    const at = firstInvalidUtf8(body);
    if (at < 0) {
      // Valid UTF-8 that still failed: the text is longer than the largest string V8 can hold (~512 M chars).
      throw new CharlmError('READ_FAILED', `cannot decode ${name}: ${(e as Error).message}`,
        'split the text into smaller files');
    }
    const offset = at + bom;
    const shown = Array.from(body.subarray(at, at + 4), (b) => '0x' + b.toString(16).padStart(2, '0')).join(' ');
    throw new CharlmError('INVALID_UTF8', `${name} is not valid UTF-8: bad byte sequence at byte offset ${offset} (${shown})`,
      `convert it first, e.g. iconv -f latin1 -t utf-8 ${name} > fixed.txt`);
  }
}

/**
 * Offset of the first ill-formed UTF-8 sequence, or -1 if all is well-formed (Unicode Table 3-7: no overlong
 * forms, no surrogates U+D800..DFFF, nothing above U+10FFFF, no truncated sequences).
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) { i++; continue; }
    let need: number; // continuation bytes after the lead
    let lo = 0x80, hi = 0xbf; // allowed range of the first continuation byte
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) { need = 2; if (c === 0xe0) lo = 0xa0; else if (c === 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; if (c === 0xf0) lo = 0x90; else if (c === 0xf4) hi = 0x8f; }
    else return i; // 0x80..0xc1 (stray continuation / overlong lead) or 0xf5..0xff
    if (i + need >= n) return i; // truncated at end of input
    if (b[i + 1] < lo || b[i + 1] > hi) return i;
    for (let k = 2; k <= need; k++) if (b[i + k] < 0x80 || b[i + k] > 0xbf) return i;
    i += need + 1;
  }
  return -1;
}

/**
 * Text -> token ids in the smallest array type for vocab.size. Memory is O(corpus): one pass to count, one to
 * fill, a 64K-entry table for the Basic Multilingual Plane and a Map for the rest; no per-character strings.
 */
export function encodeCorpus(text: string, vocab: Vocab, unknown: 'error' | 'skip' = 'error'): Tokens {
  const bmp = new Int32Array(0x10000).fill(-1);
  const astral = new Map<number, number>();
  vocab.chars.forEach((ch, id) => {
    const cp = ch.codePointAt(0)!;
    if (cp <= 0xffff) bmp[cp] = id; else astral.set(cp, id);
  });
  const idOf = (cp: number): number => (cp <= 0xffff ? bmp[cp] : astral.get(cp) ?? -1);

  let count = 0;
  let missing: Set<number> | null = null;
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i)!;
    if (cp > 0xffff) i++;
    if (idOf(cp) >= 0) count++;
    else if (unknown === 'error') (missing ??= new Set()).add(cp);
  }
  if (missing) {
    throw unknownCharsError(Array.from(missing, (cp) => String.fromCodePoint(cp)), 'the corpus');
  }

  const V = vocab.size;
  const out: Tokens = V <= 0x100 ? new Uint8Array(count) : V <= 0x10000 ? new Uint16Array(count) : new Uint32Array(count);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i)!;
    if (cp > 0xffff) i++;
    const id = idOf(cp);
    if (id >= 0) out[n++] = id;
  }
  return out;
}

/** A corpus must hold at least one training window: seqLength inputs plus the next character as target. */
export function checkCorpusLength(nChars: number, seqLength: number): void {
  if (nChars === 0) {
    throw new CharlmError('CORPUS_EMPTY', 'the corpus is empty (0 characters)', 'point charlm at a text file with content');
  }
  if (nChars < seqLength + 1) {
    throw new CharlmError('CORPUS_TOO_SHORT',
      `the corpus has ${nChars} characters, fewer than one training window (seq length ${seqLength} + 1)`,
      'use a longer text or a smaller --seq-length');
  }
}

/**
 * Train/validation split, nanoGPT style: the first floor(n·(1−valFraction)) tokens train, the tail validates.
 * Both are views into `tokens` (no copy). valFraction 0 gives an empty validation set.
 */
export function splitTrainVal(tokens: Tokens, valFraction: number): { train: Tokens; val: Tokens } {
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new CharlmError('BAD_OPTION', `validation fraction must be in [0, 1), got ${valFraction}`,
      'use e.g. --val-fraction 0.1, or 0 for no validation set');
  }
  const nTrain = Math.floor(tokens.length * (1 - valFraction));
  return { train: tokens.subarray(0, nTrain), val: tokens.subarray(nTrain) };
}
