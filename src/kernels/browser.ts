// The backend a browser (the page's Web Worker, an exported model site) computes with. `auto` is the WebAssembly
// SIMD backend (relaxed-SIMD FMA when WebAssembly.validate accepts it, else plain SIMD128), fetched from next to the
// script that asks (the worker bundle: `charlm serve` and exported sites put the .wasm files beside worker.js), and
// falls back to `ref` with a note that says why. `wasm` insists (an error instead of the fallback); `ref` is the plain
// TypeScript twin. `webgpu` runs the WGSL kernels on navigator.gpu in a second worker (gpu-worker.js, beside this
// script) that this one waits on with Atomics.wait; that needs a cross-origin-isolated page (COOP/COEP headers), so
// `auto` never picks it (the kernels are untuned, and SwiftShader, a browser's CPU fallback, is slower than wasm).
//
// Memory is private (reserved up front, never grows): shared memory needs a cross-origin-isolated page (COOP/COEP
// headers), and with no worker threads in the page (one compute Worker) shared memory would buy nothing but growth.
import type { Backend } from './backend.js';
import { refBackend } from './ref/index.js';
import { instantiateWasmBackend, relaxedSimdSupported, wasmFileName, type WasmSimd } from './wasm/backend.js';
import { CharlmError } from '../errors.js';
import { connectWebGpuBackend, gpuControl, type GpuHello } from './webgpu/client.js';

export const BROWSER_BACKENDS = ['auto', 'wasm', 'ref', 'webgpu'] as const;
export type BrowserBackendName = (typeof BROWSER_BACKENDS)[number];

/** The .wasm files a page may fetch (the private-memory builds): what `charlm serve` serves and sites copy. */
export const BROWSER_WASM_FILES: readonly string[] = [wasmFileName('relaxed', false), wasmFileName('simd128', false)];

export interface BrowserBackendChoice {
  backend: Backend;
  /** One line for the page: what runs, and why not something faster. */
  note: string;
}

export interface BrowserBackendOptions {
  /** Where the .wasm files are (a folder URL ending in /). Default: beside the running script. */
  wasmBase?: string | URL;
  /** Force the plain SIMD128 build even where relaxed SIMD validates. */
  simd?: WasmSimd;
  /** Memory reservations to try, largest first (MiB). A tab that cannot reserve the first gets the next. */
  reserveMiB?: readonly number[];
}

/** 512 MiB holds a 128 MiB checkpoint (the page's limit) with its sampling state, or a page-sized training run. */
const RESERVATIONS = [512, 256, 128] as const;

export async function browserBackend(name: string = 'auto', opts: BrowserBackendOptions = {}): Promise<BrowserBackendChoice> {
  if (!(BROWSER_BACKENDS as readonly string[]).includes(name)) {
    throw new CharlmError('BAD_OPTION', `unknown browser backend "${name}"`, `use one of ${BROWSER_BACKENDS.join(', ')}`);
  }
  if (name === 'ref') return { backend: refBackend, note: 'ref (plain TypeScript, one thread), as asked' };
  if (name === 'webgpu') return loadWebGpu(opts);
  try {
    return await loadWasm(opts);
  } catch (e) {
    const why = ((e as Error).message ?? String(e)).split('\n')[0];
    if (name === 'wasm') throw new CharlmError('WASM_UNAVAILABLE', `the wasm backend is not available here: ${why}`, 'use the ref backend');
    return { backend: refBackend, note: `ref (plain TypeScript, one thread): WebAssembly SIMD is unavailable here (${why})` };
  }
}

async function loadWasm(opts: BrowserBackendOptions): Promise<BrowserBackendChoice> {
  if (typeof WebAssembly !== 'object') throw new Error('this browser has no WebAssembly');
  const simd: WasmSimd = opts.simd ?? (relaxedSimdSupported() ? 'relaxed' : 'simd128');
  const file = wasmFileName(simd, false);
  const url = new URL(file, opts.wasmBase ?? scriptBase());
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${file}: HTTP ${res.status}`);
  // compile() rather than compileStreaming(): a static host may send the file with any content type.
  const module = await WebAssembly.compile(await res.arrayBuffer());
  let lastError: unknown;
  for (const mib of opts.reserveMiB ?? RESERVATIONS) {
    try {
      const backend = await instantiateWasmBackend(module, simd, { shared: false, maxMiB: mib });
      const kind = simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD128';
      return { backend, note: `wasm (WebAssembly ${kind}, one thread, ${mib} MiB reserved)` };
    } catch (e) { lastError = e; }  // RangeError: the tab could not reserve this much; try less
  }
  throw lastError instanceof Error ? lastError : new Error('could not reserve WebAssembly memory');
}

/** The webgpu backend over a GPU worker started beside this script (gpu-worker.js). */
async function loadWebGpu(opts: BrowserBackendOptions): Promise<BrowserBackendChoice> {
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { gpu?: unknown } };
  if (!g.crossOriginIsolated) {
    throw new CharlmError('WEBGPU_UNAVAILABLE', 'webgpu in a page needs a cross-origin-isolated page (COOP/COEP headers): ' +
      'the GPU runs in a second worker that this one waits on through shared memory',
      'open the page from `charlm serve`, which sends the headers, or use ?backend=wasm');
  }
  if (!g.navigator?.gpu) {
    throw new CharlmError('NO_WEBGPU_ADAPTER', 'no WebGPU adapter found: this browser has no WebGPU in workers',
      'use a browser with WebGPU (Chrome, Edge), or ?backend=wasm');
  }
  const shared = gpuControl();
  const worker = new Worker(new URL('gpu-worker.js', opts.wasmBase ?? scriptBase()));
  const hello = new Promise<GpuHello>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent) => resolve(e.data as GpuHello);
    worker.onerror = (e: ErrorEvent) => reject(new Error(`the GPU worker failed to start: ${e.message || 'gpu-worker.js did not load'}`));
  });
  worker.postMessage({ gpuInit: shared });
  const backend = await connectWebGpuBackend({ post: (m) => worker.postMessage(m), terminate: async () => worker.terminate() },
    shared, hello);
  return { backend, note: `webgpu (${backend.adapterName}; a second worker runs the GPU)` };
}

/** The folder of the running script: the worker's own URL in a Web Worker, the document's in a page. */
function scriptBase(): string {
  const g = globalThis as { location?: { href: string }; document?: { baseURI: string } };
  if (g.document?.baseURI) return g.document.baseURI;
  if (g.location?.href) return g.location.href;
  throw new Error('no script location to find the .wasm files from (pass wasmBase)');
}
