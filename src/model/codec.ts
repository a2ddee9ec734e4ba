// A trained model as the bytes of one self-contained .safetensors checkpoint: tensors named and shaped as the seed's
// PyTorch state_dict, plus __metadata__ {format, vocab, config, training} so nothing else is needed.
// Browser-safe (no file system): the page's worker encodes and loads checkpoints with it; io.ts adds files.
import type { Backend } from '../kernels/backend.js';
import { CharlmError, isCharlmError } from '../errors.js';
import { Vocab } from '../data/vocab.js';
import { vocabSizeOf, type ModelConfig } from './config.js';
import type { LanguageModel } from './model.js';
import { createModel, family, FAMILY_NAMES } from './registry.js';
import { encodeSafetensors, parseSafetensors, type ParsedSafetensors } from './safetensors.js';
import { checkParamCount, MAX_VOCAB, resolveLoadLimits, specMismatch, type LoadLimits } from './limits.js';
import { parseBoundedJson, type JsonBounds } from '../util/json.js';

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
  ps.read(); // the host copy of the backend's buffer
  const tensors = ps.entries.map((e) => ({ name: e.name, shape: e.shape, data: ps.value(e.name) }));
  const metadata: Record<string, string> = {
    format: FORMAT, format_version: FORMAT_VERSION,
    vocab: JSON.stringify(vocab.chars), config: JSON.stringify(model.config), ...extra,
  };
  if (vocab.unknown !== null) metadata.vocab_unknown = vocab.unknown; // --max-vocab: the unknown symbol (never sampled)
  if (training) metadata.training = JSON.stringify(training);
  return encodeSafetensors(tensors, metadata);
}

function bad(source: string, why: string): CharlmError {
  return new CharlmError('CHECKPOINT_INVALID', `${source} is not a usable charlm checkpoint: ${why}`,
    'pass a .safetensors file written by `charlm train`, or import PyTorch weights with `charlm import`');
}

