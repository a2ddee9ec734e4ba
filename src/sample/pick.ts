// Choosing the next character from logits: temperature (0 = greedy argmax), top-k, top-p (nucleus), then a
// draw from the seeded Rng. All rows of a step go through one call of the backend's sampleRows kernel (ref's when
// the backend has none); scratch buffers grow with the batch, so the per-character path does not allocate.
// Banned ids (a capped vocabulary's unknown symbol) get probability 0 and are never the argmax.
import type { Backend, F32 } from '../kernels/backend.js';
import { sampleRows as refSampleRows } from '../kernels/ref/sample.js';
import type { Rng } from '../util/rng.js';

export interface PickOptions { temperature: number; topK: number; topP: number }

export class Picker {
  private readonly kernel: NonNullable<Backend['sampleRows']>;
  private readonly banned: Uint8Array | null = null;
  private rows = 0;
  private probs = new Float64Array(0);   // (rows,V) scratch; row 0 is what distribution() returns
  private order = new Int32Array(0);     // (rows,V) scratch
  private ids = new Int32Array(0);       // (rows)
  private u = new Float64Array(0);
  private temp = new Float64Array(0);
  private topK = new Int32Array(0);
  private topP = new Float64Array(0);

  /** backend: whose sampleRows runs the rows (ref's when it has none or none is given). */
  constructor(readonly V: number, banned: readonly number[] = [], backend?: Backend) {
    this.kernel = backend?.sampleRows ?? refSampleRows;
    if (banned.length && banned.length < V) { this.banned = new Uint8Array(V); for (const id of banned) this.banned[id] = 1; }
    this.grow(1);
  }

  private grow(B: number): void {
    if (B <= this.rows) return;
    const V = this.V;
    this.rows = Math.max(B, 2 * this.rows);
    const n = this.rows;
    const keep = <T extends Float64Array | Int32Array>(old: T, fresh: T): T => { fresh.set(old); return fresh; };
    this.probs = new Float64Array(n * V); this.order = new Int32Array(n * V); this.ids = new Int32Array(n);
    // rows already set by setRow keep their options and draws
    this.u = keep(this.u, new Float64Array(n)); this.temp = keep(this.temp, new Float64Array(n));
    this.topK = keep(this.topK, new Int32Array(n)); this.topP = keep(this.topP, new Float64Array(n));
  }

  /**
   * Sets row b's options for the next pickRows and, when it samples (temperature > 0), takes its uniform draw from
   * rng now (greedy rows consume nothing), exactly one per character as before.
   */
  setRow(b: number, o: PickOptions, rng: Rng): void {
    this.grow(b + 1);
    this.temp[b] = o.temperature; this.topK[b] = o.topK; this.topP[b] = o.topP;
    this.u[b] = o.temperature > 0 ? rng.random() : 0;
  }

  /** out[b] = the token for row b of logits (B,V), with the options set by setRow(b, ...) since the last call. */
  pickRows(out: Int32Array, logits: F32, B: number): void {
    this.grow(B);
    this.kernel(out, this.probs, this.order, logits, this.u, this.temp, this.topK, this.topP, this.banned, false, B, this.V);
  }

  /** Next-token probabilities after temperature, top-k and top-p (written into the returned scratch array). */
  distribution(logits: F32, off: number, o: PickOptions): Float64Array {
    const V = this.V;
    this.temp[0] = o.temperature; this.topK[0] = o.topK; this.topP[0] = o.topP; this.u[0] = 0;
    this.kernel(this.ids, this.probs, this.order, this.row(logits, off), this.u, this.temp, this.topK, this.topP,
      this.banned, true, 1, V);
    return this.probs.length === V ? this.probs : this.probs.subarray(0, V);
  }

  /** One token id. temperature 0 = argmax (ties → lowest id); otherwise a draw from distribution(). */
  pick(logits: F32, off: number, o: PickOptions, rng: Rng): number {
    this.setRow(0, o, rng);
    this.kernel(this.ids, this.probs, this.order, this.row(logits, off), this.u, this.temp, this.topK, this.topP,
      this.banned, false, 1, this.V);
    return this.ids[0];
  }

  /** The V logits at off (a view only when they are not already the whole array). */
  private row(logits: F32, off: number): F32 {
    return off === 0 && logits.length === this.V ? logits : logits.subarray(off, off + this.V);
  }
}
