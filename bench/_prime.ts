import { CharModel } from '../src/model/charmodel.js';
import { benchVocab } from './bench-vocab.js';
import { createBackend } from '../src/kernels/registry.js';
import { Rng } from '../src/util/rng.js';
const backend = await createBackend('auto' as any, {});
const vocab = benchVocab(65);
const model = new CharModel({ cell: 'lstm', vocabSize: vocab.size, embeddingDim: 256, hiddenSize: 512, numLayers: 2, dropout: 0, embedDropout: 0 }, backend);
model.initialize(new Rng(1));
const ids = Int32Array.from({ length: 64 }, (_, i) => (i * 7) % 65);
for (let rep = 0; rep < 3; rep++) for (const T of [1, 8, 18, 32, 64]) {
  const st = model.createState(1);
  const n = Math.ceil(2000 / T);
  let t = performance.now();
  for (let i = 0; i < n; i++) model.prime(ids.subarray(0, T), 1, T, st);
  const primeMs = (performance.now() - t) / (n * T);
  t = performance.now();
  const one = new Int32Array(1);
  for (let i = 0; i < n * T; i++) model.step(one, st);
  const stepMs = (performance.now() - t) / (n * T);
  console.log(`T=${T}: prime ${(primeMs * 1000).toFixed(0)} us/char, step ${(stepMs * 1000).toFixed(0)} us/char, ratio ${(primeMs / stepMs).toFixed(2)}`);
}
