// `charlm export <model> --format onnx [--sequence] [--out file.onnx]`: writes a charlm checkpoint as an ONNX model
// for ONNX Runtime (one generation step by default; --sequence for whole-sequence scoring).
// `charlm export <model> --format web -o DIR`: a static model site that samples in the browser (web/site.ts).
import * as path from 'node:path';
import type { Command } from 'commander';
import { CharlmError } from '../errors.js';
import { refBackend } from '../kernels/ref/index.js';
import { loadModelFile } from '../model/io.js';
import { writeFileAtomic } from '../util/fs.js';
import { exportOnnx } from '../interop/onnx.js';
import { exportWebSite } from '../web/site.js';

export interface ExportCliOptions { format?: string; sequence?: boolean; out?: string }

export function runExport(file: string, opts: ExportCliOptions, log: (line: string) => void = console.log): string {
  const format = (opts.format ?? 'onnx').toLowerCase();
  if (format === 'web') return runExportWeb(file, opts, log);
  if (format !== 'onnx') {
    throw new CharlmError('BAD_OPTION', `unknown export format "${opts.format}"`,
      'use --format onnx or --format web; for PyTorch, the .safetensors checkpoint already is a state_dict (see docs/interop.md)');
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

function runExportWeb(file: string, opts: ExportCliOptions, log: (line: string) => void): string {
  if (opts.sequence) throw new CharlmError('BAD_OPTION', '--sequence applies to --format onnx only', 'drop --sequence');
  const p = path.parse(file);
  const dir = opts.out ?? path.join(p.dir, `${p.name}-site`);
  const r = exportWebSite(file, dir);
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  log(`exported ${file} → ${dir}/ (static site, ${kib(r.totalBytes)} in ${r.files.length} files): ${r.loaded.model.describe().summary}`);
  log(`  ${r.files.map((f) => `${f.name} ${kib(f.bytes)}`).join(' · ')}`);
  log(`  serve the folder with any static file host (e.g. \`python3 -m http.server -d ${dir}\`); ` +
      '?prime=…&length=…&temperature=…&seed=… in the URL generates at load');
  return dir;
}

export function register(program: Command): void {
  program.command('export')
    .description('export a charlm checkpoint to ONNX (for ONNX Runtime in any language) or as a static web site that samples in the browser')
    .argument('<model>', 'charlm .safetensors checkpoint')
    .option('--format <format>', 'output format: onnx, or web (a static site folder)', 'onnx')
    .option('--sequence', 'whole-sequence scoring graph (input_ids [B,T] → logits [B,T,V]) instead of one step')
    .option('-o, --out <path>', 'file to write (default: <model>.onnx, or <model>.sequence.onnx); for web, the folder (default: <model>-site)')
    .action((file: string, opts: ExportCliOptions) => { runExport(file, opts); });
}
