// Runs WGSL kernels on one GPUDevice: generates each kernel's binding prelude, caches pipelines, batches dispatches
// into one command encoder, and reads back. Browser-safe (no node: import); Node drives it from worker.ts.
// Arguments are (GPUBuffer, element offset) pairs: whole buffers are bound (binding offsets would have to be
// 256-byte aligned) and offsets travel as uniforms. Two arguments in the same GPUBuffer share one binding, so views
// of one allocation never alias two writable bindings (a WebGPU validation error).
/// <reference types="@webgpu/types" />
import type { MatmulTuner } from './tuner.js';

/** A buffer's element type. 'vec4f' binds it as array<vec4<f32>>: ld_/st_ still take float indices, and ld4_/st4_
 *  move 4 floats at a float index that is a multiple of 4 (the caller checks the view's offset). */
export type Elem = 'f32' | 'i32' | 'vec4f';
/** A kernel: named buffer arguments, u32 and f32 scalars, and a WGSL body using the generated accessors. */
export interface KernelDef {
  name: string;
  bufs: [name: string, elem: Elem][];
  ints?: string[];
  floats?: string[];
  /** WGSL with `@compute` entry point `main`. Accessors: ld_x(i), st_x(i, v) per buffer; d_n() per int; f_n() per float. */
  body: string;
}
export interface GpuArg { buf: GPUBuffer; off: number }
/**
 * See GpuRunner.tuning. attnParts: attention's range count (ops.ts attentionParts; 1 = whole walks). matmul: 'time'
 * picks each SGEMM shape's kernel (and attention's ranges) by timing the candidates on this device (tuner.ts), 'all'
 * also times calls under the tuner's flop floor, 'rule' uses ops.ts's measured rules; by default GPUs time and CPU
 * adapters use the rules.
 */
export interface GpuTuning { attnParts?: number; matmul?: 'rule' | 'time' | 'all' }

const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08, MAP_READ = 0x01, UNIFORM = 0x40, COMPUTE = 0x4;
export const STORAGE_USAGE = STORAGE | COPY_SRC | COPY_DST;
const SLOT = 256, SLOTS = 1024;   // uniform ring: 256-byte slots (minUniformBufferOffsetAlignment)

/** The WGSL prelude for one kernel and one aliasing pattern (slot[k] = binding of buffer argument k). */
function prelude(def: KernelDef, slot: number[]): string {
  const nu = def.bufs.length + (def.ints?.length ?? 0) + (def.floats?.length ?? 0);
  const lines = [`struct U { v: array<vec4u, ${Math.max(1, Math.ceil(nu / 4))}> }`,
    '@group(0) @binding(0) var<uniform> u: U;',
    'fn ui(k: u32) -> u32 { return u.v[k / 4u][k % 4u]; }'];
  const declared = new Set<number>();
  def.bufs.forEach(([name, elem], k) => {
    const b = `b${slot[k]}`;
    if (!declared.has(slot[k])) {
      declared.add(slot[k]);
      lines.push(`@group(0) @binding(${slot[k] + 1}) var<storage, read_write> ${b}: array<${elem === 'vec4f' ? 'vec4<f32>' : elem}>;`);
    }
    if (elem === 'vec4f') {
      lines.push(`fn ld_${name}(i: u32) -> f32 { let j = ui(${k}u) + i; return ${b}[j >> 2u][j & 3u]; }`,
        `fn st_${name}(i: u32, x: f32) { let j = ui(${k}u) + i; ${b}[j >> 2u][j & 3u] = x; }`,
        `fn ld4_${name}(i: u32) -> vec4<f32> { return ${b}[(ui(${k}u) + i) >> 2u]; }`,
        `fn st4_${name}(i: u32, x: vec4<f32>) { ${b}[(ui(${k}u) + i) >> 2u] = x; }`);
      return;
    }
    lines.push(`fn ld_${name}(i: u32) -> ${elem} { return ${b}[ui(${k}u) + i]; }`,
      `fn st_${name}(i: u32, x: ${elem}) { ${b}[ui(${k}u) + i] = x; }`);
  });
  let k = def.bufs.length;
  for (const n of def.ints ?? []) lines.push(`fn d_${n}() -> u32 { return ui(${k++}u); }`);
  for (const n of def.floats ?? []) lines.push(`fn f_${n}() -> f32 { return bitcast<f32>(ui(${k++}u)); }`);
  return lines.join('\n') + '\n';
}

