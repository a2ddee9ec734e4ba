// Where a webgpu training step's wall time goes, step by step, on the host side: the caller's own time (model code
// and handing calls over), its time blocked on answers (a loss readback waits for the GPU; a write waits for the
// worker to reach it), and the GPU worker's time recording. The same step as `charlm bench` (forward, backward,
// Adam/AdamW on random data, no dropout). If wall ≈ blocked + caller and the worker is mostly idle, the GPU sets the
// pace; if the caller's own time is large, the model code does.
//   node bench/gpu/webgpu-step.mjs [--preset shakespeare-gpt] [--steps 10]   (plain node over dist/: npm run build first)
import { resolveConfig } from '../../dist/config.js';
import { createModel, family } from '../../dist/model/registry.js';
import { Adam } from '../../dist/train/optimizer.js';
import { Rng } from '../../dist/util/rng.js';
import { createWebGpuBackend } from '../../dist/kernels/webgpu/index.js';

const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : d; };
const preset = arg('--preset', 'shakespeare-gpt'), steps = Number(arg('--steps', 10)), quick = process.argv.includes('--quick');
const be = await createWebGpuBackend();
let blocked = 0;
const BLOCKING = new Set(['softmaxXent', 'sumSquares', 'read', 'write', 'sync']);
const timed = { ...be };
for (const k of BLOCKING) {
  const f = be[k].bind(be);
  timed[k] = (...a) => { const t = performance.now(); try { return f(...a); } finally { blocked += performance.now() - t; } };
}
const shape = quick ? { batchSize: 2, seqLength: 16, ...(preset === 'seed' ? { hiddenSize: 16, embeddingDim: 8 } : { nEmbd: 16, nLayer: 2, nHead: 2, blockSize: 16 }) } : {};
const cfg = resolveConfig({ preset, flags: shape });
const V = 65, m = createModel(family(cfg.family).fromTrainConfig({ ...cfg, dropout: 0, embedDropout: 0 }, V), timed);
const rng = new Rng(0);
m.initialize(rng);
const B = cfg.batchSize, T = cfg.seqLength, gpt = cfg.family === 'gpt';
const x = Int32Array.from({ length: B * T }, () => rng.int(V)), y = Int32Array.from({ length: B * T }, () => rng.int(V));
const adam = gpt ? new Adam(timed, m.params.size, m.params.entries.map((e) => m.decays(e.name)), m.params.entries, 0.9, 0.99)
  : new Adam(timed, m.params.size);
const step = () => {
  m.forwardBackward(x, y, B, T, null);
  adam.update(timed, m.params.data, m.params.grad, 1e-3, gpt ? 0.1 : 0, gpt);
  m.weightsChanged();
};
step();
timed.sync();
console.log(`# ${preset} (${B} × ${T}) on ${be.adapterName}: ms per step`);
console.log('| step | wall | caller | blocked | worker recording | dispatches | submits | messages |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
const rows = [];
for (let i = 0; i < steps; i++) {
  const s0 = be.workerStats(), t0 = performance.now(); blocked = 0;
  step();
  // The stats call waits for the worker to finish recording this step (its backward and Adam were only queued):
  // inside the step's time, as blocked (run 5 on the H200 took it outside, and so under-counted the wall).
  const tw = performance.now(), s1 = be.workerStats();
  blocked += performance.now() - tw;
  const t1 = performance.now(), b = blocked;
  const r = { wall: t1 - t0, caller: t1 - t0 - b, blocked: b, worker: s1.busyMs - s0.busyMs, dispatches: s1.dispatches - s0.dispatches,
    submits: s1.submits - s0.submits, messages: s1.messages - s0.messages - 1 };
  rows.push(r);
  console.log(`| ${i + 1} | ${r.wall.toFixed(2)} | ${r.caller.toFixed(2)} | ${r.blocked.toFixed(2)} | ${r.worker.toFixed(2)} | ${r.dispatches} | ${r.submits} | ${r.messages} |`);
}
const med = (k) => [...rows.map((r) => r[k])].sort((a, b) => a - b)[rows.length >> 1];
console.log(`medians: wall ${med('wall').toFixed(2)}, caller ${med('caller').toFixed(2)}, blocked ${med('blocked').toFixed(2)}, worker ${med('worker').toFixed(2)} ms; ` +
  `${(B * T / med('wall') * 1000).toFixed(0)} chars/s`);
await be.close();
process.exit(0);
