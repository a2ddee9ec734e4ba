// Independent float64 oracles for the Backend kernels, written differently from src/kernels/ref on purpose:
// sigmoid as (1 + tanh(x/2))/2, backward passes as central finite differences of the float64 forward, Adam in its
// textbook form m̂/(√v̂ + ε), cross-entropy as −log of the probability. The kernel suite compares every backend
// with ref; oracle.test.ts compares every backend (ref included) with these.

const sigmoid = (x: number): number => (1 + Math.tanh(x / 2)) / 2;
const FD = 1e-5;   // float64 central differences: error ~FD²·f''' + 1e-16/FD ≈ 1e-10

/** LSTM cell for one unit j from pre-activations (i,f,g,o) and cPrev: [h, c]. */
export function lstmUnit(pi: number, pf: number, pg: number, po: number, cPrev: number): [number, number] {
  const c = sigmoid(pf) * cPrev + sigmoid(pi) * Math.tanh(pg);
  return [sigmoid(po) * Math.tanh(c), c];
}

/** Forward oracle over (B,4H) pre-activations: h, c, tanh(c) and the gate activations. */
export function lstmForward(pre: ArrayLike<number>, cPrev: ArrayLike<number>, B: number, H: number):
    { h: number[]; c: number[]; tanhC: number[]; act: number[] } {
  const h: number[] = [], c: number[] = [], tanhC: number[] = [], act = new Array<number>(B * 4 * H);
  for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
    const g = (k: number) => pre[b * 4 * H + k * H + j];
    const [hv, cv] = lstmUnit(g(0), g(1), g(2), g(3), cPrev[b * H + j]);
    h.push(hv); c.push(cv); tanhC.push(Math.tanh(cv));
    for (const k of [0, 1, 3]) act[b * 4 * H + k * H + j] = sigmoid(g(k));
    act[b * 4 * H + 2 * H + j] = Math.tanh(g(2));
  }
  return { h, c, tanhC, act };
}

/**
 * Backward oracle: the loss L = Σ dh·h + Σ dc·c (dc: the gradient arriving from step t+1), differentiated by finite
 * differences w.r.t. each pre-activation and cPrev.
 */
export function lstmBackward(pre: ArrayLike<number>, cPrev: ArrayLike<number>, dh: ArrayLike<number>, dc: ArrayLike<number>,
                             B: number, H: number): { dGates: number[]; dcPrev: number[] } {
  const dGates = new Array<number>(B * 4 * H), dcPrev: number[] = [];
  for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
    const s = b * H + j, x = [0, 1, 2, 3].map((k) => pre[b * 4 * H + k * H + j]), cp = cPrev[s];
    const L = (v: number[], c0: number) => { const [h, c] = lstmUnit(v[0], v[1], v[2], v[3], c0); return dh[s] * h + dc[s] * c; };
    for (let k = 0; k < 4; k++) {
      const up = x.slice(), dn = x.slice();
      up[k] += FD; dn[k] -= FD;
      dGates[b * 4 * H + k * H + j] = (L(up, cp) - L(dn, cp)) / (2 * FD);
    }
    dcPrev.push((L(x, cp + FD) - L(x, cp - FD)) / (2 * FD));
  }
  return { dGates, dcPrev };
}

/** GRU unit from input and hidden pre-activations (r,z,n each) and hPrev. */
export function gruUnit(gi: number[], gh: number[], hPrev: number): number {
  const r = sigmoid(gi[0] + gh[0]), z = sigmoid(gi[1] + gh[1]);
  const n = Math.tanh(gi[2] + r * gh[2]);
  return (1 - z) * n + z * hPrev;
}

export function gruForward(gi: ArrayLike<number>, gh: ArrayLike<number>, hPrev: ArrayLike<number>, B: number, H: number): number[] {
  const h: number[] = [];
  for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
    const at = (a: ArrayLike<number>) => [0, 1, 2].map((k) => a[b * 3 * H + k * H + j]);
    h.push(gruUnit(at(gi), at(gh), hPrev[b * H + j]));
  }
  return h;
}

