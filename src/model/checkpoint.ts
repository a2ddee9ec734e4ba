// Checkpoint files: the safetensors codec (safetensors.ts, browser-safe) plus reading from disk.
// writeFileAtomic replaces a file so that a crash or full disk never leaves a half-written checkpoint.
import { readFileBytes, writeFileAtomic, type AtomicWriteFs } from '../util/fs.js';
import type { LoadLimits } from './limits.js';
import { decodeSafetensors, type DecodedSafetensors } from './safetensors.js';

export * from './safetensors.js';
export { writeFileAtomic, type AtomicWriteFs };

/** Reads and decodes a .safetensors file; missing/unreadable files and corrupt contents are CharlmErrors. */
export function readSafetensorsFile(file: string, limits: Partial<LoadLimits> = {}): DecodedSafetensors {
  return decodeSafetensors(readFileBytes(file, 'checkpoint'), file, limits);
}
