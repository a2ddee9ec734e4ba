// Caps on what a checkpoint or imported state_dict may ask for, checked before anything is allocated or inflated.
// The defaults admit any realistic character model; a genuinely huge one raises them with --max-params,
// --max-layers, --max-header-bytes (and, for deflated .pth zips, --max-inflate-ratio). Browser-safe.
import { CharlmError } from '../errors.js';
import type { ParamSpec } from '../nn/params.js';

export interface LoadLimits {
  /** Most parameters a model may have (all tensors together). */
  maxParams: number;
  /** Most recurrent layers; also bounds the tensor count (4 per layer + a few). */
  maxLayers: number;
  /** Largest safetensors JSON header, in bytes. */
  maxHeaderBytes: number;
  /** A zip's entries may inflate to at most this many times the file's size (plus 1 MiB), and to 4·maxParams + 64 MiB. */
  maxInflateRatio: number;
}

export const DEFAULT_LOAD_LIMITS: Readonly<LoadLimits> = {
  maxParams: 1_000_000_000,
  maxLayers: 256,
  maxHeaderBytes: 16 * 1024 * 1024,
  maxInflateRatio: 20,
};

/** The largest vocabulary there can be: one token per Unicode code point. */
export const MAX_VOCAB = 0x110000;

export function resolveLoadLimits(partial: Partial<LoadLimits> = {}): LoadLimits {
  const out = { ...DEFAULT_LOAD_LIMITS };
  for (const [k, v] of Object.entries(partial)) {
    if (!Object.hasOwn(DEFAULT_LOAD_LIMITS, k)) throw new Error(`unknown load limit "${k}"`);
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new Error(`load limit ${k} must be a positive number`);
    (out as Record<string, number>)[k] = v;
  }
  return out;
}

/** Most tensors a file may declare, following the layer cap. */
export function maxTensors(l: LoadLimits): number {
  return 4 * l.maxLayers + 64;
}

/** Bytes all entries of a zip of `fileBytes` bytes may inflate to. */
export function inflateBudget(l: LoadLimits, fileBytes: number): number {
  return Math.min(l.maxInflateRatio * fileBytes + 2 ** 20, 4 * l.maxParams + 64 * 2 ** 20);
}

/** Total element count of a parameter list; refuses one above maxParams (error code and file named by the caller). */
export function checkParamCount(specs: ParamSpec[], limits: LoadLimits, fail: (why: string, hint: string) => CharlmError): number {
  let total = 0;
  for (const s of specs) total += s.shape.reduce((a, d) => a * d, 1);
  if (total > limits.maxParams) {
    throw fail(`its config asks for ${total.toLocaleString('en-US')} parameters (limit ${limits.maxParams.toLocaleString('en-US')})`,
      `if the model really is that large, raise the limit with --max-params ${Math.ceil(total)}`);
  }
  return total;
}

/**
 * Checks that every expected parameter is present with exactly its shape. `shapeOf` reads a tensor's declared
 * shape (no data is touched). Returns the name of the first problem, or null.
 */
export function specMismatch(specs: ParamSpec[], shapeOf: (name: string) => readonly number[] | undefined): string | null {
  for (const s of specs) {
    const shape = shapeOf(s.name);
    if (!shape) return `tensor ${s.name} is missing`;
    if (shape.length !== s.shape.length || shape.some((d, i) => d !== s.shape[i])) {
      return `tensor ${s.name} has shape [${shape}] but the config needs [${s.shape}]`;
    }
  }
  return null;
}
