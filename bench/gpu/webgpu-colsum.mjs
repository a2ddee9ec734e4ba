// Column sums on the webgpu backend, one pass (a thread per column walking every row: pointwise.ts sumRows,
// transformer.ts layerNormBackwardDw) against two (a thread per column and chunk of rows, then the chunks: what
// ops.ts runs above 64 rows), alternating, on the models' shapes: the seed's bias gradient (6,400 × 2,048) and
// shakespeare-gpt's LayerNorm dw/db (4,096 × 192). Plain node over dist/ (npm run build first).
//   node bench/gpu/webgpu-colsum.mjs [--reps 20] [--quick]
import { openNodeDevice } from '../../dist/kernels/webgpu/node-gpu.js';
import { GpuRunner, grid } from '../../dist/kernels/webgpu/runner.js';
import { colChunks } from '../../dist/kernels/webgpu/ops.js';
import * as pw from '../../dist/kernels/webgpu/wgsl/pointwise.js';
import * as tf from '../../dist/kernels/webgpu/wgsl/transformer.js';

const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : d; };
const reps = arg('--reps', 20), quick = process.argv.includes('--quick');
const g = await openNodeDevice();
const r = new GpuRunner(g.device, g.gpu, g.adapter);
const buf = (n) => ({ buf: r.createBuffer(n * 4), off: 0 });
const ew = (def, args, n, ints = []) => r.dispatch(def, args, [n, ...ints], [], grid(n));
const CASES = [
  ['seed bias gradient (sumRows)', quick ? 800 : 6400, quick ? 256 : 2048, 'sumRows'],
  ['shakespeare-gpt LayerNorm dw/db', quick ? 512 : 4096, 192, 'ln'],
];
console.log(`# column sums on ${g.adapterName}; ${reps} reps per side, the better of 2 alternating rounds`);
for (const [what, M, N, kind] of CASES) {
  const dY = buf(M * N), x = buf(M * N), mean = buf(M), rstd = buf(M), out = buf(N), out2 = buf(N);
  r.upload(dY.buf, 0, Float32Array.from({ length: M * N }, (_, i) => (i % 13) / 13 - 0.5));
  const { rows, R } = colChunks(M);
  const part = buf(R * N), part2 = buf(R * N);
  const one = () => kind === 'sumRows' ? ew(pw.sumRows, [out, dY], N, [M])
    : ew(tf.layerNormBackwardDw, [out, out2, dY, x, mean, rstd], N, [M, 1]);
  const two = () => {
    if (kind === 'sumRows') { ew(pw.colPartial, [part, dY], R * N, [N, M, rows]); ew(pw.colFinish, [out, part], N, [R]); return; }
    ew(tf.layerNormDwPartial, [part, part2, dY, x, mean, rstd], R * N, [N, M, rows]);
    ew(pw.colFinish, [out, part], N, [R]); ew(pw.colFinish, [out2, part2], N, [R]);
  };
  const best = { one: Infinity, two: Infinity };
  for (let round = 0; round < 2; round++) {
    for (const [side, f] of [['one', one], ['two', two]]) {
      f(); await r.download(out.buf, 0, 4);
      const t = performance.now();
      for (let i = 0; i < reps; i++) f();
      await r.download(out.buf, 0, 4);
      best[side] = Math.min(best[side], (performance.now() - t) / reps);
    }
  }
  console.log(JSON.stringify({ engine: 'wgsl column sum', adapter: g.adapterName, what, M, N, chunks: R, rows_per_chunk: rows,
    ms_one_pass: +best.one.toFixed(4), ms_two_pass: +best.two.toFixed(4), speedup: +(best.one / best.two).toFixed(2) }));
}
g.device.destroy();
process.exit(0);
