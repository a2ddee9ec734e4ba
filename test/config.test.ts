// Config resolution: defaults < preset < file < flags; the seed preset is the seed's config.py; bad keys/values name themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, PRESETS, resolveConfig } from '../src/config.js';
import { CharlmError } from '../src/errors.js';

test('the seed preset is exactly the seed config.py', () => {
  const c = resolveConfig({ preset: 'seed' });
  assert.deepEqual([c.seqLength, c.batchSize, c.embeddingDim, c.hiddenSize, c.numLayers, c.epochs, c.learningRate, c.cell],
                   [100, 64, 256, 512, 2, 30, 0.001, 'lstm']);
});

test('precedence: defaults < preset < file < flags, kebab or camel keys', () => {
  const c = resolveConfig({ preset: 'tiny', file: { 'hidden-size': 200, seq_length: 50 }, flags: { hiddenSize: '300' } });
  assert.equal(c.hiddenSize, 300);
  assert.equal(c.seqLength, 50);
  assert.equal(c.embeddingDim, PRESETS.tiny.config.embeddingDim);
  assert.equal(c.clip, DEFAULTS.clip);
});

test('unknown keys and bad values are errors that name them', () => {
  const code = (f: () => unknown) => { try { f(); } catch (e) { assert.ok(e instanceof CharlmError); return `${e.code}: ${e.message}`; } return 'no error'; };
  assert.match(code(() => resolveConfig({ file: { hiden: 1 } })), /UNKNOWN_CONFIG_KEY: .*"hiden"/);
  assert.match(code(() => resolveConfig({ flags: { hiddenSize: '1.5' } })), /BAD_CONFIG_VALUE: hidden-size must be a whole number/);
  assert.match(code(() => resolveConfig({ flags: { dropout: 1 } })), /BAD_CONFIG_VALUE: dropout must be < 1/);
  assert.match(code(() => resolveConfig({ flags: { cell: 'transformer' } })), /cell must be one of lstm, gru, rnn/);
  assert.match(code(() => resolveConfig({ preset: 'nope' })), /UNKNOWN_PRESET/);
});
