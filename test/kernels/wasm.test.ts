// The wasm backend: the one kernel suite on every SIMD path this engine runs (plain SIMD128 always; relaxed-SIMD
// FMA where WebAssembly.validate accepts it, e.g. under --experimental-wasm-relaxed-simd), the seed model's GEMM
// shapes against float64, and its memory: foreign arrays refused, views valid across growth, blocks reused zeroed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadWasm } from '../../src/kernels/wasm/node.js';
import { relaxedSimdSupported } from '../../src/kernels/wasm/backend.js';
import { exactEntries, expectClose, rng } from './check.js';
import { registerKernelSuite } from './suite.js';

const simds = relaxedSimdSupported() ? (['simd128', 'relaxed'] as const) : (['simd128'] as const);
console.log(`# wasm paths on this engine: ${simds.join(', ')}`);
for (const simd of simds) {
  const r = loadWasm({ simd });
  if ('error' in r) throw new Error(`wasm backend failed to load: ${r.error}`); // it ships prebuilt: never skipped
  const be = r.backend;
  registerKernelSuite(`wasm[${simd}]`, () => be);

  test(`wasm[${simd}]: seed-model GEMM shapes (sampled entries vs float64, tol 1e-5·Σ|a·b|)`, () => {
    const SEED: [number, number, number, boolean, boolean][] = [
      [6400, 2048, 256, false, true], [64, 2048, 512, false, true], [2048, 512, 6400, true, false],
      [6400, 512, 2048, false, false], [1, 2048, 512, false, true], [3, 2048, 512, false, false], [100, 65, 512, true, true],
    ];
    SEED.forEach(([M, N, K, tA, tB], s) => {
      const g = rng(700 + s), A = be.alloc(M * K), B = be.alloc(K * N), C = be.alloc(M * N);
      for (let i = 0; i < A.length; i++) A[i] = g() * 2 - 1;
      for (let i = 0; i < B.length; i++) B[i] = g() * 2 - 1;
      for (let i = 0; i < C.length; i++) C[i] = g() * 2 - 1;
      const C0 = C.slice();
      be.matmul(C, A, B, M, N, K, tA, tB, true);
      const idx = Array.from({ length: 400 }, () => Math.floor(g() * M * N));
      idx.push(0, M * N - 1, N - 1, (M - 1) * N);
      const { want, scale } = exactEntries(A, B, C0, M, N, K, tA, tB, idx);
      expectClose(`wasm[${simd}] matmul ${M}x${N}x${K}`, idx.map((i) => C[i]), want, 1e-5, scale);
      for (const x of [A, B, C]) be.free!(x);
    });
  });
}

test('wasm memory: foreign arrays refused; views stay valid while the memory grows; freed blocks come back zeroed', () => {
  const r = loadWasm();
  if ('error' in r) throw new Error(r.error);
  const be = r.backend;
  const a = be.alloc(8);
  assert.throws(() => be.add(a, a, new Float32Array(8), 8), /did not allocate/);
  a.fill(1.5);
  const before = be.heap.memory.buffer.byteLength;
  const big = be.alloc(64 * 2 ** 20 / 4); // 64 MiB: more than the initial memory, so it grows
  assert.ok(be.heap.memory.buffer.byteLength > before, 'the memory grew');
  be.add(a, a, a, 8); // `a` was made before the growth: still a valid view of the same memory
  assert.deepEqual([...a], new Array(8).fill(3));
  big[5] = 7;
  be.free!(big);
  const again = be.alloc(64 * 2 ** 20 / 4);
  assert.equal(again[5], 0, 'a reused block is zeroed');
  be.copy(again, a, 8, 100, 0);
  assert.equal(again[100], 3);
  be.fill(again, 2, 50, 60);
  assert.deepEqual([again[49], again[50], again[59], again[60]], [0, 2, 2, 0]);
});

test('wasm memory stays bounded over repeated generation (generate gives its state back)', async () => {
  const { createModel, family } = await import('../../src/model/registry.js');
  const { resolveConfig } = await import('../../src/config.js');
  const { generate } = await import('../../src/sample/generate.js');
  const { Vocab } = await import('../../src/data/vocab.js');
  const { Rng } = await import('../../src/util/rng.js');
  const r = loadWasm();
  if ('error' in r) throw new Error(r.error);
  const be = r.backend, vocab = new Vocab([...'abcdefgh\n']);
  const tc = resolveConfig({ flags: { family: 'gpt', nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 64 } });
  const m = createModel(family('gpt').fromTrainConfig(tc, vocab.size), be);
  m.initialize(new Rng(1));
  const o = { prime: 'abc', length: 20, temperature: 1, topK: 0, topP: 1, seed: 1, unknown: 'error' as const };
  generate(m, vocab, o);
  const after1 = be.heap.bytesInUse;
  for (let i = 0; i < 20; i++) generate(m, vocab, { ...o, seed: i });
  console.log(`  heap in use after 1 generation ${after1} bytes, after 21: ${be.heap.bytesInUse}`);
  assert.equal(be.heap.bytesInUse, after1);
});

test('wasm errors a user can cause: a private memory that is full names the fix; bf16 is refused in one line', async () => {
  const { readFileSync } = await import('node:fs');
  const { instantiateWasmBackendSync, wasmFileName } = await import('../../src/kernels/wasm/backend.js');
  const { createBackend } = await import('../../src/kernels/registry.js');
  const { isCharlmError } = await import('../../src/errors.js');
  const mod = new WebAssembly.Module(readFileSync(new URL(`../../wasm/build/${wasmFileName('simd128', false)}`, import.meta.url)));
  const be = instantiateWasmBackendSync(mod, 'simd128', { shared: false, maxMiB: 4 }); // what a page without COOP/COEP gets
  be.alloc(1 << 19); // 2 MiB fits in the 4 MiB reservation
  assert.throws(() => be.alloc(1 << 20), (e: unknown) => isCharlmError(e) && e.code === 'WASM_MEMORY_FULL' && /COOP\/COEP/.test(e.hint));
  await assert.rejects(createBackend('wasm', { precision: 'bf16' }), (e: unknown) => isCharlmError(e) && e.code === 'BAD_OPTION');
});
