import { CharModel } from '../src/model/charmodel.js';
import { benchVocab } from './bench-vocab.js';
import { createBackend } from '../src/kernels/registry.js';
import { Rng } from '../src/util/rng.js';
const backend = await createBackend('auto' as any, {});
const vocab = benchVocab(65);
const model = new CharModel({ cell: 'lstm', vocabSize: vocab.size, embeddingDim: 256, hiddenSize: 512, numLayers: 2, dropout: 0, embedDropout: 0 }, backend);
model.initialize(new Rng(1));
const ids = Int32Array.from({ length: 64 }, (_, i) => (i * 7) % 65);
const time = (name: string, n: number, f: (i: number) => void) => { const t = performance.now(); for (let i = 0; i < n; i++) f(i); console.log(name, ((performance.now() - t) / n * 1000).toFixed(1), 'us'); };
for (let rep = 0; rep < 2; rep++) {
  time('createState(1)+release', 200, () => { const s = model.createState(1); model.releaseState(s); });
  const a = model.createState(1), b = model.createState(1);
  time('copyStateRow', 200, () => model.copyStateRow(a, 0, b, 0));
  time('step', 200, () => model.step(ids.subarray(0, 1), a));
  time('prime T=2 fixed', 200, () => model.prime(ids.subarray(0, 2), 1, 2, a));
  time('prime T alternating 2/6/31/1', 200, (i) => { const T = [2, 6, 31, 1][i % 4]; model.prime(ids.subarray(0, T), 1, T, a); });
  time('step after prime (alternating)', 200, (i) => { if (i % 2) model.step(ids.subarray(0, 1), a); else model.prime(ids.subarray(0, 5), 1, 5, a); });
  time('fresh state prime T=6', 200, () => { const s = model.createState(1); model.prime(ids.subarray(0, 6), 1, 6, s); model.releaseState(s); });
}
