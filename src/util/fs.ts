// File helpers below every layer: bounded, CharlmError-reporting reads and atomic replacement of a file
// (write a temp file, fsync, rename), so a crash or a full disk never leaves a half-written file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CharlmError } from '../errors.js';

/** charlm's cache folder (token cache, downloaded datasets, the webgpu tuner's choices): $CHARLM_CACHE_DIR, else ~/.cache/charlm. */
export function defaultCacheDir(): string {
  return process.env.CHARLM_CACHE_DIR || path.join(os.homedir(), '.cache', 'charlm');
}

export interface ReadOptions {
  /**
   * Pipes and devices (not regular files) are refused unless this is set; then at most this many bytes are read
   * from them (a corpus from `<(zcat big.gz)` works, `/dev/zero` ends in a clean error).
   */
  specialMaxBytes?: number;
}

/**
 * Reads a whole file; missing, directory, unreadable and non-regular files (devices, pipes, sockets) are
 * CharlmErrors. `what` names it in messages.
 */
export function readFileBytes(file: string, what = 'file', opts: ReadOptions = {}): Uint8Array {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CharlmError('FILE_NOT_FOUND', `${what} not found: ${file}`,
        `check the path (relative paths start from ${process.cwd()})`);
    }
    throw readFailed(file, what, e);
  }
  if (stat.isDirectory()) {
    throw new CharlmError('NOT_A_FILE', `${what} is a directory, not a file: ${file}`,
      `pass the path of a file inside it, e.g. ${path.join(file, 'input.txt')}`);
  }
  if (!stat.isFile()) {
    const kind = stat.isFIFO() ? 'a pipe' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'a device' : stat.isSocket() ? 'a socket' : 'not a regular file';
    if (opts.specialMaxBytes === undefined) {
      throw new CharlmError('NOT_A_FILE', `${what} ${file} is ${kind}, not a regular file`, 'copy it to a regular file first');
    }
    return readCapped(file, what, kind, opts.specialMaxBytes);
  }
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw readFailed(file, what, e);
  }
}

/** Reads a pipe or device to its end, refusing it once it passes `max` bytes. */
function readCapped(file: string, what: string, kind: string, max: number): Uint8Array {
  const chunks: Buffer[] = [];
  let total = 0;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, max + 1 - total));
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > max) {
        throw new CharlmError('FILE_TOO_LARGE', `${what} ${file} is ${kind} that gave more than ${max} bytes`,
          'copy the data to a regular file first');
      }
    }
  } catch (e) {
    if (e instanceof CharlmError) throw e;
    throw readFailed(file, what, e);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return Buffer.concat(chunks, total);
}

function readFailed(file: string, what: string, e: unknown): CharlmError {
  const err = e as NodeJS.ErrnoException;
  return new CharlmError('READ_FAILED', `cannot read ${what} ${file}: ${err.code ?? ''} ${err.message}`.trim(),
    'check that the file exists and that you may read it');
}

/** The file-system calls writeFileAtomic makes; tests replace some of them to simulate failures. */
export type AtomicWriteFs = Pick<typeof fs,
  'mkdirSync' | 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'unlinkSync'>;

/**
 * Replaces `file` with `bytes` atomically: write a uniquely named temp file in the same directory, fsync,
 * rename over the target, fsync the directory. On failure the temp file is removed and any existing `file` is
 * left as it was. Parent directories are created.
 */
export function writeFileAtomic(file: string, bytes: Uint8Array, io: AtomicWriteFs = fs): void {
  writeFilesAtomic([{ file, bytes }], io);
}

/** The temp-file names writeFilesAtomic uses: `.<name>.<pid>.<12 hex>.tmp`. */
export const TEMP_FILE_RE = /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/;

/**
 * Replaces several files as one step as far as a full disk is concerned: every temp file is written and fsynced
 * first (a failure removes them all and leaves every target as it was), then the renames run in order. Only a kill
 * between two renames can leave a mix of new and old files; callers that care check for that (train/state.ts).
 */
export function writeFilesAtomic(items: { file: string; bytes: Uint8Array }[], io: AtomicWriteFs = fs): void {
  const tmps: string[] = [];
  let current = items[0]?.file ?? '';
  let renamed = 0;
  try {
    for (const { file, bytes } of items) {
      current = file;
      const dir = path.dirname(path.resolve(file));
      const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
      io.mkdirSync(dir, { recursive: true });
      const fd = io.openSync(tmp, 'wx', 0o644);
      tmps.push(tmp);
      try {
        for (let off = 0; off < bytes.length;) off += io.writeSync(fd, bytes, off, bytes.length - off);
        io.fsyncSync(fd);
      } finally {
        io.closeSync(fd);
      }
    }
    for (let i = 0; i < items.length; i++) {
      current = items[i].file;
      io.renameSync(tmps[i], items[i].file);
      renamed++;
    }
  } catch (e) {
    for (const t of tmps.slice(renamed)) try { io.unlinkSync(t); } catch { /* best effort */ }
    const err = e as NodeJS.ErrnoException;
    const dir = path.dirname(path.resolve(current));
    throw new CharlmError('WRITE_FAILED', `could not write ${current}: ${err.code ? err.code + ' ' : ''}${err.message}`,
      `check free disk space and permissions in ${dir}; any previous ${path.basename(current)} is unchanged`);
  }
  for (const dir of new Set(items.map((it) => path.dirname(path.resolve(it.file))))) {
    try { // make the renames themselves durable; not every platform lets a directory be fsynced
      const dfd = fs.openSync(dir, 'r');
      try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
    } catch { /* best effort */ }
  }
}

/** Removes temp files that a killed writer left in `dir` (call only while no one else writes there). */
export function removeOrphanTempFiles(dir: string): string[] {
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return []; }
  const removed: string[] = [];
  for (const n of names) {
    if (!TEMP_FILE_RE.test(n)) continue;
    try { fs.unlinkSync(path.join(dir, n)); removed.push(n); } catch { /* gone already */ }
  }
  return removed;
}
