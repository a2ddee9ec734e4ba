// Corpus: strict UTF-8 reading (BOM, byte offsets of bad sequences), file errors, token arrays, length checks,
// and the nanoGPT-style tail validation split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkCorpusLength, decodeUtf8, encodeCorpus, firstInvalidUtf8, readTextFile, splitTrainVal,
} from '../../src/data/corpus.js';
import { Vocab } from '../../src/data/vocab.js';
import { CharlmError } from '../../src/errors.js';

function throwsCode(fn: () => unknown, code: string): CharlmError {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  assert.ok(caught instanceof CharlmError, `expected CharlmError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.ok(caught.hint.length > 0);
  return caught;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charlm-corpus-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const bytes = (...xs: number[]) => Uint8Array.from(xs);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

test('readTextFile reads UTF-8 and strips a BOM', () => {
  const f = path.join(tmp, 'bom.txt');
  fs.writeFileSync(f, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('héllo 😀\n', 'utf8')]));
  assert.equal(readTextFile(f), 'héllo 😀\n');
  const g = path.join(tmp, 'plain.txt');
  fs.writeFileSync(g, 'plain');
  assert.equal(readTextFile(g), 'plain');
});

test('readTextFile: missing file, directory', () => {
  const e = throwsCode(() => readTextFile(path.join(tmp, 'nope.txt')), 'FILE_NOT_FOUND');
  assert.ok(e.message.includes('nope.txt'));
  assert.match(e.hint, /check the path/);
  throwsCode(() => readTextFile(path.join(tmp, 'bom.txt', 'below-a-file')), 'FILE_NOT_FOUND');
  throwsCode(() => readTextFile(tmp), 'NOT_A_FILE');
});

test('invalid UTF-8 names the byte offset of the first bad sequence', () => {
  const cases: [string, Uint8Array, number][] = [
    ['stray 0xff', bytes(...ascii('ab'), 0xff, ...ascii('cd')), 2],
    ['truncated 3-byte sequence at the end', bytes(...ascii('abc'), 0xe4, 0xbd), 3],
    ['overlong encoding of "/"', bytes(0x61, 0xc0, 0xaf), 1],
    ['overlong 3-byte NUL', bytes(0xe0, 0x80, 0x80), 0],
    ['lone surrogate U+D800 (ED A0 80)', bytes(...ascii('xy'), 0xed, 0xa0, 0x80), 2],
    ['above U+10FFFF (F4 90 80 80)', bytes(0x41, 0xf4, 0x90, 0x80, 0x80), 1],
    ['stray continuation byte', bytes(0xc3, 0xa9, 0x80), 2],
    ['bad continuation after valid text', bytes(...Buffer.from('é你', 'utf8'), 0xe4, 0x41, 0x41), 5],
  ];
  for (const [label, b, offset] of cases) {
    assert.equal(firstInvalidUtf8(b), offset, label);
    const e = throwsCode(() => decodeUtf8(b, 'x.txt'), 'INVALID_UTF8');
    assert.ok(e.message.includes(`byte offset ${offset}`), `${label}: ${e.message}`);
    assert.ok(e.message.includes('x.txt'));
  }
  assert.equal(firstInvalidUtf8(Buffer.from('héllo 你好 😀 \u{10ffff}', 'utf8')), -1);
});

test('invalid UTF-8 offset counts the BOM (offset in the file)', () => {
  const f = path.join(tmp, 'bad.txt');
  fs.writeFileSync(f, bytes(0xef, 0xbb, 0xbf, ...ascii('ab'), 0xff));
  const e = throwsCode(() => readTextFile(f), 'INVALID_UTF8');
  assert.ok(e.message.includes('byte offset 5'), e.message);
});

test('encodeCorpus picks the smallest array type and round-trips', () => {
  const text = 'hello 😀 world\n';
  const v = Vocab.fromText(text);
  const t = encodeCorpus(text, v);
  assert.ok(t instanceof Uint8Array);
  assert.equal(t.length, [...text].length);
  assert.equal(v.decode(t), text);

  let big = '';
  for (let cp = 0x4e00; cp < 0x4e00 + 300; cp++) big += String.fromCodePoint(cp);
  big += '😀';
  const v16 = Vocab.fromText(big);
  const t16 = encodeCorpus(big, v16);
  assert.ok(t16 instanceof Uint16Array);
  assert.equal(v16.decode(t16), big);

  const huge = Array.from({ length: 70000 }, (_, i) => String.fromCodePoint(0x10000 + i)).join('');
  const v32 = Vocab.fromText(huge);
  const t32 = encodeCorpus(huge, v32);
  assert.ok(t32 instanceof Uint32Array);
  assert.equal(t32[69999], 69999);
});

test('encodeCorpus: characters outside the vocabulary', () => {
  const v = Vocab.fromText('ab');
  const e = throwsCode(() => encodeCorpus('abcé', v), 'UNKNOWN_CHARS');
  assert.ok(e.message.includes('"c"') && e.message.includes('(é)'), e.message);
  assert.deepEqual(Array.from(encodeCorpus('abcéb', v, 'skip')), [0, 1, 1]);
});

test('checkCorpusLength', () => {
  const empty = throwsCode(() => checkCorpusLength(0, 100), 'CORPUS_EMPTY');
  assert.equal(empty.hint, 'point charlm at a text file with content');
  const short = throwsCode(() => checkCorpusLength(100, 100), 'CORPUS_TOO_SHORT');
  assert.match(short.hint, /--seq-length/);
  checkCorpusLength(101, 100);
});

test('splitTrainVal: validation is the tail, as views', () => {
  const tokens = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  const { train, val } = splitTrainVal(tokens, 0.1);
  assert.equal(train.length, 900); // nanoGPT: n = int(0.9 * len(data))
  assert.equal(val.length, 100);
  assert.equal(val[0], tokens[900]);
  assert.equal(val.buffer, tokens.buffer, 'no copy');
  assert.equal(val.byteOffset, 900);
  assert.ok(train instanceof Uint8Array && val instanceof Uint8Array);

  const none = splitTrainVal(tokens, 0);
  assert.equal(none.train.length, 1000);
  assert.equal(none.val.length, 0);
  throwsCode(() => splitTrainVal(tokens, 1), 'BAD_OPTION');
  throwsCode(() => splitTrainVal(tokens, -0.1), 'BAD_OPTION');
  throwsCode(() => splitTrainVal(tokens, NaN), 'BAD_OPTION');
});

test('firstInvalidUtf8 agrees with the WHATWG strict decoder on random bytes', () => {
  const strict = new TextDecoder('utf-8', { fatal: true });
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const leads = [0x41, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x90, 0x8f];
  for (let trial = 0; trial < 5000; trial++) {
    const b = Uint8Array.from({ length: 1 + Math.floor(rnd() * 8) }, () =>
      rnd() < 0.7 ? leads[Math.floor(rnd() * leads.length)] : Math.floor(rnd() * 256));
    let ok = true;
    try { strict.decode(b); } catch { ok = false; }
    const at = firstInvalidUtf8(b);
    assert.equal(at < 0, ok, `bytes ${Array.from(b, (x) => x.toString(16))}`);
    if (at >= 0) assert.doesNotThrow(() => strict.decode(b.subarray(0, at)), 'everything before the offset is valid');
  }
});
