// The training loop's wiring, seen from outside (train(), metrics.jsonl, checkpoints): gradient clipping matches
// torch.nn.utils.clip_grad_norm_ and the loop applies it (logged grad_norm, and the first update equals a float64
// replay of clip + Adam/AdamW with weight decay); training windows never read the validation tail; stateful
// batches cover the training split as documented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type TrainConfig } from '../../src/config.js';
import { train } from '../../src/train/loop.js';
import { clipGradNorm } from '../../src/train/optimizer.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { loadModelFile } from '../../src/model/io.js';
import { splitTrainVal } from '../../src/data/corpus.js';
import { StatefulStreams } from '../../src/data/batches.js';
import { expectWithin, ROOT } from '../helpers.js';
import { backendsUnderTest } from '../skips.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'charlm-wiring-'));
const trainRecords = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')
  .map((l) => JSON.parse(l)).filter((m) => m.type === 'train');

interface ClipGolden { grads: number[][]; cases: { max_norm: number; total_norm: number; clipped: number[][] }[] }
const clipGolden = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'golden_clip.json'), 'utf8')) as ClipGolden;

for (const { label, backend } of await backendsUnderTest('clip golden case')) {
  test(`[${label}] clipGradNorm matches torch.nn.utils.clip_grad_norm_ (clipped and untouched cases)`, () => {
    for (const c of clipGolden.cases) {
      const flat = clipGolden.grads.flat(), g = backend.alloc(flat.length);
      g.set(flat); backend.write(g);
      const norm = clipGradNorm(backend, g, c.max_norm);
      backend.read(g);
      // Σg² is summed in float64 by both sides' kernels; torch sums per-tensor norms in float32: ~1e-7 relative.
      expectWithin(`${label} clip max_norm ${c.max_norm}: total norm`, [norm], [c.total_norm], 0, 2e-6);
      expectWithin(`${label} clip max_norm ${c.max_norm}: gradients`, g, c.clipped.flat(), 0, 2e-6);
    }
  });
}

// A corpus whose validation tail (last 10%) holds characters found nowhere in the training part.
const HEAD = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
const TAIL = 'ZQXJ '.repeat(41).slice(0, 204) + '\n';   // 2005 chars in all: the split falls 4 chars before the tail
const TEXT = HEAD + TAIL;
const cfg = (over: Partial<TrainConfig>): TrainConfig => resolveConfig({ flags: {
  embeddingDim: 8, hiddenSize: 12, numLayers: 2, seqLength: 16, batchSize: 4, steps: 1, learningRate: 0.01,
  evalInterval: 0, logInterval: 1, sampleChars: 0, valFraction: 0.1, clip: 0, backend: 'ref', ...over } });
const corpus = { name: 'wiring', text: TEXT, source: 'test' };

/** A checkpoint to start from (so the test knows the exact initial weights). */
async function initialCheckpoint(): Promise<string> {
  return (await train({ config: cfg({ steps: 1, learningRate: 0.05 }), corpus, outDir: tmp(), backend: refBackend })).lastPath;
}

test('the training split excludes the validation tail: the start event and its sizes', async () => {
  const sizes: number[][] = [];
  await train({ config: cfg({}), corpus, outDir: tmp(), backend: refBackend,
                onEvent: (e) => { if (e.type === 'start') sizes.push([e.trainChars, e.valChars]); } });
  const n = [...TEXT].length, nTrain = Math.floor(n * 0.9);
  assert.deepEqual(sizes, [[nTrain, n - nTrain]]);
  assert.ok(HEAD.length <= nTrain && nTrain < HEAD.length + 10, 'the tail characters sit in the validation part');
});

test('training windows never read the validation tail: its characters\' embedding rows stay untouched', async () => {
  // Adam moves a weight only when its gradient is nonzero; an embedding row gets a gradient only when its character
  // is an input. 60 random-window steps over the whole corpus would read the tail (~7% of windows) many times.
  const init = await initialCheckpoint();
  for (const batching of ['random', 'stateful'] as const) {
    const r = await train({ config: cfg({ steps: 60, batching, batchSize: 4 }), corpus, outDir: tmp(), backend: refBackend, initFrom: init });
    const before = loadModelFile(init, refBackend), after = loadModelFile(r.lastPath, refBackend);
    const E = before.model.params.entry('embed.weight').shape[1];
    const row = (lm: typeof before, ch: string) => {
      const i = lm.vocab.indexOf(ch);
      return Array.from(lm.model.params.value('embed.weight').subarray(i * E, (i + 1) * E));
    };
    for (const ch of ['Z', 'Q', 'X', 'J']) assert.deepEqual(row(after, ch), row(before, ch), `${batching}: row of ${ch} moved`);
    assert.notDeepEqual(row(after, 'q'), row(before, 'q'), `${batching}: training characters do move`);
    console.log(`  ${batching}: 60 steps, embedding rows of Z Q X J unchanged, of q changed`);
  }
});

