// The UTF-8 kernels of the two encoding passes: the native addon's (native/data.cc) against their TypeScript twins
// (src/data/utf8kernels.ts) bit for bit — return values, counts, written ids, state — on random valid and invalid
// bytes; both through Utf8Stream at every chunk size (split characters, BOM, error offsets = firstInvalidUtf8's);
// and whole corpora (several files, .gz, splits, dropped and marked characters) encoded by each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createJsKernels, type Utf8Kernels } from '../../src/data/utf8kernels.js';
import { dataAddon } from '../../src/data/native.js';
import { Utf8Stream } from '../../src/data/utf8stream.js';
import { encodeCorpus, firstInvalidUtf8, type Tokens } from '../../src/data/corpus.js';
import { encodeSources, type EncodeOptions } from '../../src/data/encode.js';
import { resolveSources } from '../../src/data/sources.js';
import { Vocab } from '../../src/data/vocab.js';
import { CharlmError } from '../../src/errors.js';
import { Rng } from '../../src/util/rng.js';
import { nativeMissing, skipWithout } from '../skips.js';

const CP = 0x110000;
const addon = dataAddon();
const skipNative = skipWithout('native', addon ? false : nativeMissing() || 'the addon lacks utf8Count/utf8Fill/mapFile; rebuild it');
const native: Utf8Kernels | null = addon && { name: 'native', count: addon.utf8Count, fill: addon.utf8Fill };
const kernelSets = (): Utf8Kernels[] => [createJsKernels(), ...(native ? [native] : [])];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charlm-utf8k-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Random text from a pool of 1- to 4-byte characters with ASCII runs of any length (so the native 8-byte scan meets
// every alignment), optionally with damage: a random byte changed, or a sequence cut.
const POOL = ['a', 'b', ' ', '\n', 'é', 'ß', 'ñ', '你', '好', '\u0800', '\uFFFF', '\uFEFF', '😀', '\u{10FFFF}', '\u{10000}'];
function randomBytes(rng: Rng, damage: boolean): Uint8Array {
  const parts: string[] = [];
  const n = 1 + Math.floor(rng.random() * 60);
  for (let i = 0; i < n; i++) {
    parts.push(rng.random() < 0.4 ? 'x'.repeat(Math.floor(rng.random() * 20)) : POOL[Math.floor(rng.random() * POOL.length)]);
  }
  const b = Buffer.from(parts.join(''), 'utf8');
  if (damage && b.length > 0) b[Math.floor(rng.random() * b.length)] = Math.floor(rng.random() * 256);
  return damage && rng.random() < 0.6 ? b.subarray(0, Math.floor(rng.random() * b.length)) : b;
}

test('native utf8Count/utf8Fill equal their TypeScript twins on random valid and damaged bytes', { skip: skipNative }, () => {
  const rng = new Rng(13), js = createJsKernels();
  const map = new Int32Array(CP).fill(-1);
  POOL.forEach((ch, i) => { if (i % 5 !== 4) map[ch.codePointAt(0)!] = i; }); // some characters drop
  map[0x78] = 99;
  let errors = 0, cut = 0;
  for (let trial = 0; trial < 400; trial++) {
    const b = randomBytes(rng, trial % 2 === 1);
    const cj = new Float64Array(CP), cn = new Float64Array(CP), sj = new Float64Array(1), sn = new Float64Array(1);
    const rj = js.count(b, cj, sj), rn = native!.count(b, cn, sn);
    assert.equal(rn, rj, `count return, trial ${trial}`);
    if (rj >= 0) { assert.deepEqual(sn, sj); assert.ok(Buffer.from(cn.buffer).equals(Buffer.from(cj.buffer)), `counts, trial ${trial}`); }
    else { errors++; assert.equal(-1 - rj, firstInvalidUtf8(b), `error offset, trial ${trial}`); }
    if (rj >= 0 && rj < b.length) cut++;
    for (const [Ctor, noDrops] of [[Uint8Array, 0], [Uint16Array, 0], [Uint32Array, 0], [Uint8Array, 1]] as const) {
      const h = Math.floor(rng.random() * 40), len = 80 + Math.floor(rng.random() * 40);
      const init = [3, 0, h, 50, noDrops, 0];
      const oj = new Ctor(len).fill(7), on = new Ctor(len).fill(7);
      const tj = Float64Array.from(init), tn = Float64Array.from(init);
      assert.equal(native!.fill(b, map, on, tn), js.fill(b, map, oj, tj), `fill return, trial ${trial}`);
      if (rj >= 0) {
        assert.deepEqual(tn, tj, `fill state, trial ${trial} ${Ctor.name} noDrops ${noDrops}`);
        assert.deepEqual(on, oj, `fill ids, trial ${trial} ${Ctor.name} noDrops ${noDrops}`);
      }
    }
  }
  assert.ok(errors > 50 && cut > 10, `the trials must meet bad and cut sequences (errors ${errors}, cut ${cut})`);
  console.log(`# 400 random chunks: ${errors} with a bad sequence, ${cut} ending in a cut one; native = TypeScript`);
});

test('Utf8Stream.count/fill with each kernel pair: every chunk size gives the whole text\'s counts and ids', () => {
  const text = 'a é 你好 😀👍🏽 \u0800\uFFFF\u{10FFFF} z\uFEFF' + 'plain ascii run of text '.repeat(3);
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
  const vocab = Vocab.fromText(text), want = encodeCorpus(text, vocab);
  const map = new Int32Array(CP).fill(-1);
  vocab.chars.forEach((ch, id) => { map[ch.codePointAt(0)!] = id; });
  for (const kern of kernelSets()) {
    for (let size = 1; size <= bytes.length; size++) {
      const counts = new Float64Array(CP), cst = new Float64Array(1), out = new Uint8Array(want.length);
      const fst = Float64Array.of(0, 0, 2 ** 53, 0, 1, 0);
      const a = new Utf8Stream('t.txt'), b = new Utf8Stream('t.txt');
      for (let o = 0; o < bytes.length; o += size) {
        a.count(bytes.subarray(o, o + size), counts, cst, kern);
        b.fill(bytes.subarray(o, o + size), map, out, fst, kern);
      }
      a.end(); b.end();
      assert.equal(cst[0], want.length, `${kern.name} count, chunk size ${size}`);
      for (const ch of vocab.chars) assert.equal(counts[ch.codePointAt(0)!], Array.from(text).filter((c) => c === ch).length);
      assert.deepEqual(out, want, `${kern.name} ids, chunk size ${size}`);
      assert.equal(fst[1], want.length);
    }
  }
});

test('Utf8Stream.count/fill with each kernel pair: a bad sequence is reported at firstInvalidUtf8\'s offset, whatever the chunking', () => {
  const cases: Uint8Array[] = [
    Uint8Array.of(0x61, 0x62, 0xff, 0x63), Uint8Array.of(0x61, 0x62, 0x63, 0xe4, 0xbd), Uint8Array.of(0x61, 0xc0, 0xaf),
    Uint8Array.of(0xe0, 0x80, 0x80), Uint8Array.of(0x78, 0x79, 0xed, 0xa0, 0x80), Uint8Array.of(0x41, 0xf4, 0x90, 0x80, 0x80),
    Uint8Array.of(0xc3, 0xa9, 0x80), Uint8Array.of(...Buffer.from('é你', 'utf8'), 0xe4, 0x41, 0x41), Uint8Array.of(0xef, 0x41),
    Uint8Array.of(0xef, 0xbb), Uint8Array.of(...Buffer.from('abcdefghijklmnop'), 0x80),
  ];
  const map = new Int32Array(CP).fill(0);
  for (const kern of kernelSets()) {
    for (const b of cases) {
      const want = firstInvalidUtf8(b);
      for (let size = 1; size <= b.length; size++) {
        for (const pass of ['count', 'fill'] as const) {
          const s = new Utf8Stream('bad.txt');
          let msg = '';
          try {
            for (let o = 0; o < b.length; o += size) {
              const chunk = b.subarray(o, o + size);
              if (pass === 'count') s.count(chunk, new Float64Array(CP), new Float64Array(1), kern);
              else s.fill(chunk, map, new Uint8Array(64), Float64Array.of(0, 0, 2 ** 53, 0, 1, 0), kern);
            }
            s.end();
          } catch (e) { msg = (e as CharlmError).message; }
          assert.match(msg, new RegExp(`^bad\\.txt is not valid UTF-8: bad byte sequence at byte offset ${want} `),
            `${kern.name} ${pass} ${Buffer.from(b).toString('hex')} / ${size}`);
        }
      }
    }
  }
});

test('whole corpora encode to the same tokens with either kernel pair (files, .gz, splits, dropped and marked characters)', async () => {
  const put = (rel: string, data: string | Uint8Array) => { const f = path.join(tmp, rel); fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, data); return f; };
  const rng = new Rng(7);
  const files = Array.from({ length: 5 }, (_, i) => {
    const b = Buffer.concat(Array.from({ length: 200 + i * 50 }, () => randomBytes(rng, false)));
    return i === 3 ? put(`c/f${i}.txt.gz`, gzipSync(b)) : put(`c/f${i}.txt`, b);
  });
  const src = await resolveSources({ paths: files });
  const fixed = new Vocab(['a', 'b', 'x', ' ', '你']);
  const variants: [string, Omit<EncodeOptions, 'kernels'>][] = [
    ['tails', { separator: '\n', split: { valFraction: 0.15, valFiles: 0 }, unknown: 'skip' }],
    ['val files', { separator: '<|>', split: { valFraction: 0.1, valFiles: 2 }, unknown: 'skip' }],
    ['max vocab', { separator: '\n', maxVocab: 6, split: { valFraction: 0.1, valFiles: 0 }, unknown: 'skip' }],
    ['fixed vocab, dropped', { separator: '\n', vocab: fixed, split: { valFraction: 0.2, valFiles: 0 }, unknown: 'skip' }],
    ['fixed vocab, marked', { separator: '\n', vocab: fixed, split: null, unknown: 'mark' }],
  ];
  for (const [label, o] of variants) {
    const got: { tokens: Tokens; nTrain: number; chars: string[] }[] = [];
    for (const kern of kernelSets()) {
      const e = await encodeSources(src, { ...o, kernels: kern });
      got.push({ tokens: e.tokens, nTrain: e.nTrain, chars: e.vocab.chars });
    }
    for (const g of got.slice(1)) {
      assert.deepEqual(g.chars, got[0].chars, label);
      assert.equal(g.nTrain, got[0].nTrain, label);
      assert.equal(g.tokens.constructor, got[0].tokens.constructor, label);
      assert.ok(Buffer.from(g.tokens.buffer).equals(Buffer.from(got[0].tokens.buffer)), label);
    }
    assert.ok(got[0].tokens.length > 1000, label);
  }
});