export class GpuRunner {
  readonly device: GPUDevice;
  private pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private uniforms: GPUBuffer;
  /** The uniform ring's host copy: dispatches fill slots here, and flush() uploads the used part in one write. */
  private uniHost = new ArrayBuffer(SLOT * SLOTS);
  private uniU32 = new Uint32Array(this.uniHost);
  private uniF32 = new Float32Array(this.uniHost);
  private slot = 0;
  private encoder: GPUCommandEncoder | null = null;
  /** The open compute pass: consecutive dispatches share one (each dispatch is its own usage scope in WebGPU). */
  private pass: GPUComputePassEncoder | null = null;
  private staging: GPUBuffer | null = null;
  private dummy: GPUBuffer;
  /**
   * Bind groups by (pipeline layout, distinct buffers): the uniform slot is a dynamic offset, so a kernel called
   * again on the same buffers (every time step of a recurrent layer, every training step) reuses its bind group.
   * Creating one cost ~18 µs of the ~36 µs a dispatch took on Dawn (measured on SwiftShader, bench/gpu/webgpu-dispatch.mjs).
   */
  private bindGroups = new Map<string, GPUBindGroup>();
  /** Which cached bind groups name each buffer (dropped when it is destroyed). */
  private groupsOf = new Map<number, string[]>();
  private bufIds = new WeakMap<GPUBuffer, number>();
  private nextBufId = 1;
  /** Objects the GPU may still use: kept reachable until a download shows the queue has passed them. */
  private inFlight: unknown[] = [];
  /**
   * Dispatches per command buffer: a submit every so many lets the GPU start on a step while the worker is still
   * recording the rest of it (a training step waits for its loss, so without this the GPU idles while a whole
   * forward pass is recorded, then the worker idles while it runs). At most SLOTS (the uniform ring).
   */
  submitEvery = 64;
  /** Dispatches recorded and command buffers submitted since creation (bench/gpu/webgpu-dispatch.mjs reports them). */
  readonly counts = { dispatches: 0, submits: 0, bindGroups: 0 };

  /**
   * Per-kernel GPU time (startProfile): each dispatch gets its own compute pass with timestamp writes, resolved at
   * every flush and read back asynchronously into `profile`, by kernel (and matmul shape). Off by default: one pass
   * per dispatch costs the host more, and the GPU times need the timestamp-query feature (device.ts asks for it).
   */
  private prof: { qs: GPUQuerySet; labels: string[]; t0: number; byKernel: Map<string, { n: number; ns: number }>;
    spanNs: number; first: bigint; last: bigint; pending: Promise<void>[] } | null = null;

  /** Whatever must outlive the device (GpuDevice.gpu and .adapter: see device.ts). */
  private readonly owners: unknown[];

  /**
   * The adapter is a CPU implementation (SwiftShader: Dawn's fallback adapter). Kernel choices that were measured
   * differently on a CPU and a GPU (ops.ts's SGEMM tile) follow it.
   */
  readonly fallback: boolean;

  /** Overrides of ops.ts's measured kernel choices, for timing alternatives on one GPU (worker.ts reads them from env). */
  tuning: GpuTuning = {};

  /** SGEMM kernels timed per shape on this device (tuner.ts); absent, ops.ts's measured rule decides. */
  tuner?: MatmulTuner;
  /**
   * Above 0 while the tuner times its candidates: those dispatches stay out of the profile (a kernel the tuner tries
   * and drops is not part of the step being profiled).
   */
  unprofiled = 0;

  constructor(device: GPUDevice, ...owners: unknown[]) {
    this.device = device;
    this.owners = owners;
    const adapter = owners.find((o): o is GPUAdapter => !!o && typeof o === 'object' && 'info' in o);
    const info = adapter?.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined;
    this.fallback = !!info && (info.isFallbackAdapter === true || info.architecture === 'swiftshader');
    this.uniforms = device.createBuffer({ size: SLOT * SLOTS, usage: UNIFORM | COPY_DST });
    this.dummy = this.createBuffer(4);
  }