/** A metadata value parsed as JSON within bounds (a crafted value cannot make the parse itself expensive). */
function parseMeta(meta: Record<string, string>, key: string, source: string, bounds: JsonBounds): unknown {
  const raw = meta[key];
  if (raw === undefined) throw bad(source, `its metadata has no "${key}"`);
  return parseBoundedJson(raw, bounds, (why) => bad(source, `its "${key}" metadata ${why.replace(/^it /, '')}`));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Layers of any family's config (what the --max-layers cap bounds). */
function layersOf(c: Record<string, unknown>): unknown {
  return c.family === 'gpt' ? c.n_layer : c.numLayers;
}

/**
 * A config read from a checkpoint, checked by its family (checkpoints from before families existed are rnn) on its
 * own keys only (`__proto__`, `constructor` are not fields), then against the load limits: the layer cap before the
 * parameter list is built, and the list's total size before anything is allocated.
 */
export function validateModelConfig(raw: unknown, source: string, limits: Partial<LoadLimits> = {}): ModelConfig {
  const lim = resolveLoadLimits(limits);
  if (!isObject(raw)) throw bad(source, 'its config is not an object');
  const c = Object.assign(Object.create(null) as Record<string, unknown>, raw); // own keys only
  const name = c.family === undefined ? 'rnn' : c.family;
  if (typeof name !== 'string' || !(FAMILY_NAMES as string[]).includes(name)) {
    throw bad(source, `unknown model family ${JSON.stringify(name)?.slice(0, 40)}`);
  }
  const layers = layersOf({ ...c, family: name });
  if (typeof layers === 'number' && layers > lim.maxLayers) {
    throw new CharlmError('CHECKPOINT_LIMIT', `${source}: the config asks for ${layers} layers (limit ${lim.maxLayers})`,
      'if the model really is that deep, raise the limit with --max-layers');
  }
  const config = family(name).validate(c, (why) => bad(source, why.slice(0, 200)));
  const V = vocabSizeOf(config);
  if (V > MAX_VOCAB) throw bad(source, `its vocabulary size ${V} is above ${MAX_VOCAB}, the number of Unicode code points`);
  checkParamCount(family(name).paramSpecs(config), lim, (why, hint) => new CharlmError('CHECKPOINT_LIMIT', `${source}: ${why}`, hint));
  return config;
}

/** The training summary, checked field by field; what `info`, the report and the model card read. */
function validateSummary(raw: unknown, source: string): TrainingSummary {
  const fail = (field: string) => bad(source, `its training summary has a bad "${field}"`);
  if (!isObject(raw)) throw bad(source, 'its training summary is not a JSON object');
  const num = (k: string, nullable = false) => {
    const v = Object.hasOwn(raw, k) ? raw[k] : undefined;
    if (typeof v === 'number' ? !Number.isFinite(v) : !(nullable && (v === null || v === undefined))) throw fail(k);
  };
  if (typeof raw.corpus !== 'string') throw fail('corpus');
  if (typeof raw.backend !== 'string') throw fail('backend');
  num('steps'); num('epochs'); num('charsSeen'); num('trainLoss', true); num('valLoss', true); num('bestValLoss', true);
  const okPoint = (p: unknown) => Array.isArray(p) && p.length === 3 && typeof p[0] === 'number'
    && p.slice(1).every((x) => x === null || typeof x === 'number');
  if (!Array.isArray(raw.history) || !raw.history.every(okPoint)) throw fail('history');
  if (raw.trainConfig !== undefined && !isObject(raw.trainConfig)) throw fail('trainConfig');
  return raw as unknown as TrainingSummary;
}

/**
 * Rebuilds the model from a parsed safetensors file. Everything is checked before anything is allocated: the
 * config against the limits, the vocabulary against the config, every tensor's name and shape against the
 * parameter list the config implies (the data is in the file, so those sizes are real); only then is the model
 * built and the data copied into it.
 */
export function modelFromParsed(st: ParsedSafetensors, backend: Backend, source: string,
                                limits: Partial<LoadLimits> = {}): LoadedModel {
  const meta = st.metadata;
  if (meta.format !== FORMAT) {
    throw bad(source, meta.format ? `its format is ${JSON.stringify(meta.format.slice(0, 40))}` : 'it has no "format": "charlm" metadata');
  }
  const config = validateModelConfig(parseMeta(meta, 'config', source, { maxDepth: 2, maxValues: 256 }), source, limits);
  const V = vocabSizeOf(config);
  const chars = parseMeta(meta, 'vocab', source, { maxDepth: 1, maxValues: V + 1 }); // bounded by the (capped) config
  if (!Array.isArray(chars) || chars.some((c) => typeof c !== 'string')) throw bad(source, 'its vocab is not a list of characters');
  if (chars.length !== V) throw bad(source, `its vocab has ${chars.length} characters but the config's vocabulary size is ${V}`);
  const specs = family(config.family).paramSpecs(config);
  const problem = specMismatch(specs, (name) => st.entries.get(name)?.shape);
  if (problem) throw bad(source, problem);
  let vocab: Vocab;
  const unknown = typeof meta.vocab_unknown === 'string' ? meta.vocab_unknown : null; // --max-vocab's unknown symbol
  try { vocab = new Vocab(chars as string[], unknown); } catch (e) { throw isCharlmError(e) ? bad(source, `its ${e.message}`) : e; }
  const training = meta.training ? validateSummary(parseMeta(meta, 'training', source, { maxDepth: 4, maxValues: 100_000 }), source) : null;
  const model = createModel(config, backend);
  for (const s of specs) st.read(s.name, model.params.value(s.name));
  model.params.write();
  model.weightsChanged();
  return { model, vocab, config, training, metadata: meta, source };
}

export function loadModelBytes(bytes: Uint8Array, backend: Backend, source = 'checkpoint', limits: Partial<LoadLimits> = {}): LoadedModel {
  return modelFromParsed(parseSafetensors(bytes, source, limits), backend, source, limits);
}
