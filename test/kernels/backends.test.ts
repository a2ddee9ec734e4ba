// Runs the one kernel suite (suite.ts) against every backend present: ref always; native on every ISA path this CPU
// has (avx512, avx2, portable) when the addon loaded (else a notice). Then native-only checks: the seed model's
// GEMM shapes (sampled entries vs float64), 1 vs 2 threads bit-identical, CHARLM_ISA in a child process, bf16 (plain
// and pre-packed weights), and packed handles refusing another ISA or precision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { refBackend } from '../../src/kernels/ref/index.js';
import { createRefBf16Backend, bf16Round } from '../../src/kernels/ref/bf16.js';
import { loadNative, nativeHasBf16Dot, setNativeIsa, type Isa } from '../../src/kernels/native/index.js';
import { checkGuards, copyView, exactEntries, expectClose, randView, rng } from './check.js';
import { checkMatmul, MATMUL_SHAPES, registerKernelSuite } from './suite.js';
import { checkPacked, checkPackedLarge, PACKED_ODD, PACKED_SEED } from './packed.js';
import { skipNativeBlock } from '../skips.js';

registerKernelSuite('ref', () => refBackend);

const loaded = loadNative();
if ('error' in loaded) {
  skipNativeBlock('kernel suite on every ISA path, seed GEMM shapes, threads, CHARLM_ISA, bf16, packed handles');
} else {
  const native = loaded.backend;
  const defaultIsa = native.isa as Isa;
  const threads = native.threads;
  const isas = (['avx512', 'avx2', 'portable'] as Isa[]).filter((i) => setNativeIsa(i) === i);
  setNativeIsa(defaultIsa);
  console.log(`# native: default isa ${defaultIsa}, paths on this CPU: ${isas.join(', ')}, threads ${threads}`);
  for (const isa of isas) {
    registerKernelSuite(`native[${isa}]`, () => native, () => { setNativeIsa(isa); native.setThreads(threads); });
  }

  // The seed model (B=64,T=100,E=256,H=512,V=65, LSTM 4H=2048): [M,N,K,transA,transB].
  const SEED: [number, number, number, boolean, boolean][] = [
    [6400, 2048, 256, false, true],   // layer-1 input projection X·W_ihᵀ
    [6400, 2048, 512, false, true],   // layer-2 input projection
    [64, 2048, 512, false, true],     // per-step h·W_hhᵀ
    [6400, 65, 512, false, true],     // fc
    [2048, 512, 6400, true, false],   // weight grad dGᵀ·X
    [2048, 256, 6400, true, false],
    [65, 512, 6400, true, false],     // fc weight grad
    [6400, 512, 2048, false, false],  // dX = dG·W
    [64, 512, 2048, false, false],    // per-step dh = dG·W_hh
    [6400, 512, 65, false, false],    // fc dX
    [1, 2048, 512, false, true],      // batch-1 sampling (GEMV path)
    [3, 2048, 512, false, false],
  ];

  for (const isa of isas) {
    test(`native[${isa}]: seed-model GEMM shapes (sampled entries vs float64, tol 1e-5·Σ|a·b|)`, () => {
      setNativeIsa(isa); native.setThreads(threads);
      SEED.forEach(([M, N, K, tA, tB], s) => {
        const r = rng(500 + s);
        const A = randView(M * K, r), B = randView(K * N, r), C0 = randView(M * N, r), C = copyView(C0);
        for (const acc of [false, true]) {
          if (acc) C.set(C0);
          native.matmul(C, A, B, M, N, K, tA, tB, acc);
          const idx = Array.from({ length: 400 }, () => Math.floor(r() * M * N));
          idx.push(0, M * N - 1, N - 1, (M - 1) * N);
          const { want, scale } = exactEntries(A, B, acc ? C0 : null, M, N, K, tA, tB, idx);
          expectClose(`native[${isa}] matmul ${M}x${N}x${K} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}${acc ? ' acc' : ''}`,
            idx.map((i) => C[i]), want, 1e-5, scale);
        }
        // bf16 on the same shape: float64 over the bf16-rounded inputs (the twin's math), tolerance as below.
        const bf = loadNative({ precision: 'bf16' });
        assert.ok(!('error' in bf));
        bf.backend.matmul(C, A, B, M, N, K, tA, tB, false);
        const idx = Array.from({ length: 200 }, () => Math.floor(r() * M * N));
        const { want, scale } = exactEntries(A.map(bf16Round), B.map(bf16Round), null, M, N, K, tA, tB, idx);
        expectClose(`native-bf16[${isa}] matmul ${M}x${N}x${K} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`,
          idx.map((i) => C[i]), want, 2e-4, scale);
      });
      checkGuards('seed shapes');
    });
  }

  test('native: 1, 2 and 3 threads give bit-identical matmul results', () => {
    setNativeIsa(defaultIsa);
    const shapes: [number, number, number, boolean, boolean][] = [
      [640, 2048, 256, false, true], [64, 2048, 512, false, true], [2048, 512, 640, true, false],
      [640, 512, 2048, false, false], [1, 2048, 512, false, true], [129, 65, 17, true, true],
      [2, 4096, 1024, false, true], [3, 4099, 1024, true, false],   // small-M path, large enough to split
    ];
    for (const [M, N, K, tA, tB] of shapes) {
      const r = rng(M + N + K);
      const A = randView(M * K, r), B = randView(K * N, r);
      // Each C element's k-order depends only on KC blocking, never on the split, so results are bit-identical.
      const outs = [1, 2, 3].map((n) => {
        native.setThreads(n);
        const C = randView(M * N, rng(1));
        native.matmul(C, A, B, M, N, K, tA, tB, true);
        return C;
      });
      assert.deepEqual(outs[0], outs[1], `threads 1 vs 2 differ at ${M}x${N}x${K}`);
      assert.deepEqual(outs[0], outs[2], `threads 1 vs 3 differ at ${M}x${N}x${K}`);
      console.log(`  threads 1 vs 2 vs 3 ${M}x${N}x${K}: identical`);
    }
    native.setThreads(threads);
    checkGuards('threads');
  });

  test('native: bad arguments throw RangeError instead of touching memory', () => {
    setNativeIsa(defaultIsa);
    const a = new Float32Array(12);
    assert.throws(() => native.matmul(a, a, a, 4, 4, 4, false, false, false), RangeError);
    assert.throws(() => native.embeddingForward(a, a, Int32Array.of(0, 7), 2, 2), RangeError);
    assert.throws(() => native.softmaxXent(null, a, Int32Array.of(5), 1, 3, 1), RangeError);
    assert.throws(() => native.scale(new Float64Array(4) as unknown as Float32Array, 4, 2), RangeError);
  });

  test('native: CHARLM_ISA forces the path at load (child processes)', () => {
    for (const isa of isas) {
      const mod = new URL('../../src/kernels/native/index.ts', import.meta.url).href;
      const code = `import(${JSON.stringify(mod)}).then(m => { const r = m.loadNative(); ` +
        "console.log('error' in r ? 'ERR ' + r.error : r.backend.isa); })";
      const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', code],
        { env: { ...process.env, CHARLM_ISA: isa }, encoding: 'utf8', cwd: new URL('../..', import.meta.url) }).trim();
      console.log(`  CHARLM_ISA=${isa} -> ${out}`);
      assert.equal(out, isa);
    }
  });

  test('native: bf16 precision vs the ref bf16 twin and vs float64', () => {
    const refBf = createRefBf16Backend();
    console.log(`  bf16 products via ${nativeHasBf16Dot() ? 'AVX512_BF16 vdpbf16ps' : 'fp32 FMA emulation'} on ${defaultIsa}`);
    // Rounding matches C++ (RNE, NaN kept): spot values.
    assert.equal(bf16Round(1 + 2 ** -8), 1); assert.equal(bf16Round(1 + 3 * 2 ** -8), 1 + 2 ** -6);
    assert.ok(Number.isNaN(bf16Round(NaN)));
    for (const isa of isas) {
      setNativeIsa(isa); native.setThreads(threads);
      const bf = loadNative({ precision: 'bf16' });
      assert.ok(!('error' in bf));
      // Same bf16-rounded inputs, exact products, fp32 sums in different orders: the fp32 tolerance would hold (the
      // FMA emulation path stays under 2e-7·Σ|â·b̂|); stated looser at 2e-4·Σ|â·b̂| to leave room for vdpbf16ps's
      // pairwise sums and its flushing of denormals, not yet measured on an AVX512_BF16 CPU.
      MATMUL_SHAPES.forEach(([M, N, K], s) => checkMatmul(bf.backend, `native-bf16[${isa}]`, M, N, K, 700 + s, 2e-4, refBf));
      // Against unrounded float64: each input carries ≤2^-9 relative error, so |err| ≤ ~2^-8·Σ|a·b|; assert 1e-2.
      const [M, N, K] = [64, 2048, 512];
      const r = rng(9);
      const A = randView(M * K, r), B = randView(N * K, r), C = randView(M * N, r);
      bf.backend.matmul(C, A, B, M, N, K, false, true, false);
      const idx = Array.from({ length: 300 }, () => Math.floor(r() * M * N));
      const { want, scale } = exactEntries(A, B, null, M, N, K, false, true, idx);
      expectClose(`native-bf16[${isa}] vs float64 ${M}x${N}x${K} NT`, idx.map((i) => C[i]), want, 1e-2, scale);
    }
    setNativeIsa(defaultIsa);
    checkGuards('bf16');
  });

  test('native: bf16 matmulPacked vs the ref bf16 twin, every ISA path', () => {
    const refBf = createRefBf16Backend();
    for (const isa of isas) {
      setNativeIsa(isa); native.setThreads(threads);
      const bf = loadNative({ precision: 'bf16' });
      assert.ok(!('error' in bf));
      const tag = `native-bf16[${isa}]`;
      PACKED_ODD.forEach(([N, K, M], s) => checkPacked(bf.backend, tag, N, K, M, 800 + s, 2e-4, refBf));
      PACKED_SEED.forEach(([N, K, M], s) => checkPacked(bf.backend, tag, N, K, M, 900 + s, 2e-4, refBf));
      checkPackedLarge(bf.backend, tag, 2e-4, bf16Round);
    }
    setNativeIsa(defaultIsa);
  });

  test('native: matmulPacked with 1, 2 and 3 threads is bit-identical', () => {
    setNativeIsa(defaultIsa);
    for (const [N, K, M] of [[2048, 512, 1], [2048, 512, 3], [2048, 512, 64], [65, 512, 32], [4099, 1024, 2]]) {
      const r = rng(N + K + M);
      const W = randView(N * K, r);
      const packed = native.packWeights!(W, N, K, 'both');
      for (const mode of ['nt', 'nn'] as const) {
        const A = randView(M * (mode === 'nt' ? K : N), r);
        const outs = [1, 2, 3].map((n) => {
          native.setThreads(n);
          native.repack!(packed, W);   // packing is split across threads too
          const C = randView(M * (mode === 'nt' ? N : K), rng(1));
          native.matmulPacked!(C, A, packed, M, mode, true);
          return C;
        });
        assert.deepEqual(outs[0], outs[1], `threads 1 vs 2 differ at W ${N}x${K} M=${M} ${mode}`);
        assert.deepEqual(outs[0], outs[2], `threads 1 vs 3 differ at W ${N}x${K} M=${M} ${mode}`);
      }
      console.log(`  packed threads 1 vs 2 vs 3 W ${N}x${K} M=${M}: identical`);
    }
    native.setThreads(threads);
    checkGuards('packed threads');
  });

  test('native: a packed handle refuses another ISA path, precision or mode until repacked', () => {
    const W = randView(40 * 40, rng(3)), A = randView(4 * 40, rng(4)), C = randView(4 * 40, rng(5));
    const bf = loadNative({ precision: 'bf16' });
    assert.ok(!('error' in bf));
    setNativeIsa(defaultIsa);
    const p = native.packWeights!(W, 40, 40, 'nt');
    assert.throws(() => bf.backend.matmulPacked!(C, A, p, 4, 'nt', false), /another backend/);
    assert.throws(() => native.matmulPacked!(C, A, p, 4, 'nn', false), /not packed for mode nn/);
    assert.throws(() => native.matmulPacked!(C, A, { N: 40, K: 40, modes: 'nt' }, 4, 'nt', false), /another backend/);
    assert.throws(() => native.matmulPacked!(C.subarray(1), A, p, 4, 'nt', false), RangeError);
    const other = isas.find((i) => i !== defaultIsa);
    if (other) {
      setNativeIsa(other);
      assert.throws(() => native.matmulPacked!(C, A, p, 4, 'nt', false), /repack it/);
      native.repack!(p, W);
      native.matmulPacked!(C, A, p, 4, 'nt', false);
      setNativeIsa(defaultIsa);
    }
    checkGuards('packed refusals');
  });
}
