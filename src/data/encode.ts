// Streaming corpus encoding in two passes, never holding the text as one string. Pass 1 counts every code point
// (and each source's length); the vocabulary and the token layout follow from the counts. Pass 2 decodes again and
// writes token ids straight into one compact array laid out as [train region][validation region]: each region
// joins its parts of the sources with the separator. Memory: the token array plus a few fixed tables (~20 MB).
import { CharlmError } from '../errors.js';
import { Vocab } from './vocab.js';
import type { Tokens } from './corpus.js';
import { CHUNK_BYTES, codePoints, sourceBytes, type CorpusSource } from './sources.js';

const CP_LIMIT = 0x110000;
/** The longest typed array V8 allows. */
export const MAX_TOKENS = 2 ** 32;

export interface SplitOptions {
  /** Tail fraction of every source that validates (used when valFiles is 0). */
  valFraction: number;
  /** Hold out this many whole sources instead, spread evenly over the sorted list; 0 = tails. */
  valFiles: number;
}

export interface EncodeOptions {
  /** A fixed vocabulary (fine-tuning, resuming, evaluating); otherwise one is built from pass 1's counts. */
  vocab?: Vocab;
  /** For a built vocabulary: keep this many most frequent characters plus the unknown symbol (0 = all). */
  maxVocab?: number;
  /** Joins consecutive sources (within each region). */
  separator: string;
  /** How to split off validation text; null puts everything in the first region (evaluation). */
  split: SplitOptions | null;
  /** Characters a fixed vocabulary cannot represent: dropped ('skip', training) or given id vocab.size ('mark'). */
  unknown: 'skip' | 'mark';
  onProgress?: (p: { pass: 1 | 2; bytesDone: number; bytesTotal: number }) => void;
}

export interface SourceSummary { name: string; chars: number; train: number; val: number }

export interface EncodedCorpus {
  vocab: Vocab;
  /** [train region][validation region] */
  tokens: Tokens;
  nTrain: number;
  /** 'mark' mode without an unknown symbol: the id given to characters outside the vocabulary (vocab.size); else -1. */
  markId: number;
  sources: SourceSummary[];
  /** Distinct characters that were dropped ('skip' with a fixed vocabulary), most frequent first. */
  skippedChars: string[];
  /** Characters mapped to the unknown symbol or marked: distinct count, occurrences, the characters (most frequent first). */
  unknown: { distinct: number; occurrences: number; chars: string[] };
  bytes: number;
  chars: number;
}

