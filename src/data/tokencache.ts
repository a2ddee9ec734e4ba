// The on-disk token cache: an encoded corpus (token array, vocabulary, layout) stored under
// <cache dir>/tokens/<key>.tok, keyed by the inputs' absolute paths, sizes and modification times and by every
// option that changes the tokens, so a second run on a large corpus reads its tokens back instead of encoding.
// File: "CHARLMTK" | u64 LE header length | JSON header | zero padding to 8 | raw little-endian token array.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Vocab } from './vocab.js';
import type { Tokens } from './corpus.js';
import type { EncodedCorpus } from './encode.js';
import type { CorpusSource } from './sources.js';
import { dataAddon } from './native.js';
import { defaultCacheDir } from '../util/fs.js';

const MAGIC = 'CHARLMTK';
const FORMAT = 1;
const IO_CHUNK = 1 << 30;

export { defaultCacheDir };
export function tokenCacheDir(cacheDir = defaultCacheDir()): string {
  return path.join(cacheDir, 'tokens');
}

export interface CacheInput { path: string; size: number; mtimeMs: number }

/** Everything that decides the tokens, hashed into the entry's name. */
export function cacheKey(sources: CorpusSource[], options: Record<string, unknown>): string {
  const inputs = sources.map((s) => (s.kind === 'file' ? { path: s.path, size: s.size, mtimeMs: s.mtimeMs } : { text: s.name }));
  return createHash('sha256').update(JSON.stringify({ format: FORMAT, inputs, options })).digest('hex').slice(0, 32);
}

interface Header {
  format: number; key: string; created: string; description: string;
  inputs: CacheInput[]; options: Record<string, unknown>;
  vocab: string[]; unknown: string | null; dtype: 'u8' | 'u16' | 'u32'; length: number; nTrain: number; markId: number;
  sources: EncodedCorpus['sources']; skippedChars: string[]; unknownStats: EncodedCorpus['unknown']; bytes: number; chars: number;
}

const CTORS = { u8: Uint8Array, u16: Uint16Array, u32: Uint32Array } as const;
const dtypeOf = (t: Tokens): Header['dtype'] => (t instanceof Uint8Array ? 'u8' : t instanceof Uint16Array ? 'u16' : 'u32');

