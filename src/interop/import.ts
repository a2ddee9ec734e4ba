// Importing a PyTorch state_dict (torch.save .pth, zip or legacy, or a .safetensors file) as a charlm model:
// the architecture (cell, V, E, H, L) is inferred from the tensor names and shapes, every tensor is checked, and
// the vocabulary is rebuilt as the seed did — sorted(set(training text)) — because the seed never saved it.
// importModel() also takes nanoGPT's train.py checkpoints (nanogpt.ts) and returns either family.
import type { Backend } from '../kernels/backend.js';
import { refBackend } from '../kernels/ref/index.js';
import { CharlmError, isCharlmError } from '../errors.js';
import { Vocab } from '../data/vocab.js';
import { decodeUtf8 } from '../data/corpus.js';
import { readFileBytes } from '../util/fs.js';
import { parseBoundedJson } from '../util/json.js';
import { RnnModel, paramSpecs } from '../model/rnn/model.js';
import { cellPrefix, type RnnConfig } from '../model/config.js';
import { parseSafetensors } from '../model/checkpoint.js';
import { checkParamCount, MAX_VOCAB, resolveLoadLimits, type LoadLimits } from '../model/limits.js';
import type { CellType } from '../nn/recurrent.js';
import { readTorchFile, stateDictOf, type LazyStateDict, type TorchFile } from './torch.js';
import { importNanoGpt, isNanoGptCheckpoint, refuseBareNanoGpt, type ImportedGpt } from './nanogpt.js';
import { isZip } from './zip.js';

export interface ImportOptions {
  /** The exact text the model was trained on; its sorted distinct characters are the vocabulary. */
  vocabFrom?: string;
  /** nanoGPT checkpoints only: the meta.pkl of the model's dataset (its vocabulary). */
  meta?: string;
  backend?: Backend;
  /** Caps on parameters, layers, header size and zip inflation (defaults: DEFAULT_LOAD_LIMITS). */
  limits?: Partial<LoadLimits>;
}

export interface ImportedModel {
  model: RnnModel;
  vocab: Vocab;
  config: RnnConfig;
  format: 'pth' | 'safetensors';
}

const SEED_NOTE = 'the seed never saved its vocabulary; --vocab-from must be the exact training text';
const HINT = 'charlm imports the seed\'s model: embed (Embedding) → lstm/gru/rnn (batch_first, unidirectional) → fc (Linear)';
const BY_GATES: Record<number, CellType> = { 4: 'lstm', 3: 'gru', 1: 'rnn' };

/** The result of importModel: the seed's recurrent model or a nanoGPT GPT (tell them apart by `format`). */
export type ImportedAny = ImportedModel | ImportedGpt;

const isTorchFile = (bytes: Uint8Array) => isZip(bytes) || (bytes.length >= 2 && bytes[0] === 0x80);

/** Any importable file: a nanoGPT checkpoint (ckpt.pt, with opts.meta or opts.vocabFrom) or a state_dict file. */
export function importModel(file: string, opts: ImportOptions = {}): ImportedAny {
  return importModelBytes(readFileBytes(file, 'checkpoint file'), file, opts);
}

/** importModel over bytes already read; `file` names them in errors. */
export function importModelBytes(bytes: Uint8Array, file: string, opts: ImportOptions = {}): ImportedAny {
  if (isTorchFile(bytes)) {
    const torch = readTorchFile(bytes, file, { limits: opts.limits });
    if (isNanoGptCheckpoint(torch.value)) {
      return importNanoGpt(file, torch, { meta: opts.meta, backend: opts.backend, limits: opts.limits,
        vocabFrom: opts.vocabFrom ? { path: opts.vocabFrom, text: readAsPython(opts.vocabFrom) } : undefined });
    }
    refuseBareNanoGpt(torch.value, file);
    return importStateDictBytes(bytes, file, opts, torch);
  }
  return importStateDictBytes(bytes, file, opts);
}

/**
 * Reads a state_dict file (.pth zip/legacy or .safetensors) and builds the model and its vocabulary. Names, shapes
 * and the parameter count are checked against the inferred architecture and the load limits before any storage is
 * inflated or any model buffer is allocated.
 */
export function importStateDict(file: string, opts: ImportOptions = {}, fileBytes?: Uint8Array): ImportedModel {
  return importStateDictBytes(fileBytes ?? readFileBytes(file, 'state_dict file'), file, opts);
}

