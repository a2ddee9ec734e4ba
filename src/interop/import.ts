// Importing a PyTorch state_dict (torch.save .pth, zip or legacy, or a .safetensors file) as a charlm model:
// the architecture (cell, V, E, H, L) is inferred from the tensor names and shapes, every tensor is checked, and
// the vocabulary is rebuilt as the seed did — sorted(set(training text)) — because the seed never saved it.
// importModel() also takes nanoGPT's train.py checkpoints (nanogpt.ts) and returns either family.
import type { Backend } from '../kernels/backend.js';
import { refBackend } from '../kernels/ref/index.js';
import { CharlmError } from '../errors.js';
import { Vocab } from '../data/vocab.js';
import { decodeUtf8 } from '../data/corpus.js';
import { readFileBytes } from '../util/fs.js';
import { RnnModel, paramSpecs } from '../model/rnn/model.js';
import { cellPrefix, type RnnConfig } from '../model/config.js';
import { decodeSafetensors, type NamedTensor } from '../model/checkpoint.js';
import type { CellType } from '../nn/recurrent.js';
import { readTorchFile, readTorchStateDict } from './torch.js';
import { importNanoGpt, isNanoGptCheckpoint, refuseBareNanoGpt, type ImportedGpt } from './nanogpt.js';
import { isZip } from './zip.js';

export interface ImportOptions {
  /** The exact text the model was trained on; its sorted distinct characters are the vocabulary. */
  vocabFrom?: string;
  /** nanoGPT checkpoints only: the meta.pkl of the model's dataset (its vocabulary). */
  meta?: string;
  backend?: Backend;
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
  const bytes = readFileBytes(file, 'checkpoint file');
  if (isTorchFile(bytes)) {
    const torch = readTorchFile(bytes, file);
    if (isNanoGptCheckpoint(torch.value)) {
      return importNanoGpt(file, torch, { meta: opts.meta, backend: opts.backend,
        vocabFrom: opts.vocabFrom ? { path: opts.vocabFrom, text: readAsPython(opts.vocabFrom) } : undefined });
    }
    refuseBareNanoGpt(torch.value, file);
  }
  return importStateDict(file, opts, bytes);
}

/** Reads a state_dict file (.pth zip/legacy or .safetensors) and builds the model and its vocabulary. */
export function importStateDict(file: string, opts: ImportOptions = {}, fileBytes?: Uint8Array): ImportedModel {
  const bytes = fileBytes ?? readFileBytes(file, 'state_dict file');
  if (opts.meta) {
    throw new CharlmError('BAD_OPTION', `--meta is for nanoGPT checkpoints, and ${file} is not one`,
      'a state_dict of the seed\'s model takes --vocab-from <training text>');
  }
  let tensors: Map<string, NamedTensor>;
  let format: ImportedModel['format'];
  let savedVocab: string[] | null = null;
  if (isTorchFile(bytes)) {
    tensors = readTorchStateDict(bytes, file);
    format = 'pth';
  } else if (bytes.length > 9 && bytes[8] === 0x7b /* '{' */) {
    const dec = decodeSafetensors(bytes, file);
    tensors = dec.tensors;
    format = 'safetensors';
    if (dec.metadata.vocab) try { savedVocab = JSON.parse(dec.metadata.vocab) as string[]; } catch { /* rebuilt below */ }
  } else {
    throw new CharlmError('IMPORT_UNKNOWN_FORMAT', `${file} is neither a torch.save file (.pth) nor a .safetensors file`,
      'save the weights in PyTorch with torch.save(model.state_dict(), "model.pth")');
  }
  const config = inferConfig(tensors, file);
  const model = modelFromStateDict(tensors, config, opts.backend ?? refBackend, file);
  const vocab = buildVocab(opts.vocabFrom, savedVocab, config.vocabSize, file);
  return { model, vocab, config, format };
}

