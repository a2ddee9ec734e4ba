// Picks a Backend by name: `ref` (always there), `native` (the C++ addon, when it built), `wasm` (WebAssembly SIMD,
// shipped prebuilt), `auto` (native if it loads, else wasm, else ref), `webgpu` (WGSL on a GPU through Dawn; only when
// asked for: auto never picks it).
import type { Backend } from './backend.js';
import { refBackend } from './ref/index.js';
import { CharlmError } from '../errors.js';

export type BackendName = 'auto' | 'native' | 'wasm' | 'ref' | 'webgpu';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'native', 'wasm', 'ref', 'webgpu'];
export type Precision = 'fp32' | 'bf16';

export interface BackendOptions { threads?: number; precision?: Precision }

/** What native/index.ts exports (imported lazily by URL so a missing or broken addon never breaks loading). */
interface NativeModule {
  loadNative(): { backend: Backend } | { error: string };
  createNativeBackend(opts: BackendOptions): Backend;
}
let nativeMod: NativeModule | null | undefined;
let nativeError = '';

/** What wasm/node.ts exports (imported lazily, as native). */
interface WasmModule {
  loadWasm(): { backend: Backend } | { error: string };
}
let wasmMod: WasmModule | null | undefined;
let wasmError = '';

async function loadWasmModule(): Promise<WasmModule | null> {
  if (wasmMod !== undefined) return wasmMod;
  try {
    wasmMod = (await import(new URL('./wasm/node.js', import.meta.url).href)) as WasmModule;
  } catch (e) {
    wasmMod = null;
    wasmError = (e as Error).message;
  }
  return wasmMod;
}

/** A fresh wasm backend, or why there is none. */
async function tryWasm(): Promise<{ backend: Backend } | { error: string }> {
  const mod = await loadWasmModule();
  const r = mod ? mod.loadWasm() : { error: wasmError };
  if ('error' in r) wasmError = r.error;
  return r;
}

/** Why the wasm backend is unavailable ('' when it loaded or was never asked for). */
export function wasmUnavailableReason(): string { return wasmError; }

async function loadNativeModule(): Promise<NativeModule | null> {
  if (nativeMod !== undefined) return nativeMod;
  try {
    nativeMod = (await import(new URL('./native/index.js', import.meta.url).href)) as NativeModule;
  } catch (e) {
    nativeMod = null;
    nativeError = (e as Error).message;
  }
  return nativeMod;
}

/** Why the native backend is unavailable ('' when it loaded or was never asked for). */
export function nativeUnavailableReason(): string { return nativeError; }

export async function createBackend(name: BackendName, opts: BackendOptions = {}): Promise<Backend> {
  if (name === 'ref') {
    if (opts.precision === 'bf16') {
      const mod = (await import(new URL('./ref/bf16.js', import.meta.url).href)) as { createRefBf16Backend(): Backend };
      return mod.createRefBf16Backend();
    }
    return refBackend;
  }
  if (name === 'wasm') {
    if (opts.precision === 'bf16') throw new CharlmError('BAD_OPTION', 'the wasm backend runs fp32 only', 'use --precision fp32, or --backend native');
    const r = await tryWasm();
    if ('error' in r) {
      throw new CharlmError('WASM_UNAVAILABLE', `the wasm backend is not available: ${r.error}`,
        'reinstall charlm (the .wasm files ship in the package), or use --backend ref');
    }
    return r.backend;
  }
  if (name === 'webgpu') {
    if (opts.precision === 'bf16') {
      throw new CharlmError('BAD_OPTION', 'the webgpu backend has no bf16 precision', 'use --precision fp32 with --backend webgpu');
    }
    const wg = (await import(new URL('./webgpu/index.js', import.meta.url).href)) as { createWebGpuBackend(): Promise<Backend> };
    return wg.createWebGpuBackend();
  }
  const mod = await loadNativeModule();
  const loaded = mod ? mod.loadNative() : { error: nativeError };
  if ('error' in loaded) {
    nativeError = loaded.error;
    if (name === 'native') {
      throw new CharlmError('NATIVE_UNAVAILABLE', `the native backend is not available: ${loaded.error}`,
        'rebuild it with `npm run build` (needs a C++ compiler), or use --backend ref');
    }
    if (opts.precision !== 'bf16') {
      const r = await tryWasm();
      if ('backend' in r) return r.backend;
    }
    return createBackend('ref', opts);
  }
  return mod!.createNativeBackend(opts);
}

/** Every backend present on this machine, for tests that must run against each. */
export async function availableBackends(): Promise<{ label: string; backend: Backend }[]> {
  const out = [{ label: 'ref', backend: refBackend as Backend }];
  const mod = await loadNativeModule();
  const loaded = mod ? mod.loadNative() : { error: nativeError };
  if ('error' in loaded) console.log(`# native backend not available (${loaded.error}); testing ref only`);
  else out.push({ label: 'native', backend: mod!.createNativeBackend({}) });
  const w = await tryWasm();
  if ('error' in w) console.log(`# wasm backend not available (${w.error})`);
  else out.push({ label: 'wasm', backend: w.backend });
  return out;
}
