// Node entry point: the browser-safe API plus file I/O (corpora, checkpoints), training and the backend loader.
// `import { train, loadModel, sample } from 'charlm'`.
import type { Backend } from './kernels/backend.js';
import { createBackend, type BackendName } from './kernels/registry.js';
import { loadModelFile, type LoadedModel } from './model/io.js';
import { generate, SAMPLE_DEFAULTS, type SampleOptions } from './sample/generate.js';
import { resolveConfig, type TrainConfig } from './config.js';
import { loadCorpusText, DATASETS } from './data/datasets.js';
import { readTextFile } from './data/corpus.js';
import { evaluateText as evaluateModelText, type EvalOptions } from './train/evaluate.js';
import { train as trainLoop, type TrainEvent, type TrainResult } from './train/loop.js';
import { corpusFromPaths, type CorpusInput } from './data/prepare.js';
import { evaluateCorpus as evaluateModelCorpus, type CorpusEvalResult } from './train/evaluate-corpus.js';

export * from './index.js';
export { createBackend, type BackendName } from './kernels/registry.js';
export { loadModelFile, saveModel, type LoadedModel, type TrainingSummary } from './model/io.js';
export { loadCorpusText, DATASETS } from './data/datasets.js';
export { evaluateTokens, type EvalResult } from './train/evaluate.js';
export type { TrainEvent, TrainResult } from './train/loop.js';
export { prepareCorpus, corpusFromPaths, CACHE_MIN_BYTES, type CorpusInput, type PreparedCorpus, type DataEvent } from './data/prepare.js';
export { listCache, clearCache, tokenCacheDir, type CacheEntryInfo } from './data/tokencache.js';
export type { CorpusEvalResult } from './train/evaluate-corpus.js';
export { exportWebSite, type SiteResult } from './web/site.js';

export interface LoadOptions { backend?: BackendName | Backend; threads?: number }

async function pickBackend(b: LoadOptions['backend'], threads?: number): Promise<Backend> {
  if (b && typeof b === 'object') return b;
  return createBackend(b ?? 'auto', { threads });
}

/** Loads a .safetensors checkpoint written by charlm. */
export async function loadModel(path: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  return loadModelFile(path, await pickBackend(opts.backend, opts.threads));
}

/** Generates text after opts.prime; onChar streams each character. Returns the generated text (without prime). */
export function sample(lm: LoadedModel, opts: Partial<SampleOptions> = {}, onChar?: (ch: string) => void): string {
  return generate(lm.model, lm.vocab, { ...SAMPLE_DEFAULTS, ...opts }, onChar);
}

/** Loss of a model on a text (nats/char, bits/char, perplexity); characters outside the vocabulary are counted, not scored. */
export function evaluateText(lm: LoadedModel, text: string): ReturnType<typeof evaluateModelText> {
  return evaluateModelText(lm.model, lm.vocab, text);
}

/**
 * Loss of a model on a corpus of any size: files, folders, .gz files or dataset names, joined with the separator the
 * model was trained with, streamed into tokens (through the token cache).
 */
export async function evaluateCorpus(lm: LoadedModel, corpus: string | string[] | CorpusInput,
                                     opts: EvalOptions & { include?: string[]; exclude?: string[]; cache?: boolean | 'auto' } = {}): Promise<CorpusEvalResult> {
  const separator = (lm.training?.trainConfig?.separator as string | undefined) ?? '\n';
  const { include, exclude, cache, ...evalOpts } = opts;
  return evaluateModelCorpus(lm.model, lm.vocab, toInput(corpus, include, exclude), { ...evalOpts, separator, cache });
}

function toInput(corpus: string | string[] | CorpusInput, include?: string[], exclude?: string[]): CorpusInput {
  return typeof corpus === 'string' || Array.isArray(corpus) ? corpusFromPaths([corpus].flat(), include, exclude) : corpus;
}

export interface TrainApiOptions {
  /** A file, a folder, a .gz file or a named dataset; several of them; or a CorpusInput (e.g. in-memory text). */
  corpus: string | string[] | CorpusInput;
  /** Globs for the files found in folders. */
  include?: string[];
  exclude?: string[];
  /** Token cache: 'auto' (default: file corpora of 16 MB or more), true, false. */
  cache?: boolean | 'auto';
  config?: Partial<TrainConfig>;
  preset?: string;
  outDir?: string;
  resume?: boolean;
  /** Start a fresh run in an outDir that already holds one. */
  force?: boolean;
  initFrom?: string;
  signal?: AbortSignal;
  onEvent?: (ev: TrainEvent) => void;
}

/** Trains a model on a corpus (files, folders, .gz, named datasets) and writes checkpoints to outDir. */
export async function train(opts: TrainApiOptions): Promise<TrainResult> {
  const config = resolveConfig({ preset: opts.preset, flags: opts.config as Record<string, unknown> | undefined });
  // One named dataset is read as text, as it always was; anything else streams from files.
  const corpus = typeof opts.corpus === 'string' && DATASETS.some((d) => d.name === opts.corpus)
    ? await loadCorpusText(opts.corpus) : toInput(opts.corpus, opts.include, opts.exclude);
  return trainLoop({ config, corpus, outDir: opts.outDir ?? `runs/${corpus.name.replace(/\.[^.]*$/, '')}`, cache: opts.cache,
                     resume: opts.resume, force: opts.force, initFrom: opts.initFrom, signal: opts.signal, onEvent: opts.onEvent });
}

export { readTextFile };
export { importStateDict, importModel } from './interop/import.js';
export { readNanoGptMeta } from './interop/nanogpt.js';
export { exportOnnx } from './interop/onnx.js';
export { trainTorch, findTorchPython, type TorchTrainOptions, type TorchRun } from './train/torch-engine.js';
export { createServer, startServer } from './server/index.js';
