// Saving and loading a trained model as one self-contained .safetensors file: the byte codec is codec.ts
// (browser-safe); this adds the file system, with atomic writes.
import type { Backend } from '../kernels/backend.js';
import type { Vocab } from '../data/vocab.js';
import type { LanguageModel } from './model.js';
import type { LoadLimits } from './limits.js';
import { parseSafetensors } from './safetensors.js';
import { encodeModel, modelFromParsed, type LoadedModel, type TrainingSummary } from './codec.js';
import { readFileBytes, writeFileAtomic } from '../util/fs.js';

export * from './codec.js';

/** Atomic: a crash or a full disk never leaves a half-written file at `path`. */
export function saveModel(path: string, model: LanguageModel, vocab: Vocab, training: TrainingSummary | null,
                          extra: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeModel(model, vocab, training, extra));
}

export function loadModelFile(path: string, backend: Backend, limits: Partial<LoadLimits> = {}): LoadedModel {
  return modelFromParsed(parseSafetensors(readFileBytes(path, 'checkpoint'), path, limits), backend, path, limits);
}