function buildVocab(vocabFrom: string | undefined, saved: string[] | null, V: number, file: string): Vocab {
  if (!vocabFrom && saved) return new Vocab(saved);
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

/** DataParallel/DDP ('module.') and torch.compile ('_orig_mod.') wrap the names; strip a prefix shared by all. */
function unwrapNames(tensors: Map<string, NamedTensor>): Map<string, NamedTensor> {
  for (const pre of ['module.', '_orig_mod.']) {
    const names = [...tensors.keys()];
    if (names.length && names.every((n) => n.startsWith(pre))) {
      tensors = new Map(names.map((n) => [n.slice(pre.length), { ...tensors.get(n)!, name: n.slice(pre.length) }]));
    }
  }
  return tensors;
}

/** The recurrent module's name in the file: `lstm` in the seed (even a GRU may hide under it), or gru/rnn. */
function recurrentPrefix(tensors: Map<string, NamedTensor>, file: string): string {
  const found = ['lstm', 'gru', 'rnn'].filter((p) => tensors.has(`${p}.weight_hh_l0`));
  if (found.length !== 1) {
    throw new CharlmError('IMPORT_MISSING_TENSOR', found.length
      ? `${file} has several recurrent modules (${found.join(', ')})`
      : `${file} has no recurrent layer: tensor lstm.weight_hh_l0 (or gru./rnn.) is missing`, HINT);
  }
  return found[0];
}

/** Infers the architecture from names and shapes; the shapes themselves are checked in modelFromStateDict. */
export function inferConfig(raw: Map<string, NamedTensor>, file: string): RnnConfig {
  const tensors = unwrapNames(raw);
  const embed = tensors.get('embed.weight');
  if (!embed) throw new CharlmError('IMPORT_MISSING_TENSOR', `${file}: tensor embed.weight is missing`, HINT);
  if (embed.shape.length !== 2) throw shapeError(file, 'embed.weight', embed.shape, '[V, E]');
  const pre = recurrentPrefix(tensors, file);
  const whh = tensors.get(`${pre}.weight_hh_l0`)!;
  const [G, H] = whh.shape;
  const cell = whh.shape.length === 2 && H > 0 && G % H === 0 ? BY_GATES[G / H] : undefined;
  if (!cell) throw shapeError(file, whh.name, whh.shape, '[4H, H] (LSTM), [3H, H] (GRU) or [H, H] (RNN)');
  let L = 0;
  while (tensors.has(`${pre}.weight_ih_l${L}`) || tensors.has(`${pre}.weight_hh_l${L}`)) L++;
  return { family: 'rnn', cell, vocabSize: embed.shape[0], embeddingDim: embed.shape[1], hiddenSize: H, numLayers: L, dropout: 0, embedDropout: 0 };
}

function shapeError(file: string, name: string, shape: number[], expected: string): CharlmError {
  return new CharlmError('IMPORT_SHAPE', `${file}: tensor ${name} has shape [${shape}] but ${expected} is needed`, HINT);
}

/** Copies the state_dict into a new CharModel; every tensor must be present, shaped as `config` needs, and used. */
export function modelFromStateDict(raw: Map<string, NamedTensor>, config: RnnConfig, backend: Backend, file: string): RnnModel {
  const tensors = unwrapNames(raw);
  const pre = recurrentPrefix(tensors, file);
  const model = new RnnModel(config, backend);
  const used = new Set<string>();
  const { cell, numLayers: L } = config;
  for (const spec of paramSpecs(config)) {
    const name = spec.name.startsWith(`${cellPrefix(cell)}.`) ? pre + spec.name.slice(cellPrefix(cell).length) : spec.name;
    const t = tensors.get(name);
    if (!t) {
      throw new CharlmError('IMPORT_MISSING_TENSOR', `${file}: tensor ${name} is missing (a ${L}-layer ${cell.toUpperCase()} needs it)`, HINT);
    }
    if (t.shape.join(',') !== spec.shape.join(',')) throw shapeError(file, name, t.shape, `[${spec.shape}]`);
    model.params.value(spec.name).set(t.data);
    used.add(name);
  }
  model.weightsChanged();
  for (const name of tensors.keys()) {
    if (!used.has(name)) {
      throw new CharlmError('IMPORT_UNEXPECTED_TENSOR', `${file}: tensor ${name} has no place in charlm's model ` +
        '(bidirectional or projected LSTMs and extra modules are not supported)', HINT);
    }
  }
  return model;
}
