// Importing nanoGPT checkpoints (fixtures from test/fixtures/make_nanogpt.py: train.py's torch.save dict, with and
// without torch.compile's _orig_mod. prefix, bias on and off, attn.bias mask buffers, tied lm_head): the vocabulary
// from meta.pkl or from the training text, PyTorch's logits, and PyTorch's greedy continuation (nanoGPT's generate
// with argmax, scripts/nanogpt_check.py) both committed in expected.json and, where torch is installed, live; and the
// other way, charlm gpt checkpoints loaded into nanoGPT's model. Bad input through bin/charlm.js: one line, non-zero
// exit, no stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importModel } from '../../src/interop/import.js';
import { readNanoGptMeta } from '../../src/interop/nanogpt.js';
import { loadModelFile, saveModel } from '../../src/model/io.js';
import { Vocab as VocabClass } from '../../src/data/vocab.js';
import { Rng } from '../../src/util/rng.js';
import { Adam } from '../../src/train/optimizer.js';
import { GptModel } from '../../src/model/gpt/model.js';
import { generate, SAMPLE_DEFAULTS } from '../../src/sample/generate.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { CharlmError } from '../../src/errors.js';
type Vocab = VocabClass;
import { ROOT, diffs } from '../helpers.js';
import { skipWithout } from '../skips.js';

const FIX = path.join(ROOT, 'test', 'fixtures', 'nanogpt');
const META = path.join(FIX, 'meta.pkl'), TEXT = path.join(FIX, 'input.txt');
const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as
  { vocab_size: number } & Record<string, { prime: string; length: number; text: string; logits: number[]; top2_gap: number }[]>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charlm-nanogpt-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PY = '/usr/bin/python3';
const probe = fs.existsSync(PY) ? spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }) : null;
const noTorch = skipWithout('torch', !probe ? `${PY} not found` : probe.status !== 0 ? `${PY} cannot import torch` : false);

function importGpt(file: string, opts: { meta?: string; vocabFrom?: string }) {
  const r = importModel(path.join(FIX, file), opts);
  assert.equal(r.format, 'nanogpt');
  if (r.format !== 'nanogpt') throw new Error('unreachable');
  return r;
}

function greedy(model: GptModel, vocab: Vocab, prime: string, length: number): string {
  return prime + generate(model, vocab, { ...SAMPLE_DEFAULTS, prime, length, temperature: 0 });
}

