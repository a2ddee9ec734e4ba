// Importing nanoGPT training checkpoints as charlm gpt models. train.py saves torch.save({model, optimizer,
// model_args, iter_num, best_val_loss, config}); the weights carry nanoGPT's own names (charlm's), maybe behind
// torch.compile's `_orig_mod.` prefix, plus `attn.bias` causal-mask buffers (its non-flash path) and lm_head.weight
// tied to transformer.wte.weight. nanoGPT keeps the vocabulary apart, in the meta.pkl prepare.py writes
// ({vocab_size, itos, stoi}), or it is sorted(set(training text)) as prepare.py builds it.
import type { Backend } from '../kernels/backend.js';
import { refBackend } from '../kernels/ref/index.js';
import { CharlmError } from '../errors.js';
import { Vocab } from '../data/vocab.js';
import { readFileBytes } from '../util/fs.js';
import type { GptConfig } from '../model/config.js';
import { gptFamily } from '../model/gpt/family.js';
import { gptParamSpecs } from '../model/gpt/params.js';
import { checkParamCount, resolveLoadLimits, type LoadLimits } from '../model/limits.js';
import type { GptModel } from '../model/gpt/model.js';
import type { NamedTensor } from '../model/checkpoint.js';
import { PyDict, unpickle, type TensorRef } from './pickle.js';
import { toFloat32, type TorchFile } from './torch.js';

export interface NanoGptImportOptions {
  /** nanoGPT's meta.pkl for the model's dataset ({vocab_size, itos, stoi}). */
  meta?: string;
  /** The training text (its path and contents as Python read them): the vocabulary is sorted(set(text)). */
  vocabFrom?: { path: string; text: string };
  backend?: Backend;
  /** Caps checked before the model is allocated (model/limits.ts). */
  limits?: Partial<LoadLimits>;
}

export interface ImportedGpt {
  model: GptModel;
  vocab: Vocab;
  config: GptConfig;
  format: 'nanogpt';
  /** train.py's iter_num and best_val_loss, when the checkpoint has them. */
  iterNum: number | null;
  bestValLoss: number | null;
}

const HINT = 'charlm imports nanoGPT\'s train.py checkpoints (out/ckpt.pt): a dict with model, model_args, optimizer, ...';
const PREFIX = '_orig_mod.';
const MASK = /^transformer\.h\.\d+\.attn\.bias$/;

/** A nanoGPT train.py checkpoint: a dict with a `model` state_dict and `model_args`. */
export function isNanoGptCheckpoint(value: unknown): value is PyDict {
  return value instanceof PyDict && value.map.get('model') instanceof PyDict && value.map.get('model_args') instanceof PyDict;
}

/**
 * Refuses a bare nanoGPT state_dict (torch.save(model.state_dict())) with a clear message: without model_args the
 * head count cannot be read from the shapes.
 */
export function refuseBareNanoGpt(value: unknown, file: string): void {
  const dict = value instanceof PyDict && value.map.get('model') instanceof PyDict ? value.map.get('model') as PyDict : value;
  if (!(dict instanceof PyDict)) return;
  if (dict.map.has('transformer.wte.weight') || dict.map.has(`${PREFIX}transformer.wte.weight`)) {
    throw new CharlmError('IMPORT_NO_MODEL_ARGS', `${file} holds nanoGPT weights but no model_args, and n_head cannot be read from the shapes`,
      'import the out/ckpt.pt that nanoGPT\'s train.py saves, or save one: torch.save({"model": model.state_dict(), ' +
      '"model_args": dict(n_layer=..., n_head=..., n_embd=..., block_size=..., bias=..., vocab_size=..., dropout=0.0)}, "ckpt.pt")');
  }
}

function tensorRef(v: unknown): v is TensorRef {
  return (v as TensorRef)?.kind === 'tensor';
}

