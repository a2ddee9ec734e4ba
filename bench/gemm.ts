// GEMM microbenchmark in GFLOP/s on the seed model's shapes: native fp32 and bf16 at 1 and 2 threads, ref (small
// shapes only: it is ~100x slower), and OpenBLAS via bench/gemm_openblas.py (run with OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE unset). Prints one table with native/OpenBLAS per shape.
// Usage: node --import tsx bench/gemm.ts [--no-openblas] [--isa avx512|avx2|portable] [--min-time 0.3] [--rounds 1]
// --rounds N repeats every measurement (OpenBLAS included) N times, alternating, and keeps each cell's best: on a
// shared machine that rejects interference from other processes symmetrically for both sides.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/kernels/backend.js';
import { refBackend } from '../src/kernels/ref/index.js';
import { loadNative, nativeHasBf16Dot, setNativeIsa, type Isa } from '../src/kernels/native/index.js';

type Shape = [number, number, number, boolean, boolean, string];
const SHAPES: Shape[] = [  // keep in step with bench/gemm_openblas.py
  [6400, 2048, 256, false, true, 'X·W_ihᵀ L1'], [6400, 2048, 512, false, true, 'X·W_ihᵀ L2'],
  [64, 2048, 512, false, true, 'h·W_hhᵀ step'], [6400, 65, 512, false, true, 'fc'],
  [2048, 512, 6400, true, false, 'dW L2'], [2048, 256, 6400, true, false, 'dW L1'],
  [65, 512, 6400, true, false, 'dW fc'], [6400, 512, 2048, false, false, 'dX'],
  [64, 512, 2048, false, false, 'dh step'], [6400, 512, 65, false, false, 'dX fc'],
  [1, 2048, 512, false, true, 'sample B=1'],
];

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const MIN_TIME = Number(flag('--min-time', '0.3'));

/** Best time of repeated runs (at least 3, at least MIN_TIME seconds), after one warm-up. */
function bestSeconds(fn: () => void, minTime = MIN_TIME, minReps = 3): number {
  fn();
  let best = Infinity, reps = 0;
  const start = performance.now();
  while (reps < minReps || performance.now() - start < minTime * 1000) {
    const t0 = performance.now(); fn(); best = Math.min(best, performance.now() - t0); reps++;
  }
  return best / 1000;
}

function gflops(b: Backend, [M, N, K, tA, tB]: Shape, minReps = 3): number {
  const A = new Float32Array(M * K).map(() => Math.random() - 0.5);
  const B = new Float32Array(K * N).map(() => Math.random() - 0.5);
  const C = new Float32Array(M * N);
  return (2 * M * N * K) / bestSeconds(() => b.matmul(C, A, B, M, N, K, tA, tB, false), MIN_TIME, minReps) / 1e9;
}

interface BlasRow { M: number; N: number; K: number; fp32_1t: number; fp32_2t: number }
function openblas(): { info: Record<string, string>; rows: BlasRow[] } | null {
  if (args.includes('--no-openblas')) return null;
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE; delete env.OPENBLAS_L2_SIZE;
  try {
    const script = fileURLToPath(new URL('./gemm_openblas.py', import.meta.url));
    return JSON.parse(execFileSync('/usr/bin/python3', [script, '--json', '--min-time', String(MIN_TIME)], { env, encoding: 'utf8' }));
  } catch (e) {
    console.log(`# OpenBLAS benchmark unavailable: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

const loaded = loadNative();
if ('error' in loaded) { console.log(`native backend not available: ${loaded.error}`); process.exit(1); }
if (args.includes('--isa')) setNativeIsa(flag('--isa', 'avx512') as Isa);
const fp32 = loaded.backend;
const bf = loadNative({ precision: 'bf16' });
const bf16 = 'error' in bf ? null : bf.backend;
const ROUNDS = Number(flag('--rounds', '1'));
console.log(`# native isa ${fp32.isa}, bf16 via ${nativeHasBf16Dot() ? 'vdpbf16ps' : 'fp32 emulation'}; ` +
  `best of ≥3 runs / ${MIN_TIME}s, best of ${ROUNDS} round(s); GFLOP/s = 2MNK/t`);

const best = new Map<string, number>();
const keep = (k: string, v: number) => { if (!(v <= (best.get(k) ?? -1))) best.set(k, v); };
let info: Record<string, string> | null = null;
for (let round = 0; round < ROUNDS; round++) {
  const blas = openblas();
  if (blas) info = blas.info;
  for (const r of blas?.rows ?? []) { keep(`${r.M}x${r.N}x${r.K}:b1`, r.fp32_1t); keep(`${r.M}x${r.N}x${r.K}:b2`, r.fp32_2t); }
  for (const s of SHAPES) {
    const key = `${s[0]}x${s[1]}x${s[2]}`;
    fp32.setThreads(1); keep(`${key}:n1`, gflops(fp32, s)); if (bf16) keep(`${key}:f1`, gflops(bf16, s));
    fp32.setThreads(2); keep(`${key}:n2`, gflops(fp32, s)); if (bf16) keep(`${key}:f2`, gflops(bf16, s));
    if (round === 0 && s[0] * s[1] * s[2] <= 7e7) keep(`${key}:r`, gflops(refBackend, s, 1));
  }
}
if (info) console.log(`# OpenBLAS: ${info.library} | core ${info.corename} | ${info.config}`);

const head = ['shape', 'what', 'nat 1t', 'nat 2t', 'bf16 1t', 'bf16 2t', 'ref 1t', 'blas 1t', 'blas 2t', 'n/b 1t', 'n/b 2t'];
const w = [22, 14, 8, 8, 8, 8, 7, 8, 8, 7, 7];
const line = (cells: string[]) => console.log(cells.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' '));
const f = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? (a / b).toFixed(2) : '-');
line(head);
for (const [M, N, K, tA, tB, what] of SHAPES) {
  const g = (c: string) => best.get(`${M}x${N}x${K}:${c}`);
  line([`${M}x${N}x${K} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`, what, f(g('n1')), f(g('n2')), f(g('f1')), f(g('f2')),
    f(g('r')), f(g('b1')), f(g('b2')), ratio(g('n1'), g('b1')), ratio(g('n2'), g('b2'))]);
}
