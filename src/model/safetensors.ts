// Checkpoints as safetensors bytes: u64 LE header length N, N bytes of JSON header (space-padded to a multiple of 8),
// then raw little-endian F32 data. The decoder trusts nothing in the file: every length and offset is checked
// before use, so a truncated or foreign file is a CharlmError, never a crash, hang or giant allocation.
// Browser-safe (no file system): the page's worker reads and writes checkpoints with it; checkpoint.ts adds files.

import { CharlmError } from '../errors.js';
import { parseBoundedJson } from '../util/json.js';
import { maxTensors, resolveLoadLimits } from './limits.js';
import type { LoadLimits } from './limits.js';

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface DecodedSafetensors {
  tensors: Map<string, NamedTensor>;
  /** Tensor names in the order their data lies in the file. */
  order: string[];
  metadata: Record<string, string>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const CORRUPT_HINT = 'the file is truncated or not a safetensors checkpoint; use another checkpoint or retrain';

/** Tensors (data laid out in the given order) + string metadata -> safetensors bytes. */
export function encodeSafetensors(tensors: NamedTensor[], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new TypeError(`safetensors metadata value for '${k}' must be a string`);
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || Object.hasOwn(header, t.name)) throw new Error(`duplicate or reserved tensor name '${t.name}'`);
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (count !== t.data.length) throw new Error(`tensor '${t.name}': shape [${t.shape}] does not match ${t.data.length} values`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const t of tensors) {
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    } else {
      const dv = new DataView(out.buffer, at, t.data.byteLength);
      for (let i = 0; i < t.data.length; i++) dv.setFloat32(4 * i, t.data[i], true);
    }
    at += t.data.byteLength;
  }
  return out;
}

/** One tensor as the header declares it: data lies at [begin, end) of the data section. */
export interface TensorEntry { name: string; shape: number[]; begin: number; end: number }

/** A checked safetensors header over the file's bytes; tensor data is copied only when asked for. */
export interface ParsedSafetensors {
  entries: Map<string, TensorEntry>;
  /** Tensor names in the order their data lies in the file. */
  order: string[];
  metadata: Record<string, string>;
  /** Copies one tensor's data into `into` (or a fresh Float32Array); `into` must hold exactly its values. */
  read(name: string, into?: Float32Array): Float32Array;
}

/**
 * Checks the prefix and JSON header of a safetensors file: header size and nesting, tensor count, dtypes, shapes and
 * data offsets (inside the data section, no overlaps), all before any tensor data is copied.
 */
export function parseSafetensors(bytes: Uint8Array, source: string, limits: Partial<LoadLimits> = {}): ParsedSafetensors {
  const lim = resolveLoadLimits(limits);
  const corrupt = (problem: string) =>
    new CharlmError('CHECKPOINT_CORRUPT', `${source} is not a valid checkpoint: ${problem}`, CORRUPT_HINT);

  if (bytes.length < 8) throw corrupt(`it is ${bytes.length} bytes, shorter than the 8-byte safetensors prefix`);
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(bytes.length - 8)) {
    throw corrupt(`the header claims ${headerLen} bytes but only ${bytes.length - 8} follow the prefix`);
  }
  if (headerLen > BigInt(lim.maxHeaderBytes)) {
    throw new CharlmError('CHECKPOINT_LIMIT', `${source}: the safetensors header is ${headerLen} bytes (limit ${lim.maxHeaderBytes})`,
      'a charlm checkpoint header is a few kilobytes; if this file is genuine, raise the limit with --max-header-bytes');
  }
  const N = Number(headerLen);
  const tensorCap = maxTensors(lim);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + N));
  } catch {
    throw corrupt('the header is not valid UTF-8 JSON');
  }
  // Root object → tensor object → shape/offsets arrays: 3 levels; each tensor has a handful of values.
  const header = parseBoundedJson(text, { maxDepth: 3, maxValues: 16 * tensorCap + 1024 },
    (why) => corrupt(`the header ${why.replace(/^it is not valid JSON/, 'is not valid UTF-8 JSON').replace(/^it /, '')}`));
  if (!isPlainObject(header)) throw corrupt('the header is not a JSON object');

  const metadata: Record<string, string> = {};
  const rawMeta = header.__metadata__;
  if (rawMeta !== undefined) {
    if (!isPlainObject(rawMeta)) throw corrupt('__metadata__ is not an object');
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== 'string') throw corrupt(`__metadata__.${k} is not a string`);
      metadata[k] = v;
    }
  }

  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  if (names.length > tensorCap) {
    throw new CharlmError('CHECKPOINT_LIMIT', `${source} declares ${names.length} tensors (limit ${tensorCap})`,
      'if this file is genuine, raise the limit with --max-layers');
  }
  const dataStart = 8 + N;
  const dataLen = bytes.length - dataStart;
  const entries: TensorEntry[] = [];
  for (const name of names) {
    const raw = header[name];
    if (!isPlainObject(raw)) throw corrupt(`tensor '${name}' has no description object`);
    const { dtype, shape, data_offsets: offs } = raw;
    if (typeof dtype !== 'string') throw corrupt(`tensor '${name}' has no dtype`);
    if (dtype !== 'F32') {
      throw new CharlmError('CHECKPOINT_UNSUPPORTED', `${source}: tensor '${name}' has dtype ${dtype.slice(0, 40)}; charlm reads only F32`,
        'convert the checkpoint to float32 (e.g. in PyTorch: model.float() before saving)');
    }
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw corrupt(`tensor '${name}' has an invalid shape`);
    }
    const count = shape.reduce((a: number, d: number) => a * d, 1);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw corrupt(`tensor '${name}' has invalid data_offsets`);
    }
    const [begin, end] = offs as number[];
    if (begin > end || end > dataLen) {
      throw corrupt(`tensor '${name}' data [${begin}, ${end}) lies outside the ${dataLen}-byte data section`);
    }
    if (end - begin !== 4 * count) {
      throw corrupt(`tensor '${name}' has ${end - begin} data bytes but shape [${shape}] needs ${4 * count}`);
    }
    entries.push({ name, shape: shape.slice(), begin, end });
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < entries.length; i++) {
    if (entries[i].begin < entries[i - 1].end) {
      throw corrupt(`tensors '${entries[i - 1].name}' and '${entries[i].name}' overlap`);
    }
  }

  const byName = new Map(entries.map((e) => [e.name, e]));
  const read = (name: string, into?: Float32Array): Float32Array => {
    const e = byName.get(name);
    if (!e) throw new Error(`no tensor ${name}`);
    const n = (e.end - e.begin) / 4;
    const data = into ?? new Float32Array(n);
    if (data.length !== n) throw new Error(`tensor ${name}: ${n} values into a buffer of ${data.length}`);
    const src = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    if (LITTLE_ENDIAN) {
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(src); // byte copy: src may not be 4-aligned
    } else {
      const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
      for (let i = 0; i < n; i++) data[i] = dv.getFloat32(4 * i, true);
    }
    return data;
  };
  return { entries: byName, order: entries.map((e) => e.name), metadata, read };
}

/** safetensors bytes -> tensors (fresh, aligned copies) and metadata. `source` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, source: string, limits: Partial<LoadLimits> = {}): DecodedSafetensors {
  const p = parseSafetensors(bytes, source, limits);
  const tensors = new Map<string, NamedTensor>();
  for (const name of p.order) tensors.set(name, { name, shape: p.entries.get(name)!.shape, data: p.read(name) });
  return { tensors, order: p.order, metadata: p.metadata };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