test('a character outside the map in a no-drop walk sets `changed` in both kernels (the source changed between passes)', () => {
  const map = new Int32Array(CP).fill(-1);
  map[0x61] = 1;
  for (const kern of kernelSets()) {
    for (const text of ['aaaaaaaaaaaaaaaaaaaab', 'aaé']) {
      const st = Float64Array.of(0, 0, 2 ** 53, 0, 1, 0);
      kern.fill(Buffer.from(text), map, new Uint8Array(64), st);
      assert.equal(st[5], 1, `${kern.name} ${text}`);
    }
  }
});

test('native mapFile: a copy-on-write view of a file\'s tail; a size mismatch or a missing file is a reason, not a throw', { skip: skipNative }, () => {
  const f = path.join(tmp, 'mapped.bin'), bytes = Buffer.from(Array.from({ length: 10000 }, (_, i) => (i * 7) & 255));
  fs.writeFileSync(f, bytes);
  const ab = addon!.mapFile(f, 16, bytes.length - 16);
  assert.ok(ab instanceof ArrayBuffer);
  assert.ok(Buffer.from(ab).equals(bytes.subarray(16)));
  new Uint8Array(ab)[0] = 99; // private: the file keeps its byte
  assert.equal(fs.readFileSync(f)[16], bytes[16]);
  assert.equal(typeof addon!.mapFile(f, 16, bytes.length), 'string');
  assert.equal(typeof addon!.mapFile(path.join(tmp, 'missing.bin'), 0, 10), 'string');
});

test('a file that changes between the two passes stops the run with CORPUS_CHANGED, with either kernel pair', async () => {
  for (const kern of kernelSets()) {
    for (const [label, after] of [['new character', 'abcabcabcZ\n'], ['longer', 'abcabcabcabc\n']] as const) {
      const a = path.join(tmp, 'changing', 'a.txt'), b = path.join(tmp, 'changing', 'b.txt');
      fs.mkdirSync(path.dirname(a), { recursive: true });
      fs.writeFileSync(a, 'first file\n');
      fs.writeFileSync(b, 'abcabcabca\n');
      const src = await resolveSources({ paths: [a, b] });
      let caught: unknown;
      try {
        await encodeSources(src, { separator: '\n', split: { valFraction: 0.1, valFiles: 0 }, unknown: 'skip', kernels: kern,
          onProgress: (p) => { if (p.pass === 2) fs.writeFileSync(b, after); } });
      } catch (e) { caught = e; }
      assert.ok(caught instanceof CharlmError && caught.code === 'CORPUS_CHANGED', `${kern.name} ${label}: ${String(caught)}`);
      assert.match(caught.message, label === 'longer' ? /11 then 13 characters/ : /a character the first pass did not see/);
    }
  }
});
