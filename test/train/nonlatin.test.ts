// Non-Latin text trains and samples cleanly: classical Chinese poems (public domain) plus emoji and a CJK
// Extension B character (outside the BMP, two UTF-16 units) are single tokens end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config.js';
import { train } from '../../src/train/loop.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { loadModelFile } from '../../src/model/io.js';
import { generate } from '../../src/sample/generate.js';
import { ROOT } from '../helpers.js';

const text = readFileSync(join(ROOT, 'test', 'fixtures', 'text', 'tang-poems.txt'), 'utf8');

test('Chinese poems with emoji: vocabulary of code points, training converges, samples are whole characters', async () => {
  const config = resolveConfig({ flags: { embeddingDim: 32, hiddenSize: 64, numLayers: 1, seqLength: 32, batchSize: 8,
    steps: 200, learningRate: 0.02, valFraction: 0, evalInterval: 0, logInterval: 50, sampleChars: 0, backend: 'ref' } });
  const r = await train({ config, corpus: { name: 'tang', text: text.repeat(8), source: 'fixture' },
                         outDir: mkdtempSync(join(tmpdir(), 'charlm-zh-')), backend: refBackend });
  const lm = loadModelFile(r.lastPath, refBackend);
  assert.equal(lm.vocab.size, new Set(text).size, 'one token per code point');
  for (const ch of ['😀', '𠀋', '🌙']) assert.ok(lm.vocab.indexOf(ch) >= 0, `${ch} is one token`);
  console.log(`  trained ${r.steps} steps, final train loss ${r.trainLoss?.toFixed(3)} nats/char`);
  assert.ok(r.trainLoss! < 1.0, `loss ${r.trainLoss}`);
  const greedy = generate(lm.model, lm.vocab, { prime: '床前明月光，', length: 12, temperature: 0, topK: 0, topP: 1, seed: 1, unknown: 'error' });
  const sampled = generate(lm.model, lm.vocab, { prime: '明月照', length: 200, temperature: 1, topK: 0, topP: 1, seed: 2, unknown: 'error' });
  console.log(`  greedy: 床前明月光，${greedy.replace(/\n/g, '⏎')}`);
  console.log(`  sample: 明月照${sampled.slice(0, 60).replace(/\n/g, '⏎')}`);
  assert.ok(greedy.startsWith('疑是地上霜'), 'the model learned the poem');
  for (const s of [greedy, sampled]) {
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s), 'no lone surrogate');
    assert.ok([...s].every((c) => lm.vocab.indexOf(c) >= 0));
  }
});
