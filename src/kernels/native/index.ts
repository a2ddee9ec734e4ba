// Loader for the optional native backend: build/Release/charlm_native.node, built from native/ by
// scripts/build-native.mjs. loadNative() never throws. The backend's kernels ARE the addon's functions (typed arrays
// cross without copies); the thread pool and the ISA are process-wide, shared by every native backend object.
import { createRequire } from 'node:module';
import type { Backend, BackendMemory, F32, PackedMatrix, PackModes } from '../backend.js';
import { CharlmError } from '../../errors.js';
import { hostMemory } from '../host-memory.js';
import { kvCacheWrite as refKvCacheWrite } from '../ref/transformer.js';

export type Precision = 'fp32' | 'bf16';
export type Isa = 'avx512' | 'avx2' | 'portable';
export interface NativeOptions { threads?: number; precision?: Precision }

/** Backend plus the native knobs. `threads` and `isa` read the process-wide settings. */
export type NativeBackend = Backend & {
  setThreads(n: number): void;
  readonly threads: number;
  readonly isa: string;
  readonly precision: Precision;
};

/** The addon's handle to packed weights (a Node-API External owning the panels). */
type NativeHandle = object;
/** What native packWeights returns: the Backend's PackedMatrix fields plus the addon's handle. */
interface NativePacked extends PackedMatrix { readonly precision: Precision; readonly handle: NativeHandle }

/** The addon's exports (native/binding.cc). Kernel signatures are exactly Backend's except the packed trio. */
interface Addon extends Omit<Backend, 'name' | 'packWeights' | 'repack' | 'matmulPacked' | keyof BackendMemory> {
  matmulBf16: Backend['matmul'];
  packWeights(W: F32, N: number, K: number, modes: number, bf16: boolean): NativeHandle;
  repack(handle: NativeHandle, W: F32): void;
  matmulPacked(C: F32, A: F32, handle: NativeHandle, M: number, nn: boolean, acc: boolean, bf16: boolean): void;
  setThreads(n: number): void;
  getThreads(): number;
  isa(): string;
  setIsa(name: string): string;
  hasBf16Native(): boolean;
}

/** Kernel names copied straight from the addon onto every native backend. */
const KERNELS = ['matmul', 'addRowVector', 'sumRows', 'embeddingForward', 'embeddingBackward', 'lstmCellForward',
  'lstmCellBackward', 'gruCellForward', 'gruCellBackward', 'tanhForward', 'tanhBackward', 'softmaxXent', 'adam',
  'sumSquares', 'scale', 'mul', 'layerNormForward', 'layerNormBackward', 'geluForward', 'geluBackward', 'add',
  'dropout', 'attentionForward', 'attentionBackward', 'attentionDecode', 'sampleRows'] as const;

// src/kernels/native/index.ts and dist/kernels/native/index.js are both three levels below the package root.
const ADDON_PATH = '../../../build/Release/charlm_native.node';
let loaded: { addon: Addon } | { error: string } | undefined;

function loadAddon(): { addon: Addon } | { error: string } {
  if (loaded) return loaded;
  if (process.env.CHARLM_NO_NATIVE === '1') return (loaded = { error: 'disabled by CHARLM_NO_NATIVE=1' }); // a machine without the addon
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
    const missing = [...KERNELS, 'matmulBf16', 'packWeights', 'repack', 'matmulPacked', 'setThreads', 'isa']
      .filter((k) => typeof (addon as never)[k] !== 'function');
    loaded = missing.length ? { error: `addon is stale (missing ${missing.join(', ')}); rebuild it` } : { addon };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    loaded = { error: msg.includes('Cannot find module') ? 'addon not built (build/Release/charlm_native.node missing)' : msg };
  }
  return loaded;
}

function makeBackend(addon: Addon, opts: NativeOptions): NativeBackend {
  const precision: Precision = opts.precision ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'bf16') throw new Error(`unknown precision ${String(precision)}`);
  if (opts.threads !== undefined) addon.setThreads(opts.threads);
  type Kernels = Pick<Backend, (typeof KERNELS)[number]>;
  const kernels = Object.fromEntries(KERNELS.map((k) => [k, addon[k]])) as unknown as Kernels;
  const bf16 = precision === 'bf16';
  const own = (p: PackedMatrix): NativePacked => {
    const np = p as NativePacked;
    if (!np.handle || np.precision !== precision) {
      throw new Error(`packed weights from another backend (${np.precision ?? 'not native'}) used on native ${precision}`);
    }
    return np;
  };
  return {
    name: bf16 ? 'native-bf16' : 'native',
    ...hostMemory, // typed arrays cross into the addon without copies
    ...kernels,
    matmul: bf16 ? addon.matmulBf16 : addon.matmul,
    // Memory copies on host arrays: ref's typed-array set() is a memcpy, as fast as the addon would be.
    kvCacheWrite: refKvCacheWrite,
    packWeights(W: F32, N: number, K: number, modes: PackModes = 'both'): PackedMatrix {
      const bits = modes === 'nt' ? 1 : modes === 'nn' ? 2 : modes === 'both' ? 3 : 0;
      if (!bits) throw new Error(`unknown pack modes ${String(modes)}`);
      const p: NativePacked = { N, K, modes, precision, handle: addon.packWeights(W, N, K, bits, bf16) };
      return p;
    },
    repack(p: PackedMatrix, W: F32): void { addon.repack(own(p).handle, W); },
    matmulPacked(C: F32, A: F32, p: PackedMatrix, M: number, mode: 'nt' | 'nn', accumulate: boolean): void {
      if (mode !== 'nt' && mode !== 'nn') throw new Error(`unknown matmulPacked mode ${String(mode)}`);
      addon.matmulPacked(C, A, own(p).handle, M, mode === 'nn', accumulate, bf16);
    },
    precision,
    setThreads: (n: number) => addon.setThreads(n),
    get threads() { return addon.getThreads(); },
    get isa() { return addon.isa(); },
  };
}

/** The native backend, or why it is unavailable. Never throws. */
export function loadNative(opts: NativeOptions = {}): { backend: NativeBackend } | { error: string } {
  const r = loadAddon();
  if ('error' in r) return r;
  try {
    return { backend: makeBackend(r.addon, opts) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The native backend; throws CharlmError NATIVE_UNAVAILABLE when the addon is missing. */
export function createNativeBackend(opts: NativeOptions = {}): NativeBackend {
  const r = loadAddon();
  if ('error' in r) {
    throw new CharlmError('NATIVE_UNAVAILABLE', `the native backend is not available: ${r.error}`,
      'rebuild it with `npm run build` (needs a C++ compiler), or use the ref backend');
  }
  return makeBackend(r.addon, opts);
}

/**
 * Switches the process-wide kernel path to the best one at or below `isa` that this CPU runs (for tests and
 * benchmarks; CHARLM_ISA does the same at load). Returns the path now in use, or null without the addon.
 */
export function setNativeIsa(isa: Isa): string | null {
  const r = loadAddon();
  return 'error' in r ? null : r.addon.setIsa(isa);
}

/** Whether bf16 matmuls run on AVX512_BF16 dot products (else: exact fp32 emulation over bf16-rounded inputs). */
export function nativeHasBf16Dot(): boolean {
  const r = loadAddon();
  return 'error' in r ? false : r.addon.hasBf16Native();
}
