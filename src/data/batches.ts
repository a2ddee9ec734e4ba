// Training batches without materialising windows (memory stays O(corpus)):
// RandomWindows draws T+1-character windows at uniformly random offsets (the distribution of the seed's shuffled
// stride-1 windows); StatefulStreams walks B contiguous streams through the corpus (char-rnn style) so the hidden
// state can be carried across batches. Both expose their position for resume.
import type { I32 } from '../kernels/backend.js';
import type { Rng } from '../util/rng.js';
import type { Tokens } from './corpus.js';

export interface Batcher {
  /** Fills x(B,T) with inputs and y(B,T) with next-character targets. */
  next(x: I32, y: I32): void;
  /** True when the carried hidden state must be reset before this batch (stream wrap-around). */
  readonly resetState: boolean;
  getState(): number[];
  setState(s: number[]): void;
}

export class RandomWindows implements Batcher {
  readonly resetState = true;
  constructor(private tokens: Tokens, readonly B: number, readonly T: number, private rng: Rng) {
    if (tokens.length < T + 1) throw new Error('corpus shorter than T+1 (checked earlier)');
  }
  next(x: I32, y: I32): void {
    const { B, T, tokens } = this, span = tokens.length - T; // valid starts: 0 .. N-T-1
    for (let b = 0; b < B; b++) {
      const s = this.rng.int(span), o = b * T;
      for (let t = 0; t < T; t++) { x[o + t] = tokens[s + t]; y[o + t] = tokens[s + t + 1]; }
    }
  }
  getState(): number[] { return []; } // position lives in the Rng, which the loop saves
  setState(): void {}
}

export class StatefulStreams implements Batcher {
  private pos = 0;       // offset within each stream
  private wrapped = true;
  readonly streamLen: number;
  constructor(private tokens: Tokens, readonly B: number, readonly T: number) {
    this.streamLen = Math.floor((tokens.length - 1) / B);
    if (this.streamLen < T) throw new Error('stream shorter than T (checked earlier)');
  }
  get resetState(): boolean { return this.wrapped; }
  next(x: I32, y: I32): void {
    const { B, T, tokens } = this;
    if (this.pos + T > this.streamLen) { this.pos = 0; this.wrapped = true; }
    for (let b = 0; b < B; b++) {
      const s = b * this.streamLen + this.pos, o = b * T;
      for (let t = 0; t < T; t++) { x[o + t] = tokens[s + t]; y[o + t] = tokens[s + t + 1]; }
    }
    this.pos += T;
  }
  /** Called by the loop after it has applied (or ignored) resetState for this batch. */
  consumedReset(): void { this.wrapped = false; }
  getState(): number[] { return [this.pos, this.wrapped ? 1 : 0]; }
  setState(s: number[]): void { this.pos = s[0] ?? 0; this.wrapped = (s[1] ?? 1) === 1; }
}