/** importStateDict over bytes already read (and maybe already unpickled); `file` names them in errors. */
export function importStateDictBytes(bytes: Uint8Array, file: string, opts: ImportOptions = {}, torch?: TorchFile): ImportedModel {
  const limits = resolveLoadLimits(opts.limits);
  if (opts.meta) {
    throw new CharlmError('BAD_OPTION', `--meta is for nanoGPT checkpoints, and ${file} is not one`,
      'a state_dict of the seed\'s model takes --vocab-from <training text>');
  }
  let sd: LazyStateDict;
  let format: ImportedModel['format'];
  let savedVocab: string | null = null;
  if (isTorchFile(bytes)) {
    sd = stateDictOf(torch ?? readTorchFile(bytes, file, { limits }), file);
    format = 'pth';
  } else if (bytes.length > 9 && bytes[8] === 0x7b /* '{' */) {
    const st = parseSafetensors(bytes, file, limits);
    sd = { shapes: new Map(st.order.map((n) => [n, st.entries.get(n)!.shape])), read: (n, into) => { st.read(n, into); } };
    format = 'safetensors';
    savedVocab = st.metadata.vocab ?? null;
  } else {
    throw new CharlmError('IMPORT_UNKNOWN_FORMAT', `${file} is neither a torch.save file (.pth) nor a .safetensors file`,
      'save the weights in PyTorch with torch.save(model.state_dict(), "model.pth")');
  }
  const names = unwrapNames([...sd.shapes.keys()]);
  const shapes = new Map([...names].map(([clean, orig]) => [clean, sd.shapes.get(orig)!]));
  const config = inferConfig(shapes, file, limits);
  const pre = recurrentPrefix(shapes, file);
  const fileName = (spec: string) => (spec.startsWith(`${cellPrefix(config.cell)}.`) ? pre + spec.slice(cellPrefix(config.cell).length) : spec);
  const specs = paramSpecs(config);
  checkParamCount(specs, limits, (why, hint) => new CharlmError('IMPORT_LIMIT', `${file}: ${why}`, hint));
  const used = new Set<string>();
  for (const spec of specs) {
    const name = fileName(spec.name), shape = shapes.get(name);
    if (!shape) {
      throw new CharlmError('IMPORT_MISSING_TENSOR', `${file}: tensor ${name} is missing (a ${config.numLayers}-layer ${config.cell.toUpperCase()} needs it)`, HINT);
    }
    if (shape.join(',') !== spec.shape.join(',')) throw shapeError(file, name, shape, `[${spec.shape}]`);
    used.add(name);
  }
  for (const name of shapes.keys()) {
    if (!used.has(name)) {
      throw new CharlmError('IMPORT_UNEXPECTED_TENSOR', `${file}: tensor ${name.slice(0, 200)} has no place in charlm's model ` +
        '(bidirectional or projected LSTMs and extra modules are not supported)', HINT);
    }
  }
  const vocab = buildVocab(opts.vocabFrom, savedVocab, config.vocabSize, file);
  // Everything is checked: now build the model and read (inflate) the data, tensor by tensor.
  const model = new RnnModel(config, opts.backend ?? refBackend);
  for (const spec of specs) sd.read(names.get(fileName(spec.name))!, model.params.value(spec.name));
  model.params.write();
  model.weightsChanged();
  return { model, vocab, config, format };
}

function buildVocab(vocabFrom: string | undefined, saved: string | null, V: number, file: string): Vocab {
  if (!vocabFrom && saved !== null) {
    const chars = parseBoundedJson(saved, { maxDepth: 1, maxValues: V + 1 }, (why) =>
      new CharlmError('IMPORT_BAD_VOCAB', `${file}: its saved vocabulary ${why.replace(/^it /, '')}`, 'pass the training text with --vocab-from'));
    if (!Array.isArray(chars) || chars.length !== V || chars.some((c) => typeof c !== 'string')) {
      throw new CharlmError('IMPORT_BAD_VOCAB', `${file}: its saved vocabulary is not a list of ${V} characters (embed.weight has ${V} rows)`,
        'pass the training text with --vocab-from');
    }
    try { return new Vocab(chars as string[]); } catch (e) {
      throw isCharlmError(e) ? new CharlmError('IMPORT_BAD_VOCAB', `${file}: its saved ${e.message}`, 'pass the training text with --vocab-from') : e;
    }
  }
  if (!vocabFrom) {
    throw new CharlmError('VOCAB_REQUIRED', `importing ${file} needs --vocab-from <text file>: ${SEED_NOTE}`,
      'pass the training text, e.g. --vocab-from data/input.txt');
  }
  const vocab = Vocab.fromText(readAsPython(vocabFrom));
  if (vocab.size !== V) {
    throw new CharlmError('VOCAB_MISMATCH',
      `${vocabFrom} has ${vocab.size} distinct characters but ${file}'s embed.weight has ${V} rows; ${SEED_NOTE}`,
      'use the very file the model was trained on (same encoding, nothing added or removed)');
  }
  return vocab;
}

