// The webgpu backend's cost per kernel call apart from the kernel's own work, for a trivial kernel (a 4-element
// `add`: one workgroup, next to nothing to compute). A recurrent model's training step is ~1,400 such calls per
// 100 time steps (a small matmul and a cell kernel per step and layer, forward and backward), so on a real GPU this
// host-side cost, not the arithmetic, can set the pace.
//
// 1. The runner alone (this thread, no worker): µs to record one dispatch, against µs for one createBindGroup (what
//    every dispatch paid before bind groups were cached, measured in the same run); recording with a submit every 64
//    dispatches (the default, so the GPU starts early) and every 1,024, alternating, to show what the extra submits
//    cost the host, and the time until the GPU has run them all ("to idle").
// 2. The Backend (the client here, the GPU worker in a thread), messages sent one per postMessage (batch 1) and in
//    batches (the default), alternating rounds: "issue" is the caller's time to hand the calls over, "worker" the GPU
//    worker's time inside the messages (recording and submitting), "total" until a sync returns. On SwiftShader the
//    device is the CPU too, so "total" includes SwiftShader running the dispatches on the same two cores.
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json LD_LIBRARY_PATH=/usr/lib/chromium \
//     node bench/gpu/webgpu-dispatch.mjs [--calls 20000] [--rounds 5]   (plain node over dist/: npm run build first)
import { cpus } from 'node:os';
import { openNodeDevice } from '../../dist/kernels/webgpu/node-gpu.js';
import { GpuRunner } from '../../dist/kernels/webgpu/runner.js';
import * as pw from '../../dist/kernels/webgpu/wgsl/pointwise.js';
import { createWebGpuBackend } from '../../dist/kernels/webgpu/index.js';
import { BATCH } from '../../dist/kernels/webgpu/protocol.js';

const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : d; };
const N = arg('--calls', 20000), rounds = arg('--rounds', 5);
const med = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
const fmt = (x) => `${med(x).toFixed(2)} (${x.map((v) => v.toFixed(1)).join(' ')})`;
console.log(`# ${cpus()[0].model}, ${cpus().length} cores; ${N} calls per round, ${rounds} rounds after a warm-up; medians (rounds)`);

// 1. The runner alone.
{
  const g = await openNodeDevice();
  const r = new GpuRunner(g.device, g.gpu, g.adapter);
  const a = r.createBuffer(16), b = r.createBuffer(16), o = r.createBuffer(256);
  const layout = g.device.createBindGroupLayout({ entries: [0, 1, 2, 3].map((binding) => ({ binding, visibility: 4,
    buffer: { type: binding === 0 ? 'uniform' : 'storage', hasDynamicOffset: binding === 0 } })) });
  const uni = g.device.createBuffer({ size: 256, usage: 0x40 | 0x08 });
  const rec = { 64: [], 1024: [] }, idle = { 64: [], 1024: [] }, bg = [];
  for (let k = 0; k <= rounds; k++) {
    for (const every of [64, 1024]) {
      r.submitEvery = every;
      const t0 = performance.now();
      for (let i = 0; i < N; i++) r.dispatch(pw.add, [{ buf: o, off: (i % 16) * 4 }, { buf: a, off: 0 }, { buf: b, off: 0 }], [4], [], [1]);
      r.flush();
      const t1 = performance.now();
      await r.download(o, 0, 4);
      if (k > 0) { rec[every].push((t1 - t0) * 1000 / N); idle[every].push((performance.now() - t0) * 1000 / N); }
    }
    const t = performance.now();
    for (let i = 0; i < N; i++) g.device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: uni, size: 256 } },
      { binding: 1, resource: { buffer: o } }, { binding: 2, resource: { buffer: a } }, { binding: 3, resource: { buffer: b } }] });
    const tb = (performance.now() - t) * 1000 / N;
    if (k > 0) bg.push(tb);
  }
  console.log(`runner.dispatch (record + submit, cached bind group), µs per dispatch: submit every 64: ${fmt(rec[64])}, ` +
    `to idle ${fmt(idle[64])}; every 1,024: ${fmt(rec[1024])}, to idle ${fmt(idle[1024])}`);
  console.log(`one createBindGroup (what each dispatch paid before the cache): ${fmt(bg)} µs; ` +
    `${r.counts.bindGroups} bind groups for ${r.counts.dispatches} dispatches`);
  g.device.destroy();
}

// 2. Through the Backend, batch 1 against the default batch, alternating.
const sides = [1, BATCH].map((batch) => ({ batch, issue: [], worker: [], total: [] }));
const bes = await Promise.all(sides.map((s) => createWebGpuBackend({ batch: s.batch })));
for (let k = 0; k <= rounds; k++) {
  for (const [si, s] of sides.entries()) {
    const be = bes[si];
    const a = be.alloc(4), b = be.alloc(4), out = be.alloc(64);
    a.set([1, 2, 3, 4]); b.set([10, 20, 30, 40]);
    be.write(a); be.write(b);
    const w0 = be.workerStats();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) be.add(out.subarray((i % 16) * 4, (i % 16) * 4 + 4), a, b, 4);
    const t1 = performance.now();
    be.sync();
    const t2 = performance.now();
    const w1 = be.workerStats();
    be.read(out);
    if (out[0] !== 11 || out[63] !== 44) throw new Error(`wrong result ${out[0]} ${out[63]}`);
    if (k > 0) {
      s.issue.push((t1 - t0) * 1000 / N); s.total.push((t2 - t0) * 1000 / N);
      s.worker.push((w1.busyMs - w0.busyMs) * 1000 / N);
    }
    be.free(a); be.free(b); be.free(out);
  }
}
console.log(`Backend on ${bes[0].adapterName}, µs per call:`);
console.log('| messages per postMessage | issue (caller) | worker (recording) | total (to sync) |');
console.log('|---|---:|---:|---:|');
for (const s of sides) console.log(`| ${s.batch} | ${fmt(s.issue)} | ${fmt(s.worker)} | ${fmt(s.total)} |`);
const st = bes[1].workerStats();
console.log(`# batched side: ${st.messages} messages in ${st.batches} batches; ${st.dispatches} dispatches, ${st.submits} submits, ${st.bindGroups} bind groups`);
await Promise.all(bes.map((be) => be.close()));
