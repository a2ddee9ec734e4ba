// What a corpus is made of: resolves the inputs (files, folders read recursively in sorted path order with
// --include/--exclude globs, .gz files, named datasets) into an ordered list of sources, and reads a file source as
// chunks of bytes (gzip decompressed as a stream) and any source as chunks of code points (named datasets from
// their text, files through the strict streaming UTF-8 decoder).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import { CharlmError, isCharlmError } from '../errors.js';
import { compileGlob } from './glob.js';
import { DATASETS, loadCorpusText, type LoadCorpusOptions } from './datasets.js';
import { Utf8Stream } from './utf8stream.js';

/** A corpus as given by a user: paths and dataset names in order, and filters for the files found in folders. */
export interface CorpusSpec {
  paths: string[];
  include?: string[];
  exclude?: string[];
}

/** The spec with paths made absolute (dataset names stay names), for reading it again from another folder. */
export function absoluteSpec(spec: CorpusSpec): CorpusSpec {
  return { ...spec, paths: spec.paths.map((p) => (DATASETS.some((d) => d.name === p) ? p : path.resolve(p))) };
}

export type CorpusSource = FileSource | { kind: 'text'; name: string; text: string; source: string };
export interface FileSource { kind: 'file'; name: string; path: string; size: number; mtimeMs: number; gzip: boolean }

export const CHUNK_BYTES = 1 << 20;

/** Paths and dataset names → sources. Folders are walked recursively; hidden entries (".name") are skipped. */
export async function resolveSources(spec: CorpusSpec, opts: LoadCorpusOptions = {}): Promise<CorpusSource[]> {
  if (!spec.paths.length) {
    throw new CharlmError('MISSING_CORPUS', 'no corpus given', 'pass a text file, a folder, or a named dataset (shakespeare, sotu)');
  }
  const include = (spec.include ?? []).map(compileGlob), exclude = (spec.exclude ?? []).map(compileGlob);
  const out: CorpusSource[] = [], seen = new Set<string>();
  for (const p of spec.paths) {
    if (DATASETS.some((d) => d.name === p)) {
      const t = await loadCorpusText(p, opts);
      out.push({ kind: 'text', name: t.name, text: t.text, source: t.source });
      continue;
    }
    const st = statOrThrow(p);
    const files: { abs: string; name: string; st: fs.Stats }[] = [];
    if (st.isDirectory()) {
      const found: { rel: string; abs: string; st: fs.Stats }[] = [];
      walk(path.resolve(p), '', found, new Set(), (rel, isDir) =>
        !exclude.some((g) => g.test(rel)) && (isDir || !include.length || include.some((g) => g.test(rel))));
      found.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
      if (!found.length) {
        throw new CharlmError('CORPUS_EMPTY', `no files in folder ${p}${include.length || exclude.length ? ' match --include/--exclude' : ''}`,
          'check the folder and the glob patterns, e.g. --include "*.txt"');
      }
      for (const f of found) files.push({ abs: f.abs, name: path.join(p, f.rel), st: f.st });
    } else {
      files.push({ abs: path.resolve(p), name: p, st }); // named on the command line: always read
    }
    for (const f of files) {
      if (seen.has(f.abs)) continue;
      seen.add(f.abs);
      out.push({ kind: 'file', name: f.name, path: f.abs, size: f.st.size, mtimeMs: f.st.mtimeMs, gzip: /\.gz$/i.test(f.abs) });
    }
  }
  return out;
}

function statOrThrow(p: string): fs.Stats {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CharlmError('FILE_NOT_FOUND', `no such file, folder or dataset: ${p}`,
        `check the path, or use a named dataset: ${DATASETS.map((d) => d.name).join(', ')}`);
    }
    throw new CharlmError('READ_FAILED', `cannot read ${p}: ${(e as Error).message}`, 'check that the path exists and that you may read it');
  }
}

