// Validation loss over held-out text, under one of two named protocols (both deterministic for a given model):
//   stream  — the text is cut into B contiguous streams read in windows of T with the state carried across windows,
//             so every character after the first of each stream is scored with all the left context the model keeps
//             (recurrent state; a sliding KV cache for gpt). charlm's protocol since the start.
//   windows — nanoGPT's estimate_loss: independent windows of `block` characters, nothing carried, every position
//             of each window counted (so early positions see little context). By default the windows tile the text
//             (each character scored once); with `samples` they are drawn at seeded random offsets, as nanoGPT does.
import type { LanguageModel } from '../model/model.js';
import type { Vocab } from '../data/vocab.js';
import { Rng } from '../util/rng.js';

export interface EvalResult { loss: number; bitsPerChar: number; perplexity: number; chars: number }

export type EvalProtocol = 'stream' | 'windows';
export const EVAL_PROTOCOLS: readonly EvalProtocol[] = ['stream', 'windows'];

export interface EvalOptions {
  protocol?: EvalProtocol;
  /** windows: characters per window (default: the model's context limit, else 256). */
  block?: number;
  /** windows: random windows to draw (0 = tile the text). */
  samples?: number;
  seed?: number;
  /** Ids equal to this are unknown characters too (a compact unsigned token array cannot hold -1). */
  unknownId?: number;
}

/** The window length the windows protocol uses for this model. */
export function windowBlock(model: LanguageModel, block?: number): number {
  const lim = model.contextLimit;
  const b = block && block > 0 ? block : lim ?? 256;
  return lim !== null ? Math.min(b, lim) : b;
}

/** Loss under the named protocol. */
export function evaluate(model: LanguageModel, tokens: ArrayLike<number>, o: EvalOptions = {}): EvalResult {
  return (o.protocol ?? 'stream') === 'windows'
    ? evaluateWindows(model, tokens, windowBlock(model, o.block), o.samples ?? 0, o.seed ?? 1337, o.unknownId)
    : evaluateTokens(model, tokens, { unknownId: o.unknownId });
}

/**
 * nanoGPT-style loss: independent windows of `block` inputs (targets shifted by one), no carried state. samples = 0
 * tiles the text with non-overlapping windows (the last partial window included); else `samples` windows at random
 * offsets from Rng(seed). Unknown characters (ids < 0) are fed as 0 and never scored.
 */
export function evaluateWindows(model: LanguageModel, tokens: ArrayLike<number>, block: number, samples = 0,
                                seed = 1337, unknownId = -1): EvalResult {
  const n = tokens.length;
  if (n < 2) return lossStats(0, 0);
  const T = Math.min(block, n - 1), B = 16;
  const starts: number[] = [];
  if (samples > 0) {
    const rng = new Rng(seed);
    for (let i = 0; i < samples; i++) starts.push(rng.int(n - T));
  } else for (let s = 0; s + 1 < n; s += T) starts.push(s);
  let sum = 0, count = 0;
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  for (let i = 0; i < starts.length; i += B) {
    const rows = Math.min(B, starts.length - i);
    for (let b = 0; b < rows; b++) {
      const s = starts[i + b];
      for (let k = 0; k < T; k++) {
        const inRange = s + k + 1 < n;
        let xi = inRange ? tokens[s + k] : -1, yi = inRange ? tokens[s + k + 1] : -1;
        if (xi === unknownId) xi = -1;
        if (yi === unknownId) yi = -1;
        x[b * T + k] = xi < 0 ? 0 : xi;
        y[b * T + k] = xi < 0 || yi < 0 ? -1 : yi;
      }
    }
    const r = model.lossSum(x.subarray(0, rows * T), y.subarray(0, rows * T), rows, T, null);
    sum += r.sum; count += r.count;
  }
  return lossStats(sum, count);
}

export function lossStats(sum: number, count: number): EvalResult {
  const loss = count ? sum / count : NaN;
  return { loss, bitsPerChar: loss / Math.LN2, perplexity: Math.exp(loss), chars: count };
}

/**
 * Mean next-character loss (nats/char) over `tokens`; ids < 0 and ids equal to opts.unknownId (unknown characters
 * in a compact unsigned array) are never scored or fed.
 */
export function evaluateTokens(model: LanguageModel, tokens: ArrayLike<number>, opts: { B?: number; T?: number; unknownId?: number } = {}): EvalResult {
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
  model.releaseState(state);
  return lossStats(sum, count);
}

/** Loss of a model on a text; characters outside the vocabulary are counted (and listed), not scored or fed. */
export function evaluateText(model: LanguageModel, vocab: Vocab, text: string, opts: EvalOptions = {}):
    EvalResult & { charsTotal: number; unknownChars: number; unknownDistinct: string[] } {
  const ids: number[] = [];
  let unknown = 0;
  for (const ch of text) {
    const i = vocab.idOf(ch); // a --max-vocab model scores rare characters as its unknown symbol
    if (i < 0) unknown++;
    ids.push(i);
  }
  return { ...evaluate(model, Int32Array.from(ids), opts), charsTotal: ids.length, unknownChars: unknown,
           unknownDistinct: vocab.unknownChars(text) };
}
