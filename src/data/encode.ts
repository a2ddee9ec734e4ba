// Streaming corpus encoding in two passes, never holding the text as one string. Pass 1 counts every code point
// (and each source's length); the vocabulary and the token layout follow from the counts. Pass 2 decodes again and
// writes token ids straight into one compact array laid out as [train region][validation region]: each region
// joins its parts of the sources with the separator. Memory: the token array plus a few fixed tables (~20 MB).
import { CharlmError } from '../errors.js';
import { Vocab } from './vocab.js';
import type { Tokens } from './corpus.js';
import { CHUNK_BYTES, codePoints, fileChunks, sourceBytes, utf8Stream, type CorpusSource } from './sources.js';
import { countCodePoints, defaultUtf8Kernels, fillCodePoints, type Utf8Kernels } from './utf8kernels.js';

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
  /** The UTF-8 kernels of both passes: default the native addon's when built, else the TypeScript twins. */
  kernels?: Utf8Kernels;
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
  const kern = o.kernels ?? defaultUtf8Kernels();
  const counts = new Float64Array(CP_LIMIT);
  const lengths: number[] = [];
  for (const s of sources) lengths.push(await countSource(s, counts, kern, scratch, progress(1)));

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
  const none = new Uint8Array(0);
  const kept = skipped.length
    ? await sequential(sources, async (s) => (await fillSource(s, map, none, [0, 0, 2 ** 53, 0, 0, 0], kern, scratch))[1])
    : lengths;
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
    const st = await fillSource(sources[i], map, tokens, [headAt[i], 0, heads[i], tailAt[i], skipped.length ? 0 : 1, 0], kern, scratch, progress(2));
    if (st[1] !== kept[i] || st[5] !== 0) {
      const how = st[1] !== kept[i] ? `${kept[i]} then ${st[1]} characters` : 'a character the first pass did not see';
      throw new CharlmError('CORPUS_CHANGED', `${sources[i].name} changed while it was being read (${how})`,
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

/** Pass 1 over one source: counts[cp] += occurrences; returns its length in code points. */
async function countSource(s: CorpusSource, counts: Float64Array, kern: Utf8Kernels, scratch: Uint32Array,
                           onBytes: (n: number) => void): Promise<number> {
  const st = new Float64Array(1);
  if (s.kind === 'text') {
    for await (const cps of codePoints(s, scratch, onBytes)) { countCodePoints(counts, cps); st[0] += cps.length; }
    return st[0];
  }
  const dec = utf8Stream(s);
  for await (const bytes of fileChunks(s, onBytes)) dec.count(bytes, counts, st, kern);
  dec.end();
  return st[0];
}

/** Pass 2 over one source: the fill kernels' walk (see Utf8Kernels.fill) from `init`; returns the final state. */
async function fillSource(s: CorpusSource, map: Int32Array, out: Tokens, init: number[], kern: Utf8Kernels,
                          scratch: Uint32Array, onBytes?: (n: number) => void): Promise<Float64Array> {
  const st = Float64Array.from(init);
  if (s.kind === 'text') {
    for await (const cps of codePoints(s, scratch, onBytes)) fillCodePoints(cps, map, out, st);
    return st;
  }
  const dec = utf8Stream(s);
  for await (const bytes of fileChunks(s, onBytes)) dec.fill(bytes, map, out, st, kern);
  dec.end();
  return st;
}

async function sequential<T, R>(xs: T[], f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const x of xs) out.push(await f(x));
  return out;
}
