// safetensors I/O: exact layout, round trip, and that every kind of damaged or foreign file is a CharlmError
// (never a crash, hang or huge allocation); writeFileAtomic never corrupts the file it replaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  decodeSafetensors, encodeSafetensors, readSafetensorsFile, writeFileAtomic, type AtomicWriteFs, type NamedTensor,
} from '../../src/model/checkpoint.js';
import { CharlmError } from '../../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charlm-ckpt-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function throwsCode(fn: () => unknown, code: string): CharlmError {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  assert.ok(caught instanceof CharlmError, `expected CharlmError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.hint.length > 0);
  return caught;
}

function sample(): NamedTensor[] {
  return [
    { name: 'embedding.weight', shape: [3, 2], data: Float32Array.from([1, -2, 3.5, 0, -0, 1e-30]) },
    { name: 'lstm.bias', shape: [5], data: Float32Array.from([Infinity, -Infinity, NaN, 0.1, 2 ** 100]) },
    { name: 'scalar', shape: [], data: Float32Array.from([42]) },
    { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
  ];
}
const META = { format: 'charlm-1', vocab: JSON.stringify(['\n', ' ', 'é', '😀']) };

/** Builds a file by hand (independent of encodeSafetensors) with any header and data. */
function build(header: string | object, data: Uint8Array = new Uint8Array(0), claimedLen?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimedLen ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test('encode: layout matches the safetensors spec', () => {
  const bytes = encodeSafetensors(sample(), META);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0, 'header padded to a multiple of 8');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(header.__metadata__, META);
  assert.deepEqual(header['embedding.weight'], { dtype: 'F32', shape: [3, 2], data_offsets: [0, 24] });
  assert.deepEqual(header['lstm.bias'], { dtype: 'F32', shape: [5], data_offsets: [24, 44] });
  assert.deepEqual(header.scalar, { dtype: 'F32', shape: [], data_offsets: [44, 48] });
  assert.deepEqual(header.empty, { dtype: 'F32', shape: [0, 4], data_offsets: [48, 48] });
  assert.equal(bytes.length, 8 + n + 48);
  const dv = new DataView(bytes.buffer, 8 + n);
  assert.equal(dv.getFloat32(8, true), 3.5, 'little-endian F32');
});

test('round trip: tensors, order, metadata, special values', () => {
  const d = decodeSafetensors(encodeSafetensors(sample(), META), 'mem');
  assert.deepEqual(d.order, ['embedding.weight', 'lstm.bias', 'scalar', 'empty']);
  assert.deepEqual(d.metadata, META);
  for (const t of sample()) {
    const got = d.tensors.get(t.name)!;
    assert.deepEqual(got.shape, t.shape);
    assert.deepEqual(Array.from(got.data), Array.from(t.data)); // deepEqual treats NaN as NaN, -0 as -0
  }
  const noMeta = decodeSafetensors(encodeSafetensors(sample(), {}), 'mem');
  assert.deepEqual(noMeta.metadata, {});
});

test('decode copies out of unaligned offsets into fresh arrays', () => {
  // A hand-built file: header of odd length (data starts unaligned), keys in non-data order.
  const data = new Uint8Array(12);
  const dv = new DataView(data.buffer);
  [7, 8, 9].forEach((x, i) => dv.setFloat32(4 * i, x, true));
  const file = build({ b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data);
  for (let shift = 0; shift < 4; shift++) { // one of these four puts the data section off a 4-byte boundary
    const padded = new Uint8Array(file.length + shift);
    padded.set(file, shift);
    const d = decodeSafetensors(padded.subarray(shift), 'hand');
    assert.deepEqual(d.order, ['a', 'b']);
    assert.deepEqual(Array.from(d.tensors.get('a')!.data), [7, 8]);
    assert.deepEqual(Array.from(d.tensors.get('b')!.data), [9]);
    assert.equal(d.tensors.get('a')!.data.byteOffset, 0);
    assert.notEqual(d.tensors.get('a')!.data.buffer, padded.buffer, 'a fresh copy, not a view of the file');
  }
});

test('truncated at every length is CHECKPOINT_CORRUPT', () => {
  const bytes = encodeSafetensors(sample(), META);
  for (let len = 0; len < bytes.length; len++) {
    const e = throwsCode(() => decodeSafetensors(bytes.subarray(0, len), 'cut.safetensors'), 'CHECKPOINT_CORRUPT');
    assert.ok(e.message.includes('cut.safetensors'));
  }
});

test('garbage, text files and huge header lengths are CHECKPOINT_CORRUPT', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) & 0xff;
  for (let trial = 0; trial < 200; trial++) {
    const junk = Uint8Array.from({ length: trial * 3 }, rnd);
    throwsCode(() => decodeSafetensors(junk, 'junk'), 'CHECKPOINT_CORRUPT');
  }
  const text = new TextEncoder().encode('First Citizen:\nBefore we proceed any further, hear me speak.\n');
  const e = throwsCode(() => decodeSafetensors(text, 'input.txt'), 'CHECKPOINT_CORRUPT');
  assert.match(e.hint, /not a safetensors checkpoint/);
  throwsCode(() => decodeSafetensors(build('{}', new Uint8Array(0), 2n ** 64n - 1n), 'huge'), 'CHECKPOINT_CORRUPT');
  throwsCode(() => decodeSafetensors(build('{}', new Uint8Array(0), 2n ** 40n), 'huge'), 'CHECKPOINT_CORRUPT');
  // One byte more than the file holds; exactly what it holds is fine.
  throwsCode(() => decodeSafetensors(build('{}', new Uint8Array(0), 3n), 'long'), 'CHECKPOINT_CORRUPT');
  assert.equal(decodeSafetensors(build('{}  ', new Uint8Array(0), 4n), 'exact').order.length, 0);
  // A length the file does hold but above the 16 MiB header cap: refused before any decoding (CHECKPOINT_LIMIT,
  // with the flag that raises it); a raised cap reads it.
  const big = new Uint8Array(8 + 16 * 1024 * 1024 + 8);
  new DataView(big.buffer).setBigUint64(0, BigInt(16 * 1024 * 1024 + 8), true);
  big.fill(0x20, 8); big[8] = 0x7b; big[9] = 0x7d;
  const lim = throwsCode(() => decodeSafetensors(big, 'big'), 'CHECKPOINT_LIMIT');
  assert.match(lim.message, /limit/); assert.match(lim.hint, /--max-header-bytes/);
  assert.equal(decodeSafetensors(big, 'big', { maxHeaderBytes: 32 * 1024 * 1024 }).order.length, 0);
});

