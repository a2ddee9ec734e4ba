// The token cache: a second read of the same corpus comes from disk with the same tokens; a changed input, a
// different option or a damaged entry encodes again; resuming finds the fresh run's entry; ls marks stale entries;
// clear removes them. Plus --max-vocab end to end: the checkpoint records the unknown symbol and sampling never
// emits it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { corpusFromPaths, prepareCorpus, type DataEvent, type PrepareOptions } from '../../src/data/prepare.js';
import { clearCache, listCache, readCacheEntry, tokenCacheDir } from '../../src/data/tokencache.js';
import { UNKNOWN_SYMBOL } from '../../src/data/vocab.js';
import { Picker } from '../../src/sample/pick.js';
import { Rng } from '../../src/util/rng.js';
import { resolveConfig } from '../../src/config.js';
import { train } from '../../src/train/loop.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { loadModelFile } from '../../src/model/io.js';
import { generate } from '../../src/sample/generate.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charlm-tokcache-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cacheDir = path.join(tmp, 'cache');
const dir = tokenCacheDir(cacheDir);

test('second read comes from the cache, same tokens; changes and options miss; damage re-encodes', async () => {
  const folder = path.join(tmp, 'corpus');
  fs.mkdirSync(folder);
  fs.writeFileSync(path.join(folder, 'a.txt'), 'hello world, 你好世界 😀\n'.repeat(200));
  fs.writeFileSync(path.join(folder, 'b.txt'), 'second file\n'.repeat(100));
  const events: DataEvent[] = [];
  const opts: PrepareOptions = { separator: '\n', split: { valFraction: 0.1, valFiles: 0 }, unknown: 'skip', cache: true, cacheDir,
                                 onEvent: (e) => events.push(e) };
  const first = await prepareCorpus(corpusFromPaths([folder]), opts);
  assert.equal(first.fromCache, false);
  assert.equal(listCache(dir).length, 1);
  const again = await prepareCorpus(corpusFromPaths([folder]), opts);
  assert.equal(again.fromCache, true);
  assert.deepEqual(again.vocab.chars, first.vocab.chars);
  assert.ok(Buffer.from(again.tokens).equals(Buffer.from(first.tokens)));
  assert.equal(again.nTrain, first.nTrain);
  assert.deepEqual(again.sources, first.sources);
  const ready = events.filter((e) => e.type === 'data-ready');
  assert.deepEqual(ready.map((e) => e.type === 'data-ready' && e.fromCache), [false, true]);

  // Another option: another entry.
  assert.equal((await prepareCorpus(corpusFromPaths([folder]), { ...opts, split: { valFraction: 0.2, valFiles: 0 } })).fromCache, false);
  assert.equal(listCache(dir).length, 2);
  // Resuming (fixed vocabulary equal to the fresh one) reuses the fresh entry.
  assert.equal((await prepareCorpus(corpusFromPaths([folder]), { ...opts, vocab: first.vocab })).fromCache, true);

  // A changed file: a miss, and the old entries are now stale.
  const t = new Date(Date.now() + 5000);
  fs.utimesSync(path.join(folder, 'b.txt'), t, t);
  assert.equal((await prepareCorpus(corpusFromPaths([folder]), opts)).fromCache, false);
  assert.deepEqual(listCache(dir).map((e) => e.stale).sort(), [false, true, true]);
  assert.deepEqual(clearCache(dir, { staleOnly: true }).entries, 2);
  assert.equal(listCache(dir).length, 1);

  // A damaged entry (truncated) is ignored and rewritten.
  const entry = listCache(dir)[0].path;
  fs.truncateSync(entry, fs.statSync(entry).size - 3);
  const healed = await prepareCorpus(corpusFromPaths([folder]), opts);
  assert.equal(healed.fromCache, false);
  assert.equal((await prepareCorpus(corpusFromPaths([folder]), opts)).fromCache, true);

  assert.equal(clearCache(dir).entries, 1);
  assert.equal(listCache(dir).length, 0);
});