/** Pass 1 + layout + pass 2. Sources are read twice (a .gz file is decompressed twice). */
export async function encodeSources(sources: CorpusSource[], o: EncodeOptions): Promise<EncodedCorpus> {
  const scratch = new Uint32Array(CHUNK_BYTES + 4);
  const bytesTotal = sources.reduce((a, s) => a + sourceBytes(s), 0);
  let done = 0;
  const progress = (pass: 1 | 2) => (n: number) => { done += n; o.onProgress?.({ pass, bytesDone: done, bytesTotal }); };

  // Pass 1: counts.
  const counts = new Float64Array(CP_LIMIT);
  const ascii = new Uint32Array(4 * 128); // per-chunk ASCII counts, four interleaved tables (see count8)
  const lengths: number[] = [];
  for (const s of sources) {
    let n = 0;
    for await (const cps of codePoints(s, scratch, progress(1))) {
      if (cps instanceof Uint8Array) count8(counts, ascii, cps); else count32(counts, cps);
      n += cps.length;
    }
    lengths.push(n);
  }

  // Vocabulary and id map: cp -> id; characters outside the vocabulary map to the unknown symbol, to markId
  // ('mark'), or to -1 (dropped).
  const fixed = o.vocab;
  const sep = Array.from(o.separator, (c) => c.codePointAt(0)!);
  const nonEmpty = lengths.filter((n) => n > 0).length;
  if (!fixed) for (const cp of sep) counts[cp] += Math.max(0, nonEmpty - 1); // one per join
  const vocab = fixed ?? Vocab.fromCounts(counts, o.maxVocab ?? 0, nonEmpty > 1 ? sep : []);
  // 'mark' needs its own id only when the vocabulary has no unknown symbol to map to.
  const V = vocab.size, markId = fixed && o.unknown === 'mark' && vocab.unknownId < 0 ? V : -1;
  const outside = vocab.unknownId >= 0 ? vocab.unknownId : markId; // id of characters outside the vocabulary; -1 = drop
  const map = new Int32Array(CP_LIMIT).fill(outside);
  vocab.chars.forEach((ch, id) => { map[ch.codePointAt(0)!] = id; });
  const map8 = Uint8Array.from(map.subarray(0, 128)); // ASCII → id, for Uint8 token arrays

  const skipped: number[] = [], unk: number[] = [];
  let unkOcc = 0;
  for (let cp = 0; cp < CP_LIMIT; cp++) {
    if (counts[cp] === 0 || (map[cp] >= 0 && map[cp] !== outside)) continue;
    if (map[cp] < 0) skipped.push(cp); else { unk.push(cp); unkOcc += counts[cp]; }
  }
  if (vocab.unknownId >= 0) { // U+FFFD in the text is the unknown symbol itself, not an unknown character
    const self = vocab.unknown!.codePointAt(0)!;
    const i = unk.indexOf(self);
    if (i >= 0) { unkOcc -= counts[self]; unk.splice(i, 1); }
  }
  const byCount = (a: number, b: number) => counts[b] - counts[a] || a - b;
  skipped.sort(byCount); unk.sort(byCount);

  // Kept length per source: when characters are dropped (fine-tuning on text with characters the model lacks),
  // a map-only walk counts what each source keeps.
  const kept = skipped.length ? await keptLengths(sources, map, scratch) : lengths;
  const sepIds = sep.map((cp) => map[cp]).filter((id) => id >= 0);

  // Layout.
  const heads: number[] = [], tails: number[] = [];
  if (!o.split) kept.forEach((n) => { heads.push(n); tails.push(0); });
  else if (o.split.valFiles > 0) {
    const F = sources.length, N = o.split.valFiles;
    if (N >= F) {
      throw new CharlmError('BAD_CONFIG_VALUE', `--val-files ${N} needs more than ${N} files, but the corpus has ${F}`,
        F > 1 ? `use --val-files ${F - 1} or less` : 'use --val-fraction on a single file, or pass a folder of files');
    }
    const held = new Set(Array.from({ length: N }, (_, j) => Math.floor(((j + 0.5) * F) / N)));
    kept.forEach((n, i) => { heads.push(held.has(i) ? 0 : n); tails.push(held.has(i) ? n : 0); });
  } else {
    const f = o.split.valFraction;
    if (!(f >= 0 && f < 1)) {
      throw new CharlmError('BAD_OPTION', `validation fraction must be in [0, 1), got ${f}`, 'use e.g. --val-fraction 0.1, or 0 for no validation set');
    }
    kept.forEach((n) => { const h = Math.floor(n * (1 - f)); heads.push(h); tails.push(n - h); });
  }
  const regionLen = (parts: number[]) => {
    const k = parts.filter((n) => n > 0).length;
    return parts.reduce((a, n) => a + n, 0) + Math.max(0, k - 1) * sepIds.length;
  };
  const nTrain = regionLen(heads), total = nTrain + regionLen(tails);
  if (total > MAX_TOKENS) {
    throw new CharlmError('CORPUS_TOO_LARGE', `the corpus has ${total.toLocaleString('en-US')} characters, more than the ${MAX_TOKENS.toLocaleString('en-US')} one token array can hold`,
      'train on a part of it (pass fewer files or use --include/--exclude)');
  }
  const maxId = Math.max(V - 1, markId);
  let tokens: Tokens;
  try {
    tokens = maxId < 0x100 ? new Uint8Array(total) : maxId < 0x10000 ? new Uint16Array(total) : new Uint32Array(total);
  } catch (e) {
    throw new CharlmError('OUT_OF_MEMORY', `cannot allocate ${total.toLocaleString('en-US')} tokens (${(e as Error).message})`,
      'free memory, or train on a part of the corpus (fewer files, --include/--exclude)');
  }
  // Part starts, writing the separators between non-empty parts as we go.
  const headAt: number[] = [], tailAt: number[] = [];
  const place = (parts: number[], start: number, at: number[]) => {
    let pos = start, first = true;
    for (const n of parts) {
      if (n > 0 && !first) { for (const id of sepIds) tokens[pos++] = id; }
      at.push(pos);
      if (n > 0) { pos += n; first = false; }
    }
  };
  place(heads, 0, headAt);
  place(tails, nTrain, tailAt);

  // Pass 2: ids into place.
  done = 0;
  for (let i = 0; i < sources.length; i++) {
    const h = heads[i];
    let k = 0, pos = headAt[i];
    for await (const cps of codePoints(sources[i], scratch, progress(2))) {
      // Fast path: the whole chunk lands in one part and nothing is dropped.
      if (skipped.length === 0 && (k + cps.length <= h || k >= h)) {
        if (k === h) pos = tailAt[i];
        if (cps instanceof Uint8Array && tokens instanceof Uint8Array) fill8to8(tokens, pos, map8, cps);
        else if (cps instanceof Uint8Array) fill8(tokens, pos, map, cps);
        else fill32(tokens, pos, map, cps);
        pos += cps.length; k += cps.length;
        continue;
      }
      for (let j = 0; j < cps.length; j++) {
        const id = map[cps[j]];
        if (id < 0) continue;
        if (k === h) pos = tailAt[i];
        tokens[pos++] = id;
        k++;
      }
    }
    if (k !== kept[i]) {
      throw new CharlmError('CORPUS_CHANGED', `${sources[i].name} changed while it was being read (${kept[i]} then ${k} characters)`,
        'wait until nothing writes to the corpus files, then start again');
    }
  }
  return {
    vocab, tokens, nTrain, markId,
    sources: sources.map((s, i) => ({ name: s.name, chars: kept[i], train: heads[i], val: tails[i] })),
    skippedChars: skipped.map((cp) => String.fromCodePoint(cp)),
    unknown: { distinct: unk.length, occurrences: unkOcc, chars: unk.map((cp) => String.fromCodePoint(cp)) },
    bytes: bytesTotal, chars: lengths.reduce((a, n) => a + n, 0),
  };
}

