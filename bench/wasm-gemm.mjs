// The GEMM ceiling of the wasm backend: GFLOP/s of its matmul against native's on one thread, on the seed model's
// training shapes, with native on its best path (AVX-512 here) and on its AVX2 path. 128-bit SIMD does 4 lanes per
// FMA against AVX-512's 16 (AVX2's 8), so on a core with two FMA units of each width wasm's peak is a quarter of
// AVX-512's (half of AVX2's); this measures how close each gets. Run it under --experimental-wasm-relaxed-simd for the
// relaxed-FMA build (Node 20 validates relaxed SIMD only behind that flag). Needs `npm run build` (dist/, the addon).
//   node [--experimental-wasm-relaxed-simd] bench/wasm-gemm.mjs [--min-time 0.4]
import { loadNative, setNativeIsa } from '../dist/kernels/native/index.js';
import { loadWasm } from '../dist/kernels/wasm/node.js';

const i = process.argv.indexOf('--min-time');
const minTime = i > 0 ? Number(process.argv[i + 1]) : 0.4;
const SHAPES = [ // the seed's training step (B 64, T 100, E 256, H 512): keep in step with bench/gemm.ts
  [6400, 2048, 512, false, true, 'X·W_ihᵀ L2'], [2048, 512, 6400, true, false, 'dW L2'], [6400, 512, 2048, false, false, 'dX'],
  [64, 2048, 512, false, true, 'h·W_hhᵀ step'],
];

function gflops(be, [M, N, K, tA, tB]) {
  const A = be.alloc(M * K), B = be.alloc(K * N), C = be.alloc(M * N);
  for (let j = 0; j < A.length; j++) A[j] = Math.random() - 0.5;
  for (let j = 0; j < B.length; j++) B[j] = Math.random() - 0.5;
  be.matmul(C, A, B, M, N, K, tA, tB, false);
  let best = Infinity;
  const start = performance.now();
  for (let reps = 0; reps < 3 || performance.now() - start < minTime * 1000; reps++) {
    const t = performance.now(); be.matmul(C, A, B, M, N, K, tA, tB, false); best = Math.min(best, performance.now() - t);
  }
  be.free?.(A); be.free?.(B); be.free?.(C);
  return (2 * M * N * K) / (best / 1000) / 1e9;
}

const nat = loadNative();
if ('error' in nat) { console.log(`native backend not available: ${nat.error}`); process.exit(1); }
const w = loadWasm();
if ('error' in w) { console.log(`wasm backend not available: ${w.error}`); process.exit(1); }
nat.backend.setThreads(1);
const rows = SHAPES.map((s) => {
  const best = setNativeIsa('avx512'), n512 = gflops(nat.backend, s);
  const avx2 = setNativeIsa('avx2'), n2 = gflops(nat.backend, s);
  setNativeIsa('avx512');
  return { s, best, n512, avx2, n2, wasm: gflops(w.backend, s) };
});
console.log(`# ${process.version}, wasm ${w.backend.simd}; native paths: ${rows[0].best} and ${rows[0].avx2}; one thread; best of ≥3 runs / ${minTime}s`);
console.log(`| shape (M×N×K) | product | native ${rows[0].best} | native ${rows[0].avx2} | wasm (${w.backend.simd}) | wasm / ${rows[0].best} | wasm / ${rows[0].avx2} |`);
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const [M, N, K, tA, tB, what] = r.s;
  console.log(`| ${M}×${N}×${K} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} | ${what} | ${r.n512.toFixed(1)} | ${r.n2.toFixed(1)} | ${r.wasm.toFixed(1)} | ` +
    `${(r.wasm / r.n512).toFixed(2)} | ${(r.wasm / r.n2).toFixed(2)} |`);
}
