// Reference recurrent-cell pointwise kernels (LSTM i,f,g,o and GRU r,z,n in PyTorch's layouts).
// The GEMMs around them live in nn/; these only do the per-element gate math and its derivative.
import type { F32 } from '../backend.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function lstmCellForward(h: F32, c: F32, tanhC: F32, gates: F32, cPrev: F32, B: number, H: number): void {
  const G = 4 * H;
  for (let b = 0; b < B; b++) {
    const g0 = b * G, s0 = b * H;
    for (let j = 0; j < H; j++) {
      const ig = sigmoid(gates[g0 + j]);
      const fg = sigmoid(gates[g0 + H + j]);
      const gg = Math.tanh(gates[g0 + 2 * H + j]);
      const og = sigmoid(gates[g0 + 3 * H + j]);
      gates[g0 + j] = ig; gates[g0 + H + j] = fg; gates[g0 + 2 * H + j] = gg; gates[g0 + 3 * H + j] = og;
      const cv = fg * cPrev[s0 + j] + ig * gg;
      c[s0 + j] = cv;
      const tc = Math.tanh(cv);
      tanhC[s0 + j] = tc;
      h[s0 + j] = og * tc;
    }
  }
}

export function lstmCellBackward(dGates: F32, dcPrev: F32, dh: F32, dc: F32, gates: F32, cPrev: F32, tanhC: F32,
                                 B: number, H: number): void {
  const G = 4 * H;
  for (let b = 0; b < B; b++) {
    const g0 = b * G, s0 = b * H;
    for (let j = 0; j < H; j++) {
      const ig = gates[g0 + j], fg = gates[g0 + H + j], gg = gates[g0 + 2 * H + j], og = gates[g0 + 3 * H + j];
      const tc = tanhC[s0 + j];
      const dhv = dh[s0 + j];
      const dcv = dc[s0 + j] + dhv * og * (1 - tc * tc);
      dGates[g0 + j] = dcv * gg * ig * (1 - ig);
      dGates[g0 + H + j] = dcv * cPrev[s0 + j] * fg * (1 - fg);
      dGates[g0 + 2 * H + j] = dcv * ig * (1 - gg * gg);
      dGates[g0 + 3 * H + j] = dhv * tc * og * (1 - og);
      dcPrev[s0 + j] = dcv * fg;
    }
  }
}

export function gruCellForward(h: F32, act: F32, gi: F32, gh: F32, hPrev: F32, B: number, H: number): void {
  const G = 3 * H, A = 4 * H;
  for (let b = 0; b < B; b++) {
    const g0 = b * G, a0 = b * A, s0 = b * H;
    for (let j = 0; j < H; j++) {
      const r = sigmoid(gi[g0 + j] + gh[g0 + j]);
      const z = sigmoid(gi[g0 + H + j] + gh[g0 + H + j]);
      const ghn = gh[g0 + 2 * H + j];
      const n = Math.tanh(gi[g0 + 2 * H + j] + r * ghn);
      act[a0 + j] = r; act[a0 + H + j] = z; act[a0 + 2 * H + j] = n; act[a0 + 3 * H + j] = ghn;
      h[s0 + j] = (1 - z) * n + z * hPrev[s0 + j];
    }
  }
}

export function gruCellBackward(dGi: F32, dGh: F32, dhPrev: F32, dh: F32, act: F32, hPrev: F32,
                                B: number, H: number): void {
  const G = 3 * H, A = 4 * H;
  for (let b = 0; b < B; b++) {
    const g0 = b * G, a0 = b * A, s0 = b * H;
    for (let j = 0; j < H; j++) {
      const r = act[a0 + j], z = act[a0 + H + j], n = act[a0 + 2 * H + j], ghn = act[a0 + 3 * H + j];
      const d = dh[s0 + j];
      const dn = d * (1 - z) * (1 - n * n);          // through tanh
      const dz = d * (hPrev[s0 + j] - n) * z * (1 - z);
      const dr = dn * ghn * r * (1 - r);
      dGi[g0 + j] = dr; dGi[g0 + H + j] = dz; dGi[g0 + 2 * H + j] = dn;
      dGh[g0 + j] = dr; dGh[g0 + H + j] = dz; dGh[g0 + 2 * H + j] = dn * r;
      dhPrev[s0 + j] += d * z;
    }
  }
}
