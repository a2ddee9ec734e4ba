// Scoring a model on a corpus of any size: files, folders, .gz and datasets are encoded as a stream with the model's
// vocabulary (characters outside it are counted, not scored or fed), through the token cache, then evaluated under
// either protocol (stream or windows, see evaluate.ts).
import type { LanguageModel } from '../model/model.js';
import type { Vocab } from '../data/vocab.js';
import { prepareCorpus, type CorpusInput, type DataEvent } from '../data/prepare.js';
import { evaluate, type EvalOptions, type EvalResult } from './evaluate.js';

export interface CorpusEvalResult extends EvalResult {
  charsTotal: number;
  /** Occurrences of characters outside the vocabulary (not scored); 0 for a --max-vocab model, which scores them as its unknown symbol. */
  unknownChars: number;
  unknownDistinct: string[];
  /** Occurrences scored as the unknown symbol (--max-vocab models). */
  mappedToUnknown: number;
  files: number;
}

export interface CorpusEvalOptions extends Omit<EvalOptions, 'unknownId'> {
  /** Joins the files (default "\n"; pass the separator the model was trained with). */
  separator?: string;
  cache?: boolean | 'auto';
  onEvent?: (e: DataEvent) => void;
}

export async function evaluateCorpus(model: LanguageModel, vocab: Vocab, input: CorpusInput,
                                     opts: CorpusEvalOptions = {}): Promise<CorpusEvalResult> {
  const data = await prepareCorpus(input, { vocab, separator: opts.separator ?? '\n', split: null, unknown: 'mark',
                                            cache: opts.cache, onEvent: opts.onEvent });
  const r = evaluate(model, data.tokens, { protocol: opts.protocol, block: opts.block, samples: opts.samples, seed: opts.seed,
                                          unknownId: data.markId });
  const marked = data.markId >= 0;
  return { ...r, charsTotal: data.tokens.length, unknownChars: marked ? data.unknown.occurrences : 0,
           unknownDistinct: marked ? data.unknown.chars : [], mappedToUnknown: marked ? 0 : data.unknown.occurrences,
           files: data.sources.length };
}
