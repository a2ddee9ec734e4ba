// Opens a WebGPU device from a `GPU` object: navigator.gpu in the browser, the `webgpu` npm package (Dawn) in Node
// (node-gpu.ts). Browser-safe: no node: import. No adapter is a user-fixable condition, so it is a CharlmError.
/// <reference types="@webgpu/types" />
import { CharlmError } from '../../errors.js';

export interface GpuDevice {
  device: GPUDevice;
  /** Adapter description for logs and `info` ("SwiftShader driver 5.0.0", "NVIDIA H100 …"). */
  adapterName: string;
  /**
   * The GPU object and adapter the device came from. Keep them reachable as long as the device: in Dawn's Node
   * binding the GPU object owns the native instance, and once it is garbage-collected the binding's event pump
   * (which resolves mapAsync) runs on a freed instance and the process crashes in pthread_mutex_lock.
   */
  gpu: GPU;
  adapter: GPUAdapter;
}

/** The hint every "no adapter" error carries: how to get one on Linux, in the browser, or without a GPU. */
export const NO_ADAPTER_HINT = 'install a GPU driver with Vulkan; without a GPU, point Vulkan at SwiftShader: ' +
  'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json LD_LIBRARY_PATH=/usr/lib/chromium (Debian chromium); ' +
  'in a browser, enable WebGPU (chrome://flags) — or use --backend native';

/**
 * Requests an adapter and a device with the adapter's largest storage-buffer limits, and timestamps if asked: only a
 * caller that has turned the runtime's timestamp quantization off asks (node-gpu.ts), so a device with the feature has
 * exact ones (GpuRunner.gpuTime relies on that).
 */
export async function openDevice(gpu: GPU | undefined | null, where: string, opts: { timestamps?: boolean } = {}): Promise<GpuDevice> {
  if (!gpu) throw new CharlmError('NO_WEBGPU_ADAPTER', `no WebGPU adapter found: ${where} has no WebGPU`, NO_ADAPTER_HINT);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new CharlmError('NO_WEBGPU_ADAPTER', `no WebGPU adapter found (${where})`, NO_ADAPTER_HINT);
  const lim = adapter.limits;
  const device = await adapter.requestDevice({
    // (a device without timestamps runs the same: no profile, and the tuner times by the wall clock)
    requiredFeatures: opts.timestamps && adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      maxBufferSize: lim.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(lim.maxStorageBuffersPerShaderStage, 10),
      maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
    },
  });
  const info = adapter.info;
  const adapterName = [info?.description, info?.vendor, info?.architecture].filter(Boolean).join(' / ') || 'unknown adapter';
  return { device, adapterName, gpu, adapter };
}
