// Native-only checks of the Transformer kernels (the kernel suite compares their values on every ISA path):
// results are bit-identical for 1, 2 and 3 threads (LayerNorm's dw/db sums go by fixed row blocks, attention by
// (batch, head) pairs), and bad arguments throw RangeError instead of touching memory. A visible skip without
// the addon (test/skips.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative, setNativeIsa, type Isa } from '../../src/kernels/native/index.js';
import { checkGuards, randView, rng, view } from './check.js';
import { skipNativeBlock } from '../skips.js';

const loaded = loadNative();
if (!skipNativeBlock('Transformer kernels: thread-count bit-identity, bad arguments') && !('error' in loaded)) {
  const nb = loaded.backend, threads = nb.threads, isa = nb.isa as Isa;

  test('native Transformer kernels: 1, 2 and 3 threads give bit-identical results', () => {
    setNativeIsa(isa);
    const r = rng(31);
    const [B, T, nh, hd] = [4, 200, 3, 32], C = nh * hd, N = B * T;
    const qkv = randView(N * 3 * C, r, -1.5, 1.5), dy = randView(N * C, r), x = randView(N * C, r, -3, 3);
    const w = randView(C, r), bias = randView(C, r), d = randView(N * C, r), big = randView(300007, r, -5, 5);
    const run = (n: number) => {
      nb.setThreads(n);
      const y = view(N * C), lse = view(B * nh * T), g = view(N * 3 * C);
      nb.attentionForward(y, lse, qkv, B, T, nh, hd, 0.1, 7);
      nb.attentionBackward(g, dy, y, lse, qkv, B, T, nh, hd, 0.1, 7);
      const o = view(N * C), m = view(N), s = view(N), dx = view(N * C).fill(0.5), dw = view(C).fill(1), db = view(C).fill(2);
      nb.layerNormForward(o, m, s, x, w, bias, N, C, 1e-5);
      nb.layerNormBackward(dx, dw, db, d, x, w, m, s, N, C);
      const gf = view(big.length), gb = view(big.length), dr = view(big.length);
      nb.geluForward(gf, big, big.length); nb.geluBackward(gb, big, big, big.length); nb.dropout(dr, big, big.length, 0.2, 3);
      const kc = randView(2 * 256 * C, rng(5)), vc = randView(2 * 256 * C, rng(6)), dec = view(2 * 8 * C);
      nb.attentionDecode(dec, qkv, 3 * C, kc, vc, Int32Array.of(248, 100), 2, 8, nh, hd, 256); // big enough to split
      return { y, lse, g, o, m, s, dx, dw, db, gf, gb, dr, dec };
    };
    const one = run(1);
    for (const n of [2, 3]) {
      const other = run(n);
      for (const k of Object.keys(one) as (keyof typeof one)[]) assert.deepEqual(other[k], one[k], `${k}: 1 vs ${n} threads`);
    }
    console.log(`  attention fwd/bwd, decode, layerNorm fwd/bwd, gelu, dropout: 1 vs 2 vs 3 threads identical`);
    nb.setThreads(threads);
    checkGuards('transformer threads');
  });

  test('native Transformer kernels: bad arguments throw RangeError', () => {
    const a = new Float32Array(64);
    assert.throws(() => nb.attentionForward(a, a, a, 1, 4, 2, 4, 0, 0), RangeError);            // qkv too short
    assert.throws(() => nb.attentionForward(a, a, new Float32Array(96), 1, 4, 2, 4, 1, 0), RangeError); // p = 1
    assert.throws(() => nb.attentionDecode(a, a, 8, a, a, Int32Array.of(7), 1, 2, 2, 4, 8), RangeError); // pos+T > S
    assert.throws(() => nb.layerNormForward(a, a, a, a, a, null, 8, 9, 1e-5), RangeError);
    assert.throws(() => nb.dropout(a, a, 64, -0.1, 0), RangeError);
    assert.throws(() => nb.add(a, a, new Float64Array(64) as unknown as Float32Array, 64), RangeError);
  });
}
