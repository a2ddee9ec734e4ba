// The run-folder lock: `train` holds DIR/.charlm-train.lock (JSON: pid, host, start time) for as long as it runs, so
// a second training into the same --out is refused instead of clobbering the first. The lock is created with its
// content in one step (write a temp file, then link it into place: link fails if the lock exists). A lock left by
// a process that is gone (same host, pid not alive) is stale and taken over with a notice.
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CharlmError } from '../errors.js';

export const LOCK_FILE = '.charlm-train.lock';

export interface LockInfo { pid: number; host: string; startedAt: string }

export interface RunLock {
  path: string;
  /** Removes the lock (only if it is still ours). */
  release(): void;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

function readLock(path: string): LockInfo | null {
  try {
    const v = JSON.parse(fs.readFileSync(path, 'utf8')) as LockInfo;
    return Number.isSafeInteger(v?.pid) && typeof v.host === 'string' ? v : null;
  } catch { return null; }
}

/**
 * Takes the lock of `dir` (created if needed). A live holder is a LOCKED error naming its pid and host; a dead one
 * (same host) is taken over, and `notice` is told. A lock from another host cannot be checked and is refused.
 */
export function acquireRunLock(dir: string, notice: (line: string) => void = () => {}): RunLock {
  fs.mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const me: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const tmp = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(me) + '\n', { flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.linkSync(tmp, path);
        return { path, release: () => { if (readLock(path)?.pid === me.pid) try { fs.unlinkSync(path); } catch { /* gone */ } } };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = readLock(path);
      if (held && (held.host !== me.host || alive(held.pid))) {
        throw new CharlmError('RUN_LOCKED', `${dir} is in use by another training (pid ${held.pid} on ${held.host}, since ${held.startedAt})`,
          held.host === me.host ? 'wait for it to finish or stop it, or train into another --out folder'
            : `if that training is gone, delete ${path}`);
      }
      // Stale (its process is gone) or unreadable: move it aside and check that what we moved is that stale lock
      // (a racing process may have replaced it in between: then put its lock back and let the next attempt refuse).
      const grave = `${tmp}.stale`;
      try { fs.renameSync(path, grave); } catch { continue; }
      const moved = readLock(grave);
      if (held ? moved?.pid !== held.pid || moved.startedAt !== held.startedAt : moved !== null) {
        try { fs.linkSync(grave, path); } catch { /* the racer holds it now */ }
        fs.unlinkSync(grave);
        continue;
      }
      fs.unlinkSync(grave);
      notice(held ? `taking over the stale lock of pid ${held.pid} (no longer running) in ${dir}` : `replacing the unreadable lock file ${path}`);
    }
    throw new CharlmError('RUN_LOCKED', `could not lock ${dir}: another process keeps taking the lock`, 'train into another --out folder');
  } finally {
    try { fs.unlinkSync(tmp); } catch { /* best effort */ }
  }
}

/** Files that mean a folder already holds a run. */
const RUN_FILES = ['last.safetensors', 'state.safetensors', 'best.safetensors', 'metrics.jsonl'];

/** A fresh run into a folder that holds one is refused unless forced (or resumed). */
export function checkFreshFolder(dir: string, force: boolean): void {
  if (force) return; // the old files stay until the new run replaces them (a diverging new run keeps the old last)
  const found = RUN_FILES.filter((f) => fs.existsSync(join(dir, f)));
  if (found.length) {
    throw new CharlmError('RUN_EXISTS', `${dir} already holds a run (${found.join(', ')})`,
      `continue it with --resume ${dir}, start over in it with --force, or pick another --out folder`);
  }
}