/**
 * The text exactly as the seed saw it: open(path, 'r', encoding='utf-8') keeps a BOM as the character U+FEFF and
 * (universal newlines) turns \r\n and lone \r into \n, so a Windows file gives the same vocabulary as in Python.
 */
export function readAsPython(file: string): string {
  const bytes = readFileBytes(file, 'vocabulary text');
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return (bom ? '\ufeff' : '') + decodeUtf8(bytes, file).replace(/\r\n?/g, '\n');
}

/**
 * DataParallel/DDP ('module.') and torch.compile ('_orig_mod.') wrap the names; strips a prefix shared by all.
 * Returns clean name → name in the file.
 */
function unwrapNames(names: string[]): Map<string, string> {
  let map = new Map(names.map((n) => [n, n]));
  for (const pre of ['module.', '_orig_mod.']) {
    const clean = [...map.keys()];
    if (clean.length && clean.every((n) => n.startsWith(pre))) map = new Map(clean.map((n) => [n.slice(pre.length), map.get(n)!]));
  }
  return map;
}

/** The recurrent module's name in the file: `lstm` in the seed (even a GRU may hide under it), or gru/rnn. */
function recurrentPrefix(shapes: Map<string, number[]>, file: string): string {
  const found = ['lstm', 'gru', 'rnn'].filter((p) => shapes.has(`${p}.weight_hh_l0`));
  if (found.length !== 1) {
    throw new CharlmError('IMPORT_MISSING_TENSOR', found.length
      ? `${file} has several recurrent modules (${found.join(', ')})`
      : `${file} has no recurrent layer: tensor lstm.weight_hh_l0 (or gru./rnn.) is missing`, HINT);
  }
  return found[0];
}

/** Infers the architecture from names and shapes (tensor name → shape), within the load limits. */
export function inferConfig(shapes: Map<string, number[]>, file: string, limits: Partial<LoadLimits> = {}): RnnConfig {
  const lim = resolveLoadLimits(limits);
  const embed = shapes.get('embed.weight');
  if (!embed) throw new CharlmError('IMPORT_MISSING_TENSOR', `${file}: tensor embed.weight is missing`, HINT);
  if (embed.length !== 2 || embed[0] < 1 || embed[1] < 1) throw shapeError(file, 'embed.weight', embed, '[V, E]');
  if (embed[0] > MAX_VOCAB) throw shapeError(file, 'embed.weight', embed, `at most ${MAX_VOCAB} rows (one per Unicode code point)`);
  const pre = recurrentPrefix(shapes, file);
  const whh = shapes.get(`${pre}.weight_hh_l0`)!;
  const [G, H] = whh;
  const cell = whh.length === 2 && H > 0 && G % H === 0 ? BY_GATES[G / H] : undefined;
  if (!cell) throw shapeError(file, `${pre}.weight_hh_l0`, whh, '[4H, H] (LSTM), [3H, H] (GRU) or [H, H] (RNN)');
  let L = 0;
  while (shapes.has(`${pre}.weight_ih_l${L}`) || shapes.has(`${pre}.weight_hh_l${L}`)) {
    if (++L > lim.maxLayers) {
      throw new CharlmError('IMPORT_LIMIT', `${file} has more than ${lim.maxLayers} recurrent layers`,
        'if the model really is that deep, raise the limit with --max-layers');
    }
  }
  return { family: 'rnn', cell, vocabSize: embed[0], embeddingDim: embed[1], hiddenSize: H, numLayers: L, dropout: 0, embedDropout: 0 };
}

function shapeError(file: string, name: string, shape: readonly number[], expected: string): CharlmError {
  return new CharlmError('IMPORT_SHAPE', `${file}: tensor ${name} has shape [${shape}] but ${expected} is needed`, HINT);
}
