// charlm → PyTorch: a charlm checkpoint loads in the seed's PyTorch model (scripts/torch_check.py, strict
// load_state_dict) and gives charlm's logits; and .pth → charlm import → checkpoint → PyTorch closes the loop.
// A printed skip where /usr/bin/python3 has no torch (a failure under CI, which installs Debian's python3-torch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importStateDict } from '../../src/interop/import.js';
import { saveModel } from '../../src/model/io.js';
import { CharModel } from '../../src/model/charmodel.js';
import { Vocab } from '../../src/data/vocab.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { Rng } from '../../src/util/rng.js';
import { ROOT, diffs } from '../helpers.js';
import { skipWithout } from '../skips.js';

const PY = '/usr/bin/python3';
const probe = fs.existsSync(PY) ? spawnSync(PY, ['-c', 'import torch, numpy'], { encoding: 'utf8' }) : null;
const skip = skipWithout('torch', !probe ? `${PY} not found` : probe.status !== 0 ? `${PY} cannot import torch/numpy` : false);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charlm-torch-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** PyTorch's last-position logits for `text` from scripts/torch_check.py. */
function torchLogits(ckpt: string, text: string): number[] {
  const r = spawnSync(PY, [path.join(ROOT, 'scripts', 'torch_check.py'), ckpt, '--logits', text], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { logits: number[] }).logits;
}

function charlmLogits(model: CharModel, vocab: Vocab, text: string): Float32Array {
  const ids = vocab.encode(text), T = ids.length, V = vocab.size;
  return model.forward(ids, 1, T, null).slice((T - 1) * V, T * V);
}

test('charlm checkpoints load in PyTorch with the same logits', { skip }, () => {
  const vocab = Vocab.fromText('the quick brown fox jumps over the lazy dog\n');
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    const model = new CharModel({ cell, vocabSize: vocab.size, embeddingDim: 7, hiddenSize: 10, numLayers: 2, dropout: 0, embedDropout: 0 }, refBackend);
    model.initialize(new Rng(21));
    const ckpt = path.join(tmp, `${cell}.safetensors`);
    saveModel(ckpt, model, vocab, null);
    const text = 'the lazy fox ';
    const d = diffs(charlmLogits(model, vocab, text), torchLogits(ckpt, text)).abs;
    console.log(`charlm ${cell} → PyTorch: last-position logits maxdiff ${d.toExponential(2)}`);
    assert.ok(d <= 1e-5);
  }
});

test('seed .pth → charlm import → checkpoint → PyTorch', { skip }, () => {
  const fix = path.join(ROOT, 'test', 'fixtures', 'pth');
  const { model, vocab } = importStateDict(path.join(fix, 'seed_lstm.pth'), { vocabFrom: path.join(fix, 'text.txt') });
  const ckpt = path.join(tmp, 'imported.safetensors');
  saveModel(ckpt, model, vocab, null);
  const text = 'Before we proceed';
  const d = diffs(charlmLogits(model, vocab, text), torchLogits(ckpt, text)).abs;
  console.log(`seed .pth round trip: last-position logits maxdiff ${d.toExponential(2)}`);
  assert.ok(d <= 1e-5);
});
