// The weight reads of one batch-1 sampling step, alone: matmulPacked (M = 1, nt) over the five weight matrices of
// the seed model at a V-character vocabulary (W_ih 2048×256, W_hh 2048×512, layer 2's W_ih and W_hh, fc V×512), fp32
// and bf16 (16-bit storage), 1 and 2 threads. Prints µs per step, steps/s, and the weight bytes streamed per second:
// batch-1 sampling is memory-bound, so this is its ceiling.
//   node --import tsx bench/gemv-step.ts [--vocab 7000] [--steps 300]
import { parseArgs } from 'node:util';
import { loadNative } from '../src/kernels/native/index.js';

const { values: o } = parseArgs({ options: { vocab: { type: 'string', default: '7000' }, steps: { type: 'string', default: '300' } } });
const V = Number(o.vocab), steps = Number(o.steps);
const shapes: [number, number][] = [[2048, 256], [2048, 512], [2048, 512], [2048, 512], [V, 512]];
for (const threads of [1, 2]) for (const precision of ['fp32', 'bf16'] as const) {
  const be = loadNative({ precision, threads }).backend;
  if (!be?.packWeights || !be.matmulPacked) throw new Error('the native backend is not built (npm install)');
  const mats = shapes.map(([N, K]) => {
    const W = be.alloc(N * K);
    for (let i = 0; i < W.length; i++) W[i] = Math.random() - 0.5;
    return { p: be.packWeights!(W, N, K, 'nt'), A: be.alloc(K).fill(0.1), C: be.alloc(N) };
  });
  const bytes = shapes.reduce((a, [N, K]) => a + N * K * (precision === 'bf16' ? 2 : 4), 0);
  const step = () => { for (const m of mats) be.matmulPacked!(m.C, m.A, m.p, 1, 'nt', false); };
  for (let i = 0; i < 20; i++) step();
  const t = performance.now();
  for (let i = 0; i < steps; i++) step();
  const s = (performance.now() - t) / 1000 / steps;
  console.log(`threads ${threads} ${precision}: ${(s * 1e6).toFixed(0)} µs per step, ${(1 / s).toFixed(0)} steps/s, ` +
    `${(bytes / s / 1e9).toFixed(1)} GB/s of weights (${(bytes / 1e6).toFixed(1)} MB per step)`);
}