test('malformed headers are CHECKPOINT_CORRUPT with the problem named', () => {
  const f32 = (offs: number[], shape = [1]) => ({ dtype: 'F32', shape, data_offsets: offs });
  const cases: [string, string | object, number, RegExp][] = [
    ['not JSON', '{"a": ', 0, /not valid UTF-8 JSON/],
    ['not UTF-8', '\u00ff', 0, /JSON/],
    ['array', '[1,2]', 0, /not a JSON object/],
    ['metadata not strings', { __metadata__: { step: 3 } }, 0, /__metadata__.step/],
    ['offsets past the end', { w: f32([0, 8], [2]) }, 4, /outside/],
    ['offsets reversed', { w: f32([4, 0]) }, 8, /outside/],
    ['size does not match shape', { w: f32([0, 8]) }, 8, /needs 4/],
    ['overlap', { a: f32([0, 8], [2]), b: f32([4, 8]) }, 8, /overlap/],
    ['negative dim', { w: f32([0, 4], [-1]) }, 4, /shape/],
    ['fractional offset', { w: f32([0, 4.5]) }, 8, /data_offsets/],
    ['missing offsets', { w: { dtype: 'F32', shape: [1] } }, 4, /data_offsets/],
    ['no dtype', { w: { shape: [1], data_offsets: [0, 4] } }, 4, /dtype/],
    ['entry not an object', { w: 3 }, 0, /description/],
  ];
  for (const [label, header, dataLen, re] of cases) {
    const e = throwsCode(() => decodeSafetensors(build(header, new Uint8Array(dataLen)), 'bad.st'), 'CHECKPOINT_CORRUPT');
    assert.match(e.message, re, label);
  }
});

