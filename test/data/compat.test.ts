// Streaming encoding changes nothing for existing users: tiny Shakespeare encodes to the same tokens and trains to
// the same losses as before it (values recorded at commit ef27e3f), and a checkpoint written then still loads and
// samples the same text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, SHARED_DATA } from '../helpers.js';
import { readTextFile } from '../../src/data/corpus.js';
import { corpusFromPaths, prepareCorpus } from '../../src/data/prepare.js';
import { resolveConfig } from '../../src/config.js';
import { train } from '../../src/train/loop.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { loadModelFile } from '../../src/model/io.js';
import { generate } from '../../src/sample/generate.js';
import { skipWithout } from '../skips.js';

const SHAKESPEARE = join(SHARED_DATA, 'tinyshakespeare.txt');
const TOKENS_SHA256 = 'eafbf6db15b85793ae12e0a3f5c38ae13106463a7cdc6bf859b88693b0b9fe1d';
// metrics.jsonl of the run below at ef27e3f: train losses per step, [val loss, sample] at steps 3 and 6.
const LOSSES = [4.194520570677961, 4.18004482175578, 4.175798721378728, ['val', 4.101424571306938, 'tNiihplsIqU,qpmuCLei'],
  4.126114450558556, 4.044712153342072, 4.021603349403187, ['val', 3.9983640473339, 'tOiiiqmtIrX-qqnuCMgj']];
const have = existsSync(SHAKESPEARE);
const noMirror = skipWithout('shakespeare-mirror', !have && `${SHAKESPEARE} is absent`);

test('tiny Shakespeare: same tokens, as text and as a streamed file', { skip: noMirror }, async () => {
  const text = readTextFile(SHAKESPEARE);
  const opt = { separator: '\n', split: { valFraction: 0.1, valFiles: 0 }, unknown: 'skip' as const, cache: false };
  for (const input of [{ name: 'shakespeare', text, source: SHAKESPEARE }, corpusFromPaths([SHAKESPEARE])]) {
    const d = await prepareCorpus(input, opt);
    assert.ok(d.tokens instanceof Uint8Array);
    assert.equal(d.tokens.length, 1_115_394);
    assert.equal(d.train.length, 1_003_854, 'the same nanoGPT tail split');
    assert.equal(d.vocab.size, 65);
    assert.equal(createHash('sha256').update(d.tokens).digest('hex'), TOKENS_SHA256);
  }
});

test('tiny Shakespeare: same losses and samples for the same seed as before streaming', { skip: noMirror }, async () => {
  const config = resolveConfig({ flags: { embeddingDim: 8, hiddenSize: 16, numLayers: 1, seqLength: 16, batchSize: 4, steps: 6,
    learningRate: 0.01, evalInterval: 3, evalChars: 2000, logInterval: 1, sampleChars: 20, backend: 'ref' } });
  for (const corpus of [{ name: 'shakespeare', text: readTextFile(SHAKESPEARE), source: SHAKESPEARE }, corpusFromPaths([SHAKESPEARE])]) {
    const out = mkdtempSync(join(tmpdir(), 'charlm-compat-'));
    try {
      await train({ config, corpus, outDir: out, backend: refBackend });
      const got = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
        .map((m) => (m.type === 'train' ? m.loss : ['val', m.val_loss, m.sample]));
      const flat = (a: unknown[]) => a.flatMap((x) => (Array.isArray(x) ? x.filter((v) => typeof v === 'number') : [x])) as number[];
      const maxdiff = Math.max(...flat(got).map((v, i) => Math.abs(v - flat(LOSSES)[i])));
      console.log(`  ${corpus.text !== undefined ? 'text' : 'file'}: max abs diff vs ef27e3f losses ${maxdiff}`);
      assert.deepEqual(got, LOSSES);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
});

test('a checkpoint written before streaming encoding loads and samples the same text', () => {
  const lm = loadModelFile(join(ROOT, 'test', 'fixtures', 'compat', 'tiny-shakespeare-main-ef27e3f.safetensors'), refBackend);
  assert.equal(lm.vocab.size, 65);
  assert.equal(lm.vocab.unknown, null);
  assert.deepEqual(lm.vocab.bannedIds, []);
  const opts = { prime: 'ROMEO:', topK: 0, topP: 1, seed: 1, unknown: 'error' as const };
  assert.equal(generate(lm.model, lm.vocab, { ...opts, length: 40, temperature: 0.8 }), 'XtSLKUbEfmMxOxTbEF&Kwy-Da  wu aL$ E?:$on');
  assert.equal(generate(lm.model, lm.vocab, { ...opts, length: 20, temperature: 0 }), 'aaaoaioaioaioaioaioa');
});

test('eval: a streamed file scores exactly as evaluateText on its text; unknown characters counted the same', async () => {
  const { evaluateCorpus, evaluateText, loadModel } = await import('../../src/node.js');
  const lm = await loadModel(join(ROOT, 'test', 'fixtures', 'compat', 'tiny-shakespeare-main-ef27e3f.safetensors'), { backend: refBackend });
  const text = (have ? readTextFile(SHAKESPEARE).slice(0, 20_000) : 'First Citizen:\nBefore we proceed any further, hear me speak.\n'.repeat(100)) + ' é 😀 ~\n';
  const dir = mkdtempSync(join(tmpdir(), 'charlm-compat-eval-'));
  try {
    const f = join(dir, 'held-out.txt');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(f, text);
    const a = evaluateText(lm, text), b = await evaluateCorpus(lm, f);
    console.log(`  evaluateText ${a.loss}, streamed ${b.loss}, abs diff ${Math.abs(a.loss - b.loss)}`);
    assert.equal(b.loss, a.loss);
    assert.equal(b.chars, a.chars);
    assert.equal(b.charsTotal, a.charsTotal);
    assert.equal(b.unknownChars, a.unknownChars);
    assert.deepEqual([...b.unknownDistinct].sort(), [...a.unknownDistinct].sort());
    // The windows protocol too (ids outside the vocabulary arrive as a marker id in the compact array).
    const { evaluateText: evalText } = await import('../../src/train/evaluate.js');
    const w = evalText(lm.model, lm.vocab, text, { protocol: 'windows', block: 64 });
    const ws = await evaluateCorpus(lm, f, { protocol: 'windows', block: 64 });
    console.log(`  windows: evaluateText ${w.loss}, streamed ${ws.loss}`);
    assert.equal(ws.loss, w.loss);
    assert.equal(ws.chars, w.chars);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
