// The corpus functions of the optional native addon (native/data.cc): UTF-8 kernels of the two encoding passes and
// mmap views of token-cache files. null when the addon is not built (or predates them); callers then use the
// TypeScript twins in utf8kernels.ts and a plain read. Loading never throws.
import { createRequire } from 'node:module';

export interface DataAddon {
  /** Decodes `bytes` from a sequence boundary, counts[cp] += 1 per code point, st[0] += code points.
   *  Returns the bytes consumed (a cut final sequence is left) or -1 - offset of the first bad sequence. */
  utf8Count(bytes: Uint8Array, counts: Float64Array, st: Float64Array): number;
  /** The same decoding, writing token ids: st = [pos, k, h, tailAt, noDrops, changed] (see utf8kernels.ts). */
  utf8Fill(bytes: Uint8Array, map: Int32Array, out: Uint8Array | Uint16Array | Uint32Array, st: Float64Array): number;
  /** A copy-on-write view of bytes [offset, offset + length) of a file exactly that long, or why not. */
  mapFile(file: string, offset: number, length: number): ArrayBuffer | string;
}

// src/data/native.ts and dist/data/native.js are both two levels below the package root.
const ADDON_PATH = '../../build/Release/charlm_native.node';
let addon: DataAddon | null | undefined;

export function dataAddon(): DataAddon | null {
  if (addon !== undefined) return addon;
  try {
    const a = createRequire(import.meta.url)(ADDON_PATH) as Partial<DataAddon>;
    addon = typeof a.utf8Count === 'function' && typeof a.utf8Fill === 'function' && typeof a.mapFile === 'function'
      ? (a as DataAddon) : null;
  } catch {
    addon = null;
  }
  return addon;
}
