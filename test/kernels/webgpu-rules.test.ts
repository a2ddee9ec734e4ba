// The webgpu backend's kernel-choice rules (ops.ts), without a GPU: which SGEMM tile and how many K slices, how many
// ranges attention's walks are cut into, how many chunks of ids the embedding backward sums. Each rule's documented
// cases (docs/performance.md), its CPU-adapter branch, its override, and its caps on scratch memory; the SGEMM
// tuner's candidates and its choices file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { attentionKey, attentionParts, attentionVec4, chooseMatmul, embeddingChunks, partsCandidates, splitK, vec4Ok } from '../../src/kernels/webgpu/ops.js';
import { kernelSetKey, matmulCandidates, shapeKey } from '../../src/kernels/webgpu/tuner.js';
import { fileTuneStore } from '../../src/kernels/webgpu/tune-store.js';

const gpu = { fallback: false, tuning: {} }, cpu = { fallback: true, tuning: {} };

test('webgpu rules: SGEMM tile and K slices', () => {
  // GPUs: the 64 tile; K split for few-tile, long-K products (the seed's recurrent products: 4 and 16 slices)
  assert.deepEqual(chooseMatmul(64, 2048, 512, false), { kernel: 'm64', slices: 4 });
  assert.deepEqual(chooseMatmul(64, 512, 2048, false), { kernel: 'm64', slices: 16 });
  assert.deepEqual(chooseMatmul(4096, 768, 192, false), { kernel: 'm64', slices: 1 });
  assert.equal(splitK(64, 64, 200), 1);   // K under 256: never split
  // CPU adapters: unrolled tiles, the 128 one only where both sides have 128 and A is not transposed; never split
  assert.deepEqual(chooseMatmul(4096, 768, 192, true), { kernel: 'm128u', slices: 1 });
  assert.deepEqual(chooseMatmul(768, 192, 4096, true, true), { kernel: 'm64u', slices: 1 });
  assert.deepEqual(chooseMatmul(64, 512, 2048, true), { kernel: 'm64u', slices: 1 });
});

test('webgpu rules: attention ranges', () => {
  // shakespeare-gpt's training attention: 16 × 6 heads × 256 rows, in 8 ranges of 32
  assert.deepEqual(attentionParts(16 * 6 * 256, 256, 32, 32, gpu), { P: 8, L: 32 });
  // gpt-tiny: 32 × 4 × 64 rows, T 64: 2 ranges
  assert.deepEqual(attentionParts(32 * 4 * 64, 64, 32, 32, gpu), { P: 2, L: 32 });
  // decode at batch 1, 6 heads, a 256-key cache: ranges of 16 keys
  assert.deepEqual(attentionParts(6, 256, 32, 16, gpu), { P: 16, L: 16 });
  // enough rows already, a short walk, a CPU adapter: whole walks
  assert.equal(attentionParts(64 * 12 * 1024, 1024, 64, 32, gpu).P, 1);
  assert.equal(attentionParts(96, 40, 32, 32, gpu).P, 1);
  assert.equal(attentionParts(16 * 6 * 256, 256, 32, 32, cpu).P, 1);
  // the override, on either adapter, within T; ranges that do not divide T cover it exactly once
  assert.deepEqual(attentionParts(100, 13, 8, 32, { fallback: true, tuning: { attnParts: 3 } }), { P: 3, L: 5 });
  assert.deepEqual(attentionParts(100, 5, 8, 32, { fallback: false, tuning: { attnParts: 8 } }), { P: 5, L: 1 });
  for (let T = 1; T <= 70; T++) for (let want = 1; want <= 9; want++) {
    const { P, L } = attentionParts(10, T, 8, 32, { fallback: false, tuning: { attnParts: want } });
    assert.ok(P * L >= T && (P - 1) * L < T, `T ${T}, ${want} asked: ${P} ranges of ${L}`);
  }
  // each partial array stays within 2^24 floats
  const { P } = attentionParts(60_000, 4096, 128, 32, gpu);
  assert.ok(P * 60_000 * 128 <= 1 << 24 || P === 1, `P ${P}`);
});

test('webgpu rules: embedding backward chunks', () => {
  assert.deepEqual(embeddingChunks(4096, 256 * 192, false), { rows: 256, R: 16 });   // shakespeare-gpt's positions
  assert.deepEqual(embeddingChunks(6400, 65 * 256, false), { rows: 256, R: 25 });    // the seed's table
  assert.deepEqual(embeddingChunks(256, 65 * 256, false), { rows: 256, R: 1 });
  assert.deepEqual(embeddingChunks(6400, 65 * 256, true), { rows: 6400, R: 1 });     // CPU adapter: one pass
  const { R } = embeddingChunks(1 << 20, 1 << 22, false);                           // a big table: partials capped
  assert.ok(R * (1 << 22) <= 1 << 24, `R ${R}`);
});