test('an entry read back through the memory map equals one read into a fresh array, for every token width', async () => {
  const f = path.join(tmp, 'widths.txt');
  for (const [label, text] of [['u8', 'ascii only\n'], ['u16', Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join('') + ', hello\n'], ['u32', Array.from({ length: 66000 }, (_, i) => String.fromCodePoint(0x20000 + i)).join('')]] as const) {
    fs.writeFileSync(f, text.repeat(label === 'u32' ? 1 : 500));
    const opts: PrepareOptions = { separator: '\n', split: { valFraction: 0.1, valFiles: 0 }, unknown: 'skip', cache: true, cacheDir };
    const fresh = await prepareCorpus(corpusFromPaths([f]), opts);
    assert.equal(fresh.fromCache, false);
    assert.equal(listCache(dir).length, 1);
    const key = listCache(dir)[0].key;
    const mapped = readCacheEntry(dir, key), read = readCacheEntry(dir, key, { map: false });
    assert.ok(mapped && read, label);
    assert.equal(mapped.tokens.constructor.name, { u8: 'Uint8Array', u16: 'Uint16Array', u32: 'Uint32Array' }[label]);
    assert.equal(read.tokens.constructor, mapped.tokens.constructor);
    assert.ok(Buffer.from(mapped.tokens.buffer, mapped.tokens.byteOffset, mapped.tokens.byteLength).equals(Buffer.from(fresh.tokens.buffer, fresh.tokens.byteOffset, fresh.tokens.byteLength)), label);
    assert.ok(Buffer.from(read.tokens.buffer).equals(Buffer.from(fresh.tokens.buffer, fresh.tokens.byteOffset, fresh.tokens.byteLength)), label);
    assert.equal((await prepareCorpus(corpusFromPaths([f]), opts)).fromCache, true);
    clearCache(dir);
  }
});

test('auto: small corpora and in-memory text are not cached', async () => {
  const f = path.join(tmp, 'small.txt');
  fs.writeFileSync(f, 'small corpus\n'.repeat(100));
  const opts: PrepareOptions = { separator: '\n', split: null, unknown: 'skip', cacheDir };
  await prepareCorpus(corpusFromPaths([f]), opts);
  await prepareCorpus({ name: 'x', source: 'mem', text: 'in memory', }, { ...opts, cache: true });
  assert.equal(listCache(dir).length, 0);
});

test('Picker never chooses a banned id, greedy or sampled', () => {
  const logits = Float32Array.of(0, 1, 2, 50);
  const p = new Picker(4, [3]), rng = new Rng(1);
  assert.equal(p.pick(logits, 0, { temperature: 0, topK: 0, topP: 1 }, rng), 2);
  for (let i = 0; i < 200; i++) assert.notEqual(p.pick(logits, 0, { temperature: 2, topK: 0, topP: 1 }, rng), 3);
  assert.equal(p.distribution(logits, 0, { temperature: 1, topK: 1, topP: 1 })[2], 1);
});

test('--max-vocab end to end: checkpoint records the unknown symbol, sampling never emits it', async () => {
  // Most characters are rare, so the unknown symbol is the likeliest next token almost everywhere.
  const rare = Array.from({ length: 400 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join('');
  const corpus = { name: 'rare', source: 'test', text: ('ab' + rare).repeat(4) };
  const config = resolveConfig({ flags: { embeddingDim: 8, hiddenSize: 16, numLayers: 1, seqLength: 16, batchSize: 4, steps: 60,
    learningRate: 0.02, evalInterval: 0, logInterval: 10, sampleChars: 0, backend: 'ref', maxVocab: 2 } });
  const out = path.join(tmp, 'maxv');
  await train({ config, corpus, outDir: out, backend: refBackend });
  const lm = loadModelFile(path.join(out, 'last.safetensors'), refBackend);
  assert.deepEqual(lm.vocab.chars, ['a', 'b', UNKNOWN_SYMBOL]);
  assert.equal(lm.vocab.unknown, UNKNOWN_SYMBOL);
  const text = generate(lm.model, lm.vocab, { prime: 'a' + rare.slice(0, 5), length: 300, temperature: 1, topK: 0, topP: 1, seed: 3, unknown: 'error' });
  assert.equal(text.length, 300);
  assert.ok(!text.includes(UNKNOWN_SYMBOL), text.slice(0, 40));
  const greedy = generate(lm.model, lm.vocab, { prime: rare.slice(0, 5), length: 50, temperature: 0, topK: 0, topP: 1, seed: 3, unknown: 'error' });
  assert.ok(!greedy.includes(UNKNOWN_SYMBOL));
});
