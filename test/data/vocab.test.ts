// Vocab: code-point ordering (Python's sorted(set(text))), round trips, unknown-character errors, validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vocab, describeChar } from '../../src/data/vocab.js';
import { CharlmError } from '../../src/errors.js';

function throwsCode(fn: () => unknown, code: string): CharlmError {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  assert.ok(caught instanceof CharlmError, `expected CharlmError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.ok(caught.hint.length > 0, 'a CharlmError carries a hint');
  return caught;
}

test('fromText sorts by code point like Python sorted(set(text))', () => {
  // Python: sorted(set("hello, café 你好 😀 \uFB01x\n")) ==
  //   ['\n', ' ', ',', 'a', 'c', 'e', 'f', 'h', 'l', 'o', 'x', 'é', '你', '好', 'ﬁ', '😀']
  // (UTF-16 order would put 😀 (D83D..) before ﬁ (FB01); code-point order puts it last.)
  const v = Vocab.fromText('hello, café 你好 😀 \uFB01x\n');
  assert.deepEqual(v.chars, ['\n', ' ', ',', 'a', 'c', 'e', 'f', 'h', 'l', 'o', 'x', 'é', '你', '好', '\uFB01', '😀']);
  assert.equal(v.size, 16);
  assert.equal(v.indexOf('😀'), 15);
  assert.equal(v.indexOf('\uD83D'), -1, 'half of a surrogate pair is not a token');
  assert.equal(v.indexOf('z'), -1);
});

test('an emoji is one token; encode/decode round trip', () => {
  const text = 'héllo 你好 😀👍🏽!\n';
  const v = Vocab.fromText(text);
  const ids = v.encode(text);
  assert.ok(ids instanceof Int32Array);
  assert.equal(ids.length, [...text].length);
  assert.equal(v.decode(ids), text);
  assert.equal(v.charAt(v.indexOf('😀')), '😀');
  assert.equal(v.encode('😀').length, 1);
});

test('encode names every distinct unknown character, escaped', () => {
  const v = Vocab.fromText('abc ');
  const e = throwsCode(() => v.encode('abé d é😀\t'), 'UNKNOWN_CHARS');
  assert.match(e.message, /4 characters/);
  assert.ok(e.message.includes('"\\u00e9" (é)'), e.message);
  assert.ok(e.message.includes('"\\ud83d\\ude00" (😀)'), e.message);
  assert.ok(e.message.includes('"d"'), e.message);
  assert.ok(e.message.includes('"\\t"'), e.message);
  assert.equal(e.message.split('é').length - 1, 1, 'each unknown character named once');
  assert.equal(e.hint, 'use --unknown skip to drop them, or train on text that contains them');
  assert.deepEqual(v.unknownChars('abé d é😀'), ['é', 'd', '😀']);
});

test("encode with 'skip' drops unknown characters", () => {
  const v = Vocab.fromText('abc');
  assert.deepEqual(Array.from(v.encode('a😀bxc', 'skip')), [0, 1, 2]);
});

test('constructor validates entries', () => {
  throwsCode(() => new Vocab([]), 'BAD_VOCAB');
  throwsCode(() => new Vocab(['a', 'a']), 'BAD_VOCAB');
  throwsCode(() => new Vocab(['ab']), 'BAD_VOCAB');
  throwsCode(() => new Vocab(['']), 'BAD_VOCAB');
  assert.equal(new Vocab(['😀', 'a']).size, 2, 'an astral character is one entry');
  // An explicit vocabulary keeps its order (e.g. one read back from a checkpoint).
  assert.deepEqual(new Vocab(['b', 'a']).encode('ab'), Int32Array.from([1, 0]));
});

test('charAt and decode reject ids outside the vocabulary', () => {
  const v = Vocab.fromText('ab');
  throwsCode(() => v.charAt(2), 'BAD_TOKEN_ID');
  throwsCode(() => v.decode([0, -1]), 'BAD_TOKEN_ID');
  throwsCode(() => v.charAt(0.5), 'BAD_TOKEN_ID');
});

test('preview escapes whitespace and truncates', () => {
  const v = Vocab.fromText('\n\t abcdef');
  assert.equal(v.preview(), '\\t\\n␣abcdef');
  assert.equal(v.preview(4), '\\t\\n␣a… (+5 more)');
  assert.equal(Vocab.fromText('\u0000x').preview(), '\\u0000x');
});

test('describeChar', () => {
  assert.equal(describeChar('é'), '"\\u00e9" (é)');
  assert.equal(describeChar('\n'), '"\\n"');
  assert.equal(describeChar('\u00a0'), '"\\u00a0"', 'invisible characters are shown only escaped');
});
