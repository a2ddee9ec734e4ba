// Text generation: prime the model once with the whole prompt, then feed one character at a time with the
// carried recurrent state (the seed's loop re-fed its window and counted context twice). Streams per character.
import type { LanguageModel } from '../model/model.js';
import type { Vocab } from '../data/vocab.js';
import { CharlmError } from '../errors.js';
import { Picker, type PickOptions } from './pick.js';
import { Rng } from '../util/rng.js';

export interface SampleOptions extends PickOptions {
  prime: string;
  length: number;
  seed: number;
  /** What to do with prompt characters outside the vocabulary. */
  unknown: 'error' | 'skip';
}

export const SAMPLE_DEFAULTS: SampleOptions = {
  prime: '', length: 500, temperature: 1, topK: 0, topP: 1, seed: 42, unknown: 'error',
};

export function validateSampleOptions(o: SampleOptions): void {
  const bad = (field: string, why: string): never => {
    throw new CharlmError('BAD_OPTION', `${field} ${why}`, 'see `charlm sample --help`');
  };
  if (!Number.isInteger(o.length) || o.length < 0) bad('length', `must be a whole number ≥ 0, got ${o.length}`);
  if (!Number.isFinite(o.temperature) || o.temperature < 0) bad('temperature', `must be ≥ 0, got ${o.temperature}`);
  if (!Number.isInteger(o.topK) || o.topK < 0) bad('top-k', `must be a whole number ≥ 0 (0 = off), got ${o.topK}`);
  if (!Number.isFinite(o.topP) || o.topP <= 0 || o.topP > 1) bad('top-p', `must be in (0, 1], got ${o.topP}`);
  if (!Number.isInteger(o.seed)) bad('seed', `must be a whole number, got ${o.seed}`);
}

/**
 * Ids to prime the model with. An empty prompt starts from a newline when the vocabulary has one (a natural
 * "start of text" for most corpora), else from the first vocabulary character; either way it is not echoed.
 */
export function primeIds(vocab: Vocab, prime: string, unknown: 'error' | 'skip'): Int32Array {
  const ids = vocab.encode(prime, unknown);
  if (ids.length > 0) return ids;
  const nl = vocab.indexOf('\n');
  return Int32Array.of(nl >= 0 ? nl : 0);
}

/**
 * Generates `length` characters after the prompt, calling onChar for each as soon as it is chosen.
 * Returns the generated text (without the prompt). Same model + same options → same text.
 */
export function generate(model: LanguageModel, vocab: Vocab, opts: SampleOptions, onChar?: (ch: string) => void): string {
  validateSampleOptions(opts);
  const rng = new Rng(opts.seed);
  const picker = new Picker(vocab.size, vocab.bannedIds, model.backend);
  const state = model.createState(1);
  const ids = primeIds(vocab, opts.prime, opts.unknown);
  let logits = model.prime(ids, 1, ids.length, state); // (1,V): the last position's
  const next = new Int32Array(1);
  const out: string[] = [];
  for (let i = 0; i < opts.length; i++) {
    const id = picker.pick(logits, 0, opts, rng);
    const ch = vocab.charAt(id);
    out.push(ch);
    onChar?.(ch);
    next[0] = id;
    logits = model.step(next, state);
  }
  model.releaseState(state);
  return out.join('');
}

/**
 * B independent continuations of the same prompt, stepped together in one batched forward pass per character.
 * Row b draws from its own Rng seeded seed + b.
 */
export function generateBatch(model: LanguageModel, vocab: Vocab, opts: SampleOptions, B: number): string[] {
  validateSampleOptions(opts);
  const V = vocab.size, picker = new Picker(V, vocab.bannedIds, model.backend);
  const rngs = Array.from({ length: B }, (_, b) => new Rng(opts.seed + b));
  const p = primeIds(vocab, opts.prime, opts.unknown);
  const ids = new Int32Array(B * p.length);
  for (let b = 0; b < B; b++) ids.set(p, b * p.length);
  const state = model.createState(B);
  let logits = model.prime(ids, B, p.length, state); // (B,V)
  const next = new Int32Array(B);
  const out: string[][] = Array.from({ length: B }, () => []);
  for (let i = 0; i < opts.length; i++) {
    for (let b = 0; b < B; b++) picker.setRow(b, opts, rngs[b]);
    picker.pickRows(next, logits, B); // all rows in one kernel call
    for (let b = 0; b < B; b++) out[b].push(vocab.charAt(next[b]));
    logits = model.step(next, state);
  }
  model.releaseState(state);
  return out.map((o) => o.join(''));
}