/** The checkpoint's weights, its config and its vocabulary → a charlm GptModel. */
export function importNanoGpt(file: string, ckpt: TorchFile, opts: NanoGptImportOptions = {}): ImportedGpt {
  const top = ckpt.value;
  if (!isNanoGptCheckpoint(top)) throw new CharlmError('IMPORT_NOT_NANOGPT', `${file} is not a nanoGPT checkpoint (no model/model_args)`, HINT);
  const config = modelArgs(top.map.get('model_args') as PyDict, file);
  const lim = resolveLoadLimits(opts.limits); // before anything is allocated
  if (config.n_layer > lim.maxLayers) {
    throw new CharlmError('IMPORT_LIMIT', `${file}: model_args ask for ${config.n_layer} layers (limit ${lim.maxLayers})`,
      'if the model really is that deep, raise the limit with --max-layers');
  }
  checkParamCount(gptParamSpecs(config), lim, (why, hint) => new CharlmError('IMPORT_LIMIT', `${file}: ${why}`, hint));
  const vocab = vocabFor(file, config, opts);
  const model = gptFamily.create(config, opts.backend ?? refBackend) as GptModel;
  const tensors = weights(top.map.get('model') as PyDict, ckpt, file);
  const used = new Set<string>();
  for (const e of model.params.entries) {
    const t = tensors.get(e.name);
    if (!t) throw new CharlmError('IMPORT_MISSING_TENSOR', `${file}: tensor ${e.name} is missing (model_args need it)`, HINT);
    if (t.shape.join(',') !== e.shape.join(',')) {
      throw new CharlmError('IMPORT_SHAPE', `${file}: tensor ${e.name} has shape [${t.shape}] but model_args need [${e.shape}]`, HINT);
    }
    model.params.value(e.name).set(t.data);
    used.add(e.name);
  }
  for (const name of tensors.keys()) {
    if (!used.has(name)) throw new CharlmError('IMPORT_UNEXPECTED_TENSOR', `${file}: tensor ${name} has no place in a GPT with these model_args`, HINT);
  }
  model.params.write();
  model.weightsChanged();
  const iter = top.map.get('iter_num'), best = top.map.get('best_val_loss');
  const bestValLoss = typeof best === 'number' ? best
    : tensorRef(best) && best.shape.length === 0 ? toFloat32('best_val_loss', best, ckpt.storages, file).data[0] : null;
  return { model, vocab, config, format: 'nanogpt', iterNum: typeof iter === 'number' ? iter : null, bestValLoss };
}

/** model_args → a checked GptConfig (n_embd divisible by n_head, positive sizes, bias a bool). */
function modelArgs(args: PyDict, file: string): GptConfig {
  const raw: Record<string, unknown> = { family: 'gpt' };
  for (const [k, v] of args.map) if (typeof k === 'string') raw[k] = v;
  return gptFamily.validate(raw, (why) => new CharlmError('IMPORT_BAD_CONFIG', `${file}: model_args: ${why.replace(/^config\./, '')}`,
    'nanoGPT itself cannot build this model either; the checkpoint was edited or damaged'));
}

/**
 * The state_dict as named float32 tensors under nanoGPT's names: the `_orig_mod.` prefix stripped (per key, as
 * nanoGPT's sample.py does), the attention-mask buffers dropped, and lm_head.weight checked to be wte's (tied).
 */
function weights(sd: PyDict, ckpt: TorchFile, file: string): Map<string, NamedTensor> {
  const refs = new Map<string, TensorRef>();
  for (const [key, t] of sd.map) {
    if (typeof key !== 'string') throw new CharlmError('PTH_INVALID', `${file}: the model state_dict has a non-string key`, HINT);
    const name = key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key;
    if (!tensorRef(t)) throw new CharlmError('PTH_INVALID', `${file}: model entry ${key} is not a tensor`, HINT);
    if (MASK.test(name)) continue; // the causal mask nanoGPT registers as a buffer: charlm's attention is causal by construction
    if (refs.has(name)) throw new CharlmError('PTH_INVALID', `${file}: tensor ${name} appears twice (with and without ${PREFIX})`, HINT);
    refs.set(name, t);
  }
  const head = refs.get('lm_head.weight'), wte = refs.get('transformer.wte.weight');
  refs.delete('lm_head.weight');
  const out = new Map<string, NamedTensor>();
  for (const [name, t] of refs) out.set(name, toFloat32(name, t, ckpt.storages, file));
  if (head && wte && !sameView(head, wte)) {
    const a = toFloat32('lm_head.weight', head, ckpt.storages, file), b = out.get('transformer.wte.weight')!;
    if (a.shape.join(',') !== b.shape.join(',') || a.data.some((v, i) => v !== b.data[i])) {
      throw new CharlmError('IMPORT_UNTIED', `${file}: lm_head.weight differs from transformer.wte.weight; charlm's GPT ties them, as nanoGPT does`,
        'this is not a nanoGPT model.py checkpoint (its lm_head is always the token embedding)');
    }
  }
  return out;
}