test('stateful batches: B streams of floor((n-1)/B) train tokens, each input read once per epoch, none from the tail', () => {
  const n = 1000, valFraction = 0.1, B = 4, T = 7;
  const tokens = Uint16Array.from({ length: n }, (_, i) => i);         // token = position
  const { train: tr } = splitTrainVal(tokens, valFraction);
  const s = new StatefulStreams(tr, B, T), x = new Int32Array(B * T), y = new Int32Array(B * T);
  const streamLen = Math.floor((tr.length - 1) / B), perEpoch = Math.floor(streamLen / T);
  assert.equal(s.streamLen, streamLen);
  const seen = new Uint8Array(n);
  for (let k = 0; k < perEpoch; k++) {
    s.next(x, y);
    assert.equal(s.resetState, k === 0, 'state resets only at the start of an epoch');
    s.consumedReset();
    for (let i = 0; i < B * T; i++) { assert.equal(y[i], x[i] + 1); seen[x[i]]++; assert.ok(y[i] < tr.length); }
  }
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < streamLen; p++) {
      assert.equal(seen[b * streamLen + p], p < perEpoch * T ? 1 : 0, `stream ${b} position ${p}`);
    }
  }
  const dropped = tr.length - perEpoch * T * B;
  assert.ok(dropped <= B * T + 1, `at most one window per stream (+1) is dropped per epoch, ${dropped} were`);
  s.next(x, y);
  assert.ok(s.resetState, 'the next epoch starts over with a reset');
  assert.deepEqual(Array.from(x.subarray(0, T)), [0, 1, 2, 3, 4, 5, 6]);
});

/**
 * Replays the loop's first step in float64: the first stateful batch from `init`, its gradient, the global-norm clip
 * (torch form: × max/(norm+1e-6) when norm > max) and one Adam/AdamW step in textbook form (m̂/(√v̂+ε)).
 */
function replayFirstStep(init: string, c: TrainConfig): { norm: number; after: Float64Array } {
  const lm = loadModelFile(init, refBackend);
  const ids = Int32Array.from([...TEXT].map((ch) => lm.vocab.indexOf(ch)));
  const nTrain = Math.floor(ids.length * (1 - c.valFraction)), B = c.batchSize, T = c.seqLength;
  const streamLen = Math.floor((nTrain - 1) / B);
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    x[b * T + t] = ids[b * streamLen + t]; y[b * T + t] = ids[b * streamLen + t + 1];
  }
  const m = lm.model;
  m.forwardBackward(x, y, B, T, m.createState(B));
  const g = Float64Array.from(m.params.grad), p = Float64Array.from(m.params.data);
  let ss = 0;
  for (const v of g) ss += v * v;
  const norm = Math.sqrt(ss);
  if (c.clip > 0 && norm > c.clip) for (let i = 0; i < g.length; i++) g[i] *= c.clip / (norm + 1e-6);
  const lr = c.learningRate, b1 = c.beta1, b2 = c.beta2, eps = 1e-8;
  const wdOf = new Float64Array(p.length);   // the family's decay groups (rnn: every parameter)
  for (const e of m.params.entries) if (m.decays(e.name)) wdOf.fill(c.weightDecay, e.offset, e.offset + e.size);
  for (let i = 0; i < p.length; i++) {
    const wd = wdOf[i];
    if (c.optimizer === 'adamw') p[i] *= 1 - lr * wd;
    const gi = c.optimizer === 'adamw' ? g[i] : g[i] + wd * p[i];
    const mh = ((1 - b1) * gi) / (1 - b1), vh = ((1 - b2) * gi * gi) / (1 - b2);
    p[i] -= (lr * mh) / (Math.sqrt(vh) + eps);
  }
  return { norm, after: p };
}

test('the loop clips, logs the pre-clip grad_norm, and applies Adam / AdamW weight decay (one step vs a float64 replay)', async () => {
  const init = await initialCheckpoint();
  const base = cfg({ batching: 'stateful' });
  const { norm } = replayFirstStep(init, base);
  // A clip far below the norm makes the clipped gradient ~ε, where Adam's first step is no longer ±lr: the update
  // then shows the clip factor, not only its sign. weightDecay 2 (L2) flips the sign of many updates; AdamW 0.5
  // shrinks every weight by lr·wd.
  const cases: [string, Partial<TrainConfig>][] = [
    ['no clip', {}], ['clip to 1e-6·norm', { clip: norm * 1e-6 }], ['clip to norm/2', { clip: norm / 2 }],
    ['adam L2 wd 2', { weightDecay: 2 }], ['adamw wd 0.5', { optimizer: 'adamw', weightDecay: 0.5 }],
    ['clip 1e-6·norm + adam L2 wd 0.001', { clip: norm * 1e-6, weightDecay: 0.001 }],
  ];
  for (const [name, over] of cases) {
    const c = { ...base, ...over };
    const r = await train({ config: c, corpus, outDir: tmp(), backend: refBackend, initFrom: init });
    const rec = trainRecords(r.outDir);
    assert.equal(rec.length, 1);
    expectWithin(`${name}: logged grad_norm`, [rec[0].grad_norm], [norm], 0, 1e-6);
    const want = replayFirstStep(init, c).after;
    // float32 weights vs the float64 replay: ulps of the weights (|w| < 3) and float32 rounding inside Adam (seen 2.2e-7).
    expectWithin(`${name}: weights after one step`, loadModelFile(r.lastPath, refBackend).model.params.data, want, 3e-6, 0);
  }
});
