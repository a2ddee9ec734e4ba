// Adam/AdamW state over the model's one flat parameter buffer, and gradient clipping by global norm.
import type { Backend, F32 } from '../kernels/backend.js';

export class Adam {
  readonly m: F32; readonly v: F32;
  step = 0;
  constructor(readonly n: number, readonly beta1 = 0.9, readonly beta2 = 0.999, readonly eps = 1e-8) {
    this.m = new Float32Array(n);
    this.v = new Float32Array(n);
  }
  update(be: Backend, p: F32, g: F32, lr: number, weightDecay: number, adamw: boolean): void {
    this.step++;
    be.adam(p, g, this.m, this.v, this.n, lr, this.beta1, this.beta2, this.eps, weightDecay, adamw, this.step);
  }
}

/** Scales g so its global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_); returns the norm before. */
export function clipGradNorm(be: Backend, g: F32, maxNorm: number): number {
  const norm = Math.sqrt(be.sumSquares(g, g.length));
  if (maxNorm > 0 && norm > maxNorm) be.scale(g, g.length, maxNorm / (norm + 1e-6));
  return norm;
}