function walk(dir: string, rel: string, out: { rel: string; abs: string; st: fs.Stats }[], visiting: Set<string>,
              keep: (rel: string, isDir: boolean) => boolean): void {
  const real = fs.realpathSync(dir);
  if (visiting.has(real)) return; // a symlink loop
  visiting.add(real);
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const abs = path.join(dir, name), r = rel ? `${rel}/${name}` : name;
    let st: fs.Stats;
    try { st = fs.statSync(abs); } catch { continue; } // a dangling link
    if (st.isDirectory()) { if (keep(r, true)) walk(abs, r, out, visiting, keep); }
    else if (st.isFile() && keep(r, false)) out.push({ rel: r, abs, st });
  }
  visiting.delete(real);
}

/** Total input bytes (compressed size for .gz; UTF-8 length for named datasets). */
export function sourceBytes(s: CorpusSource): number {
  return s.kind === 'file' ? s.size : Buffer.byteLength(s.text, 'utf8');
}

/**
 * The code points of one source, chunk by chunk: a Uint8Array of pure ASCII bytes, or a view of `scratch`
 * (length ≥ CHUNK_BYTES + 4). Each chunk is valid only until the next one is requested. `onBytes` reports input
 * bytes read (compressed bytes for .gz).
 */
export async function* codePoints(src: CorpusSource, scratch: Uint32Array, onBytes: (n: number) => void = () => {}):
    AsyncGenerator<Uint8Array | Uint32Array> {
  if (src.kind === 'text') {
    // Code points exactly as String.prototype.codePointAt walks them (a lone surrogate is its own code point).
    const t = src.text;
    let i = 0;
    while (i < t.length) {
      const end = Math.min(t.length, i + CHUNK_BYTES);
      let k = 0;
      while (i < end) {
        const cp = t.codePointAt(i)!;
        scratch[k++] = cp;
        i += cp > 0xffff ? 2 : 1;
      }
      onBytes(0);
      yield scratch.subarray(0, k);
    }
    return;
  }
  const dec = utf8Stream(src);
  for await (const bytes of fileChunks(src, onBytes)) {
    for (let o = 0; o < bytes.length; o += CHUNK_BYTES) yield dec.push(bytes.subarray(o, o + CHUNK_BYTES), scratch);
  }
  dec.end();
}

/** The strict decoder for a file source (offsets of a .gz file are those of its decompressed text). */
export function utf8Stream(src: FileSource): Utf8Stream {
  return new Utf8Stream(src.name, src.gzip ? 'of its decompressed text' : '');
}

/**
 * The bytes of a file source in chunks of up to CHUNK_BYTES (a .gz file decompressed as a stream), each valid only
 * until the next one is requested. `onBytes` reports input bytes read (compressed bytes for .gz).
 */
export async function* fileChunks(src: FileSource, onBytes: (n: number) => void = () => {}):
    AsyncGenerator<Uint8Array> {
  if (src.gzip) {
    const file = fs.createReadStream(src.path, { highWaterMark: CHUNK_BYTES });
    const gunzip = createGunzip({ chunkSize: CHUNK_BYTES }); // 1 MiB: fewer thread-pool round trips than 256 KiB (~1.3x wall)
    file.on('error', (e) => gunzip.destroy(e));
    file.pipe(gunzip);
    let reported = 0;
    try {
      for await (const chunk of gunzip) {
        onBytes(file.bytesRead - reported); reported = file.bytesRead;
        yield chunk as Buffer;
      }
    } catch (e) {
      if (isCharlmError(e)) throw e;
      throw new CharlmError('READ_FAILED', `cannot decompress ${src.name}: ${(e as Error).message}`,
        'check that it is a complete gzip file (gzip -t), or pass the uncompressed text');
    } finally {
      file.destroy(); gunzip.destroy();
    }
    return;
  }
  let fh: fs.promises.FileHandle;
  try { fh = await fs.promises.open(src.path, 'r'); } catch (e) {
    throw new CharlmError('READ_FAILED', `cannot read ${src.name}: ${(e as Error).message}`, 'check that the file exists and that you may read it');
  }
  const buf = Buffer.allocUnsafe(CHUNK_BYTES);
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      onBytes(bytesRead);
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
