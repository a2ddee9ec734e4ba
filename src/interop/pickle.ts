// An allow-list unpickler for PyTorch state_dicts (pickle protocol 2, as torch.save writes). It is a small stack
// machine that never executes code: GLOBAL resolves only the few names listed in ALLOWED (OrderedDict, the tensor
// rebuild functions, typed storage classes); any other global is a PICKLE_FORBIDDEN CharlmError naming it.
// Every opcode consumes input, so a hostile or truncated pickle ends in an error, never a hang.
import { CharlmError } from '../errors.js';

/** A storage resolved from a persistent id by the caller (torch.ts). */
export interface StorageRef { kind: 'storage'; key: string; dtype: string; numel: number }
/** What torch._utils._rebuild_tensor_v2 describes: a strided view into a storage. */
export interface TensorRef { kind: 'tensor'; storage: StorageRef; offset: number; shape: number[]; stride: number[] }
/** A typed storage class such as torch.FloatStorage (never called, only passed to persistent_load). */
export interface StorageType { kind: 'storage-type'; name: string; dtype: string }
/** A Python dict / OrderedDict; `attrs` receives BUILD state (state_dict's `_metadata`). */
export class PyDict { readonly map = new Map<unknown, unknown>(); attrs: unknown = null; }

type Callable = { kind: 'callable'; name: string; call: (args: unknown[]) => unknown };

const STORAGE_DTYPES: Record<string, string> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

function invalid(source: string, why: string): CharlmError {
  return new CharlmError('PICKLE_INVALID', `${source}: the pickled state_dict is malformed: ${why}`,
    'the file is damaged or not a torch.save(model.state_dict()) file; re-save it from PyTorch');
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const intList = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => isInt(d) && d >= 0);

function rebuildTensor(source: string) {
  return (args: unknown[]): TensorRef => {
    const [storage, offset, shape, stride] = args;
    if (args.length < 4 || (storage as StorageRef)?.kind !== 'storage' || !isInt(offset) || offset < 0
        || !intList(shape) || !intList(stride) || shape.length !== stride.length) {
      throw invalid(source, '_rebuild_tensor_v2 got unexpected arguments');
    }
    return { kind: 'tensor', storage: storage as StorageRef, offset, shape: shape.slice(), stride: stride.slice() };
  };
}

/** The only globals a state_dict may name. Anything else is refused before it could be looked up. */
function allowed(module: string, name: string, source: string): Callable | StorageType | undefined {
  const full = `${module}.${name}`;
  if (full === 'collections.OrderedDict') {
    return { kind: 'callable', name: full, call: (args) => {
      const d = new PyDict();
      if (args.length > 0 && !(Array.isArray(args[0]) && args[0].length === 0)) throw invalid(source, 'OrderedDict(...) with items');
      return d;
    } };
  }
  if (full === 'torch._utils._rebuild_tensor_v2') return { kind: 'callable', name: full, call: rebuildTensor(source) };
  if (full === 'torch._utils._rebuild_parameter') {
    return { kind: 'callable', name: full, call: (args) => {
      if ((args[0] as TensorRef)?.kind !== 'tensor') throw invalid(source, '_rebuild_parameter without a tensor');
      return args[0];
    } };
  }
  if (module === 'torch' && Object.hasOwn(STORAGE_DTYPES, name)) return { kind: 'storage-type', name: full, dtype: STORAGE_DTYPES[name] };
  return undefined;
}

export interface UnpickleOptions {
  source: string;
  /** Resolves a BINPERSID id (a tuple) to a storage. */
  persistentLoad?: (pid: unknown[]) => StorageRef;
  /**
   * Most objects (dicts, lists, tuples, calls, memo entries) one pickle may build; with the stack and MARK depth
   * caps this bounds the memory a crafted pickle can claim to a few tens of megabytes. Default 100,000.
   */
  maxObjects?: number;
}

const MAX_STACK = 100_000, MAX_MARKS = 1_000;