/** Writes an entry (temporary file, then rename). Returns its path. Throws on I/O errors. */
export function writeCacheEntry(dir: string, key: string, sources: CorpusSource[], options: Record<string, unknown>,
                                enc: EncodedCorpus): string {
  fs.mkdirSync(dir, { recursive: true });
  const header: Header = {
    format: FORMAT, key, created: new Date().toISOString(),
    description: sources.length === 1 ? sources[0].name : `${sources[0].name} (+${sources.length - 1} more)`,
    inputs: sources.flatMap((s) => (s.kind === 'file' ? [{ path: s.path, size: s.size, mtimeMs: s.mtimeMs }] : [])),
    options, vocab: enc.vocab.chars, unknown: enc.vocab.unknown, dtype: dtypeOf(enc.tokens), length: enc.tokens.length,
    nTrain: enc.nTrain, markId: enc.markId, sources: enc.sources, skippedChars: enc.skippedChars, unknownStats: enc.unknown,
    bytes: enc.bytes, chars: enc.chars,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - ((16 + json.length) % 8)) % 8;
  const head = Buffer.alloc(16 + json.length + pad);
  head.write(MAGIC, 0, 'latin1');
  head.writeBigUInt64LE(BigInt(json.length), 8);
  json.copy(head, 16);
  const file = path.join(dir, `${key}.tok`);
  const tmp = path.join(dir, `.${key}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o644);
  try {
    writeAll(fd, head);
    writeAll(fd, new Uint8Array(enc.tokens.buffer, enc.tokens.byteOffset, enc.tokens.byteLength));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.closeSync(fd); } catch { /* closed */ }
    try { fs.unlinkSync(tmp); } catch { /* gone */ }
    throw e;
  }
  return file;
}

function writeAll(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.length;) off += fs.writeSync(fd, b, off, Math.min(IO_CHUNK, b.length - off));
}

function readHeader(fd: number): { header: Header; dataOffset: number } | null {
  const pre = Buffer.alloc(16);
  if (fs.readSync(fd, pre, 0, 16, 0) !== 16 || pre.toString('latin1', 0, 8) !== MAGIC) return null;
  const n = Number(pre.readBigUInt64LE(8));
  if (n <= 0 || n > 1 << 30) return null;
  const json = Buffer.alloc(n);
  if (fs.readSync(fd, json, 0, n, 16) !== n) return null;
  try {
    const header = JSON.parse(json.toString('utf8')) as Header;
    return header.format === FORMAT ? { header, dataOffset: 16 + n + ((8 - ((16 + n) % 8)) % 8) } : null;
  } catch { return null; }
}

/**
 * The entry for `key`, or null when there is none or it is unreadable (then the caller encodes again). With the
 * native addon the token array is a copy-on-write memory map of the file (`map`, default true): no copy, pages come
 * in as batches touch them; otherwise one sequential read into a fresh array.
 */
export function readCacheEntry(dir: string, key: string, opts: { map?: boolean } = {}): EncodedCorpus | null {
  const file = path.join(dir, `${key}.tok`);
  let fd: number;
  try { fd = fs.openSync(file, 'r'); } catch { return null; }
  try {
    const h = readHeader(fd);
    if (!h || h.header.key !== key || !(h.header.dtype in CTORS)) return null;
    const { header, dataOffset } = h;
    const Ctor = CTORS[header.dtype], byteLength = header.length * Ctor.BYTES_PER_ELEMENT;
    if (fs.fstatSync(fd).size !== dataOffset + byteLength) return null;
    const mapped = opts.map !== false && byteLength > 0 ? dataAddon()?.mapFile(file, dataOffset, byteLength) : undefined;
    let tokens: Tokens;
    if (mapped instanceof ArrayBuffer && mapped.byteLength === byteLength) tokens = new Ctor(mapped);
    else {
      tokens = new Ctor(header.length);
      const bytes = new Uint8Array(tokens.buffer);
      for (let off = 0; off < bytes.length;) {
        const got = fs.readSync(fd, bytes, off, Math.min(IO_CHUNK, bytes.length - off), dataOffset + off);
        if (got <= 0) return null;
        off += got;
      }
    }
    const now = new Date();
    try { fs.utimesSync(file, now, now); } catch { /* last-used time is a courtesy */ }
    return {
      vocab: new Vocab(header.vocab, header.unknown), tokens, nTrain: header.nTrain, markId: header.markId,
      sources: header.sources, skippedChars: header.skippedChars, unknown: header.unknownStats, bytes: header.bytes, chars: header.chars,
    };
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

export interface CacheEntryInfo {
  key: string; path: string; diskBytes: number; created: string; lastUsed: string; description: string;
  tokens: number; vocabSize: number; files: number; stale: boolean;
}

/** Entries of the token cache, most recently used first. Stale: an input changed or vanished since encoding. */
export function listCache(dir = tokenCacheDir()): CacheEntryInfo[] {
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return []; }
  const out: CacheEntryInfo[] = [];
  for (const name of names) {
    if (!name.endsWith('.tok')) continue;
    const file = path.join(dir, name);
    let fd: number;
    try { fd = fs.openSync(file, 'r'); } catch { continue; }
    try {
      const st = fs.fstatSync(fd), h = readHeader(fd);
      if (!h) { out.push({ key: name.slice(0, -4), path: file, diskBytes: st.size, created: '', lastUsed: st.mtime.toISOString(), description: '(unreadable entry)', tokens: 0, vocabSize: 0, files: 0, stale: true }); continue; }
      const hd = h.header;
      const stale = hd.inputs.some((i) => {
        try { const s = fs.statSync(i.path); return s.size !== i.size || s.mtimeMs !== i.mtimeMs; } catch { return true; }
      });
      out.push({ key: hd.key, path: file, diskBytes: st.size, created: hd.created, lastUsed: st.mtime.toISOString(),
                 description: hd.description, tokens: hd.length, vocabSize: hd.vocab.length, files: hd.sources.length, stale });
    } finally {
      fs.closeSync(fd);
    }
  }
  return out.sort((a, b) => (a.lastUsed < b.lastUsed ? 1 : -1));
}

/** Deletes entries (all, or only stale ones) and leftover temporary files. Returns what was removed. */
export function clearCache(dir = tokenCacheDir(), opts: { staleOnly?: boolean } = {}): { entries: number; bytes: number } {
  let entries = 0, bytes = 0;
  const victims = listCache(dir).filter((e) => !opts.staleOnly || e.stale).map((e) => e.path);
  if (!opts.staleOnly) {
    try {
      // Temporary files of writes that died; a recent one may belong to a run that is writing right now.
      for (const n of fs.readdirSync(dir)) {
        const f = path.join(dir, n);
        if (n.startsWith('.') && n.endsWith('.tmp') && Date.now() - fs.statSync(f).mtimeMs > 3_600_000) victims.push(f);
      }
    } catch { /* no cache folder */ }
  }
  for (const f of victims) {
    try { const s = fs.statSync(f).size; fs.unlinkSync(f); bytes += s; if (f.endsWith('.tok')) entries++; } catch { /* raced */ }
  }
  return { entries, bytes };
}
