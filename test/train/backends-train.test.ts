// A 50-step training run gives the same losses on every backend, and --precision bf16 stays close to fp32.
// Tolerances from the observed max diffs (docs/testing.md) with a ~10–30× margin: native fp32 vs ref ~1e-7
// (bound 1e-5); bf16 vs fp32 ~0.05% relative (bound 0.2%; a bf16 rounding that truncates instead of rounding to
// nearest drifts well past it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config.js';
import { train } from '../../src/train/loop.js';
import { createBackend } from '../../src/kernels/registry.js';
import { backendsUnderTest } from '../skips.js';
import type { Backend } from '../../src/kernels/backend.js';

const text = 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n'.repeat(40);
const config = resolveConfig({ flags: { embeddingDim: 16, hiddenSize: 48, numLayers: 2, seqLength: 24, batchSize: 8, steps: 50,
  learningRate: 0.005, evalInterval: 0, logInterval: 1, sampleChars: 0, valFraction: 0 } });

async function losses(backend: Backend): Promise<number[]> {
  const r = await train({ config, corpus: { name: 'austen', text, source: 'test' }, outDir: mkdtempSync(join(tmpdir(), 'charlm-be-')), backend });
  return readFileSync(join(r.outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.type === 'train').map((m) => m.loss);
}

const backends = await backendsUnderTest('50-step training on native fp32 and bf16 vs ref');
const ref = await losses(backends[0].backend);

for (const { label, backend } of backends.slice(1)) {
  test(`[${label}] 50 training steps give ref's losses within 1e-5`, async () => {
    const got = await losses(backend);
    const maxDiff = Math.max(...got.map((l, i) => Math.abs(l - ref[i])));
    console.log(`  ${label} vs ref over 50 steps: max |loss diff| ${maxDiff.toExponential(2)} <= tol 1e-5 (first ${ref[0].toFixed(4)}, last ${ref[49].toFixed(4)})`);
    assert.equal(got.length, 50);
    assert.ok(maxDiff <= 1e-5, `max loss diff ${maxDiff}`);
  });
  if (label !== 'native') continue; // bf16 is native's precision (wasm runs fp32 only)
  test(`[${label}] --precision bf16: 50-step losses within 0.2% of fp32 (bf16 rounds matmul inputs to 8 mantissa bits)`, async () => {
    const bf = await createBackend('native', { precision: 'bf16' });
    const got = await losses(bf);
    const maxRel = Math.max(...got.map((l, i) => Math.abs(l - ref[i]) / ref[i]));
    console.log(`  bf16 vs fp32 ref over 50 steps: max relative loss diff ${(100 * maxRel).toFixed(3)}% <= tol 0.2%`);
    assert.ok(maxRel <= 0.002, `max relative loss diff ${maxRel}`);
  });
}
test('ref training run completes and learns', () => {
  assert.equal(ref.length, 50);
  assert.ok(ref[49] < ref[0] - 1);
});
