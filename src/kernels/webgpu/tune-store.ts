// The Node home of the SGEMM tuner's choices (tuner.ts): one JSON file, <cache dir>/webgpu-tuning.json
// ($CHARLM_WEBGPU_TUNE_FILE moves it), holding a table of shape → kernel per adapter and kernel set. It is a cache:
// a missing, oversized or malformed file reads as empty, and every write replaces the file atomically after merging
// what another process may have written meanwhile.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultCacheDir, writeFileAtomic } from '../../util/fs.js';
import type { GpuTuneStore, TunedEntry } from './tuner.js';

/** Bounds on what the file may hold (it is read whole): adapters × kernel sets, shapes per table, bytes. */
const MAX_TABLES = 16, MAX_SHAPES = 1024, MAX_BYTES = 4 << 20;   // ~1.5 MB at most

type TuneFile = { format: 1; tables: Record<string, Record<string, TunedEntry>> };

export function tuneFilePath(): string {
  return process.env.CHARLM_WEBGPU_TUNE_FILE || path.join(defaultCacheDir(), 'webgpu-tuning.json');
}

function read(file: string): TuneFile {
  const empty: TuneFile = { format: 1, tables: {} };
  try {
    if (fs.statSync(file).size > MAX_BYTES) return empty;
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as TuneFile;
    if (j?.format !== 1 || typeof j.tables !== 'object' || j.tables === null || Array.isArray(j.tables)) return empty;
    return j;
  } catch {
    return empty;
  }
}

export function fileTuneStore(file = tuneFilePath()): GpuTuneStore {
  return {
    load: (key) => {
      const t = read(file).tables[key];
      return t && typeof t === 'object' && !Array.isArray(t) ? t : {};
    },
    save: (key, table) => {
      const j = read(file);
      const merged = { ...(j.tables[key] ?? {}), ...table };
      const shapes = Object.keys(merged);
      for (const s of shapes.slice(0, Math.max(0, shapes.length - MAX_SHAPES))) delete merged[s];
      delete j.tables[key];   // re-inserted last: the most recently used tables are kept
      j.tables[key] = merged;
      const keys = Object.keys(j.tables);
      for (const k of keys.slice(0, Math.max(0, keys.length - MAX_TABLES))) delete j.tables[k];
      writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(j, null, 1) + '\n'));
    },
  };
}
