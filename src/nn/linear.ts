// Linear layer y = x·Wᵀ + b (PyTorch nn.Linear layout: W is (out,in)). Forward/backward over N rows.
// The forward product goes through PackedWeight (pre-packed W where the backend supports it; refreshed by the model).
import type { Backend, F32 } from '../kernels/backend.js';
import { PackedWeight } from './packed.js';

export class Linear {
  readonly w: PackedWeight;
  constructor(readonly W: F32, readonly b: F32, readonly dW: F32, readonly db: F32,
              readonly inF: number, readonly outF: number) {
    this.w = new PackedWeight(W, outF, inF);
  }

  /** y(N,out) = x(N,in)·Wᵀ + b */
  forward(be: Backend, y: F32, x: F32, N: number): void {
    this.w.nt(be, y, x, N, false);
    be.addRowVector(y, this.b, N, this.outF);
  }

  /** dW += dyᵀ·x; db += Σ dy; dx = dy·W (skipped when dx is null). */
  backward(be: Backend, dx: F32 | null, dy: F32, x: F32, N: number): void {
    be.matmul(this.dW, dy, x, this.outF, this.inF, N, true, false, true);
    be.sumRows(this.db, dy, N, this.outF);
    if (dx) be.matmul(dx, dy, this.W, N, this.inF, this.outF, false, false, false);
  }
}