test('other dtypes are CHECKPOINT_UNSUPPORTED naming the dtype', () => {
  const file = build({ w: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4));
  const e = throwsCode(() => decodeSafetensors(file, 'half.safetensors'), 'CHECKPOINT_UNSUPPORTED');
  assert.match(e.message, /F16/);
  assert.match(e.message, /half\.safetensors/);
});

test('readSafetensorsFile: file errors and a real round trip on disk', () => {
  throwsCode(() => readSafetensorsFile(path.join(tmp, 'missing.safetensors')), 'FILE_NOT_FOUND');
  throwsCode(() => readSafetensorsFile(tmp), 'NOT_A_FILE');
  const f = path.join(tmp, 'deep', 'er', 'model.safetensors');
  writeFileAtomic(f, encodeSafetensors(sample(), META));
  assert.deepEqual(readSafetensorsFile(f).metadata, META);
  fs.writeFileSync(path.join(tmp, 'notes.txt'), 'hello');
  throwsCode(() => readSafetensorsFile(path.join(tmp, 'notes.txt')), 'CHECKPOINT_CORRUPT');
});

test('writeFileAtomic replaces the file and leaves no temp files', () => {
  const dir = path.join(tmp, 'atomic');
  const f = path.join(dir, 'ckpt.safetensors');
  writeFileAtomic(f, Uint8Array.from([1, 2, 3]));
  writeFileAtomic(f, Uint8Array.from([4, 5]));
  assert.deepEqual(Array.from(fs.readFileSync(f)), [4, 5]);
  assert.deepEqual(fs.readdirSync(dir), ['ckpt.safetensors']);
});

test('writeFileAtomic: a failing write (ENOSPC mid-file) leaves the old file intact and no temp file', () => {
  const dir = path.join(tmp, 'full');
  const f = path.join(dir, 'ckpt.safetensors');
  writeFileAtomic(f, Uint8Array.from([9, 9, 9]));
  let written = 0;
  // Real fs, except writeSync behaves like a full disk after the first 1000 bytes have gone out.
  const io: AtomicWriteFs = {
    ...fs,
    writeSync: ((fd: number, buf: Uint8Array, off: number, len: number) => {
      if (written >= 1000) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = fs.writeSync(fd, buf, off, Math.min(len, 1000 - written));
      written += n;
      return n;
    }) as typeof fs.writeSync,
  };
  const e = throwsCode(() => writeFileAtomic(f, new Uint8Array(5000), io), 'WRITE_FAILED');
  assert.match(e.message, /ENOSPC/);
  assert.equal(written, 1000, 'the temp file really was partly written before the failure');
  assert.deepEqual(Array.from(fs.readFileSync(f)), [9, 9, 9]);
  assert.deepEqual(fs.readdirSync(dir), ['ckpt.safetensors']);
});

test('writeFileAtomic: a real OS failure at rename cleans up too', () => {
  // Renaming a file over a non-empty directory fails (EISDIR/ENOTEMPTY) after the temp file is fully written.
  const dir = path.join(tmp, 'rename');
  const target = path.join(dir, 'occupied');
  fs.mkdirSync(target, { recursive: true });
  fs.writeFileSync(path.join(target, 'keep'), 'x');
  const e = throwsCode(() => writeFileAtomic(target, new Uint8Array(10)), 'WRITE_FAILED');
  assert.match(e.message, /E[A-Z]+/);
  assert.deepEqual(fs.readdirSync(dir), ['occupied']);
  // Parent is a file: the directory cannot be created.
  throwsCode(() => writeFileAtomic(path.join(target, 'keep', 'x.safetensors'), new Uint8Array(1)), 'WRITE_FAILED');
});
