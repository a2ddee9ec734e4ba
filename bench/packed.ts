// Pre-packed weights vs per-call packing on the per-time-step products (µs per call, best of repeated runs):
// h·W_hhᵀ (nt) and dG·W_hh (nn) of the seed model at sampling/training batch sizes, and hidden 128 at B=8/24.
// Usage: node --import tsx bench/packed.ts [--threads 1,2] [--min-time 0.2]
import type { Backend } from '../src/kernels/backend.js';
import { loadNative } from '../src/kernels/native/index.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const MIN_TIME = Number(flag('--min-time', '0.2'));
const THREADS = flag('--threads', '1,2').split(',').map(Number);

/** [N, K, M, mode]: W is (N,K); nt: (M,K)·Wᵀ, nn: (M,N)·W. */
const CASES: [number, number, number, 'nt' | 'nn'][] = [
  [2048, 512, 1, 'nt'], [2048, 512, 32, 'nt'], [2048, 512, 64, 'nt'], [2048, 512, 64, 'nn'],
  [512, 128, 8, 'nt'], [512, 128, 24, 'nt'], [512, 128, 24, 'nn'],
];

function bestMicros(fn: () => void): number {
  for (let i = 0; i < 3; i++) fn();
  let best = Infinity, reps = 0;
  const start = performance.now();
  while (reps < 5 || performance.now() - start < MIN_TIME * 1000) {
    const t0 = performance.now(); fn(); best = Math.min(best, performance.now() - t0); reps++;
  }
  return best * 1000;
}

function row(be: Backend, [N, K, M, mode]: (typeof CASES)[number]): [number, number] {
  const W = new Float32Array(N * K).map(() => Math.random() - 0.5);
  const n = mode === 'nt' ? N : K, depth = mode === 'nt' ? K : N;
  const A = new Float32Array(M * depth).map(() => Math.random() - 0.5), C = new Float32Array(M * n);
  const p = be.packWeights!(W, N, K, mode);
  const packed = bestMicros(() => be.matmulPacked!(C, A, p, M, mode, true));
  const plain = bestMicros(() => be.matmul(C, A, W, M, n, depth, false, mode === 'nt', true));
  return [packed, plain];
}

for (const precision of ['fp32', 'bf16'] as const) {
  const r = loadNative({ precision });
  if ('error' in r) { console.log(`native backend not available: ${r.error}`); process.exit(1); }
  const be = r.backend;
  for (const th of THREADS) {
    be.setThreads(th);
    for (const c of CASES) {
      const [packed, plain] = row(be, c);
      console.log(`${precision} ${be.isa} threads ${th}  W ${c[0]}x${c[1]} M=${String(c[2]).padEnd(3)} ${c[3]}:` +
        `  packed ${packed.toFixed(1).padStart(7)} µs   matmul ${plain.toFixed(1).padStart(7)} µs   x${(plain / packed).toFixed(2)}`);
    }
  }
}
