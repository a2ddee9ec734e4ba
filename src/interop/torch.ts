// The file layouts of torch.save, turned into named float32 tensors: the zip format (PyTorch ≥ 1.6:
// <name>/data.pkl + <name>/data/<key> storages) and the legacy format (_use_new_zipfile_serialization=False: magic,
// protocol and sys_info pickles, the state_dict pickle, the storage key list, then each storage's raw bytes).
// The pickles go through the allow-list unpickler (pickle.ts); only contiguous float32 tensors are accepted.
import { CharlmError } from '../errors.js';
import type { NamedTensor } from '../model/checkpoint.js';
import { inflateBudget, maxTensors, resolveLoadLimits, type LoadLimits } from '../model/limits.js';
import { PyDict, unpickle, type StorageRef, type StorageType, type TensorRef } from './pickle.js';
import { isZip, readZip } from './zip.js';

const LEGACY_MAGIC = 119547037146038801333356n;
const ELEMENT_SIZE: Record<string, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};
/** data.pkl holds only names, shapes and storage keys: a few kilobytes for any char model. */
const MAX_PICKLE_BYTES = 16 * 1024 * 1024;
const HINT = 're-save the weights from PyTorch with torch.save(model.state_dict(), path)';

function invalid(source: string, why: string): CharlmError {
  return new CharlmError('PTH_INVALID', `${source}: ${why}`, HINT);
}

/** Raw storage bytes by key; a zip's storages are inflated on first get(). */
export interface StorageSource { get(key: string): Uint8Array | undefined }

/** What a torch.save file holds: the unpickled object (tensors as TensorRefs) and its storages, read lazily. */
export interface TorchFile { value: unknown; storages: StorageSource }

/** A state_dict whose names, shapes and storages are known and checked, but whose data is not read yet. */
export interface LazyStateDict {
  /** Tensor name → shape, in file order. */
  shapes: Map<string, number[]>;
  /** Reads one tensor's float32 values into `into` (exactly its size); inflates its storage on first use. */
  read(name: string, into: Float32Array): void;
}

export interface TorchReadOptions {
  limits?: Partial<LoadLimits>;
}

/**
 * A torch.save file (zip or legacy) → its state_dict, lazily: the pickle is read and every tensor's dtype, layout and
 * bounds are checked against its storage's declared size, but no storage is inflated or copied until read().
 */
export function readTorchStateDict(bytes: Uint8Array, source: string, opts: TorchReadOptions = {}): LazyStateDict {
  return stateDictOf(readTorchFile(bytes, source, opts), source);
}

/** The state_dict of an already read torch.save file (see readTorchStateDict). */
export function stateDictOf(file: TorchFile, source: string): LazyStateDict {
  return lazy(tensorRefs(file.value, source), source, file.storages);
}

/**
 * A torch.save file (zip or legacy) → its unpickled top-level object, e.g. a nanoGPT checkpoint dict (nanogpt.ts).
 * Storage sizes are checked against the archive; no storage is inflated until it is read.
 */
export function readTorchFile(bytes: Uint8Array, source: string, opts: TorchReadOptions = {}): TorchFile {
  const lim = resolveLoadLimits(opts.limits);
  if (isZip(bytes)) return readZipFormat(bytes, source, lim);
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] === 0x02) return readLegacyFormat(bytes, source, lim);
  throw invalid(source, 'it is neither a torch.save zip archive nor a legacy torch.save file');
}

/** Most pickle objects a state_dict of the allowed size builds (about a dozen per tensor). */
const pickleObjects = (lim: LoadLimits) => Math.max(100_000, 64 * maxTensors(lim));

function parsePid(pid: unknown[], source: string): { type: StorageType; key: string; numel: number; view: unknown } {
  const [tag, type, key, , numel, view] = pid;
  if (tag !== 'storage' || (type as StorageType)?.kind !== 'storage-type' || typeof key !== 'string'
      || !Number.isSafeInteger(numel) || (numel as number) < 0) {
    throw invalid(source, `an unexpected persistent id ${JSON.stringify(pid.map((x) => typeof x))}`);
  }
  return { type: type as StorageType, key, numel: numel as number, view };
}

