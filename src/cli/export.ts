// `charlm export <model> --format onnx [--sequence] [--out file.onnx]`: writes a charlm checkpoint as an ONNX model
// for ONNX Runtime (one generation step by default; --sequence for whole-sequence scoring).
import * as path from 'node:path';
import type { Command } from 'commander';
import { CharlmError } from '../errors.js';
import { refBackend } from '../kernels/ref/index.js';
import { loadModelFile } from '../model/io.js';
import { writeFileAtomic } from '../util/fs.js';
import { exportOnnx } from '../interop/onnx.js';

export interface ExportCliOptions { format?: string; sequence?: boolean; out?: string }

export function runExport(file: string, opts: ExportCliOptions, log: (line: string) => void = console.log): string {
  const format = (opts.format ?? 'onnx').toLowerCase();
  if (format !== 'onnx') {
    throw new CharlmError('BAD_OPTION', `unknown export format "${opts.format}"`,
      'use --format onnx; for PyTorch, the .safetensors checkpoint already is a state_dict (see docs/interop.md)');
  }
  const { model, vocab, config } = loadModelFile(file, refBackend);
  const p = path.parse(file);
  const out = opts.out ?? path.join(p.dir, `${p.name}${opts.sequence ? '.sequence' : ''}.onnx`);
  const bytes = exportOnnx(model, vocab, { sequence: !!opts.sequence });
  writeFileAtomic(out, bytes);
  let io: string;
  if (config.family === 'rnn') {
    const c = config.cell === 'lstm' ? ', c0' : '', cn = config.cell === 'lstm' ? ', cn' : '';
    io = (opts.sequence ? `input_ids [B,T], h0${c} [L,B,H] → logits [B,T,V], hn${cn}`
                        : `input_ids [B], h0${c} [L,B,H] → logits [B,V], hn${cn}`) +
         `; L=${config.numLayers} H=${config.hiddenSize} V=${config.vocabSize}`;
  } else io = `input_ids [B,T] (T ≤ ${config.block_size}) → logits [B,T,V]; ${model.describe().summary}`;
  log(`exported ${file} → ${out} (ONNX, ${(bytes.length / 1024).toFixed(1)} KiB): ${io}`);
  return out;
}

export function register(program: Command): void {
  program.command('export')
    .description('export a charlm checkpoint to ONNX (for ONNX Runtime in any language)')
    .argument('<model>', 'charlm .safetensors checkpoint')
    .option('--format <format>', 'output format (onnx)', 'onnx')
    .option('--sequence', 'whole-sequence scoring graph (input_ids [B,T] → logits [B,T,V]) instead of one step')
    .option('-o, --out <path>', 'file to write (default: <model>.onnx, or <model>.sequence.onnx)')
    .action((file: string, opts: ExportCliOptions) => { runExport(file, opts); });
}
