// Choosing the next character from logits: temperature (0 = greedy argmax), top-k, top-p (nucleus), then a
// draw from the seeded Rng. Scratch buffers are passed in so the per-character path does not allocate.
// Banned ids (a capped vocabulary's unknown symbol) get probability 0 and are never the argmax.
import type { F32 } from '../kernels/backend.js';
import type { Rng } from '../util/rng.js';

export interface PickOptions { temperature: number; topK: number; topP: number }

export class Picker {
  private probs: Float64Array;
  private order: Int32Array;
  private banned: Uint8Array | null = null;
  constructor(readonly V: number, banned: readonly number[] = []) {
    this.probs = new Float64Array(V);
    this.order = new Int32Array(V);
    if (banned.length && banned.length < V) { this.banned = new Uint8Array(V); for (const id of banned) this.banned[id] = 1; }
  }

  /** Next-token probabilities after temperature, top-k and top-p (written into the returned scratch array). */
  distribution(logits: F32, off: number, o: PickOptions): Float64Array {
    const V = this.V, p = this.probs, t = o.temperature > 0 ? o.temperature : 1;
    const ban = this.banned;
    let mx = -Infinity;
    for (let v = 0; v < V; v++) if (!ban || !ban[v]) mx = Math.max(mx, logits[off + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) { p[v] = ban && ban[v] ? 0 : Math.exp((logits[off + v] - mx) / t); sum += p[v]; }
    for (let v = 0; v < V; v++) p[v] /= sum;
    const k = o.topK > 0 && o.topK < V ? o.topK : V;
    if (k < V || (o.topP > 0 && o.topP < 1)) {
      const ord = this.order;
      for (let v = 0; v < V; v++) ord[v] = v;
      ord.sort((a, b) => p[b] - p[a] || a - b);
      let keep = k, cum = 0;
      if (o.topP > 0 && o.topP < 1) {
        for (let i = 0; i < k; i++) { cum += p[ord[i]]; if (cum >= o.topP) { keep = i + 1; break; } }
      }
      let kept = 0;
      for (let i = 0; i < V; i++) { if (i < keep) kept += p[ord[i]]; else p[ord[i]] = 0; }
      for (let v = 0; v < V; v++) p[v] /= kept;
    }
    return p;
  }

  /** One token id. temperature 0 = argmax (ties → lowest id); otherwise a draw from distribution(). */
  pick(logits: F32, off: number, o: PickOptions, rng: Rng): number {
    const V = this.V;
    if (o.temperature <= 0) {
      const ban = this.banned;
      let best = -1;
      for (let v = 0; v < V; v++) if ((!ban || !ban[v]) && (best < 0 || logits[off + v] > logits[off + best])) best = v;
      return best;
    }
    const p = this.distribution(logits, off, o);
    const u = rng.random();
    let cum = 0, last = 0;
    for (let v = 0; v < V; v++) {
      if (p[v] <= 0) continue;
      cum += p[v];
      last = v;
      if (u < cum) return v;
    }
    return last; // rounding: u beyond the accumulated mass
  }
}
