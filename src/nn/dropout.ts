// Inverted dropout masks (as torch.nn.Dropout in training mode): entries 0 with probability p and 1/(1-p)
// otherwise, made where the model's buffers live by the backend's counter-hash `dropout` kernel run over ones. One
// Rng draw (the seed) per mask, so the host writes nothing per step and a GPU backend uploads no masks; forward and
// backward are one elementwise multiply each.
import type { Backend, F32 } from '../kernels/backend.js';
import type { Rng } from '../util/rng.js';

export function makeDropoutMask(be: Backend, mask: F32, p: number, rng: Rng): void {
  const seed = rng.nextU32();
  be.fill(mask, 1);
  be.dropout(mask, mask, mask.length, p, seed);
}