test('webgpu tuner: SGEMM candidates per shape', () => {
  const names = (M: number, N: number, K: number) => matmulCandidates(M, N, K).map((c) => `${c.kernel}/${c.slices}`);
  // the seed's recurrent dh (64 × 512 from K 2,048): 8 tiles, so every 64 kernel in 1-16 slices; no 128 tile
  const dh = names(64, 512, 2048);
  assert.ok(dh.includes('m64/16') && dh.includes('m64vp/8') && !dh.some((n) => n.startsWith('m128')));
  // a large square product: every kernel once, no slices (256 tiles or more of 64)
  assert.deepEqual(names(4096, 4096, 4096), ['m64/1', 'm64u/1', 'm64v/1', 'm64vp/1', 'm128/1', 'm128u/1', 'm128up/1']);
  // the seed's weight gradient (2048 × 256 from K 6,400: 128 tiles): the 64 tiles also in 2 and 4 slices, no more
  const dw = names(2048, 256, 6400);
  assert.ok(dw.includes('m64/4') && dw.includes('m64vp/2') && !dw.includes('m64/8') && dw.includes('m128up/1'));
  // 128-255 tiles with a short K: no slices under 256 each
  assert.ok(!names(2048, 256, 256).some((n) => !n.endsWith('/1')));
  // the vec4 kernel only where the views are aligned for it
  assert.ok(matmulCandidates(4096, 4096, 4096, true).some((c) => c.kernel === 'm128v'));
  assert.ok(matmulCandidates(64, 512, 2048, true).some((c) => c.kernel === 'm64vv' && c.slices === 16));
  assert.ok(!matmulCandidates(64, 512, 2048).some((c) => c.kernel === 'm64vv'));
  const buf = {} as GPUBuffer, at = (off: number) => ({ buf, off });
  assert.equal(vec4Ok(at(0), at(4), at(8), 8, 12, 16, false, true), true);
  assert.equal(vec4Ok(at(0), at(3), at(8), 8, 12, 16, false, true), false);   // A's view at an offset of 3
  assert.equal(vec4Ok(at(0), at(0), at(0), 8, 12, 18, false, true), false);   // plain A: K (18) is its contiguous side
  assert.equal(vec4Ok(at(0), at(0), at(0), 8, 12, 18, true, false), true);    // transposed A: M is; plain B: N is
  // slices keep at least 64 of K: K 200 takes 2 (100 each), not 4
  assert.deepEqual(names(64, 64, 200).filter((n) => n.startsWith('m64/')), ['m64/1', 'm64/2']);
  assert.equal(shapeKey(3, 4, 5, true, false), '3x4x5tn');
  // attention: the rule's ranges first (shakespeare-gpt: 8 of 32), then whole walks and 2, 4, 16 ranges (≥ 8 rows
  // each); 32 ranges would pass the 2^24-float scratch cap, which makes them 20 of 13
  assert.deepEqual(partsCandidates(16 * 6 * 256, 256, 32, gpu).map((c) => c.P), [8, 1, 2, 4, 16, 20]);
  assert.deepEqual(partsCandidates(160, 40, 8, cpu).map((c) => c.P), [1, 2, 4]);
  // with the vec4 form possible: the rule's (vec4) first, then each range count with and without
  assert.deepEqual(partsCandidates(160, 40, 8, cpu, true).map((c) => `${c.P}${c.vec ? 'v' : ''}`), ['1v', '1', '2v', '2', '4v', '4']);
  const gbuf = (n: number) => ({ n }) as unknown as GPUBuffer, b1 = gbuf(1), b2 = gbuf(2), b3 = gbuf(3);
  assert.equal(attentionVec4(32, [{ buf: b1, off: 0 }], [{ buf: b2, off: 0 }]), true);
  assert.equal(attentionVec4(30, [{ buf: b1, off: 0 }], []), false);                      // head size not a multiple of 4
  assert.equal(attentionVec4(32, [{ buf: b1, off: 2 }], []), false);                      // a view off by 2 floats
  assert.equal(attentionVec4(32, [{ buf: b1, off: 0 }], [{ buf: b1, off: 64 }]), false);  // another argument in its buffer
  assert.equal(attentionVec4(32, [{ buf: b1, off: 0 }, { buf: b3, off: 8 }], [null]), true);
  assert.equal(attentionKey('bwd', 160, 40, 8), 'att-bwd:160x40x8');
  assert.match(kernelSetKey(), /^[0-9a-f]{8}$/);
  assert.equal(kernelSetKey(), kernelSetKey());
});

test('webgpu tuner: the choices file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'charlm-tune-')), file = path.join(dir, 'sub', 'tuning.json');
  try {
    const store = fileTuneStore(file);
    assert.deepEqual(store.load('gpu|k'), {});   // no file yet
    const e = { kernel: 'm64u', slices: 4, us: 12.5, ruleUs: 20 } as const;
    store.save('gpu|k', { '1x2x3nn': e });
    fileTuneStore(file).save('gpu|k', { '4x5x6tn': { ...e, slices: 1 } });   // another process: merged, not lost
    assert.deepEqual(Object.keys(store.load('gpu|k')).sort(), ['1x2x3nn', '4x5x6tn']);
    assert.deepEqual(store.load('other|k'), {});
    assert.deepEqual(readdirSync(path.dirname(file)), ['tuning.json']);   // no temp file left
    for (let i = 0; i < 20; i++) store.save(`gpu${i}|k`, { '1x1x1nn': e });   // at most 16 tables, the newest kept
    const tables = Object.keys(JSON.parse(readFileSync(file, 'utf8')).tables);
    assert.equal(tables.length, 16);
    assert.ok(tables.includes('gpu19|k') && !tables.includes('gpu|k'));
    for (const bad of ['{not json', '[]', '{"format":2,"tables":{}}', '{"format":1,"tables":[]}']) {
      writeFileSync(file, bad);
      assert.deepEqual(store.load('gpu19|k'), {}, bad);   // a cache that cannot be read is empty
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
