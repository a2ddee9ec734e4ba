// Streaming corpus encoding on small generated corpora: the chunked UTF-8 decoder at every split point, several
// files, folders in sorted order with globs, .gz, CJK and astral characters, the separator, both validation modes,
// --max-vocab with its unknown symbol, invalid UTF-8 naming the file and offset, and the equivalence with the
// in-memory encoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Utf8Stream } from '../../src/data/utf8stream.js';
import { encodeCorpus, firstInvalidUtf8 } from '../../src/data/corpus.js';
import { Vocab, UNKNOWN_SYMBOL } from '../../src/data/vocab.js';
import { resolveSources, CHUNK_BYTES } from '../../src/data/sources.js';
import { encodeSources, type EncodeOptions } from '../../src/data/encode.js';
import { corpusFromPaths, prepareCorpus } from '../../src/data/prepare.js';
import { compileGlob } from '../../src/data/glob.js';
import { CharlmError } from '../../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charlm-stream-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const put = (rel: string, data: string | Uint8Array) => {
  const f = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, data);
  return f;
};
const TRAIN: EncodeOptions = { separator: '\n', split: { valFraction: 0.1, valFiles: 0 }, unknown: 'skip' };
const cps = (s: string) => Array.from(s, (c) => c.codePointAt(0)!);