// Hot loops, kept small and monomorphic so V8 optimizes each for its one array type.
/** ASCII chunk: integer counts in four interleaved tables (no store-to-load stalls on runs of one letter). */
function count8(counts: Float64Array, t: Uint32Array, cps: Uint8Array): void {
  t.fill(0);
  const n = cps.length & ~3;
  let j = 0;
  for (; j < n; j += 4) { t[cps[j]]++; t[128 + cps[j + 1]]++; t[256 + cps[j + 2]]++; t[384 + cps[j + 3]]++; }
  for (; j < cps.length; j++) t[cps[j]]++;
  for (let b = 0; b < 128; b++) counts[b] += t[b] + t[128 + b] + t[256 + b] + t[384 + b];
}
function count32(counts: Float64Array, cps: Uint32Array): void { for (let j = 0; j < cps.length; j++) counts[cps[j]]++; }
function fill8(out: Tokens, at: number, map: Int32Array, cps: Uint8Array): void {
  const d = out.subarray(at, at + cps.length);
  for (let j = 0; j < cps.length; j++) d[j] = map[cps[j]];
}
function fill8to8(out: Uint8Array, at: number, map8: Uint8Array, cps: Uint8Array): void {
  const d = out.subarray(at, at + cps.length);
  for (let j = 0; j < cps.length; j++) d[j] = map8[cps[j]];
}
function fill32(out: Tokens, at: number, map: Int32Array, cps: Uint32Array): void {
  const d = out.subarray(at, at + cps.length);
  for (let j = 0; j < cps.length; j++) d[j] = map[cps[j]];
}

async function keptLengths(sources: CorpusSource[], map: Int32Array, scratch: Uint32Array): Promise<number[]> {
  const out: number[] = [];
  for (const s of sources) {
    let n = 0;
    for await (const cps of codePoints(s, scratch)) for (let j = 0; j < cps.length; j++) if (map[cps[j]] >= 0) n++;
    out.push(n);
  }
  return out;
}
