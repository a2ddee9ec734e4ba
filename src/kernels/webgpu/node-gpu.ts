// Node's WebGPU: the `webgpu` npm package (Dawn; its tarball carries the linux-x64 binary). An optional dependency:
// a machine without it still runs every other backend, and --backend webgpu says how to get it.
/// <reference types="@webgpu/types" />
import { CharlmError } from '../../errors.js';
import { openDevice, type GpuDevice } from './device.js';

interface DawnModule { create(flags: string[]): GPU; globals: Record<string, unknown> }

/** Dawn's GPU object (and its GPUBufferUsage… globals installed, as a browser has them). */
export async function nodeGpu(flags: string[] = []): Promise<GPU> {
  let mod: DawnModule;
  try {
    mod = (await import('webgpu')) as unknown as DawnModule;
  } catch (e) {
    throw new CharlmError('WEBGPU_UNAVAILABLE', `the webgpu package is not installed: ${(e as Error).message.split('\n')[0]}`,
      'npm install webgpu (an optional dependency of charlm), or use --backend native');
  }
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  return mod.create(flags);
}

/**
 * The device has exact timestamps (where the adapter has the timestamp-query feature), for a profile
 * (GpuRunner.startProfile) and for the tuner, which times candidate kernels by their GPU time (GpuRunner.gpuTime). Dawn
 * rounds timestamp queries to ~65 µs unless its timestamp_quantization feature is off (a browser's guard against
 * timing attacks; a kernel takes microseconds). A browser's device has no timestamps (gpu-worker.ts): its tuner
 * times by the wall clock.
 * `unchecked`: Dawn's disable_robustness toggle. WebGPU clamps every storage-buffer index in every kernel to the
 * binding's length (robustness, the guard against untrusted shaders reading other memory); charlm's kernels are its
 * own and in bounds by construction (the kernel suite checks each against ref), so Node may drop the clamps from the
 * inner loops. Opt-in (CHARLM_WEBGPU_ROBUSTNESS=off): on H200s it made shakespeare-gpt train 10-13% faster and the
 * other presets no faster (docs/performance.md), not worth dropping a memory-safety guard by default.
 */
export async function openNodeDevice(opts: { unchecked?: boolean } = {}): Promise<GpuDevice> {
  const flags = ['disable-dawn-features=timestamp_quantization'];
  if (opts.unchecked) flags.push('enable-dawn-features=disable_robustness');
  return openDevice(await nodeGpu(flags), 'Node (webgpu package, Dawn)', { timestamps: true });
}
