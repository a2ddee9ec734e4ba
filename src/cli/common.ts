// Shared CLI plumbing: loading a model for a command, number parsing for flags, and stdout streaming.
import type { Command } from 'commander';
import { CharlmError } from '../errors.js';
import { BACKEND_NAMES, createBackend, nativeUnavailableReason, wasmUnavailableReason, type BackendName } from '../kernels/registry.js';
import { loadModelFile, type LoadedModel } from '../model/io.js';
import { DEFAULT_LOAD_LIMITS, type LoadLimits } from '../model/limits.js';
import type { Backend } from '../kernels/backend.js';

export function parseNumber(name: string, integer = false) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      throw new CharlmError('BAD_OPTION', `--${name} must be ${integer ? 'a whole number' : 'a number'}, got "${raw}"`, `e.g. --${name} ${integer ? '100' : '0.8'}`);
    }
    return n;
  };
}

export function checkBackendName(raw: string): BackendName {
  if (!(BACKEND_NAMES as readonly string[]).includes(raw)) {
    throw new CharlmError('BAD_OPTION', `--backend must be auto, native, wasm, ref or webgpu, got "${raw}"`, 'use --backend auto');
  }
  return raw as BackendName;
}

let noticed = false;
/** Creates the backend; prints one notice line (stderr) when auto falls back to wasm or ref. */
export async function backendFor(name: BackendName, threads?: number, precision?: 'fp32' | 'bf16'): Promise<Backend> {
  const be = await createBackend(name, { threads, precision });
  if (name === 'auto' && be.name !== 'native' && be.name !== 'native-bf16' && !noticed && !process.env.CHARLM_QUIET_NATIVE) {
    noticed = true;
    const why = nativeUnavailableReason().split('\n')[0].slice(0, 160);
    const using = be.name === 'wasm' ? 'using the wasm backend (WebAssembly SIMD)'
      : `using the slower ref backend${wasmUnavailableReason() ? ` (wasm: ${wasmUnavailableReason().slice(0, 80)})` : ''}`;
    process.stderr.write(`charlm: native backend unavailable${why ? ` (${why})` : ''}; ${using}\n`);
  }
  return be;
}

export async function loadForCli(path: string, backend: BackendName, threads?: number,
                                 limits: Partial<LoadLimits> = {}, precision?: 'fp32' | 'bf16'): Promise<LoadedModel> {
  return loadModelFile(path, await backendFor(backend, threads, precision), limits);
}

/** --precision: fp32 or bf16 (a one-line error otherwise). */
export function checkPrecision(raw: string): 'fp32' | 'bf16' {
  if (raw !== 'fp32' && raw !== 'bf16') throw new CharlmError('BAD_OPTION', `--precision must be fp32 or bf16, got "${raw}"`, 'use --precision fp32');
  return raw;
}

/** Adds the flags that raise the load limits (for genuinely huge models) to a command that reads model files. */
export function limitOptions(cmd: Command, inflate = false): Command {
  const d = DEFAULT_LOAD_LIMITS;
  cmd.option('--max-params <n>', `refuse models with more parameters (default ${d.maxParams})`, parseNumber('max-params', true))
    .option('--max-layers <n>', `refuse models with more recurrent layers (default ${d.maxLayers})`, parseNumber('max-layers', true))
    .option('--max-header-bytes <n>', `refuse safetensors headers larger than this (default ${d.maxHeaderBytes})`, parseNumber('max-header-bytes', true));
  if (inflate) cmd.option('--max-inflate-ratio <x>', `refuse zips that unpack to more than x times their size (default ${d.maxInflateRatio})`, parseNumber('max-inflate-ratio'));
  return cmd;
}

/** The load limits given by limitOptions' flags (only those set). */
export function limitsFrom(o: Record<string, unknown>): Partial<LoadLimits> {
  const out: Partial<LoadLimits> = {};
  for (const k of ['maxParams', 'maxLayers', 'maxHeaderBytes', 'maxInflateRatio'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0)) throw new CharlmError('BAD_OPTION', `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be positive`, 'e.g. --max-params 2000000000');
    out[k] = v;
  }
  return out;
}

/** Adds the backend/threads options shared by model-using commands. */
export function backendOptions(cmd: Command): Command {
  return limitOptions(cmd)
    .option('--backend <name>', 'auto | native | wasm | ref | webgpu', checkBackendName, 'auto' as BackendName)
    .option('--threads <n>', 'worker threads for the native backend (default: all cores)', parseNumber('threads', true));
}

/**
 * Writes characters to stdout as they come: immediately on a terminal, in small chunks (≤ 20 ms late) otherwise,
 * so piping stays fast. Call end() to flush.
 */
export class StdoutStream {
  private buf: string[] = [];
  private last = performance.now();
  private tty = process.stdout.isTTY === true;
  write(s: string): void {
    this.buf.push(s);
    const now = performance.now();
    if (this.tty || this.buf.length >= 256 || now - this.last > 20) this.flush(now);
  }
  flush(now = performance.now()): void {
    if (this.buf.length) process.stdout.write(this.buf.join(''));
    this.buf = [];
    this.last = now;
  }
  end(): void { this.flush(); }
}
