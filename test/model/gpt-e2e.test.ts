// The gpt family everywhere a recurrent model goes: `charlm train --family gpt` → sample → eval (both protocols)
// → info → report, the server (continuous batching with KV caches, per-request determinism, /v1/next), checkpoint
// round trip, and the one-line errors for impossible architectures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import { GptModel } from '../../src/model/gpt/model.js';
import { loadModelFile, saveModel } from '../../src/model/io.js';
import { Vocab } from '../../src/data/vocab.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { Rng } from '../../src/util/rng.js';
import { startServer } from '../../src/server/index.js';
import { evaluateWindows, evaluateTokens } from '../../src/train/evaluate.js';
import { generate } from '../../src/sample/generate.js';
import { post } from '../server/helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'charlm-gpt-'));
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'charlm.js'), ...args],
                      { encoding: 'utf8', env: { ...process.env, CHARLM_QUIET_NATIVE: '1' }, timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const corpus = join(tmp, 'corpus.txt');
writeFileSync(corpus, ('To be, or not to be, that is the question:\nWhether tis nobler in the mind to suffer\n').repeat(60));
const GPT_FLAGS = ['--family', 'gpt', '--n-layer', '2', '--n-head', '2', '--n-embd', '16', '--block-size', '32', '--seq-length', '32',
                   '--batch-size', '8', '--learning-rate', '0.01', '--backend', 'ref'];

test('charlm train --family gpt → sample → eval (stream and windows) → info → report', () => {
  const out = join(tmp, 'run');
  const t = run(['train', corpus, '--out', out, ...GPT_FLAGS, '--steps', '60', '--eval-interval', '30',
                 '--eval-protocol', 'windows', '--sample-chars', '20']);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /config \{"family":"gpt"/);
  assert.doesNotMatch(t.out, /"hiddenSize"/, 'the printed config leaves out the rnn keys');
  assert.match(t.out + t.err, /val loss \(windows\/32\)/);
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const evals = metrics.filter((m) => m.type === 'eval');
  assert.ok(evals.length >= 2 && evals.every((e) => e.protocol === 'windows/32'));
  const train = metrics.filter((m) => m.type === 'train');
  assert.ok(train[train.length - 1].loss < train[0].loss - 0.5, `loss fell: ${train[0].loss} → ${train[train.length - 1].loss}`);
  const model = join(out, 'best.safetensors');
  const s = run(['sample', model, '--prime', 'To be', '--length', '40', '--temperature', '0', '--backend', 'ref']);
  assert.equal(s.code, 0, s.err);
  assert.ok(s.out.startsWith('To be') && [...s.out].length >= 45);
  const header = JSON.parse(Buffer.from(readFileSync(model)).subarray(8, 8 + Number(readFileSync(model).readBigUInt64LE(0))).toString());
  const cfg = JSON.parse(header.__metadata__.config);
  assert.deepEqual(Object.keys(cfg).sort(), ['bias', 'block_size', 'dropout', 'family', 'n_embd', 'n_head', 'n_layer', 'vocab_size']);
  for (const proto of [['--protocol', 'stream'], ['--protocol', 'windows', '--block', '16']]) {
    const e = run(['eval', model, corpus, ...proto, '--backend', 'ref']);
    assert.equal(e.code, 0, e.err);
    const j = JSON.parse(e.out);
    assert.equal(j.protocol, proto[1]);
    assert.ok(j.loss_nats_per_char > 0 && j.loss_nats_per_char < 3, String(j.loss_nats_per_char));
  }
  const i = run(['info', model]);
  assert.match(i.out, /Attention\(2 heads\)/);
  assert.equal(run(['report', out]).code, 0);
  assert.ok(existsSync(join(out, 'report.html')));
});

test('impossible or contradictory gpt settings are one-line errors', () => {
  const cases: [string[], RegExp][] = [
    [['--n-embd', '15'], /n-embd 15 is not divisible by n-head 2/],
    [['--seq-length', '64'], /seq-length 64 is longer than the model's context \(block-size 32\)/],
    [['--batching', 'stateful'], /needs a recurrent model/],
  ];
  for (const [flags, re] of cases) {
    const args = [...GPT_FLAGS];
    for (let k = 0; k < flags.length; k += 2) {
      const at = args.indexOf(flags[k]);
      if (at >= 0) args[at + 1] = flags[k + 1]; else args.push(flags[k], flags[k + 1]);
    }
    const r = run(['train', corpus, '--out', join(tmp, 'bad'), ...args, '--steps', '2']);
    assert.notEqual(r.code, 0);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.doesNotMatch(r.err, /\n\s+at /);
  }
});

function savedGpt(): string {
  const text = 'First Citizen:\nBefore we proceed any further, hear me speak.\n';
  const vocab = Vocab.fromText(text);
  const m = new GptModel({ family: 'gpt', n_layer: 2, n_head: 2, n_embd: 16, block_size: 16, bias: true,
                           vocab_size: vocab.size, dropout: 0 }, refBackend);
  m.initialize(new Rng(5));
  for (let i = 0; i < m.params.data.length; i++) m.params.data[i] *= 20; // sharper distributions than the 0.02 init
  m.weightsChanged();
  const path = join(tmp, 'gpt.safetensors');
  saveModel(path, m, vocab, null);
  return path;
}

test('the server batches gpt sequences (KV caches) and a seeded text is the same alone or among others', async () => {
  const loaded = loadModelFile(savedGpt(), refBackend);
  const s = await startServer({ models: [{ name: 'g', loaded }], host: '127.0.0.1', port: 0 });
  try {
    const body = (seed: number) => ({ prompt: 'First', length: 400, seed, temperature: 0.9 }); // 400 > block 16: slides; long enough that 6 requests overlap
    const alone = (await post(`${s.url}/v1/generate`, body(42))).json.samples[0].text;
    const lib = generate(loaded.model, loaded.vocab, { prime: 'First', length: 400, seed: 42, temperature: 0.9, topK: 0, topP: 1, unknown: 'error' });
    assert.equal(alone, lib, 'server and library generate the same text for the same seed');
    const rs = await Promise.all([42, 1, 2, 3, 4, 5].map((seed) => post(`${s.url}/v1/generate`, body(seed))));
    assert.equal(rs[0].json.samples[0].text, alone);
    console.log(`# 6 concurrent gpt requests × 400 chars: max batch ${s.stats().maxBatchSeen}`);
    assert.ok(s.stats().maxBatchSeen >= 3, `max batch ${s.stats().maxBatchSeen}`);
    const next = await post(`${s.url}/v1/next`, { prompt: 'Fir', top: 3 });
    assert.equal(next.status, 200);
    assert.equal(next.json.candidates.length, 3);
    const card = await (await fetch(`${s.url}/v1/models/g`)).json();
    assert.equal(card.architecture.family, 'gpt');
    assert.match(card.description.summary, /GPT 2 layers × 2 heads/);
  } finally { await s.close(); }
});

test('windows protocol: tiling scores every character once; stream equals windows when the text fits one block', () => {
  const loaded = loadModelFile(savedGpt(), refBackend);
  const r = new Rng(3), V = loaded.vocab.size;
  const toks = Int32Array.from({ length: 15 }, () => r.int(V));
  const w = evaluateWindows(loaded.model, toks, 16);
  const st = evaluateTokens(loaded.model, toks, { B: 1, T: 16 });
  assert.equal(w.chars, 14);
  assert.ok(Math.abs(w.loss - st.loss) < 1e-6, `${w.loss} vs ${st.loss}`);
  const long = Int32Array.from({ length: 101 }, () => r.int(V));
  assert.equal(evaluateWindows(loaded.model, long, 16).chars, 100);
  assert.equal(evaluateWindows(loaded.model, long, 16, 7).chars, 7 * 16);
});
