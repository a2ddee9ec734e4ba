// Child of webgpu.test.ts (run with `node --test` and SwiftShader's Vulkan env): the one shared kernel suite
// (suite.ts) against the webgpu backend. The suite reads and fills its buffers on the host without read/write
// (check.ts: "memory must be host-visible"), so here the backend hands it plain host arrays: every call then takes
// the backend's coherent path (upload, run the WGSL kernel, copy outputs back). The GPU-resident path (backend-owned
// buffers, read/write) is covered by webgpu-residency.ts and the 20-step training run.
import { after } from 'node:test';
import { createWebGpuBackend } from '../../src/kernels/webgpu/index.js';
import { hostMemory } from '../../src/kernels/host-memory.js';
import type { Backend } from '../../src/kernels/backend.js';
import { registerKernelSuite } from './suite.js';

const backend = await createWebGpuBackend();
console.log(`# webgpu adapter: ${backend.adapterName}`);
const coherent: Backend = { ...backend, ...hostMemory, name: 'webgpu' };
registerKernelSuite('webgpu', () => coherent);
after(() => backend.close());