function readZipFormat(bytes: Uint8Array, source: string, lim: LoadLimits): TorchFile {
  const zip = readZip(bytes, source, { maxEntries: maxTensors(lim) + 64, maxTotalBytes: inflateBudget(lim, bytes.length) });
  const pkls = [...zip.entries.keys()].filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (pkls.length !== 1) {
    throw invalid(source, pkls.length ? 'the archive holds several data.pkl files' :
      'the archive has no data.pkl (a TorchScript or other zip file, not torch.save(state_dict))');
  }
  const prefix = pkls[0].slice(0, -'data.pkl'.length);
  const pkl = zip.entries.get(pkls[0])!;
  if (pkl.size > MAX_PICKLE_BYTES) {
    throw new CharlmError('PTH_LIMIT', `${source}: data.pkl is ${pkl.size} bytes (limit ${MAX_PICKLE_BYTES}); a state_dict's pickle is a few kilobytes`,
      'the file is damaged or not a torch.save(model.state_dict()) file');
  }
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown[]): StorageRef => {
    const { type, key, numel } = parsePid(pid, source);
    const ref: StorageRef = { kind: 'storage', key, dtype: type.dtype, numel };
    const seen = storages.get(key);
    if (seen && (seen.dtype !== ref.dtype || seen.numel !== ref.numel)) throw invalid(source, `storage ${key} is described twice, differently`);
    if (!seen) {
      const e = zip.entries.get(`${prefix}data/${key}`);
      if (!e) throw invalid(source, `storage data/${key} is missing from the archive`);
      const need = numel * ELEMENT_SIZE[type.dtype];
      if (e.size < need) throw invalid(source, `storage data/${key} has ${e.size} bytes but ${numel} ${type.dtype} values need ${need}`);
      storages.set(key, ref);
    }
    return ref;
  };
  const { value } = unpickle(zip.read(pkls[0]), 0, { source, persistentLoad, maxObjects: pickleObjects(lim) });
  const data = new Map<string, Uint8Array>(); // inflated on first use
  return { value, storages: { get: (key) => {
    if (!storages.has(key)) return undefined;
    let d = data.get(key);
    if (!d) { d = zip.read(`${prefix}data/${key}`); data.set(key, d); }
    return d;
  } } };
}

function readLegacyFormat(bytes: Uint8Array, source: string, lim: LoadLimits): TorchFile {
  const opts = { source, maxObjects: pickleObjects(lim) };
  let r = unpickle(bytes, 0, opts);
  if (r.value !== LEGACY_MAGIC) {
    throw invalid(source, 'it is a pickle but not a torch.save file (no torch magic number)');
  }
  r = unpickle(bytes, r.end, opts);
  if (r.value !== 1001) throw invalid(source, `legacy torch.save protocol ${String(r.value).slice(0, 40)} is not supported (only 1001)`);
  r = unpickle(bytes, r.end, opts);
  const sys = r.value instanceof PyDict ? r.value.map : null;
  if (!sys || sys.get('little_endian') !== true) throw invalid(source, 'it was saved on a big-endian machine');
  const refs = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown[]): StorageRef => {
    const { type, key, numel, view } = parsePid(pid, source);
    if (view !== null && view !== undefined) {
      throw invalid(source, 'it uses storage views (a very old PyTorch); re-save it with PyTorch ≥ 1.6');
    }
    const ref: StorageRef = { kind: 'storage', key, dtype: type.dtype, numel };
    refs.set(key, ref);
    return ref;
  };
  const main = unpickle(bytes, r.end, { ...opts, persistentLoad });
  const keys = unpickle(bytes, main.end, opts);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) throw invalid(source, 'the storage key list is damaged');
  const storages = new Map<string, Uint8Array>();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = keys.end;
  for (const key of keys.value as string[]) {
    const ref = refs.get(key);
    if (!ref) throw invalid(source, `storage ${key} is listed but never used`);
    if (p + 8 > bytes.length) throw invalid(source, `it ends before storage ${key} (truncated?)`);
    const numel = dv.getBigUint64(p, true), size = ELEMENT_SIZE[ref.dtype];
    if (numel !== BigInt(ref.numel)) throw invalid(source, `storage ${key} holds ${numel} values, the pickle says ${ref.numel}`);
    p += 8;
    if (p + ref.numel * size > bytes.length) throw invalid(source, `storage ${key} runs past the end of the file (truncated?)`);
    storages.set(key, bytes.subarray(p, p + ref.numel * size)); // a view: nothing is copied yet
    p += ref.numel * size;
  }
  for (const key of refs.keys()) if (!storages.has(key)) throw invalid(source, `storage ${key} is used but not in the file`);
  return { value: main.value, storages };
}