/** GRU backward oracle: dGi, dGh by finite differences of Σ dh·h; dhPrevDirect = ∂(Σ dh·h)/∂hPrev with gh held fixed. */
export function gruBackward(gi: ArrayLike<number>, gh: ArrayLike<number>, hPrev: ArrayLike<number>, dh: ArrayLike<number>,
                            B: number, H: number): { dGi: number[]; dGh: number[]; dhPrev: number[] } {
  const dGi = new Array<number>(B * 3 * H), dGh = new Array<number>(B * 3 * H), dhPrev: number[] = [];
  for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
    const s = b * H + j, at = (a: ArrayLike<number>) => [0, 1, 2].map((k) => a[b * 3 * H + k * H + j]);
    const xi = at(gi), xh = at(gh), hp = hPrev[s];
    const L = (a: number[], c: number[], h0: number) => dh[s] * gruUnit(a, c, h0);
    for (let k = 0; k < 3; k++) {
      const up = xi.slice(), dn = xi.slice();
      up[k] += FD; dn[k] -= FD;
      dGi[b * 3 * H + k * H + j] = (L(up, xh, hp) - L(dn, xh, hp)) / (2 * FD);
      const uh = xh.slice(), dhh = xh.slice();
      uh[k] += FD; dhh[k] -= FD;
      dGh[b * 3 * H + k * H + j] = (L(xi, uh, hp) - L(xi, dhh, hp)) / (2 * FD);
    }
    dhPrev.push((L(xi, xh, hp + FD) - L(xi, xh, hp - FD)) / (2 * FD));
  }
  return { dGi, dGh, dhPrev };
}

/** d tanh(pre)/d pre · dh by finite differences, with pre recovered from h = tanh(pre). */
export function tanhBackward(dh: ArrayLike<number>, h: ArrayLike<number>): number[] {
  return Array.from(h, (hv, i) => {
    const pre = Math.atanh(Math.max(-1 + 1e-15, Math.min(1 - 1e-15, hv)));
    return dh[i] * (Math.tanh(pre + FD) - Math.tanh(pre - FD)) / (2 * FD);
  });
}

/** Σ over scored rows of −log p(target) and (p − onehot)·scale, from probabilities normalised in float64. */
export function softmaxXent(logits: ArrayLike<number>, targets: ArrayLike<number>, N: number, V: number, scale: number):
    { loss: number; d: number[] } {
  let loss = 0;
  const d = new Array<number>(N * V).fill(0);
  for (let n = 0; n < N; n++) {
    const t = targets[n];
    if (t < 0) continue;
    const row = Array.from({ length: V }, (_, v) => logits[n * V + v]);
    const mx = Math.max(...row), e = row.map((l) => Math.exp(l - mx)), z = e.reduce((a, b) => a + b, 0);
    loss -= Math.log(e[t] / z);
    for (let v = 0; v < V; v++) d[n * V + v] = (e[v] / z - (v === t ? 1 : 0)) * scale;
  }
  return { loss, d };
}

/** Adam (L2: g + wd·p) or AdamW (p·(1 − lr·wd)) in textbook form over `steps` gradients, in float64. */
export function adam(p0: ArrayLike<number>, grads: ArrayLike<number>[], lr: number, b1: number, b2: number, eps: number,
                     wd: number, adamw: boolean): { p: number[]; m: number[]; v: number[] } {
  const p = Array.from(p0), m = p.map(() => 0), v = p.map(() => 0);
  grads.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      if (adamw) p[i] *= 1 - lr * wd;
      const gi = adamw ? g[i] : g[i] + wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const mh = m[i] / (1 - b1 ** t), vh = v[i] / (1 - b2 ** t);
      p[i] -= (lr * mh) / (Math.sqrt(vh) + eps);
    }
  });
  return { p, m, v };
}

/** torch.nn.utils.clip_grad_norm_: the global L2 norm, and g × max/(norm + 1e-6) when that factor is below 1. */
export function clip(g: ArrayLike<number>, maxNorm: number): { norm: number; g: number[] } {
  const norm = Math.hypot(...Array.from(g));
  const k = maxNorm / (norm + 1e-6);
  return { norm, g: Array.from(g, (v) => (k < 1 ? v * k : v)) };
}
