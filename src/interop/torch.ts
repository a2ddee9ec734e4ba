// The file layouts of torch.save, turned into named float32 tensors: the zip format (PyTorch ≥ 1.6:
// <name>/data.pkl + <name>/data/<key> storages) and the legacy format (_use_new_zipfile_serialization=False: magic,
// protocol and sys_info pickles, the state_dict pickle, the storage key list, then each storage's raw bytes).
// The pickles go through the allow-list unpickler (pickle.ts); only contiguous float32 tensors are accepted.
import { CharlmError } from '../errors.js';
import type { NamedTensor } from '../model/checkpoint.js';
import { PyDict, unpickle, type StorageRef, type StorageType, type TensorRef } from './pickle.js';
import { isZip, readZip } from './zip.js';

const LEGACY_MAGIC = 119547037146038801333356n;
const ELEMENT_SIZE: Record<string, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};
const HINT = 're-save the weights from PyTorch with torch.save(model.state_dict(), path)';

function invalid(source: string, why: string): CharlmError {
  return new CharlmError('PTH_INVALID', `${source}: ${why}`, HINT);
}

/** A torch.save file (zip or legacy) → its state_dict as float32 tensors, in file order. */
export function readTorchStateDict(bytes: Uint8Array, source: string): Map<string, NamedTensor> {
  const { value, storages } = readTorchFile(bytes, source);
  return materialize(value, storages, source);
}

/** What a torch.save file holds: the unpickled object (tensors as TensorRefs) and the raw storages by key. */
export interface TorchFile { value: unknown; storages: Map<string, Uint8Array> }

/** A torch.save file (zip or legacy) → its unpickled top-level object, e.g. a nanoGPT checkpoint dict (nanogpt.ts). */
export function readTorchFile(bytes: Uint8Array, source: string): TorchFile {
  if (isZip(bytes)) return readZipFormat(bytes, source);
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] === 0x02) return readLegacyFormat(bytes, source);
  throw invalid(source, 'it is neither a torch.save zip archive nor a legacy torch.save file');
}

function parsePid(pid: unknown[], source: string): { type: StorageType; key: string; numel: number; view: unknown } {
  const [tag, type, key, , numel, view] = pid;
  if (tag !== 'storage' || (type as StorageType)?.kind !== 'storage-type' || typeof key !== 'string'
      || !Number.isSafeInteger(numel) || (numel as number) < 0) {
    throw invalid(source, `an unexpected persistent id ${JSON.stringify(pid.map((x) => typeof x))}`);
  }
  return { type: type as StorageType, key, numel: numel as number, view };
}

function readZipFormat(bytes: Uint8Array, source: string): TorchFile {
  const zip = readZip(bytes, source);
  const pkls = [...zip.entries.keys()].filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (pkls.length !== 1) {
    throw invalid(source, pkls.length ? 'the archive holds several data.pkl files' :
      'the archive has no data.pkl (a TorchScript or other zip file, not torch.save(state_dict))');
  }
  const prefix = pkls[0].slice(0, -'data.pkl'.length);
  const storages = new Map<string, Uint8Array>();
  const persistentLoad = (pid: unknown[]): StorageRef => {
    const { type, key, numel } = parsePid(pid, source);
    const ref: StorageRef = { kind: 'storage', key, dtype: type.dtype, numel };
    if (!storages.has(key)) {
      const data = zip.read(`${prefix}data/${key}`);
      if (data.length < numel * ELEMENT_SIZE[type.dtype]) {
        throw invalid(source, `storage data/${key} has ${data.length} bytes but ${numel} ${type.dtype} values need ${numel * ELEMENT_SIZE[type.dtype]}`);
      }
      storages.set(key, data);
    }
    return ref;
  };
  const { value } = unpickle(zip.read(pkls[0]), 0, { source, persistentLoad });
  return { value, storages };
}

function readLegacyFormat(bytes: Uint8Array, source: string): TorchFile {
  const opts = { source };
  let r = unpickle(bytes, 0, opts);
  if (r.value !== LEGACY_MAGIC) {
    throw invalid(source, 'it is a pickle but not a torch.save file (no torch magic number)');
  }
  r = unpickle(bytes, r.end, opts);
  if (r.value !== 1001) throw invalid(source, `legacy torch.save protocol ${String(r.value)} is not supported (only 1001)`);
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
  const main = unpickle(bytes, r.end, { source, persistentLoad });
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
    storages.set(key, bytes.subarray(p, p + ref.numel * size));
    p += ref.numel * size;
  }
  return { value: main.value, storages };
}

/** The state_dict (or the model state inside a training checkpoint dict) → named float32 tensors. */
function materialize(value: unknown, storages: Map<string, Uint8Array>, source: string): Map<string, NamedTensor> {
  if (!(value instanceof PyDict)) throw invalid(source, 'it does not hold a dict of tensors');
  let dict = value;
  for (const k of ['state_dict', 'model_state_dict', 'model']) {
    const inner = value.map.get(k);
    if (inner instanceof PyDict) { dict = inner; break; }
  }
  const out = new Map<string, NamedTensor>();
  for (const [name, t] of dict.map) {
    if (typeof name !== 'string') throw invalid(source, 'the state_dict has a non-string key');
    if ((t as TensorRef)?.kind !== 'tensor') throw invalid(source, `state_dict entry ${name} is not a tensor`);
    out.set(name, toFloat32(name, t as TensorRef, storages, source));
  }
  return out;
}

/** One tensor of a torch.save file as contiguous float32 (other dtypes and strided views are refused, naming it). */
export function toFloat32(name: string, t: TensorRef, storages: Map<string, Uint8Array>, source: string): NamedTensor {
  if (t.storage.dtype !== 'float32') {
    throw new CharlmError('PTH_UNSUPPORTED_DTYPE', `${source}: tensor ${name} is ${t.storage.dtype}; charlm imports float32 weights only`,
      'convert in PyTorch first: torch.save({k: v.float() for k, v in model.state_dict().items()}, path)');
  }
  const numel = t.shape.reduce((a, d) => a * d, 1);
  let expect = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expect) {
      throw new CharlmError('PTH_NONCONTIGUOUS', `${source}: tensor ${name} is not contiguous (shape [${t.shape}], stride [${t.stride}])`,
        'in PyTorch: torch.save({k: v.contiguous() for k, v in model.state_dict().items()}, path)');
    }
    expect *= t.shape[i];
  }
  const data = storages.get(t.storage.key);
  if (!data) throw invalid(source, `storage ${t.storage.key} of tensor ${name} is missing`);
  if (numel > 0 && (t.offset + numel > t.storage.numel || (t.offset + numel) * 4 > data.length)) {
    throw invalid(source, `tensor ${name} [offset ${t.offset}, ${numel} values] lies outside its storage of ${t.storage.numel}`);
  }
  const out = new Float32Array(numel);
  if (numel === 0) return { name, shape: t.shape.slice(), data: out };
  const dv = new DataView(data.buffer, data.byteOffset + t.offset * 4, numel * 4);
  for (let i = 0; i < numel; i++) out[i] = dv.getFloat32(4 * i, true);
  return { name, shape: t.shape.slice(), data: out };
}
