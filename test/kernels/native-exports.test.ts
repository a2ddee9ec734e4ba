// The native backend must expose exactly refBackend's kernels (same names, all functions), plus the optional Backend
// methods it implements (the packed-weights trio) and the documented native knobs (setThreads, threads, isa,
// precision). A printed skip when the addon is not built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refBackend } from '../../src/kernels/ref/index.js';
import { createRefBf16Backend } from '../../src/kernels/ref/bf16.js';
import { loadNative } from '../../src/kernels/native/index.js';
import { nativeMissing, skipWithout } from '../skips.js';

const OPTIONAL = ['matmulPacked', 'packWeights', 'repack'];   // Backend's optional methods (ref has none)
const EXTRAS = ['isa', 'precision', 'setThreads', 'threads', ...OPTIONAL].sort();
const methods = (o: object) => Object.keys(o).filter((k) => typeof (o as Record<string, unknown>)[k] === 'function').sort();

test('ref bf16 twin exposes exactly refBackend\'s names', () => {
  assert.deepEqual(Object.keys(createRefBf16Backend()).sort(), Object.keys(refBackend).sort());
});

test('native backend exposes exactly refBackend\'s methods (+ documented knobs)', { skip: skipWithout('native', nativeMissing()) }, () => {
  for (const precision of ['fp32', 'bf16'] as const) {
    const r = loadNative({ precision });
    assert.ok(!('error' in r), 'error' in r ? r.error : '');
    const b = r.backend;
    const refMethods = methods(refBackend);
    assert.deepEqual(methods(b).filter((k) => !EXTRAS.includes(k)), refMethods);
    for (const k of OPTIONAL) assert.equal(typeof (b as unknown as Record<string, unknown>)[k], 'function', k);
    assert.deepEqual(Object.keys(b).filter((k) => !(k in refBackend)).sort(), EXTRAS);
    for (const k of refMethods) {
      const arity = (refBackend as unknown as Record<string, (...a: unknown[]) => unknown>)[k].length;
      console.log(`  ${precision} ${k}: ref arity ${arity}`);
    }
    assert.equal(typeof b.name, 'string');
  }
});