/** The state_dict (or the model state inside a training checkpoint dict) → checked tensor references. */
function tensorRefs(value: unknown, source: string): Map<string, TensorRef> {
  if (!(value instanceof PyDict)) throw invalid(source, 'it does not hold a dict of tensors');
  let dict = value;
  for (const k of ['state_dict', 'model_state_dict', 'model']) {
    const inner = value.map.get(k);
    if (inner instanceof PyDict) { dict = inner; break; }
  }
  const out = new Map<string, TensorRef>();
  for (const [name, t] of dict.map) {
    if (typeof name !== 'string') throw invalid(source, 'the state_dict has a non-string key');
    if ((t as TensorRef)?.kind !== 'tensor') throw invalid(source, `state_dict entry ${name.slice(0, 100)} is not a tensor`);
    out.set(name, checkLayout(name, t as TensorRef, source));
  }
  return out;
}

/** float32, contiguous, inside its storage: checked from the pickle alone, before any data is read. */
function checkLayout(name: string, t: TensorRef, source: string): TensorRef {
  if (t.storage.dtype !== 'float32') {
    throw new CharlmError('PTH_UNSUPPORTED_DTYPE', `${source}: tensor ${name} is ${t.storage.dtype}; charlm imports float32 weights only`,
      'convert in PyTorch first: torch.save({k: v.float() for k, v in model.state_dict().items()}, path)');
  }
  if (t.shape.length > 8) throw invalid(source, `tensor ${name} has ${t.shape.length} dimensions`);
  const numel = t.shape.reduce((a, d) => a * d, 1);
  let expect = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expect) {
      throw new CharlmError('PTH_NONCONTIGUOUS', `${source}: tensor ${name} is not contiguous (shape [${t.shape}], stride [${t.stride}])`,
        'in PyTorch: torch.save({k: v.contiguous() for k, v in model.state_dict().items()}, path)');
    }
    expect *= t.shape[i];
  }
  if (numel > 0 && t.offset + numel > t.storage.numel) {
    throw invalid(source, `tensor ${name} [offset ${t.offset}, ${numel} values] lies outside its storage of ${t.storage.numel}`);
  }
  return t;
}

function lazy(refs: Map<string, TensorRef>, source: string, storages: StorageSource): LazyStateDict {
  const shapes = new Map([...refs].map(([n, t]) => [n, t.shape.slice()]));
  return {
    shapes,
    read(name, into) {
      const t = refs.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      readInto(name, t, storages, source, into);
    },
  };
}

/** One tensor's float32 values (layout checked) copied into `into`, which holds exactly its element count. */
function readInto(name: string, t: TensorRef, storages: StorageSource, source: string, into: Float32Array): void {
  const numel = t.shape.reduce((a, d) => a * d, 1);
  if (into.length !== numel) throw new Error(`tensor ${name}: ${numel} values into a buffer of ${into.length}`);
  if (numel === 0) return;
  const data = storages.get(t.storage.key);
  if (!data) throw invalid(source, `storage ${t.storage.key} of tensor ${name} is missing`);
  if ((t.offset + numel) * 4 > data.length) {
    throw invalid(source, `tensor ${name} [offset ${t.offset}, ${numel} values] lies outside its ${data.length}-byte storage`);
  }
  const dv = new DataView(data.buffer, data.byteOffset + t.offset * 4, numel * 4);
  for (let i = 0; i < numel; i++) into[i] = dv.getFloat32(4 * i, true);
}

/** One tensor of a torch.save file as contiguous float32 (other dtypes and strided views are refused, naming it). */
export function toFloat32(name: string, t: TensorRef, storages: StorageSource, source: string): NamedTensor {
  checkLayout(name, t, source);
  const out = new Float32Array(t.shape.reduce((a, d) => a * d, 1));
  readInto(name, t, storages, source, out);
  return { name, shape: t.shape.slice(), data: out };
}
