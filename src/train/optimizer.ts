// Adam/AdamW state over the model's one flat parameter buffer, and gradient clipping by global norm.
// The moments are the backend's buffers (read() them before saving, write() them after a resume sets them).
import type { Backend, BackendMemory, F32 } from '../kernels/backend.js';

/** A contiguous run of parameters in the flat buffer that share one weight-decay setting. */
interface Group { off: number; n: number; decay: boolean }

export class Adam {
  readonly m: F32; readonly v: F32;
  step = 0;
  private readonly groups: Group[];
  /**
   * decays/entries (optional): which parameters weight decay applies to (nanoGPT's AdamW decays matrices only);
   * without them every parameter decays, as torch.optim over model.parameters().
   */
  constructor(mem: BackendMemory, readonly n: number, decays?: boolean[], entries?: { offset: number; size: number }[],
              readonly beta1 = 0.9, readonly beta2 = 0.999, readonly eps = 1e-8) {
    this.m = mem.alloc(n);
    this.v = mem.alloc(n);
    this.groups = [];
    if (!decays || !entries || decays.every((d) => d)) this.groups.push({ off: 0, n, decay: true });
    else entries.forEach((e, i) => {
      const last = this.groups[this.groups.length - 1];
      if (last && last.decay === decays[i] && last.off + last.n === e.offset) last.n += e.size;
      else this.groups.push({ off: e.offset, n: e.size, decay: decays[i] });
    });
  }
  update(be: Backend, p: F32, g: F32, lr: number, weightDecay: number, adamw: boolean): void {
    this.step++;
    if (this.groups.length === 1 && this.groups[0].decay) {
      be.adam(p, g, this.m, this.v, this.n, lr, this.beta1, this.beta2, this.eps, weightDecay, adamw, this.step);
      return;
    }
    for (const { off, n, decay } of this.groups) {
      const end = off + n;
      be.adam(p.subarray(off, end), g.subarray(off, end), this.m.subarray(off, end), this.v.subarray(off, end), n, lr,
              this.beta1, this.beta2, this.eps, decay ? weightDecay : 0, adamw, this.step);
    }
  }
}

/** Scales g so its global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_); returns the norm before. */
export function clipGradNorm(be: Backend, g: F32, maxNorm: number): number {
  const norm = Math.sqrt(be.sumSquares(g, g.length));
  if (maxNorm > 0 && norm > maxNorm) be.scale(g, g.length, maxNorm / (norm + 1e-6));
  return norm;
}
