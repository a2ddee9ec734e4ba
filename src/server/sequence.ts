// One sample being generated: its own Rng and sampling options, the text so far, stop-string handling, and
// how much of the text is safe to stream (a tail that could still become a stop string is held back).
import type { ModelState } from '../model/model.js';
import type { PickOptions } from '../sample/pick.js';
import type { Rng } from '../util/rng.js';

export type FinishReason = 'length' | 'stop' | 'timeout' | 'cancelled';

export interface SampleResult { text: string; finishReason: FinishReason; chars: number }

export interface SequenceSpec {
  /** Primed state (B = 1); the sequence takes ownership. */
  state: ModelState;
  /** Logits (V) for the first generated character, from priming. */
  logits: Float32Array;
  rng: Rng;
  pick: PickOptions;
  length: number;
  stops: string[];
  /** Date.now() after which the sample ends with 'timeout'. */
  deadline: number;
  /** Streamed text, in order; never includes (part of) a stop string. */
  onText?: (text: string) => void;
  onFinish: (r: SampleResult) => void;
}

export class Sequence {
  text = '';
  /** Characters picked so far (code points), stops included. */
  count = 0;
  emitted = 0;
  lastId = 0;
  /** Row in the batcher's batched state, or -1 while it still owns its B = 1 state. */
  row = -1;
  finished: FinishReason | null = null;

  constructor(readonly spec: SequenceSpec) {}

  /** Appends one picked character; returns true when the sample is now complete. */
  push(id: number, ch: string): boolean {
    this.lastId = id;
    this.text += ch;
    this.count++;
    for (const s of this.spec.stops) {
      if (this.text.endsWith(s)) {
        this.text = this.text.slice(0, this.text.length - s.length);
        this.finish('stop');
        return true;
      }
    }
    if (this.count >= this.spec.length) { this.finish('length'); return true; }
    return false;
  }

  /** Sends the text that can no longer turn into a stop string. */
  flush(): void {
    const onText = this.spec.onText;
    if (!onText) return;
    const end = this.finished ? this.text.length : this.text.length - this.holdback();
    if (end > this.emitted) {
      onText(this.text.slice(this.emitted, end));
      this.emitted = end;
    }
  }

  /** Longest tail of the text that is a proper prefix of some stop string. */
  private holdback(): number {
    let best = 0;
    for (const s of this.spec.stops) {
      for (let k = Math.min(s.length - 1, this.text.length); k > best; k--) {
        if (this.text.endsWith(s.slice(0, k))) { best = k; break; }
      }
    }
    return best;
  }

  finish(reason: FinishReason): void {
    if (this.finished) return;
    this.finished = reason;
    if (reason === 'cancelled') return;
    this.flush();
    this.spec.onFinish({ text: this.text, finishReason: reason, chars: [...this.text].length });
  }
}
