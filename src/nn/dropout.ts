// Inverted dropout (as torch.nn.Dropout in training mode): mask entries are 0 with probability p and
// 1/(1-p) otherwise, drawn from the passed-in Rng; forward and backward are one elementwise multiply each.
import type { F32 } from '../kernels/backend.js';
import type { Rng } from '../util/rng.js';

export function fillDropoutMask(mask: F32, p: number, rng: Rng): void {
  const keep = 1 / (1 - p);
  const threshold = Math.floor(p * 0x100000000);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.nextU32() < threshold ? 0 : keep;
}
