// The in-browser trainer (train/session.ts) is the Node trainer without files: same vocabulary, same batches, same
// init, same optimizer and schedule, so on the same text and config its per-step losses equal `train()`'s
// metrics.jsonl exactly (ref backend), for an rnn and a gpt preset; its checkpoint loads as any other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { loadModelBytes } from '../../src/model/codec.js';
import { train } from '../../src/train/loop.js';
import { TrainSession } from '../../src/train/session.js';
import { isCharlmError } from '../../src/errors.js';

const TEXT = 'To be, or not to be, that is the question:\nWhether tis nobler in the mind to suffer\n'.repeat(40);

for (const preset of ['web-rnn', 'web-gpt']) {
  test(`TrainSession equals the Node loop step for step (${preset})`, async () => {
    const config = resolveConfig({ preset, flags: { steps: 6, evalInterval: 3, sampleChars: 0, logInterval: 1 } });
    const dir = mkdtempSync(join(tmpdir(), 'charlm-session-'));
    await train({ config, corpus: { name: 'hamlet.txt', text: TEXT }, outDir: dir, backend: refBackend });
    const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const nodeLoss = metrics.filter((m) => m.type === 'train').map((m) => m.loss as number);
    const nodeVal = metrics.filter((m) => m.type === 'eval').map((m) => m.val_loss as number);

    const s = new TrainSession({ config, text: TEXT, name: 'hamlet.txt', backend: refBackend });
    const loss: number[] = [], val: (number | null)[] = [];
    while (!s.done) { loss.push(s.trainStep()); if (s.step % 3 === 0) val.push(s.validate()); }
    const maxdiff = Math.max(...loss.map((l, i) => Math.abs(l - nodeLoss[i])), ...val.map((v, i) => Math.abs(v! - nodeVal[i])));
    console.log(`# ${preset}: losses ${loss.map((l) => l.toFixed(4)).join(' ')}; val ${val.map((v) => v!.toFixed(4)).join(' ')}; maxdiff ${maxdiff}`);
    assert.deepEqual(loss, nodeLoss);
    assert.deepEqual(val, nodeVal);

    const lm = loadModelBytes(s.checkpoint(), refBackend, 'session');
    assert.deepEqual(lm.model.params.read(), s.model.params.read());
    assert.equal(lm.training?.steps, 6);
    assert.equal(lm.training?.corpus, 'hamlet.txt');
  });
}

test('TrainSession: a model over the parameter cap is refused before anything is allocated', () => {
  const config = resolveConfig({ flags: { hiddenSize: 30000, numLayers: 1 } });
  assert.throws(() => new TrainSession({ config, text: TEXT, name: 't', backend: refBackend }),
    (e: unknown) => isCharlmError(e) && e.code === 'MODEL_TOO_LARGE' && /3,6\d\d,\d{3},\d{3} parameters/.test(e.message));
});

test('TrainSession: empty and too-short text are one-line errors', () => {
  const config = resolveConfig({ preset: 'web-rnn' });
  for (const [text, code] of [['', 'CORPUS_EMPTY'], ['abc', 'CORPUS_TOO_SHORT']] as const) {
    assert.throws(() => new TrainSession({ config, text, name: 't', backend: refBackend }),
      (e) => isCharlmError(e) && e.code === code && !e.message.includes('\n'));
  }
});
