// All of a model's parameters in one flat Float32Array (and one for gradients), with named views in
// PyTorch state_dict order. One buffer means one Adam call, one gradient-norm call, one copy to save.
import type { F32 } from '../kernels/backend.js';

export interface ParamSpec { name: string; shape: number[] }
export interface ParamEntry extends ParamSpec { offset: number; size: number }

export class ParamStore {
  readonly entries: ParamEntry[];
  readonly data: F32;
  readonly grad: F32;
  private byName = new Map<string, ParamEntry>();

  constructor(specs: ParamSpec[]) {
    let offset = 0;
    this.entries = specs.map((s) => {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const e = { name: s.name, shape: [...s.shape], offset, size };
      offset += size;
      return e;
    });
    for (const e of this.entries) this.byName.set(e.name, e);
    this.data = new Float32Array(offset);
    this.grad = new Float32Array(offset);
  }

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
