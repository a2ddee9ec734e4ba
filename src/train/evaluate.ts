// Validation loss over a fixed, deterministic slice of held-out text: the slice is cut into B contiguous streams
// that are read in windows of T with the hidden state carried across windows, so every character after the
// first of each stream is scored with its full left context. Same model + same slice → same number.
import type { CharModel } from '../model/charmodel.js';
import type { Vocab } from '../data/vocab.js';

export interface EvalResult { loss: number; bitsPerChar: number; perplexity: number; chars: number }

export function lossStats(sum: number, count: number): EvalResult {
  const loss = count ? sum / count : NaN;
  return { loss, bitsPerChar: loss / Math.LN2, perplexity: Math.exp(loss), chars: count };
}

/**
 * Mean next-character loss (nats/char) over `tokens`; ids < 0 and ids equal to opts.unknownId (unknown characters
 * in a compact unsigned array) are never scored or fed.
 */
export function evaluateTokens(model: CharModel, tokens: ArrayLike<number>, opts: { B?: number; T?: number; unknownId?: number } = {}): EvalResult {
  const n = tokens.length;
  if (n < 2) return lossStats(0, 0);
  const B = Math.max(1, Math.min(opts.B ?? 16, Math.floor((n - 1) / 2)));
  const T = opts.T ?? 128;
  const unk = opts.unknownId ?? -1;
  const streamLen = Math.floor((n - 1) / B); // inputs per stream; the last stream's tail is dropped
  const state = model.createState(B);
  let sum = 0, count = 0;
  const xFull = new Int32Array(B * T), yFull = new Int32Array(B * T); // reused; only the last window is shorter
  for (let pos = 0; pos < streamLen; pos += T) {
    const t = Math.min(T, streamLen - pos);
    const x = t === T ? xFull : xFull.subarray(0, B * t), y = t === T ? yFull : yFull.subarray(0, B * t);
    for (let b = 0; b < B; b++) {
      const s = b * streamLen + pos;
      for (let k = 0; k < t; k++) {
        let xi = tokens[s + k], yi = tokens[s + k + 1];
        if (xi === unk) xi = -1;
        if (yi === unk) yi = -1;
        x[b * t + k] = xi < 0 ? 0 : xi;
        y[b * t + k] = xi < 0 ? -1 : yi;
      }
    }
    const r = model.lossSum(x, y, B, t, state);
    sum += r.sum; count += r.count;
  }
  return lossStats(sum, count);
}

/** Loss of a model on a text; characters outside the vocabulary are counted (and listed), not scored or fed. */
export function evaluateText(model: CharModel, vocab: Vocab, text: string):
    EvalResult & { charsTotal: number; unknownChars: number; unknownDistinct: string[] } {
  const ids: number[] = [];
  let unknown = 0;
  for (const ch of text) {
    const i = vocab.idOf(ch); // a --max-vocab model scores rare characters as its unknown symbol
    if (i < 0) unknown++;
    ids.push(i);
  }
  return { ...evaluateTokens(model, Int32Array.from(ids)), charsTotal: ids.length, unknownChars: unknown,
           unknownDistinct: vocab.unknownChars(text) };
}
