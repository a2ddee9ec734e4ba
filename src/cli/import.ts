// `charlm import <file> --vocab-from <text> [--out model.safetensors]`: turns a PyTorch state_dict (the seed's
// text_generation_model.pth, or a .safetensors state_dict) into a self-contained charlm checkpoint.
import * as path from 'node:path';
import type { Command } from 'commander';
import { importStateDict } from '../interop/import.js';
import { saveModel } from '../model/io.js';

export interface ImportCliOptions { vocabFrom?: string; out?: string }

/** `x/model.pth` → `x/model.safetensors` (never the input itself). */
export function defaultImportOut(file: string): string {
  const p = path.parse(file);
  const out = path.join(p.dir, `${p.name}.safetensors`);
  return path.resolve(out) === path.resolve(file) ? path.join(p.dir, `${p.name}.charlm.safetensors`) : out;
}

export function runImport(file: string, opts: ImportCliOptions, log: (line: string) => void = console.log): string {
  const { model, vocab, config, format } = importStateDict(file, { vocabFrom: opts.vocabFrom });
  const out = opts.out ?? defaultImportOut(file);
  saveModel(out, model, vocab, null, { imported_from: path.basename(file), imported_format: format });
  const { cell, vocabSize: V, embeddingDim: E, hiddenSize: H, numLayers: L } = config;
  log(`imported ${file} (${format}): ${cell.toUpperCase()} V=${V} E=${E} H=${H} L=${L}, ` +
      `${model.params.size.toLocaleString('en-US')} parameters → ${out}`);
  return out;
}

export function register(program: Command): void {
  program.command('import')
    .description('import PyTorch weights (the seed\'s .pth state_dict, or a .safetensors state_dict) as a charlm checkpoint')
    .argument('<file>', 'torch.save(model.state_dict()) file (.pth, zip or legacy format) or .safetensors')
    .option('--vocab-from <text>', 'the exact text the model was trained on (the seed never saved its vocabulary)')
    .option('-o, --out <path>', 'checkpoint to write (default: <file> with the extension .safetensors)')
    .action((file: string, opts: ImportCliOptions) => { runImport(file, opts); });
}
