// The WGSL SGEMMs (src/kernels/webgpu/wgsl/matmul.ts, through the GpuRunner as training calls them) on large squares
// and on the models' large products, in GFLOP/s: every kernel of ops.ts's MATMUL_KERNELS (the 64×64 and 128×128
// tiles, each with loops and unrolled; the 64 tile with vector reads, with and without prefetch; the unrolled 128 tile
// with prefetch, and with vector global loads; the prefetching 64 tile with vector global loads), and the 64 tiles with K split into slices where ops.ts splits that shape,
// each shape timed with every variant, alternating, so a GPU run says whether ops.ts's choice (chooseMatmul) holds.
// `in_use` marks that choice on this adapter, `tuned` the tuner's (src/kernels/webgpu/tuner.ts: what training runs on a
// GPU, timed here on the same operands, with no store, before the table's timing). Plain node over dist/ (npm run build first), so it runs on a GPU
// machine that has only node and the webgpu package (bench/gpu/webgpu-device.sh). Each shape: 2 warm-up products,
// then `reps` products timed from the first dispatch to a 4-byte readback after the last (GPU work only waits on
// the queue; the readback's round trip is ~0.2 ms, under 2% of the shortest timed batch here).
//   node bench/gpu/webgpu-gemm.mjs [--reps 20] [--quick]
import { openNodeDevice } from '../../dist/kernels/webgpu/node-gpu.js';
import { GpuRunner } from '../../dist/kernels/webgpu/runner.js';
import { MatmulTuner } from '../../dist/kernels/webgpu/tuner.js';
import { chooseMatmul, dispatchMatmul, MATMUL_KERNELS, splitK, vec4Ok } from '../../dist/kernels/webgpu/ops.js';

const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : d; };
const reps = arg('--reps', 20), quick = process.argv.includes('--quick');
// [what, M, N, K, transA, transB]
const SHAPES = [
  ['square 4096', 4096, 4096, 4096, false, false],
  ['square 2048', 2048, 2048, 2048, false, false],
  ['seed input projection (6400×256 · 256×2048)', 6400, 2048, 256, false, true],
  ['seed recurrent step (64×512 · 512×2048)', 64, 2048, 512, false, true],
  ['seed recurrent backward dh (64×2048 · 2048×512)', 64, 512, 2048, false, false],
  ['seed dW_ih (2048×6400 · 6400×256)', 2048, 256, 6400, true, false],
  ['shakespeare-gpt MLP up (4096×192 · 192×768)', 4096, 768, 192, false, true],
  ['shakespeare-gpt MLP down (4096×768 · 768×192)', 4096, 192, 768, false, true],
  ['shakespeare-gpt qkv (4096×192 · 192×576)', 4096, 576, 192, false, true],
  ['shakespeare-gpt dW_qkv (576×4096 · 4096×192)', 576, 192, 4096, true, false],
  ['shakespeare-gpt MLP down dx (4096×192 · 192×768)', 4096, 768, 192, false, false],
];
// CHARLM_WEBGPU_ROBUSTNESS=off: the kernels without WebGPU's index clamps, as the backend's worker compiles them then.
const g = await openNodeDevice({ unchecked: process.env.CHARLM_WEBGPU_ROBUSTNESS === 'off' });
const r = new GpuRunner(g.device, g.gpu, g.adapter);
console.log(`# WGSL SGEMM on ${g.adapterName}; ${reps} timed products per shape and tile, the better of 2 alternating rounds`);
const rows = [];
for (const [what, M0, N0, K0, tA, tB] of SHAPES) {
  const s = quick ? 8 : 1, M = Math.max(1, M0 / s | 0), N = Math.max(1, N0 / s | 0), K = Math.max(1, K0 / s | 0);
  const A = { buf: r.createBuffer(M * K * 4), off: 0 }, B = { buf: r.createBuffer(K * N * 4), off: 0 };
  const C = { buf: r.createBuffer(M * N * 4), off: 0 };
  const fill = (a, n) => r.upload(a.buf, 0, Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5));
  fill(A, M * K); fill(B, K * N);
  // Variants: [kernel, K slices]; the 64 tiles with ops.ts's K split too where its rule splits this shape.
  const S = splitK(M, N, K), pick = chooseMatmul(M, N, K, r.fallback, tA), inUse = `${pick.kernel}/${pick.slices}`;
  // Where ops.ts splits, also the 64 tile in other slice counts (slices of at least 64), to test its rule.
  // Unsplit products of 64-255 tiles (the rule's threshold is 64: fewer than two workgroups per SM on a 132-SM GPU)
  // are tried in 2 and 4 slices, to test that threshold.
  const tiles = Math.ceil(M / 64) * Math.ceil(N / 64);
  const otherS = S > 1 ? [2, 4, 8, 16].filter((x) => x !== S && K / x >= 64)
    : tiles < 256 && K >= 256 ? [2, 4].filter((x) => K / x >= 64) : [];
  const v4 = vec4Ok(C, A, B, M, N, K, tA, tB);   // the vec4 kernels (m64vv, m128v) need aligned views
  const variants = [['m64', 1], ['m64u', 1], ['m64v', 1], ['m64vp', 1], ...(v4 ? [['m64vv', 1]] : []),
    ...(S > 1 ? [['m64', S], ['m64u', S], ['m64v', S], ['m64vp', S], ...(v4 ? [['m64vv', S]] : [])] : []), ...otherS.map((x) => ['m64', x]),
    ['m128', 1], ['m128u', 1], ['m128up', 1], ...(v4 ? [['m128v', 1]] : [])];
  const tc = await new MatmulTuner(r, g.adapterName, undefined, 0).choose(C, A, B, M, N, K, tA, tB, false);
  const tunedKey = `${tc.kernel}/${tc.slices}`;
  if (!variants.some((v) => v.join('/') === tunedKey)) variants.push([tc.kernel, tc.slices]);
  const best = new Map(variants.map((v) => [v.join('/'), Infinity]));
  for (let round = 0; round < 2; round++) {
    for (const [tile, slices] of variants) {
      const run = () => dispatchMatmul(r, tile, C, A, B, M, N, K, tA, tB, false, slices);
      for (let i = 0; i < 2; i++) run();
      await r.download(C.buf, 0, 4);
      const t = performance.now();
      for (let i = 0; i < reps; i++) run();
      await r.download(C.buf, 0, 4);
      const key = `${tile}/${slices}`;
      best.set(key, Math.min(best.get(key), (performance.now() - t) / 1000));
    }
  }
  for (const [tile, slices] of variants) {
    const key = `${tile}/${slices}`, s_ = best.get(key), gflops = 2 * M * N * K * reps / s_ / 1e9;
    rows.push({ what, tile: MATMUL_KERNELS[tile].tile, kernel: tile, k_slices: slices, in_use: key === inUse, tuned: key === tunedKey, M, N, K, transA: tA, transB: tB,
      ms_per_product: +(s_ * 1000 / reps).toFixed(4), gflops: +gflops.toFixed(1) });
    console.log(JSON.stringify({ engine: 'wgsl sgemm', adapter: g.adapterName, ...rows.at(-1) }));
  }
  for (const x of [A, B, C]) r.destroyBuffer(x.buf);
}
g.device.destroy();
process.exit(0);
