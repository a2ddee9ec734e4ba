// Node entry point: the browser-safe API plus file I/O (corpora, checkpoints), training and the backend loader.
// `import { train, loadModel, sample } from 'charlm'`.
import type { Backend } from './kernels/backend.js';
import { createBackend, type BackendName } from './kernels/registry.js';
import { loadModelFile, type LoadedModel } from './model/io.js';
import { generate, SAMPLE_DEFAULTS, type SampleOptions } from './sample/generate.js';
import { resolveConfig, type TrainConfig } from './config.js';
import { loadCorpusText } from './data/datasets.js';
import { readTextFile } from './data/corpus.js';
import { evaluateText as evaluateModelText } from './train/evaluate.js';
import { train as trainLoop, type TrainEvent, type TrainResult } from './train/loop.js';

export * from './index.js';
export { createBackend, type BackendName } from './kernels/registry.js';
export { loadModelFile, saveModel, type LoadedModel, type TrainingSummary } from './model/io.js';
export { loadCorpusText, DATASETS } from './data/datasets.js';
export { evaluateTokens, type EvalResult } from './train/evaluate.js';
export type { TrainEvent, TrainResult } from './train/loop.js';

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

export interface TrainApiOptions {
  corpus: string;
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

/** Trains a model on a corpus (file path or named dataset) and writes checkpoints to outDir. */
export async function train(opts: TrainApiOptions): Promise<TrainResult> {
  const config = resolveConfig({ preset: opts.preset, flags: opts.config as Record<string, unknown> | undefined });
  const corpus = await loadCorpusText(opts.corpus);
  return trainLoop({ config, corpus, outDir: opts.outDir ?? `runs/${corpus.name.replace(/\.[^.]*$/, '')}`,
                     resume: opts.resume, force: opts.force, initFrom: opts.initFrom, signal: opts.signal, onEvent: opts.onEvent });
}

export { readTextFile };
export { importStateDict, importModel } from './interop/import.js';
export { readNanoGptMeta } from './interop/nanogpt.js';
export { exportOnnx } from './interop/onnx.js';
export { trainTorch, findTorchPython, type TorchTrainOptions, type TorchRun } from './train/torch-engine.js';
export { createServer, startServer } from './server/index.js';
