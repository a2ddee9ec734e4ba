// Learning-rate schedules: constant, cosine with warmup, step decay after an epoch threshold, plateau halving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config.js';
import { initialScheduleState, lrAt, observeValidation } from '../../src/train/schedule.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test('constant is the seed: the same rate every step', () => {
  const c = resolveConfig({ preset: 'seed' }), st = initialScheduleState();
  for (const s of [1, 50, 5000]) close(lrAt(c, s, 5000, 100, st), 0.001);
});

test('cosine: linear warmup, then half a cosine down to minLrRatio', () => {
  const c = resolveConfig({ flags: { schedule: 'cosine', learningRate: 0.01, warmupSteps: 10, minLrRatio: 0.1 } }), st = initialScheduleState();
  close(lrAt(c, 5, 110, 10, st), 0.005);
  close(lrAt(c, 10, 110, 10, st), 0.01);
  close(lrAt(c, 60, 110, 10, st), 0.01 * (0.1 + 0.9 * 0.5));
  close(lrAt(c, 110, 110, 10, st), 0.001);
});

test('step: ×decay per epoch after lrDecayAfterEpochs (char-rnn)', () => {
  const c = resolveConfig({ flags: { schedule: 'step', learningRate: 0.002, lrDecay: 0.97, lrDecayAfterEpochs: 10 } }), st = initialScheduleState();
  close(lrAt(c, 100 * 9 + 1, 10000, 100, st), 0.002);          // epoch 10 (0-based 9)
  close(lrAt(c, 100 * 10 + 1, 10000, 100, st), 0.002 * 0.97);  // epoch 11
  close(lrAt(c, 100 * 12 + 1, 10000, 100, st), 0.002 * 0.97 ** 3);
});

test('plateau: halves after two evaluations without improvement', () => {
  const c = resolveConfig({ flags: { schedule: 'plateau', learningRate: 0.004 } }), st = initialScheduleState();
  for (const v of [2.0, 1.9, 1.95, 1.92]) observeValidation(c, st, v);
  close(lrAt(c, 1000, 2000, 100, st), 0.002);
  observeValidation(c, st, 1.5);
  close(lrAt(c, 1000, 2000, 100, st), 0.002);
});