/** nanoGPT's generate() with argmax, on charlm's training-style forward: crop to the last block_size ids, recompute. */
function croppedGreedy(model: GptModel, vocab: Vocab, prime: string, length: number): string {
  const ids = [...vocab.encode(prime)], S = model.config.block_size, V = model.vocabSize;
  for (let i = 0; i < length; i++) {
    const ctx = Int32Array.from(ids.slice(-S));
    const logits = model.forward(ctx, 1, ctx.length).subarray((ctx.length - 1) * V, ctx.length * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
    ids.push(best);
  }
  return ids.map((id) => vocab.charAt(id)).join('');
}

for (const file of ['ckpt.pt', 'ckpt_bias.pt']) {
  test(`${file}: imported with meta.pkl gives PyTorch's logits and greedy continuation`, () => {
    const { model, vocab, config, iterNum, bestValLoss } = importGpt(file, { meta: META });
    assert.equal(config.vocab_size, expected.vocab_size);
    assert.equal(iterNum, 300);
    assert.ok(bestValLoss !== null && bestValLoss > 0 && bestValLoss < 5, `best_val_loss ${bestValLoss}`);
    for (const e of expected[file]) {
      const ids = vocab.encode(e.prime);
      const logits = model.prime(ids, 1, ids.length, model.createState(1));
      const d = diffs(logits, e.logits).abs;
      const text = greedy(model, vocab, e.prime, e.length);
      console.log(`  ${file} ${JSON.stringify(e.prime)}: logits max abs diff ${d.toExponential(2)} (tol 1e-5); ` +
                  `greedy ${e.length} chars ${text === e.text ? 'equal' : 'DIFFER'}: ${JSON.stringify(text)}`);
      assert.ok(d <= 1e-5, `logits diff ${d}`);
      assert.equal(text, e.text);
    }
  });

  test(`${file}: --vocab-from the training text gives the same vocabulary as meta.pkl`, () => {
    assert.deepEqual(importGpt(file, { vocabFrom: TEXT }).vocab.chars, importGpt(file, { meta: META }).vocab.chars);
  });

  test(`${file}: greedy continuations equal PyTorch's, run live (nanogpt_check.py)`, { skip: noTorch }, () => {
    const { model, vocab } = importGpt(file, { meta: META });
    const S = model.config.block_size;
    for (const prime of ['First Citizen:\n', 'Sp']) {
      const r = spawnSync(PY, [path.join(ROOT, 'scripts', 'nanogpt_check.py'), path.join(FIX, file), '--meta', META,
                               '--prime', prime, '--length', String(3 * S)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const theirs = (JSON.parse(r.stdout) as { text: string }).text;
      // Within block_size charlm's KV-cache sampling and nanoGPT agree exactly; past it nanoGPT crops and
      // recomputes while charlm slides its cache (docs/interop.md), so beyond S the comparison uses the crop.
      const within = S - [...prime].length;
      assert.equal(greedy(model, vocab, prime, within), [...theirs].slice(0, S).join(''), 'within block_size');
      const cropped = croppedGreedy(model, vocab, prime, 3 * S);
      const cached = greedy(model, vocab, prime, 3 * S);
      let agree = 0;
      while (agree < cached.length && cached[agree] === theirs[agree]) agree++;
      console.log(`  ${file} ${JSON.stringify(prime)}: PyTorch ${JSON.stringify(theirs)}; charlm's KV-cache greedy ` +
                  `agrees for ${agree} of ${[...theirs].length} chars (block_size ${S})`);
      assert.equal(cropped, theirs, 'nanoGPT-style cropped greedy on charlm\'s forward, 3×block_size');
    }
  });
}

test('meta.pkl is read as prepare.py wrote it; the imported checkpoint is self-contained', () => {
  const vocab = readNanoGptMeta(META);
  assert.equal(vocab.size, expected.vocab_size);
  assert.ok(vocab.chars.includes('é') && vocab.chars.includes('—') && vocab.chars.includes('\n'));
  const out = path.join(tmp, 'gpt.safetensors');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), 'import', path.join(FIX, 'ckpt.pt'), '--meta', META, '-o', out],
                      { encoding: 'utf8', env: { ...process.env, CHARLM_QUIET_NATIVE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^imported .*ckpt\.pt \(nanoGPT, iter 300\): GPT 2 layers × 2 heads, 16 wide, context 32, V=38, 7,344 parameters → /);
  const lm = loadModelFile(out, refBackend);
  assert.equal(lm.config.family, 'gpt');
  assert.deepEqual(lm.config, { family: 'gpt', n_layer: 2, n_head: 2, n_embd: 16, block_size: 32, bias: false, vocab_size: 38, dropout: 0 });
  assert.equal(lm.metadata.imported_format, 'nanogpt');
  const e = expected['ckpt.pt'][0];
  assert.equal(greedy(lm.model as GptModel, lm.vocab, e.prime, e.length), e.text);
  const x = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), 'export', out, '--format', 'onnx'],
                      { encoding: 'utf8', env: { ...process.env, CHARLM_QUIET_NATIVE: '1' } });
  assert.equal(x.status, 0, x.stderr);
  assert.match(x.stdout, /^exported .* \(ONNX, .* KiB\): input_ids \[B,T\] \(T ≤ 32\) → logits \[B,T,V\]/);
  assert.ok(fs.statSync(path.join(tmp, 'gpt.onnx')).size > 7344 * 4);
});