function sameView(a: TensorRef, b: TensorRef): boolean {
  return a.storage.key === b.storage.key && a.offset === b.offset && a.shape.join(',') === b.shape.join(',')
    && a.stride.join(',') === b.stride.join(',');
}

function vocabFor(file: string, config: GptConfig, opts: NanoGptImportOptions): Vocab {
  const V = config.vocab_size;
  if (opts.meta && opts.vocabFrom) {
    throw new CharlmError('BAD_OPTION', 'give either --meta or --vocab-from, not both', 'meta.pkl already holds the vocabulary prepare.py built');
  }
  if (opts.meta) {
    const vocab = readNanoGptMeta(opts.meta);
    if (vocab.size !== V) {
      throw new CharlmError('VOCAB_MISMATCH', `${opts.meta} has ${vocab.size} characters but ${file} was trained with vocab_size ${V}`,
        'use the meta.pkl of the dataset this model was trained on (data/<dataset>/meta.pkl)');
    }
    return vocab;
  }
  if (opts.vocabFrom) {
    const vocab = Vocab.fromText(opts.vocabFrom.text);
    if (vocab.size !== V) {
      throw new CharlmError('VOCAB_MISMATCH', `${opts.vocabFrom.path} has ${vocab.size} distinct characters but ${file} was trained ` +
        `with vocab_size ${V}; it must be the exact text prepare.py read`,
        V > 1000 ? 'this model uses GPT-2 tokens, not characters: charlm imports character-level nanoGPT models only'
                 : 'pass data/<dataset>/input.txt, or --meta data/<dataset>/meta.pkl');
    }
    return vocab;
  }
  throw new CharlmError('VOCAB_REQUIRED', `importing ${file} (a nanoGPT checkpoint) needs --meta <meta.pkl> or --vocab-from <input.txt>: ` +
    'nanoGPT keeps the vocabulary outside the checkpoint', 'e.g. --meta data/shakespeare_char/meta.pkl');
}

/** nanoGPT's meta.pkl ({vocab_size, itos, stoi} from prepare.py, a plain pickle) → the vocabulary in id order. */
export function readNanoGptMeta(path: string): Vocab {
  const bad = (why: string) => new CharlmError('META_INVALID', `${path}: ${why}`,
    'pass the meta.pkl that nanoGPT\'s data/<dataset>/prepare.py wrote for this model\'s dataset');
  const { value } = unpickle(readFileBytes(path, 'meta.pkl'), 0, { source: path });
  if (!(value instanceof PyDict)) throw bad('it does not hold a dict');
  const V = value.map.get('vocab_size'), itos = value.map.get('itos'), stoi = value.map.get('stoi');
  if (typeof V !== 'number' || !Number.isSafeInteger(V) || V < 1) throw bad('vocab_size is missing or not a positive integer');
  if (!(itos instanceof PyDict)) throw bad('itos (id → character) is missing or not a dict');
  if (itos.map.size !== V) throw bad(`itos has ${itos.map.size} entries but vocab_size is ${V}`);
  const chars: string[] = [];
  for (let i = 0; i < V; i++) {
    const ch = itos.map.get(i);
    if (typeof ch !== 'string') throw bad(`itos has no character for id ${i}`);
    chars.push(ch);
  }
  let vocab: Vocab;
  try { vocab = new Vocab(chars); } catch (e) { throw bad(`itos: ${(e as Error).message}`); }
  if (stoi !== undefined) {
    if (!(stoi instanceof PyDict) || stoi.map.size !== V || chars.some((ch, i) => stoi.map.get(ch) !== i)) {
      throw bad('stoi is not the inverse of itos');
    }
  }
  return vocab;
}
