// The family seam: checkpoints record `family`; checkpoints written before families existed load as rnn; unknown
// families and misshaped gpt configs are one-line checkpoint errors; the registry builds each family.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RnnModel } from '../../src/model/rnn/model.js';
import { GptModel } from '../../src/model/gpt/model.js';
import { encodeModel, loadModelBytes } from '../../src/model/io.js';
import { encodeSafetensors } from '../../src/model/checkpoint.js';
import { createModel, FAMILY_NAMES, family } from '../../src/model/registry.js';
import { Vocab } from '../../src/data/vocab.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { Rng } from '../../src/util/rng.js';
import { CharlmError } from '../../src/errors.js';

const vocab = Vocab.fromText('abcdef\n');

test('rnn checkpoints store family "rnn", and one without a family (older charlm) loads as rnn, bit for bit', () => {
  const m = new RnnModel({ cell: 'gru', vocabSize: vocab.size, embeddingDim: 4, hiddenSize: 5, numLayers: 1, dropout: 0, embedDropout: 0 }, refBackend);
  m.initialize(new Rng(1));
  const bytes = encodeModel(m, vocab, null);
  const lm = loadModelBytes(bytes, refBackend);
  assert.equal(lm.config.family, 'rnn');
  // rewrite the metadata as charlm 0.1 wrote it: no family key
  const old = { ...m.config } as Record<string, unknown>;
  delete old.family;
  const tensors = m.params.entries.map((e) => ({ name: e.name, shape: e.shape, data: m.params.value(e.name) }));
  const legacy = encodeSafetensors(tensors, { format: 'charlm', format_version: '1', vocab: JSON.stringify(vocab.chars), config: JSON.stringify(old) });
  const back = loadModelBytes(legacy, refBackend);
  assert.equal(back.model.family, 'rnn');
  assert.deepEqual(back.model.params.data, m.params.data);
});

test('gpt checkpoints use nanoGPT model_args keys and round-trip', () => {
  const m = new GptModel({ family: 'gpt', n_layer: 1, n_head: 2, n_embd: 4, block_size: 6, bias: true, vocab_size: vocab.size, dropout: 0.1 }, refBackend);
  m.initialize(new Rng(2));
  const lm = loadModelBytes(encodeModel(m, vocab, null), refBackend);
  assert.equal(lm.model.family, 'gpt');
  assert.deepEqual(lm.config, m.config);
  assert.deepEqual(lm.model.params.data, m.params.data);
});

test('unknown family and impossible gpt configs in a checkpoint are CHECKPOINT_INVALID, named', () => {
  const m = new GptModel({ family: 'gpt', n_layer: 1, n_head: 2, n_embd: 4, block_size: 6, bias: false, vocab_size: vocab.size, dropout: 0 }, refBackend);
  const tensors = m.params.entries.map((e) => ({ name: e.name, shape: e.shape, data: m.params.value(e.name) }));
  const withConfig = (c: unknown) => encodeSafetensors(tensors, { format: 'charlm', vocab: JSON.stringify(vocab.chars), config: JSON.stringify(c) });
  const cases: [unknown, RegExp][] = [
    [{ ...m.config, family: 'mamba' }, /unknown model family "mamba"/],
    [{ ...m.config, n_head: 3 }, /n_embd 4 is not divisible by n_head 3/],
    [{ ...m.config, bias: 'yes' }, /config.bias/],
    [{ ...m.config, n_layer: 0 }, /config.n_layer = 0/],
    [{ ...m.config, vocab_size: 99 }, /vocabulary size is 99/],
  ];
  for (const [c, re] of cases) {
    assert.throws(() => loadModelBytes(withConfig(c), refBackend), (e: unknown) =>
      e instanceof CharlmError && e.code === 'CHECKPOINT_INVALID' && re.test(e.message));
  }
});

test('the registry knows every family and refuses unknown names with the list', () => {
  assert.deepEqual([...FAMILY_NAMES].sort(), ['gpt', 'rnn']);
  assert.throws(() => family('constructor'), /unknown model family "constructor".*/);
  const g = createModel({ family: 'gpt', n_layer: 1, n_head: 1, n_embd: 2, block_size: 3, bias: false, vocab_size: 4, dropout: 0 }, refBackend);
  assert.ok(g instanceof GptModel);
});
