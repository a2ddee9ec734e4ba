// Child of webgpu.test.ts: where the data lives during training on the webgpu backend. For an LSTM and a GPT (with
// dropout), one whole training step — forwardBackward, gradient-norm clipping, Adam — is run after a warm-up step,
// and the backend's traffic counters must show: no call on arrays the backend did not allocate (parameters,
// optimizer state, activations are all on the GPU), exactly two scalar downloads (the loss and the squared gradient
// norm, both reduced on the GPU), and uploads of only the step's inputs (ids, targets): dropout masks are made on the GPU.
// The worker's counters show what a step costs the host: no bind group is created after the warm-up step (they are
// cached per kernel and buffers), and the calls travel in batches, not a message each.
// Then a mixed call: a host array in, a backend array out.
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config.js';
import { createWebGpuBackend } from '../../src/kernels/webgpu/index.js';
import { createModel, family } from '../../src/model/registry.js';
import { Adam, clipGradNorm } from '../../src/train/optimizer.js';
import { Rng } from '../../src/util/rng.js';

const be = await createWebGpuBackend();
const RNN = { family: 'rnn' as const, cell: 'lstm' as const, embeddingDim: 8, hiddenSize: 16, numLayers: 2, dropout: 0.2, embedDropout: 0.1 };
const GPT = { family: 'gpt' as const, nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 16, dropout: 0.1, bias: true };
for (const cfg of [RNN, GPT]) {
  const tc = resolveConfig({ flags: { ...cfg, seqLength: 8, batchSize: 2 } });
  const model = createModel(family(tc.family).fromTrainConfig(tc, 8), be);
  model.initialize(new Rng(1));
  const adam = new Adam(be, model.params.data.length);
  const ids = Int32Array.from({ length: 16 }, (_, i) => (i * 5) % 8), y = ids.map((v) => (v + 1) % 8);
  const step = (seed: number) => {
    const loss = model.forwardBackward(ids, y, 2, 8, null, new Rng(seed));
    const norm = clipGradNorm(be, model.params.grad, 1);
    adam.update(be, model.params.data, model.params.grad, 1e-3, 0, false);
    return { loss, norm };
  };
  step(2);
  const t0 = { ...be.traffic }, w0 = be.workerStats();
  const { loss, norm } = step(3);
  const d = Object.fromEntries(Object.entries(be.traffic).map(([k, v]) => [k, v - t0[k as keyof typeof t0]]));
  const w1 = be.workerStats(), dw = Object.fromEntries(Object.entries(w1).map(([k, v]) => [k, v - w0[k as keyof typeof w0]]));
  console.log(`  ${tc.family}: the worker recorded ${dw.dispatches} dispatches in ${dw.submits} submits, from ${dw.messages} ` +
    `messages in ${dw.batches} batches; ${dw.bindGroups} new bind groups; ${dw.busyMs.toFixed(1)} ms inside the messages`);
  assert.equal(dw.bindGroups, 0, 'bind groups were created in a step after the warm-up');
  assert.ok(dw.dispatches > 20 && dw.batches * 4 < dw.messages, `${dw.messages} messages in ${dw.batches} batches`);
  console.log(`  ${tc.family}: one step (loss ${loss.toFixed(4)}, grad norm ${norm.toFixed(4)}): ${d.downloads} downloads ` +
    `(${d.downloadBytes} bytes), ${d.uploads} uploads (${d.uploadBytes} bytes), ${d.foreignCalls} calls on foreign arrays`);
  assert.equal(d.foreignCalls, 0);
  assert.equal(d.downloads, 2);
  assert.equal(d.downloadBytes, 8);
  assert.ok(d.uploads <= 2, `${d.uploads} uploads`);
  assert.ok(Number.isFinite(loss) && Number.isFinite(norm));
}
// A host array as input with a backend-owned output: the input's temporary GPU buffer is freed right after the call,
// while the kernel may still be unsubmitted (the worker submits before it frees).
const out = be.alloc(8);
for (let k = 0; k < 3; k++) be.tanhForward(out, Float32Array.from({ length: 8 }, (_, i) => (i + k) / 4), 8);
be.read(out);
out.forEach((v, i) => assert.ok(Math.abs(v - Math.tanh((i + 2) / 4)) < 1e-6, `tanh ${i}: ${v}`));
await be.close();
console.log('# webgpu residency: ok');