async function rejectsCode(p: Promise<unknown>, code: string): Promise<CharlmError> {
  let caught: unknown;
  try { await p; } catch (e) { caught = e; }
  assert.ok(caught instanceof CharlmError, `expected CharlmError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.ok(caught.hint.length > 0);
  return caught;
}

test('Utf8Stream: every chunk size gives the code points of the whole text (BOM dropped)', () => {
  const text = 'a é 你好 😀👍🏽 \u0800\uFFFF\u{10FFFF} z';
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
  for (let size = 1; size <= bytes.length; size++) {
    const s = new Utf8Stream('t.txt'), out = new Uint32Array(size + 4), got: number[] = [];
    for (let o = 0; o < bytes.length; o += size) got.push(...s.push(bytes.subarray(o, o + size), out));
    s.end();
    assert.deepEqual(got, cps(text), `chunk size ${size}`);
  }
});

test('Utf8Stream: a bad sequence is reported at the offset firstInvalidUtf8 finds, whatever the chunking', () => {
  const cases: Uint8Array[] = [
    Uint8Array.of(0x61, 0x62, 0xff, 0x63), Uint8Array.of(0x61, 0x62, 0x63, 0xe4, 0xbd), Uint8Array.of(0x61, 0xc0, 0xaf),
    Uint8Array.of(0xe0, 0x80, 0x80), Uint8Array.of(0x78, 0x79, 0xed, 0xa0, 0x80), Uint8Array.of(0x41, 0xf4, 0x90, 0x80, 0x80),
    Uint8Array.of(0xc3, 0xa9, 0x80), Uint8Array.of(...Buffer.from('é你', 'utf8'), 0xe4, 0x41, 0x41),
  ];
  for (const b of cases) {
    const want = firstInvalidUtf8(b);
    for (let size = 1; size <= b.length; size++) {
      const s = new Utf8Stream('bad.txt'), out = new Uint32Array(size + 4);
      let msg = '';
      try {
        for (let o = 0; o < b.length; o += size) s.push(b.subarray(o, o + size), out);
        s.end();
      } catch (e) { msg = (e as CharlmError).message; }
      assert.match(msg, new RegExp(`^bad\\.txt is not valid UTF-8: bad byte sequence at byte offset ${want} `), `${Buffer.from(b).toString('hex')} / ${size}`);
    }
  }
});

test('a multi-byte character split at every 1 MiB read boundary (plain and .gz) decodes intact', async () => {
  // Boundary j (at j MiB) cuts a 4-byte emoji after j bytes; a 3-byte CJK character and a 2-byte é sit across
  // boundaries 4 and 5 as well.
  const pieces: Buffer[] = [];
  let len = 0;
  const pad = (upTo: number) => { const n = upTo - len; pieces.push(Buffer.alloc(n, 0x61)); len += n; };
  const add = (s: string) => { const b = Buffer.from(s, 'utf8'); pieces.push(b); len += b.length; };
  for (let j = 1; j <= 3; j++) { pad(j * CHUNK_BYTES - j); add('😀'); }
  pad(4 * CHUNK_BYTES - 1); add('你');
  pad(5 * CHUNK_BYTES - 1); add('é');
  add('end\n');
  const bytes = Buffer.concat(pieces);
  const text = bytes.toString('utf8');
  const plain = put('split/boundary.txt', bytes);
  const gz = put('splitgz/boundary.txt.gz', gzipSync(bytes));
  const vocab = Vocab.fromText(text), want = encodeCorpus(text, vocab);
  for (const f of [plain, gz]) {
    const enc = await encodeSources(await resolveSources({ paths: [f] }), { ...TRAIN, split: null });
    assert.deepEqual(enc.vocab.chars, vocab.chars);
    assert.ok(Buffer.from(enc.tokens).equals(Buffer.from(want)), f);
  }
});

test('a folder: recursive, sorted by path, hidden entries skipped, --include/--exclude, .gz, separator between files', async () => {
  put('corpus/b.txt', 'bee\n');
  put('corpus/a.txt', 'ay\n');
  put('corpus/sub/c.txt', '春眠不覺曉\n');
  put('corpus/sub/d.txt.gz', gzipSync(Buffer.from('😀 dee\n')));
  put('corpus/a-notes.md', 'notes');
  put('corpus/.git/config', 'x');
  put('corpus/drafts/e.txt', 'draft');
  const spec = { paths: [path.join(tmp, 'corpus')], exclude: ['*.md', 'drafts'] };
  const src = await resolveSources(spec);
  assert.deepEqual(src.map((s) => path.relative(path.join(tmp, 'corpus'), s.kind === 'file' ? s.path : '')),
    ['a.txt', 'b.txt', 'sub/c.txt', 'sub/d.txt.gz']);
  const enc = await encodeSources(src, { ...TRAIN, separator: '<>', split: null });
  assert.equal(enc.vocab.decode(enc.tokens), 'ay\n<>bee\n<>春眠不覺曉\n<>😀 dee\n');
  const only = await resolveSources({ paths: [path.join(tmp, 'corpus')], include: ['sub/**'] });
  assert.equal(only.length, 2);
  const globs = await resolveSources({ paths: [path.join(tmp, 'corpus')], include: ['*.{txt,gz}'], exclude: ['sub', 'drafts'] });
  assert.equal(globs.length, 2);
  await rejectsCode(resolveSources({ paths: [path.join(tmp, 'corpus')], include: ['*.nothing'] }), 'CORPUS_EMPTY');
  await rejectsCode(resolveSources({ paths: [path.join(tmp, 'no-such-dir')] }), 'FILE_NOT_FOUND');
});

test('globs', () => {
  const g = (p: string, rel: string) => compileGlob(p).test(rel);
  assert.ok(g('*.txt', 'a/b/c.txt') && !g('*.txt', 'a/b/c.txt.gz'));
  assert.ok(g('sub/*.txt', 'sub/x.txt') && !g('sub/*.txt', 'sub/deeper/x.txt'));
  assert.ok(g('sub/**/*.txt', 'sub/x.txt') && g('sub/**/*.txt', 'sub/deeper/x.txt'));
  assert.ok(g('**/x?.txt', 'a/x1.txt') && g('[!a]*', 'b') && !g('[!a]*', 'abc'));
  assert.ok(g('*.{md,rst}', 'README.rst') && !g('*.{md,rst}', 'README.txt'));
  assert.throws(() => compileGlob('{a,b'), CharlmError);
  assert.throws(() => compileGlob(''), CharlmError);
});

test('several paths keep their order; a file named twice is read once', async () => {
  const a = put('multi/z.txt', 'zed'), b = put('multi/y.txt', 'why');
  const enc = await encodeSources(await resolveSources({ paths: [a, b, a] }), { ...TRAIN, split: null });
  assert.equal(enc.vocab.decode(enc.tokens), 'zed\nwhy');
});

test('validation: the tail of each file by default, or whole files with valFiles', async () => {
  const files = ['0123456789', 'abcdefghij', 'ABCDEFGHIJ', 'klmnopqrst'].map((t, i) => put(`val/f${i}.txt`, t));
  const src = await resolveSources({ paths: files });
  const tails = await encodeSources(src, { ...TRAIN, separator: '|', split: { valFraction: 0.2, valFiles: 0 } });
  const dec = (t: ArrayLike<number>) => tails.vocab.decode(t);
  assert.equal(dec(tails.tokens.subarray(0, tails.nTrain)), '01234567|abcdefgh|ABCDEFGH|klmnopqr');
  assert.equal(dec(tails.tokens.subarray(tails.nTrain)), '89|ij|IJ|st');
  assert.deepEqual(tails.sources.map((s) => [s.train, s.val]), [[8, 2], [8, 2], [8, 2], [8, 2]]);
  const whole = await encodeSources(src, { ...TRAIN, separator: '|', split: { valFraction: 0.2, valFiles: 2 } });
  // Held out: files floor((j + 0.5) * 4 / 2) = 1 and 3, spread over the sorted list.
  assert.equal(whole.vocab.decode(whole.tokens.subarray(0, whole.nTrain)), '0123456789|ABCDEFGHIJ');
  assert.equal(whole.vocab.decode(whole.tokens.subarray(whole.nTrain)), 'abcdefghij|klmnopqrst');
  await rejectsCode(encodeSources(src, { ...TRAIN, split: { valFraction: 0.1, valFiles: 4 } }), 'BAD_CONFIG_VALUE');
  // A single file: exactly the nanoGPT tail split of the in-memory path.
  const one = await encodeSources(await resolveSources({ paths: [files[0]] }), { ...TRAIN, split: { valFraction: 0.25, valFiles: 0 } });
  assert.equal(one.nTrain, Math.floor(10 * 0.75));
});

test('invalid UTF-8 names the file (and says "decompressed" for .gz) and the byte offset', async () => {
  const good = put('bad/a.txt', 'fine text\n');
  const bad = put('bad/b.txt', Buffer.concat([Buffer.from('héllo '), Buffer.from([0xff, 0x41])]));
  let e = await rejectsCode(encodeSources(await resolveSources({ paths: [good, bad] }), TRAIN), 'INVALID_UTF8');
  assert.ok(e.message.includes(`${bad} is not valid UTF-8`) && e.message.includes('byte offset 7'), e.message);
  const badGz = put('bad/c.txt.gz', gzipSync(Buffer.concat([Buffer.from('ab'), Buffer.from([0xe4, 0xbd])])));
  e = await rejectsCode(encodeSources(await resolveSources({ paths: [badGz] }), TRAIN), 'INVALID_UTF8');
  assert.ok(e.message.includes('byte offset 2 of its decompressed text'), e.message);
  const corrupt = put('bad/d.txt.gz', gzipSync(Buffer.from('x'.repeat(1000))).subarray(0, 20));
  await rejectsCode(encodeSources(await resolveSources({ paths: [corrupt] }), TRAIN), 'READ_FAILED');
});

test('Uint8 / Uint16 / Uint32 token arrays follow the vocabulary size', async () => {
  const all = (from: number, n: number) => Array.from({ length: n }, (_, i) => String.fromCodePoint(from + i)).join('');
  for (const [text, ctor] of [[all(0x4e00, 256), Uint8Array], [all(0x4e00, 257), Uint16Array], [all(0x4e00, 20000) + all(0x20000, 50000), Uint32Array]] as const) {
    const enc = await encodeSources(await resolveSources({ paths: [put(`sizes/${ctor.name}.txt`, text)] }), { ...TRAIN, split: null });
    assert.ok(enc.tokens instanceof ctor, ctor.name);
    assert.equal(enc.vocab.decode(enc.tokens), text);
  }
});

test('--max-vocab keeps the N most frequent characters plus U+FFFD, keeps the separator, and maps the rest', async () => {
  const f1 = put('maxv/1.txt', 'aaaa bbb cc d 春'), f2 = put('maxv/2.txt', 'aaa bb 😀');
  const enc = await encodeSources(await resolveSources({ paths: [f1, f2] }), { ...TRAIN, separator: '#', maxVocab: 3, split: null });
  // Counts: a 7, space 6, b 5, c 2, ...; '#' occurs once but is kept as the separator.
  assert.deepEqual(enc.vocab.chars, [' ', '#', 'a', UNKNOWN_SYMBOL]);
  assert.equal(enc.vocab.unknown, UNKNOWN_SYMBOL);
  assert.equal(enc.vocab.decode(enc.tokens), 'aaaa \uFFFD\uFFFD\uFFFD \uFFFD\uFFFD \uFFFD \uFFFD#aaa \uFFFD\uFFFD \uFFFD');
  assert.equal(enc.unknown.distinct, 5);
  assert.equal(enc.unknown.occurrences, 10);
  // Ties go to the lower code point.
  assert.deepEqual(Vocab.fromCounts(Float64Array.of(0, 2, 2, 2), 2).chars, ['\u0001', '\u0002', UNKNOWN_SYMBOL]);
  // No cap needed: the same vocabulary as without --max-vocab, no unknown symbol.
  const loose = await encodeSources(await resolveSources({ paths: [f1] }), { ...TRAIN, maxVocab: 100, split: null });
  assert.equal(loose.vocab.unknown, null);
  assert.deepEqual(loose.vocab.chars, Vocab.fromText('aaaa bbb cc d 春').chars);
});

test('a fixed vocabulary: unknown characters are dropped for training, marked for evaluation', async () => {
  const f = put('fixed/x.txt', 'abXcdY');
  const vocab = Vocab.fromText('abcd');
  const src = await resolveSources({ paths: [f] });
  const skip = await encodeSources(src, { ...TRAIN, vocab, split: null });
  assert.equal(vocab.decode(skip.tokens), 'abcd');
  assert.deepEqual(skip.skippedChars.sort(), ['X', 'Y']);
  const mark = await encodeSources(src, { ...TRAIN, vocab, unknown: 'mark', split: null });
  assert.equal(mark.markId, 4);
  assert.deepEqual(Array.from(mark.tokens), [0, 1, 4, 2, 3, 4]);
  assert.equal(mark.unknown.occurrences, 2);
});

test('prepareCorpus: library text input and file input agree; a named dataset mixes with files', async () => {
  const text = 'To be, or not to be: 你好 😀\n'.repeat(50);
  const f = put('same/t.txt', text);
  const a = await prepareCorpus({ name: 't', source: 'mem', text }, TRAIN);
  const b = await prepareCorpus(corpusFromPaths([f]), TRAIN);
  assert.deepEqual(a.vocab.chars, b.vocab.chars);
  assert.ok(Buffer.from(a.tokens).equals(Buffer.from(b.tokens)));
  assert.equal(a.train.length + a.val.length, a.tokens.length);
  const sotu = await prepareCorpus(corpusFromPaths(['sotu', f]), { ...TRAIN, split: null });
  assert.equal(sotu.sources.length, 2);
  assert.ok(sotu.tokens.length > 10_000_000);
});
