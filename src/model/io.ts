// Saving and loading a trained model as one self-contained .safetensors checkpoint: tensors named and shaped as
// the seed's PyTorch state_dict, plus __metadata__ {format, vocab, config, training} so nothing else is needed.
import type { Backend } from '../kernels/backend.js';
import { CharlmError } from '../errors.js';
import { Vocab } from '../data/vocab.js';
import { vocabSizeOf, type ModelConfig } from './config.js';
import type { LanguageModel } from './model.js';
import { createModel, family } from './registry.js';
import { decodeSafetensors, encodeSafetensors, readSafetensorsFile, type DecodedSafetensors } from './checkpoint.js';
import { writeFileAtomic } from '../util/fs.js';

export const FORMAT = 'charlm';
export const FORMAT_VERSION = '1';

/** What a run records about itself in the checkpoint (shown by `charlm info` and the web model card). */
export interface TrainingSummary {
  corpus: string;
  steps: number;
  epochs: number;
  charsSeen: number;
  trainLoss: number | null;
  valLoss: number | null;
  bestValLoss?: number | null;
  backend: string;
  /** A thinned loss curve: [step, trainLoss, valLoss|null] triples. */
  history: [number, number, number | null][];
  /** The full resolved training config. */
  trainConfig?: Record<string, unknown>;
}

export interface LoadedModel {
  model: LanguageModel;
  vocab: Vocab;
  config: ModelConfig;
  training: TrainingSummary | null;
  metadata: Record<string, string>;
  source: string;
}

export function encodeModel(model: LanguageModel, vocab: Vocab, training: TrainingSummary | null,
                            extra: Record<string, string> = {}): Uint8Array {
  const ps = model.params;
  const tensors = ps.entries.map((e) => ({ name: e.name, shape: e.shape, data: ps.value(e.name) }));
  const metadata: Record<string, string> = {
    format: FORMAT, format_version: FORMAT_VERSION,
    vocab: JSON.stringify(vocab.chars), config: JSON.stringify(model.config), ...extra,
  };
  if (training) metadata.training = JSON.stringify(training);
  return encodeSafetensors(tensors, metadata);
}

/** Atomic: a crash or a full disk never leaves a half-written file at `path`. */
export function saveModel(path: string, model: LanguageModel, vocab: Vocab, training: TrainingSummary | null,
                          extra: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeModel(model, vocab, training, extra));
}

function parseJson<T>(meta: Record<string, string>, key: string, source: string): T {
  const raw = meta[key];
  if (raw === undefined) throw bad(source, `its metadata has no "${key}"`);
  try { return JSON.parse(raw) as T; } catch { throw bad(source, `its "${key}" metadata is not valid JSON`); }
}

function bad(source: string, why: string): CharlmError {
  return new CharlmError('CHECKPOINT_INVALID', `${source} is not a usable charlm checkpoint: ${why}`,
    'pass a .safetensors file written by `charlm train`, or import PyTorch weights with `charlm import`');
}

/** A config read from a checkpoint, checked by its family; checkpoints from before families existed are rnn. */
export function validateModelConfig(raw: unknown, source: string): ModelConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad(source, 'its config is not an object');
  const c = raw as Record<string, unknown>;
  const name = c.family === undefined ? 'rnn' : c.family;
  if (typeof name !== 'string' || !['rnn', 'gpt'].includes(name)) throw bad(source, `unknown model family "${String(name)}"`);
  return family(name).validate(c, (why) => bad(source, why));
}

/** Rebuilds the model from decoded safetensors; every tensor must be present with the expected shape. */
export function modelFromDecoded(dec: DecodedSafetensors, backend: Backend, source: string): LoadedModel {
  const meta = dec.metadata;
  if (meta.format !== FORMAT) {
    throw bad(source, meta.format ? `its format is "${meta.format}"` : 'it has no "format": "charlm" metadata');
  }
  const config = validateModelConfig(parseJson<unknown>(meta, 'config', source), source);
  const chars = parseJson<string[]>(meta, 'vocab', source);
  if (!Array.isArray(chars) || chars.some((c) => typeof c !== 'string')) throw bad(source, 'its vocab is not a list of characters');
  const vocab = new Vocab(chars);
  const V = vocabSizeOf(config);
  if (vocab.size !== V) throw bad(source, `its vocab has ${vocab.size} characters but the config's vocabulary size is ${V}`);
  const model = createModel(config, backend);
  for (const e of model.params.entries) {
    const t = dec.tensors.get(e.name);
    if (!t) throw bad(source, `tensor ${e.name} is missing`);
    if (t.shape.join(',') !== e.shape.join(',')) {
      throw bad(source, `tensor ${e.name} has shape [${t.shape}] but the config needs [${e.shape}]`);
    }
    model.params.value(e.name).set(t.data);
  }
  model.weightsChanged();
  const training = meta.training ? parseJson<TrainingSummary>(meta, 'training', source) : null;
  return { model, vocab, config, training, metadata: meta, source };
}

export function loadModelFile(path: string, backend: Backend): LoadedModel {
  return modelFromDecoded(readSafetensorsFile(path), backend, path);
}

export function loadModelBytes(bytes: Uint8Array, backend: Backend, source = 'checkpoint'): LoadedModel {
  return modelFromDecoded(decodeSafetensors(bytes, source), backend, source);
}
