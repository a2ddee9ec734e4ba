// `charlm import <file> --vocab-from <text> [--out model.safetensors]`: turns a PyTorch state_dict (the seed's
// text_generation_model.pth, or a .safetensors state_dict) into a self-contained charlm checkpoint; and
// `charlm import ckpt.pt --meta meta.pkl` (or --vocab-from input.txt) does the same for a nanoGPT checkpoint.
import * as path from 'node:path';
import type { Command } from 'commander';
import { CharlmError, isCharlmError } from '../errors.js';
import { importModel } from '../interop/import.js';
import { refBackend } from '../kernels/ref/index.js';
import { encodeModel, loadModelBytes } from '../model/io.js';
import type { LoadLimits } from '../model/limits.js';
import { writeFileAtomic } from '../util/fs.js';
import { limitOptions, limitsFrom } from './common.js';

export interface ImportCliOptions { vocabFrom?: string; meta?: string; out?: string; limits?: Partial<LoadLimits> }

/** `x/model.pth` → `x/model.safetensors` (never the input itself). */
export function defaultImportOut(file: string): string {
  const p = path.parse(file);
  const out = path.join(p.dir, `${p.name}.safetensors`);
  return path.resolve(out) === path.resolve(file) ? path.join(p.dir, `${p.name}.charlm.safetensors`) : out;
}

export function runImport(file: string, opts: ImportCliOptions, log: (line: string) => void = console.log): string {
  const imported = importModel(file, { vocabFrom: opts.vocabFrom, meta: opts.meta, limits: opts.limits });
  const { model, vocab, format } = imported;
  const out = opts.out ?? defaultImportOut(file);
  const extra: Record<string, string> = { imported_from: path.basename(file), imported_format: format };
  let what: string;
  if (imported.format === 'nanogpt') {
    if (imported.iterNum !== null) extra.nanogpt_iter_num = String(imported.iterNum);
    if (imported.bestValLoss !== null) extra.nanogpt_best_val_loss = String(imported.bestValLoss);
    what = `nanoGPT, iter ${imported.iterNum ?? '?'}): ${model.describe().summary}, V=${imported.config.vocab_size}`;
  } else {
    const { cell, vocabSize: V, embeddingDim: E, hiddenSize: H, numLayers: L } = imported.config;
    what = `${format}): ${cell.toUpperCase()} V=${V} E=${E} H=${H} L=${L}`;
  }
  const bytes = encodeModel(model, vocab, null, extra);
  try { // never write a checkpoint that charlm itself would refuse to load
    loadModelBytes(bytes, refBackend, out, opts.limits);
  } catch (e) {
    if (!isCharlmError(e)) throw e;
    throw new CharlmError('IMPORT_UNLOADABLE', `${file} imports to a checkpoint charlm would refuse to load: ${e.message}`, e.hint);
  }
  writeFileAtomic(out, bytes);
  log(`imported ${file} (${what}, ${model.params.size.toLocaleString('en-US')} parameters → ${out}`);
  return out;
}

export function register(program: Command): void {
  const cmd = program.command('import')
    .description('import PyTorch weights (the seed\'s .pth state_dict, a .safetensors state_dict, or a nanoGPT ckpt.pt) as a charlm checkpoint')
    .argument('<file>', 'torch.save(model.state_dict()) file (.pth, zip or legacy format), .safetensors, or nanoGPT\'s ckpt.pt')
    .option('--vocab-from <text>', 'the exact text the model was trained on (the seed never saved its vocabulary)')
    .option('--meta <meta.pkl>', 'nanoGPT checkpoints: the dataset\'s meta.pkl (from prepare.py) holding the vocabulary')
    .option('-o, --out <path>', 'checkpoint to write (default: <file> with the extension .safetensors)');
  limitOptions(cmd, true).action((file: string, opts: ImportCliOptions & Record<string, unknown>) => {
    runImport(file, { ...opts, limits: limitsFrom(opts) });
  });
}
