// Batching: random windows are uniform over all T+1 windows with y = x shifted by one; stateful streams are contiguous
// across batches and wrap with a reset flag; neither copies the corpus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomWindows, StatefulStreams } from '../../src/data/batches.js';
import { Rng } from '../../src/util/rng.js';

test('random windows: targets are inputs shifted by one, offsets cover [0, N-T-1] uniformly', () => {
  const N = 50, T = 5, B = 4;
  const tokens = Uint16Array.from({ length: N }, (_, i) => i); // token = position, so offsets are visible
  const bw = new RandomWindows(tokens, B, T, new Rng(1));
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  const counts = new Array(N).fill(0);
  for (let k = 0; k < 5000; k++) {
    bw.next(x, y);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) assert.equal(y[b * T + t], x[b * T + t] + 1);
      counts[x[b * T]]++;
    }
  }
  const valid = counts.slice(0, N - T);
  assert.equal(counts.slice(N - T).reduce((a, c) => a + c, 0), 0, 'no window runs past the end');
  const mean = 20000 / valid.length;
  for (const c of valid) assert.ok(Math.abs(c - mean) < 5 * Math.sqrt(mean), `offset count ${c} vs mean ${mean}`);
});

test('stateful streams: B contiguous streams, continuing across batches, wrapping with a reset', () => {
  const N = 41, T = 3, B = 2;
  const tokens = Uint8Array.from({ length: N }, (_, i) => i);
  const s = new StatefulStreams(tokens, B, T);
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  assert.equal(s.streamLen, 20);
  s.next(x, y); assert.ok(s.resetState); s.consumedReset();
  assert.deepEqual([...x], [0, 1, 2, 20, 21, 22]);
  assert.deepEqual([...y], [1, 2, 3, 21, 22, 23]);
  s.next(x, y); assert.ok(!s.resetState);
  assert.deepEqual([...x], [3, 4, 5, 23, 24, 25]);
  for (let i = 0; i < 4; i++) { s.next(x, y); s.consumedReset(); }
  s.next(x, y);
  assert.ok(s.resetState, 'wrapped');
  assert.deepEqual([...x], [0, 1, 2, 20, 21, 22]);
});