test('charlm gpt checkpoints load in nanoGPT\'s model (nanogpt_check.py) with the same logits and greedy text', { skip: noTorch }, () => {
  const vocab = VocabClass.fromText('the quick brown fox jumps over the lazy dog\n');
  for (const bias of [true, false]) {
    const model = new GptModel({ family: 'gpt', n_layer: 2, n_head: 3, n_embd: 12, block_size: 16, bias, vocab_size: vocab.size, dropout: 0 }, refBackend);
    model.initialize(new Rng(5));
    const data = vocab.encode('the quick brown fox jumps over the lazy dog\n'.repeat(4)), T = 16, B = 4, rng = new Rng(6);
    const adam = new Adam(refBackend, model.params.size, model.params.entries.map((e) => model.decays(e.name)), model.params.entries, 0.9, 0.99);
    for (let step = 0; step < 60; step++) { // a little training, so the greedy text is not one repeated character
      const x = new Int32Array(B * T), y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const o = rng.nextU32() % (data.length - T - 1);
        x.set(data.subarray(o, o + T), b * T); y.set(data.subarray(o + 1, o + T + 1), b * T);
      }
      model.forwardBackward(x, y, B, T, null);
      adam.update(refBackend, model.params.data, model.params.grad, 1e-2, 0.1, true);
      model.weightsChanged();
    }
    const file = path.join(tmp, `charlm-gpt-${bias}.safetensors`);
    saveModel(file, model, vocab, null);
    const prime = 'the lazy';
    const r = spawnSync(PY, [path.join(ROOT, 'scripts', 'nanogpt_check.py'), file, '--prime', prime, '--length', '8'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const theirs = JSON.parse(r.stdout) as { text: string; logits: number[] };
    const ids = vocab.encode(prime);
    const d = diffs(model.prime(ids, 1, ids.length, model.createState(1)), theirs.logits).abs;
    console.log(`  charlm gpt bias=${bias} → PyTorch: logits max abs diff ${d.toExponential(2)} (tol 1e-5); greedy ${JSON.stringify(theirs.text)}`);
    assert.ok(d <= 1e-5);
    assert.equal(greedy(model, vocab, prime, 8), theirs.text);
  }
});

function throwsCode(fn: () => unknown, code: string, ...mentions: string[]): void {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  assert.ok(caught instanceof CharlmError, `expected CharlmError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(!caught.message.includes('\n'), 'one line');
  for (const m of mentions) assert.ok(caught.message.includes(m), `"${caught.message}" should mention ${m}`);
}

test('bad nanoGPT imports are one-line CharlmErrors', () => {
  const ckpt = path.join(FIX, 'ckpt.pt');
  throwsCode(() => importModel(ckpt), 'VOCAB_REQUIRED', '--meta', '--vocab-from', 'nanoGPT');
  const other = path.join(tmp, 'other.txt');
  fs.writeFileSync(other, fs.readFileSync(TEXT, 'utf8') + 'Z');
  throwsCode(() => importModel(ckpt, { vocabFrom: other }), 'VOCAB_MISMATCH', `${expected.vocab_size + 1} distinct characters`,
    `vocab_size ${expected.vocab_size}`);
  throwsCode(() => importModel(path.join(FIX, 'bad_heads.pt'), { meta: META }), 'IMPORT_BAD_CONFIG', 'n_embd 6 is not divisible by n_head 4');
  throwsCode(() => importModel(ckpt, { meta: META, vocabFrom: TEXT }), 'BAD_OPTION', '--meta', '--vocab-from');
  throwsCode(() => importModel(path.join(FIX, 'bare_sd.pt'), { meta: META }), 'IMPORT_NO_MODEL_ARGS', 'no model_args', 'n_head');
  throwsCode(() => importModel(path.join(FIX, 'untied.pt'), { meta: META }), 'IMPORT_UNTIED', 'lm_head.weight differs');
  throwsCode(() => importModel(path.join(FIX, 'missing.pt'), { meta: META }), 'IMPORT_MISSING_TENSOR', 'transformer.h.0.mlp.c_fc.weight');
  throwsCode(() => importModel(path.join(ROOT, 'test', 'fixtures', 'pth', 'seed_lstm.pth'), { meta: META }), 'BAD_OPTION', '--meta');
  const pkl = (name: string, bytes: string) => { const f = path.join(tmp, name); fs.writeFileSync(f, Buffer.from(bytes, 'latin1')); return f; };
  throwsCode(() => readNanoGptMeta(pkl('evil.pkl', '\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.')), 'PICKLE_FORBIDDEN', 'os.system');
  throwsCode(() => readNanoGptMeta(pkl('noitos.pkl', '\x80\x02}X\x0a\x00\x00\x00vocab_sizeK\x02s.')), 'META_INVALID', 'itos');
  throwsCode(() => importModel(ckpt, { meta: pkl('short.pkl', '\x80\x02}(X\x0a\x00\x00\x00vocab_sizeK\x01X\x04\x00\x00\x00itos}K\x00X\x01\x00\x00\x00asu.') }),
    'VOCAB_MISMATCH', 'has 1 characters', `vocab_size ${expected.vocab_size}`);
});

test('charlm import: bad input prints one line, exits non-zero, no stack trace', () => {
  const other = path.join(tmp, 'other2.txt');
  fs.writeFileSync(other, 'abc');
  const cases: [string[], RegExp][] = [
    [['import', path.join(FIX, 'ckpt.pt')], /needs --meta <meta\.pkl> or --vocab-from/],
    [['import', path.join(FIX, 'ckpt.pt'), '--vocab-from', other], /has 3 distinct characters but .* vocab_size 38/],
    [['import', path.join(FIX, 'bad_heads.pt'), '--meta', META], /n_embd 6 is not divisible by n_head 4/],
  ];
  for (const [args, want] of cases) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), ...args, '-o', path.join(tmp, 'x.safetensors')],
                        { encoding: 'utf8', env: { ...process.env, CHARLM_QUIET_NATIVE: '1' } });
    assert.notEqual(r.status, 0, args.join(' '));
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0], want);
    assert.ok(!/\bat .*\.(js|ts):\d+/.test(r.stderr), `no stack trace: ${r.stderr}`);
    assert.ok(lines.length <= 2, `the message and at most a hint line: ${r.stderr}`);
    console.log(`  charlm ${args[0]} … → exit ${r.status}: ${lines[0]}`);
  }
});