  private scratchBufs = new Map<string, GPUBuffer>();
  /** A runner-owned buffer of at least n floats, reused by name (per-row losses, partial sums). */
  scratch(name: string, n: number): GpuArg {
    let b = this.scratchBufs.get(name);
    if (!b || b.size < n * 4) {
      if (b) this.destroyBuffer(b);
      b = this.createBuffer(Math.max(n, 256) * 4);
      this.scratchBufs.set(name, b);
    }
    return { buf: b, off: 0 };
  }

  createBuffer(bytes: number): GPUBuffer {
    const buf = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: STORAGE_USAGE });
    this.bufIds.set(buf, this.nextBufId++);
    return buf;
  }

  /** Destroys a buffer after submitting what was recorded (a recorded kernel may use it), and forgets its bind groups. */
  destroyBuffer(buf: GPUBuffer): void {
    this.flush();
    const id = this.bufIds.get(buf);
    if (id !== undefined) {
      for (const key of this.groupsOf.get(id) ?? []) this.bindGroups.delete(key);
      this.groupsOf.delete(id);
    }
    buf.destroy();
  }

  /** The pipeline for one kernel and aliasing pattern; `key` is `${def.name}|${slot}` (dispatch() makes it once). */
  private pipelineFor(key: string, def: KernelDef, slot: number[], nBindings: number) {
    let p = this.pipelines.get(key);
    if (!p) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } }];
      for (let b = 0; b < nBindings; b++) entries.push({ binding: b + 1, visibility: COMPUTE, buffer: { type: 'storage' } });
      const layout = this.device.createBindGroupLayout({ entries });
      const module = this.device.createShaderModule({ code: prelude(def, slot) + def.body, label: def.name });
      const pipeline = this.device.createComputePipeline({
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' }, label: def.name,
      });
      p = { pipeline, layout };
      this.pipelines.set(key, p);
    }
    return p;
  }

  private bindGroupFor(pipeKey: string, layout: GPUBindGroupLayout, distinct: GPUBuffer[]): GPUBindGroup {
    const ids = distinct.map((b) => this.bufIds.get(b));
    if (ids.includes(undefined)) {   // a buffer the runner did not make (tests may pass their own): not cached
      this.counts.bindGroups++;
      const g = this.createBindGroup(layout, distinct);
      this.inFlight.push(g);
      return g;
    }
    const key = `${pipeKey}#${ids.join(',')}`;
    let g = this.bindGroups.get(key);
    if (!g) {
      g = this.createBindGroup(layout, distinct);
      this.counts.bindGroups++;
      this.bindGroups.set(key, g);
      for (const id of new Set(ids as number[])) {
        let list = this.groupsOf.get(id);
        if (!list) this.groupsOf.set(id, list = []);
        list.push(key);
      }
    }
    return g;
  }

  private createBindGroup(layout: GPUBindGroupLayout, distinct: GPUBuffer[]): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniforms, offset: 0, size: SLOT } }];
    distinct.forEach((buf, b) => entries.push({ binding: b + 1, resource: { buffer: buf } }));
    return this.device.createBindGroup({ layout, entries });
  }

  /** Records one dispatch (submitted at the next flush). A null argument binds a dummy buffer (an absent bias). */
  dispatch(def: KernelDef, args: (GpuArg | null)[], ints: number[], floats: number[], groups: [number, number?, number?]): void {
    const distinct: GPUBuffer[] = [], slot: number[] = [];
    for (const a of args) {
      const buf = a ? a.buf : this.dummy;
      let s = distinct.indexOf(buf);
      if (s < 0) { s = distinct.length; distinct.push(buf); }
      slot.push(s);
    }
    const pipeKey = `${def.name}|${slot.join(',')}`;
    const { pipeline, layout } = this.pipelineFor(pipeKey, def, slot, distinct.length);
    const bindGroup = this.bindGroupFor(pipeKey, layout, distinct);
    if (this.slot >= Math.min(this.submitEvery, SLOTS)) this.flush();
    const uOff = this.slot++ * SLOT, u = this.uniU32, f = this.uniF32, base = uOff / 4;
    let k = 0;
    for (const a of args) u[base + k++] = a ? a.off : 0;
    for (const v of ints) u[base + k++] = v >>> 0;
    for (const v of floats) f[base + k++] = v;
    this.encoder ??= this.device.createCommandEncoder();
    const timed = this.prof && !this.unprofiled;
    if (timed) this.beginTimedPass(def, ints);
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup, [uOff]);
    this.pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1);
    if (timed) this.endPass();
    this.counts.dispatches++;
  }

  /** Starts timing kernels on the GPU (needs a device with 'timestamp-query'); false when the device has none. */
  startProfile(): boolean {
    if (!this.device.features.has('timestamp-query')) return false;
    this.flush();
    this.prof = this.newProfile();
    return true;
  }

  private newProfile(): NonNullable<GpuRunner['prof']> {
    return { qs: this.device.createQuerySet({ type: 'timestamp', count: 2 * SLOTS }), labels: [], t0: performance.now(),
      byKernel: new Map(), spanNs: 0, first: -1n, last: 0n, pending: [] };
  }

  /** Whether gpuTime can measure: the device has timestamps, which are exact where it has them (device.ts). */
  get hasGpuClock(): boolean { return this.device.features.has('timestamp-query'); }

  /**
   * The GPU time (ms) of the kernels `fn` dispatches: each in a pass of its own with timestamps at its start and end,
   * summed (GPU time in kernels, not the host's recording nor the gaps between kernels). Needs hasGpuClock. A profile
   * running meanwhile is set aside, and these dispatches stay out of it.
   */
  async gpuTime(fn: () => void): Promise<number> {
    this.flush();
    const saved = this.prof, savedU = this.unprofiled;
    const p = this.prof = this.newProfile();
    this.unprofiled = 0;
    try {
      fn();
      this.flush();
    } finally {
      this.prof = saved;
      this.unprofiled = savedU;
    }
    await Promise.all(p.pending);
    p.qs.destroy();
    let ns = 0;
    for (const e of p.byKernel.values()) ns += e.ns;
    return ns / 1e6;
  }

  /** Opens a one-dispatch pass that writes its start and end times (profile mode). */
  private beginTimedPass(def: KernelDef, ints: number[]): void {
    const p = this.prof!;
    this.endPass();
    const k = p.labels.length;
    // Matmuls by shape (M×N×K, ᵀ for a transposed operand): the same kernel costs very different amounts per product.
    p.labels.push(def.name.startsWith('matmul')
      ? `${def.name} ${ints[0]}×${ints[1]}×${ints[2]}${ints[3] ? ' Aᵀ' : ''}${ints[4] ? ' Bᵀ' : ''}` : def.name);
    this.pass = this.encoder!.beginComputePass({ timestampWrites: { querySet: p.qs, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 } });
  }

  /** Records the resolve of this command buffer's timestamps, and after the submit reads them back into the profile. */
  private resolveTimes(): (() => void) | null {
    const p = this.prof;
    if (!p || p.labels.length === 0 || !this.encoder) return null;
    const n = p.labels.length, labels = p.labels;
    p.labels = [];
    const resolve = this.device.createBuffer({ size: 16 * n, usage: 0x200 /* QUERY_RESOLVE */ | COPY_SRC });
    const read = this.device.createBuffer({ size: 16 * n, usage: MAP_READ | COPY_DST });
    this.encoder.resolveQuerySet(p.qs, 0, 2 * n, resolve, 0);
    this.encoder.copyBufferToBuffer(resolve, 0, read, 0, 16 * n);
    return () => {
      p.pending.push(read.mapAsync(1).then(() => {
        const t = new BigUint64Array(read.getMappedRange());
        for (let k = 0; k < n; k++) {
          const ns = Number(t[2 * k + 1] - t[2 * k]);
          const e = p.byKernel.get(labels[k]) ?? { n: 0, ns: 0 };
          e.n++; e.ns += ns;
          p.byKernel.set(labels[k], e);
        }
        p.spanNs += Number(t[2 * n - 1] - t[0]);
        if (p.first < 0n || t[0] < p.first) p.first = t[0];
        if (t[2 * n - 1] > p.last) p.last = t[2 * n - 1];
        read.unmap(); read.destroy(); resolve.destroy();
      }));
    };
  }

  /**
   * The profile so far, as text: kernels by total GPU time, and the share of the wall time the GPU spent in kernels.
   * Waits for the timestamps already submitted.
   */
  async profileReport(): Promise<string | null> {
    const p = this.prof;
    if (!p) return null;
    this.flush();
    const pending = p.pending; p.pending = [];
    await Promise.all(pending);
    const rows = [...p.byKernel].sort((a, b) => b[1].ns - a[1].ns);
    const total = rows.reduce((s, [, e]) => s + e.ns, 0), wall = performance.now() - p.t0;
    const out = [`# webgpu kernel profile: ${(total / 1e6).toFixed(1)} ms in ${rows.reduce((s, [, e]) => s + e.n, 0)} kernels, ` +
      `over ${wall.toFixed(0)} ms of wall time (GPU busy in kernels ${(100 * total / 1e6 / wall).toFixed(1)}%; ` +
      `first-to-last timestamp per command buffer, summed: ${(p.spanNs / 1e6).toFixed(1)} ms; from the first kernel's ` +
      `start to the last one's end: ${(Number(p.last - p.first) / 1e6).toFixed(1)} ms, of which in kernels ` +
      `${(100 * total / Math.max(1, Number(p.last - p.first))).toFixed(1)}%)`,
      '| kernel | calls | total ms | mean µs | share |', '|---|---:|---:|---:|---:|'];
    for (const [name, e] of rows) {
      out.push(`| ${name} | ${e.n} | ${(e.ns / 1e6).toFixed(2)} | ${(e.ns / e.n / 1e3).toFixed(1)} | ${(100 * e.ns / total).toFixed(1)}% |`);
    }
    return out.join('\n') + '\n';
  }

  /** Ends the open compute pass (before a copy is recorded, or the encoder is finished). */
  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /**
   * Submits what was recorded. The used part of the uniform ring is uploaded first (queue operations run in order,
   * so a later upload into the ring waits for the command buffers submitted before it), and uploads of data
   * (queue.writeBuffer) flush first, so they land after earlier kernels.
   */
  flush(): void {
    if (this.encoder) {
      this.endPass();
      if (this.slot > 0) this.device.queue.writeBuffer(this.uniforms, 0, this.uniHost, 0, this.slot * SLOT);
      const readTimes = this.resolveTimes();
      const cb = this.encoder.finish();
      this.inFlight.push(cb);
      this.device.queue.submit([cb]);
      this.counts.submits++;
      readTimes?.();
    }
    this.encoder = null;
    this.slot = 0;
  }

  upload(buf: GPUBuffer, byteOffset: number, data: ArrayBufferView): void {
    this.flush();
    // Dawn takes no SharedArrayBuffer (Node's host shadows are shared with the main thread): copy those first.
    const src = typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() : data;
    this.device.queue.writeBuffer(buf, byteOffset, src.buffer, src.byteOffset, src.byteLength);
  }

  /** Copies bytes [byteOffset, +bytes) of buf back (after every recorded kernel). */
  async download(buf: GPUBuffer, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (!this.staging || this.staging.size < size) {
      this.staging?.destroy();
      this.staging = this.device.createBuffer({ size, usage: MAP_READ | COPY_DST });
    }
    const staging = this.staging;
    this.encoder ??= this.device.createCommandEncoder();
    this.endPass();
    this.encoder.copyBufferToBuffer(buf, byteOffset, staging, 0, Math.ceil(bytes / 4) * 4);
    this.flush();
    await staging.mapAsync(1 /* GPUMapMode.READ */, 0, size);
    this.inFlight = [];   // the queue reached this copy, so everything before it is done
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    return out;
  }
}

/** Workgroup counts for n threads in groups of `wg`, spread over x and y (x is capped at 65535 groups). */
export function grid(n: number, wg = 256): [number, number] {
  const g = Math.max(1, Math.ceil(n / wg));
  const x = Math.min(g, 65535);
  return [x, Math.ceil(g / x)];
}

/**
 * WGSL for an elementwise kernel over `count` (an int uniform) threads laid out by grid(): `body` sees the flat
 * index `i` (already bounds-checked).
 */
export function elementwise(count: string, body: string): string {
  return `@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) l: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + l;
  if (i >= d_${count}()) { return; }
${body}
}
`;
}
