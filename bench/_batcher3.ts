import { CharModel } from '../src/model/charmodel.js';
import { benchVocab } from './bench-vocab.js';
import { createBackend } from '../src/kernels/registry.js';
import { Rng } from '../src/util/rng.js';
import { Batcher } from '../src/server/batcher.js';
import { InlineEngine } from '../src/server/engine.js';
import { Picker } from '../src/sample/pick.js';
const backend = await createBackend('auto' as any, {});
const vocab = benchVocab(65);
const model = new CharModel({ cell: 'lstm', vocabSize: vocab.size, embeddingDim: 256, hiddenSize: 512, numLayers: 2, dropout: 0, embedDropout: 0 }, backend);
model.initialize(new Rng(1));
function raw(n: number) {
  const rng = new Rng(1), state = model.createState(1), ids = new Int32Array(1);
  const picker = new Picker(65, [], backend), opts = { temperature: 0.8, topK: 0, topP: 1 };
  const t = performance.now();
  for (let i = 0; i < n; i++) { const l = model.step(ids, state); picker.setRow(0, opts, rng); picker.pickRows(ids, l, 1); }
  return (performance.now() - t) / n;
}
const b = new Batcher(model, vocab, {});
const eng = new InlineEngine(b, model);
const PROMPTS = ['ROMEO:\n', 'First Citizen:\nBefore we proceed', 'KING RICHARD III:\nNow is the winter', 'O, ', 'JULIET:\nWhat'];
const byPrompt = new Map<number, number[]>();
const one = (r: number) => new Promise<number[]>((res) => {
  const t0 = performance.now(); let tf = 0;
  eng.generate({ ids: vocab.encode(PROMPTS[r % 5]), n: 1, seed: r, pick: { temperature: 0.8, topK: 0, topP: 1 }, length: 200, stops: [], deadline: Date.now() + 1e6, stream: true },
    { onText() { if (!tf) tf = performance.now(); }, onSample() { if (!byPrompt.has(r % 5)) byPrompt.set(r % 5, []); byPrompt.get(r % 5)!.push(tf - t0); res([tf - t0, performance.now() - tf]); }, onPrimeFailed() {} });
});
for (let r = 0; r < 5; r++) await one(r);
for (let rep = 0; rep < 4; rep++) {
  const stepMs = raw(1000);
  let first = 0, rest = 0, n = 0; const s0 = b.stats.steps;
  const t0 = performance.now();
  while (performance.now() - t0 < 2000) { const [f, r] = await one(n); first += f; rest += r; n++; }
  const wall = performance.now() - t0;
  console.log(`raw step ${(stepMs*1000).toFixed(0)} us; per request: first ${(first/n).toFixed(1)} ms (prompt avg ${(PROMPTS.reduce((a,p)=>a+p.length,0)/5).toFixed(0)} chars), rest ${(rest/n).toFixed(1)} ms = ${(rest/n/199*1000).toFixed(0)} us/char, gap ${((wall-first-rest)/n).toFixed(2)} ms; steps/request ${((b.stats.steps-s0)/n).toFixed(0)}; served/raw ${((200*n/wall)/(1/stepMs)).toFixed(2)}`);
}
for (const [k, v] of byPrompt) console.log(PROMPTS[k].length, (v.reduce((a, x) => a + x, 0) / v.length).toFixed(2), 'ms'); console.log(b.stats);
b.close();
