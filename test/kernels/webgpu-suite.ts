// Child of webgpu.test.ts (run with `node --test` and SwiftShader's Vulkan env): the one shared kernel suite
// (suite.ts) against the webgpu backend. The suite's arrays are plain Float32Arrays, not the backend's own, so each
// call goes through the coherent path (upload, run the WGSL kernel, copy outputs back).
import { after } from 'node:test';
import { createWebGpuBackend } from '../../src/kernels/webgpu/index.js';
import { registerKernelSuite } from './suite.js';

const backend = await createWebGpuBackend();
console.log(`# webgpu adapter: ${backend.adapterName}`);
registerKernelSuite('webgpu', () => backend);
after(() => backend.close());
