// A corpus input → vocabulary + compact token array (+ the train/validation split), through the token cache:
// the one entry point that train, eval and the library use to read a corpus of any size.
import * as path from 'node:path';
import { isCharlmError } from '../errors.js';
import type { Tokens } from './corpus.js';
import { encodeSources, type EncodedCorpus, type EncodeOptions } from './encode.js';
import { resolveSources, sourceBytes, type CorpusSource, type CorpusSpec } from './sources.js';
import { cacheKey, readCacheEntry, tokenCacheDir, writeCacheEntry } from './tokencache.js';
import type { LoadCorpusOptions } from './datasets.js';

/** A corpus to read: in-memory text, or a spec of files, folders and dataset names. */
export interface CorpusInput {
  /** Short name for summaries and the default run folder. */
  name: string;
  /** Where it came from, for messages. */
  source: string;
  text?: string;
  spec?: CorpusSpec;
}

/** Corpora at least this large (all inputs files) are cached by default; below it encoding takes well under 1 s. */
export const CACHE_MIN_BYTES = 16 << 20;

export type DataEvent =
  | { type: 'data-sources'; files: number; gzip: number; bytes: number }
  | { type: 'data-progress'; pass: 1 | 2; bytesDone: number; bytesTotal: number }
  | { type: 'data-ready'; fromCache: boolean; seconds: number; bytes: number; tokens: number; vocabSize: number;
      sources: number; unknown: EncodedCorpus['unknown']; cachePath: string | null; heldOut: string[] }
  | { type: 'data-notice'; message: string };

export interface PrepareOptions extends Omit<EncodeOptions, 'onProgress'> {
  /** true: always use the token cache; false: never; 'auto' (default): for file corpora ≥ CACHE_MIN_BYTES. */
  cache?: boolean | 'auto';
  cacheDir?: string;
  datasets?: LoadCorpusOptions;
  onEvent?: (e: DataEvent) => void;
}

export interface PreparedCorpus extends EncodedCorpus {
  train: Tokens;
  val: Tokens;
  fromCache: boolean;
}

/** A CorpusInput for paths and dataset names as typed on a command line. */
export function corpusFromPaths(paths: string[], include: string[] = [], exclude: string[] = []): CorpusInput {
  const first = path.basename(path.resolve(paths[0] ?? 'corpus'));
  return {
    name: paths.length > 1 ? `${first}+${paths.length - 1}` : first,
    source: paths.join(', '),
    spec: { paths, include, exclude },
  };
}

export async function prepareCorpus(input: CorpusInput, o: PrepareOptions): Promise<PreparedCorpus> {
  const t0 = performance.now();
  const emit = o.onEvent ?? (() => {});
  const sources: CorpusSource[] = input.text !== undefined
    ? [{ kind: 'text', name: input.name, text: input.text, source: input.source }]
    : await resolveSources(input.spec ?? { paths: [input.source] }, o.datasets);
  const bytes = sources.reduce((a, s) => a + sourceBytes(s), 0);
  emit({ type: 'data-sources', files: sources.length, gzip: sources.filter((s) => s.kind === 'file' && s.gzip).length, bytes });

  const allFiles = sources.every((s) => s.kind === 'file');
  const useCache = allFiles && (o.cache === true || ((o.cache ?? 'auto') === 'auto' && bytes >= CACHE_MIN_BYTES));
  const dir = tokenCacheDir(o.cacheDir);
  const options = (vocab: EncodeOptions['vocab']) => ({
    separator: o.separator, maxVocab: vocab ? 0 : o.maxVocab ?? 0, split: o.split, unknown: o.unknown,
    vocab: vocab ? { chars: vocab.chars, unknown: vocab.unknown } : null,
  });
  const key = cacheKey(sources, options(o.vocab));
  const done = (enc: EncodedCorpus, fromCache: boolean, cachePath: string | null): PreparedCorpus => {
    emit({ type: 'data-ready', fromCache, seconds: (performance.now() - t0) / 1000, bytes, tokens: enc.tokens.length,
           vocabSize: enc.vocab.size, sources: enc.sources.length, unknown: enc.unknown, cachePath,
           heldOut: o.split?.valFiles ? enc.sources.filter((s) => s.train === 0 && s.val > 0).map((s) => s.name) : [] });
    return { ...enc, train: enc.tokens.subarray(0, enc.nTrain), val: enc.tokens.subarray(enc.nTrain), fromCache };
  };

  if (useCache) {
    const hit = readCacheEntry(dir, key);
    if (hit) return done(hit, true, path.join(dir, `${key}.tok`));
    if (o.vocab && o.unknown === 'skip') {
      // Resuming a run: the fresh run's entry holds the same tokens when its vocabulary is this one.
      const freshKey = cacheKey(sources, { ...options(undefined), maxVocab: o.maxVocab ?? 0 });
      const fresh = readCacheEntry(dir, freshKey);
      if (fresh && sameVocab(fresh.vocab, o.vocab)) return done(fresh, true, path.join(dir, `${freshKey}.tok`));
    }
  }
  const enc = await encodeSources(sources, { ...o, onProgress: (p) => emit({ type: 'data-progress', ...p }) });
  let cachePath: string | null = null;
  if (useCache) {
    try {
      cachePath = writeCacheEntry(dir, key, sources, options(o.vocab), enc);
    } catch (e) {
      emit({ type: 'data-notice', message: `could not write the token cache in ${dir} (${isCharlmError(e) ? e.message : (e as Error).message}); continuing without it` });
    }
  }
  return done(enc, false, cachePath);
}

function sameVocab(a: EncodeOptions['vocab'], b: EncodeOptions['vocab']): boolean {
  return !!a && !!b && a.unknown === b.unknown && a.size === b.size && a.chars.every((c, i) => c === b.chars[i]);
}
