// `charlm train … --engine torch [--nproc N]`: hands the resolved config to torch/charlm_torch.py under torchrun.
// Ctrl-C asks the ranks to save and stop at their next logged step (exit 130); a second Ctrl-C kills them.
import { existsSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from '../config.js';
import type { CorpusInput } from '../data/prepare.js';
import { CharlmError } from '../errors.js';
import { findTorchPython, trainTorch } from '../train/torch-engine.js';

export async function trainWithTorch(o: { config: TrainConfig; corpus: CorpusInput; out: string; nproc: number; resume: boolean;
                                          initFrom?: string; quiet: boolean }): Promise<void> {
  // The trainer reads a file: a named dataset that is not already one (a download, sotu) is written beside the run.
  // The PyTorch trainer reads one plain UTF-8 file (folders, several paths and .gz are charlm-engine features).
  const paths = o.corpus.spec?.paths ?? [];
  let corpusPath = o.corpus.text !== undefined ? o.corpus.source : paths[0] ?? '';
  const oneFile = o.corpus.text !== undefined || (paths.length === 1 && !/\.gz$/i.test(corpusPath) &&
    existsSync(corpusPath) && statSync(corpusPath).isFile() && !o.corpus.spec?.include?.length && !o.corpus.spec?.exclude?.length);
  if (!oneFile) {
    throw new CharlmError('BAD_OPTION', '--engine torch reads one plain text file; this corpus is several files, a folder or .gz',
      'concatenate the inputs into one .txt file for the torch engine, or train with --engine charlm');
  }
  if (o.corpus.text !== undefined && (!existsSync(corpusPath) || !statSync(corpusPath).isFile())) {
    mkdirSync(o.out, { recursive: true });
    corpusPath = join(o.out, 'corpus.txt');
    writeFileSync(corpusPath, o.corpus.text);
  }
  const python = findTorchPython();
  const run = trainTorch({ config: o.config, corpusPath, corpusName: o.corpus.name, outDir: o.out, nproc: o.nproc, resume: o.resume,
                           initFrom: o.initFrom, python, extraArgs: o.quiet ? ['--quiet'] : [] });
  if (!o.quiet) {
    console.log(`engine torch: ${python.python} (torch ${python.torchVersion}${python.cuda ? ', CUDA' : ', CPU'}), ` +
                `torchrun --nproc_per_node=${o.nproc}, global batch ${o.config.batchSize}`);
  }
  let interrupts = 0;
  const onSig = () => {
    if (++interrupts > 1) { run.kill(); process.exit(130); }
    process.stderr.write('\ncharlm: interrupted — the ranks save and stop at their next logged step (Ctrl-C again to quit now)\n');
    run.stop();
  };
  process.on('SIGINT', onSig);
  try {
    const r = await run.done;
    if (r.code !== 0) process.exitCode = r.code;          // the trainer has printed its one-line error
    else if (r.stopped) process.exitCode = 130;
    else if (!o.quiet) console.log(`next: charlm sample ${join(o.out, 'best.safetensors')} --prime "..." --length 500  (or last.safetensors)`);
  } finally {
    process.off('SIGINT', onSig);
  }
}
