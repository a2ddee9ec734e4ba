// All of a model's parameters in one flat Float32Array (and one for gradients), with named views in
// PyTorch state_dict order. One buffer means one Adam call, one gradient-norm call, one copy to save.
// Both buffers are the backend's (BackendMemory): read() before the host looks at values, write() after it sets them.
import type { BackendMemory, F32 } from '../kernels/backend.js';

export interface ParamSpec { name: string; shape: number[] }
export interface ParamEntry extends ParamSpec { offset: number; size: number }

export class ParamStore {
  readonly entries: ParamEntry[];
  readonly data: F32;
  readonly grad: F32;
  private byName = new Map<string, ParamEntry>();

  constructor(specs: ParamSpec[], private readonly mem: BackendMemory) {
    let offset = 0;
    this.entries = specs.map((s) => {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const e = { name: s.name, shape: [...s.shape], offset, size };
      offset += size;
      return e;
    });
    for (const e of this.entries) this.byName.set(e.name, e);
    this.data = mem.alloc(offset);
    this.grad = mem.alloc(offset);
  }

  /** Makes the host copy of every value current (before saving, hashing or exporting); returns data. */
  read(): F32 { this.mem.read(this.data); return this.data; }

  /** The host wrote values (initialisation, a load): the backend's copy follows. Then call weightsChanged(). */
  write(): void { this.mem.write(this.data); }

  /** Makes the host copy of every gradient current (tests, diagnostics); returns grad. */
  readGrad(): F32 { this.mem.read(this.grad); return this.grad; }

  get size(): number { return this.data.length; }

  entry(name: string): ParamEntry {
    const e = this.byName.get(name);
    if (!e) throw new Error(`no parameter named ${name}`);
    return e;
  }

  has(name: string): boolean { return this.byName.has(name); }

  /** A view of one parameter's values (shares memory). */
  value(name: string): F32 {
    const e = this.entry(name);
    return this.data.subarray(e.offset, e.offset + e.size);
  }

  /** A view of one parameter's gradient (shares memory). */
  gradOf(name: string): F32 {
    const e = this.entry(name);
    return this.grad.subarray(e.offset, e.offset + e.size);
  }
}
