// Node loader for the wasm backend: reads the build that fits this engine from wasm/build/ (relaxed-SIMD FMA when
// WebAssembly.validate accepts it, else plain SIMD128; shared memory, which Node always has). loadWasm() never
// throws. CHARLM_WASM_SIMD=simd128 forces the plain build (tests and benchmarks of both paths).
import { readFileSync } from 'node:fs';
import { CharlmError } from '../../errors.js';
import { instantiateWasmBackendSync, relaxedSimdSupported, sharedMemorySupported, wasmFileName,
         type WasmBackend, type WasmSimd } from './backend.js';

// src/kernels/wasm/node.ts and dist/kernels/wasm/node.js are both three levels below the package root.
const BUILD_DIR = new URL('../../../wasm/build/', import.meta.url);
const modules = new Map<string, WebAssembly.Module>();

export interface WasmOptions { simd?: WasmSimd; maxMiB?: number }

/** The best SIMD path this engine runs. */
export function bestWasmSimd(): WasmSimd {
  return process.env.CHARLM_WASM_SIMD === 'simd128' || !relaxedSimdSupported() ? 'simd128' : 'relaxed';
}

/** A fresh wasm backend (its own memory), or why there is none. Never throws. */
export function loadWasm(opts: WasmOptions = {}): { backend: WasmBackend } | { error: string } {
  try {
    const simd = opts.simd ?? bestWasmSimd(), shared = sharedMemorySupported();
    if (simd === 'relaxed' && !relaxedSimdSupported()) return { error: 'this engine does not run relaxed SIMD' };
    const name = wasmFileName(simd, shared);
    let mod = modules.get(name);
    if (!mod) {
      let bytes: Uint8Array<ArrayBuffer>;
      try { bytes = new Uint8Array(readFileSync(new URL(name, BUILD_DIR))); } catch { return { error: `wasm/build/${name} missing (run npm run build)` }; }
      mod = new WebAssembly.Module(bytes);
      modules.set(name, mod);
    }
    return { backend: instantiateWasmBackendSync(mod, simd, { shared, maxMiB: opts.maxMiB }) };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  }
}

/** The wasm backend; throws CharlmError WASM_UNAVAILABLE when it cannot load. */
export function createWasmBackend(opts: WasmOptions = {}): WasmBackend {
  const r = loadWasm(opts);
  if ('error' in r) {
    throw new CharlmError('WASM_UNAVAILABLE', `the wasm backend is not available: ${r.error}`,
      'reinstall charlm (the .wasm files ship in the package), or use --backend ref');
  }
  return r.backend;
}