/** Runs one pickle starting at `pos`; returns the value and the offset just after its STOP. */
export function unpickle(bytes: Uint8Array, pos: number, opts: UnpickleOptions): { value: unknown; end: number } {
  const { source } = opts;
  const maxObjects = opts.maxObjects ?? 100_000;
  let objects = 0;
  const made = <T>(v: T): T => {
    if (++objects > maxObjects) {
      throw new CharlmError('PTH_LIMIT', `${source}: the pickle builds more than ${maxObjects} objects; a state_dict needs far fewer`,
        'the file is damaged or not a torch.save(model.state_dict()) file; if it is genuine, raise --max-layers');
    }
    return v;
  };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let p = pos;
  const need = (k: number) => { if (p + k > bytes.length) throw invalid(source, `it ends early (at byte ${p}, truncated?)`); };
  const u8 = () => { need(1); return bytes[p++]; };
  const u16 = () => { need(2); const v = dv.getUint16(p, true); p += 2; return v; };
  const u32 = () => { need(4); const v = dv.getUint32(p, true); p += 4; return v; };
  const str = (n: number) => {
    need(n);
    try { return utf8.decode(bytes.subarray(p, (p += n))); } catch { throw invalid(source, `bad UTF-8 in a string at byte ${p}`); }
  };
  const line = () => {
    const rel = bytes.subarray(p, p + 257).indexOf(0x0a); // names are short: never scan the whole file
    const nl = rel < 0 ? -1 : p + rel;
    if (nl < 0) throw invalid(source, `an unterminated GLOBAL name at byte ${p}`);
    const s = new TextDecoder('latin1').decode(bytes.subarray(p, nl));
    p = nl + 1;
    return s;
  };
  const pop = () => { if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) throw invalid(source, 'stack underflow'); return stack.pop(); };
  const top = () => { if (stack.length === 0) throw invalid(source, 'stack underflow'); return stack[stack.length - 1]; };
  const popMark = () => { const m = marks.pop(); if (m === undefined) throw invalid(source, 'MARK missing'); return stack.splice(m); };
  const global = (module: string, name: string) => {
    const g = allowed(module, name, source);
    if (!g) {
      throw new CharlmError('PICKLE_FORBIDDEN', `${source} references the Python global ${module}.${name}, which is not allowed in a state_dict`,
        'charlm loads only tensors (OrderedDict, torch._utils._rebuild_tensor_v2, torch.*Storage) and never runs code from a file; ' +
        'save just the weights: torch.save(model.state_dict(), path)');
    }
    stack.push(g);
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (!(d instanceof PyDict)) throw invalid(source, 'SETITEM(S) on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) d.map.set(items[i], items[i + 1]);
  };

  for (;;) {
    if (stack.length > MAX_STACK || marks.length > MAX_MARKS) {
      throw new CharlmError('PTH_LIMIT', `${source}: the pickle nests or stacks deeper than a state_dict ever does (at byte ${p})`,
        'the file is damaged or not a torch.save(model.state_dict()) file');
    }
    const at = p, op = u8();
    switch (op) {
      case 0x80: u8(); break;                                   // PROTO
      case 0x95: need(8); p += 8; break;                        // FRAME (protocol 4): a hint only
      case 0x2e: return { value: pop(), end: p };               // STOP
      case 0x28: marks.push(stack.length); break;               // MARK
      case 0x7d: stack.push(made(new PyDict())); break;              // EMPTY_DICT
      case 0x29: stack.push(made([])); break;                 // EMPTY_TUPLE
      case 0x5d: stack.push(made([])); break;                 // EMPTY_LIST
      case 0x4e: stack.push(null); break;                       // NONE
      case 0x88: stack.push(true); break;                       // NEWTRUE
      case 0x89: stack.push(false); break;                      // NEWFALSE
      case 0x4b: stack.push(u8()); break;                       // BININT1
      case 0x4d: stack.push(u16()); break;                      // BININT2
      case 0x4a: need(4); stack.push(dv.getInt32(p, true)); p += 4; break; // BININT
      case 0x47: need(8); stack.push(dv.getFloat64(p, false)); p += 8; break; // BINFLOAT (big-endian)
      case 0x8a: {                                              // LONG1: n-byte little-endian two's complement
        const n = u8(); need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[p + i]);
        if (n > 0 && bytes[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x58: stack.push(str(u32())); break;                 // BINUNICODE
      case 0x8c: stack.push(str(u8())); break;                  // SHORT_BINUNICODE
      case 0x55: { const n = u8(); need(n); stack.push(new TextDecoder('latin1').decode(bytes.subarray(p, (p += n)))); break; } // SHORT_BINSTRING
      case 0x74: stack.push(made(popMark())); break;                 // TUPLE
      case 0x85: stack.push(made([pop()])); break;                 // TUPLE1
      case 0x86: { const b = pop(), a = pop(); stack.push(made([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push(made([a, b, c])); break; } // TUPLE3
      case 0x6c: stack.push(made(popMark())); break;                 // LIST
      case 0x71: memo.set(u8(), made(top())); break;                 // BINPUT
      case 0x72: memo.set(u32(), made(top())); break;                 // LONG_BINPUT
      case 0x94: memo.set(memo.size, made(top())); break;             // MEMOIZE
      case 0x68: case 0x6a: {                                   // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw invalid(source, `memo entry ${k} used before it is set (byte ${at})`);
        stack.push(memo.get(k));
        break;
      }
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; }      // SETITEMS
      case 0x61: { const v = pop(), l = top(); if (!Array.isArray(l)) throw invalid(source, 'APPEND to a non-list'); l.push(v); break; }
      case 0x65: { const items = popMark(), l = top(); if (!Array.isArray(l)) throw invalid(source, 'APPENDS to a non-list'); for (const it of items) l.push(it); break; }
      case 0x30: pop(); break;                                  // POP
      case 0x32: stack.push(top()); break;                      // DUP
      case 0x63: { const m = line(), n = line(); global(m, n); break; } // GLOBAL
      case 0x93: { const n = pop(), m = pop();                 // STACK_GLOBAL (protocol 4)
        if (typeof m !== 'string' || typeof n !== 'string') throw invalid(source, 'STACK_GLOBAL without names');
        global(m, n); break; }
      case 0x52: {                                              // REDUCE
        const args = pop(), fn = pop() as Callable;
        if (fn?.kind !== 'callable' || !Array.isArray(args)) throw invalid(source, `REDUCE of a non-callable at byte ${at}`);
        stack.push(made(fn.call(args)));
        break;
      }
      case 0x62: {                                              // BUILD: only state_dict's `_metadata` attribute
        const state = pop(), obj = top();
        if (!(obj instanceof PyDict)) throw invalid(source, `BUILD on an unexpected object at byte ${at}`);
        obj.attrs = state;
        break;
      }
      case 0x51: {                                              // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad || !Array.isArray(pid)) throw invalid(source, 'an unexpected persistent id');
        stack.push(made(opts.persistentLoad(pid)));
        break;
      }
      default:
        throw new CharlmError('PICKLE_UNSUPPORTED',
          `${source}: pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at} is not supported in a state_dict`,
          'save just the weights with torch.save(model.state_dict(), path) (pickle protocol 2, the default)');
    }
  }
}
