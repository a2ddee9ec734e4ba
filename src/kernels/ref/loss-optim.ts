// Reference fused softmax-cross-entropy and PyTorch-exact Adam/AdamW.
import type { F32, I32 } from '../backend.js';

export function softmaxXent(dLogits: F32 | null, logits: F32, targets: I32, N: number, V: number,
                            scale: number): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    const o = n * V, t = targets[n];
    if (t < 0) {
      if (dLogits) dLogits.fill(0, o, o + V);
      continue;
    }
    let mx = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v] > mx) mx = logits[o + v];
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[o + v] - mx);
    const logZ = mx + Math.log(sum);
    total += logZ - logits[o + t];
    if (dLogits) {
      for (let v = 0; v < V; v++) dLogits[o + v] = Math.exp(logits[o + v] - logZ) * scale;
      dLogits[o + t] -= scale;
    }
  }
  return total;
}

export function adam(p: F32, g: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number,
                     eps: number, weightDecay: number, adamw: boolean, step: number): void {
  // torch.optim.Adam (foreach=False): bias corrections in float64, then p -= (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps)
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2s = Math.sqrt(1 - Math.pow(beta2, step));
  const stepSize = lr / bc1;
  const decay = adamw ? 1 - lr * weightDecay : 1;
  const l2 = adamw ? 0 : weightDecay;
  for (let i = 0; i < n; i++) {
    let gi = g[i];
    if (l2 !== 0) gi += l2 * p[i];
    if (decay !== 1) p[i] *= decay;
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    p[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / bc2s + eps);
  }
}
