// A training corpus read from a UTF-8 text file; the decoding, encoding, length check and split are text.ts
// (browser-safe). Only readTextFile/readFileBytes touch the file system.

import { readFileBytes } from '../util/fs.js';
import { decodeUtf8 } from './text.js';

export { readFileBytes };
export * from './text.js';

/** Reads a UTF-8 text file (a leading BOM is dropped). */
export function readTextFile(file: string, what = 'corpus'): string {
  return decodeUtf8(readFileBytes(file, what, { specialMaxBytes: 2 ** 30 }), file); // a pipe works, with a cap
}
