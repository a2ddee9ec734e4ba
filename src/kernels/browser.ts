// The backend a browser (the page's Web Worker, an exported model site) computes with. `auto` will pick the
// WebAssembly SIMD backend once it lands (issue 10, part 1) and fall back to `ref`; today only `ref` exists, so
// `auto` is `ref` and the page says so. One place to change when `wasm` arrives.
import type { Backend } from './backend.js';
import { refBackend } from './ref/index.js';
import { CharlmError } from '../errors.js';

export const BROWSER_BACKENDS = ['auto', 'ref'] as const;
export type BrowserBackendName = (typeof BROWSER_BACKENDS)[number];

export interface BrowserBackendChoice {
  backend: Backend;
  /** One line for the page: what runs, and why not something faster. */
  note: string;
}

export async function browserBackend(name: string = 'auto'): Promise<BrowserBackendChoice> {
  if (!(BROWSER_BACKENDS as readonly string[]).includes(name)) {
    throw new CharlmError('BAD_OPTION', `unknown browser backend "${name}"`, `use one of ${BROWSER_BACKENDS.join(', ')}`);
  }
  return { backend: refBackend, note: 'ref (plain TypeScript, one thread); the WebAssembly SIMD backend is not built yet' };
}
