// `charlm info <model>`: architecture, parameter count, vocabulary (size and preview), training summary.
import type { Command } from 'commander';
import { refBackend } from '../kernels/ref/index.js';
import { loadModelFile } from '../model/io.js';
import { limitOptions, limitsFrom } from './common.js';
import { architecture } from '../model/describe.js';

export function register(program: Command): void {
  limitOptions(program.command('info')
    .description('describe a checkpoint: architecture, parameters, vocabulary, training')
    .argument('<model>', 'a .safetensors checkpoint')
    .option('--json', 'print JSON'))
    .action((modelPath: string, o: { json?: boolean } & Record<string, unknown>) => {
      const lm = loadModelFile(modelPath, refBackend, limitsFrom(o));
      const c = lm.config, t = lm.training;
      const info = {
        path: modelPath, family: c.family, architecture: architecture(c),
        config: c, parameters: lm.model.params.size, vocabSize: lm.vocab.size, vocabPreview: lm.vocab.preview(60),
        training: t ? { corpus: t.corpus, steps: t.steps, epochs: Number(t.epochs.toFixed(3)), charsSeen: t.charsSeen,
                        trainLoss: t.trainLoss, valLoss: t.valLoss, bestValLoss: t.bestValLoss ?? null, backend: t.backend } : null,
      };
      if (o.json) { console.log(JSON.stringify(info, null, 2)); return; }
      console.log(`model        ${info.path}`);
      console.log(`architecture ${info.architecture}`);
      console.log(`parameters   ${info.parameters.toLocaleString('en-US')}`);
      console.log(`vocabulary   ${info.vocabSize} characters: ${info.vocabPreview}`);
      if (info.training) {
        const tr = info.training, f = (x: number | null) => (x === null || x === undefined ? '—' : `${x.toFixed(4)} nats/char (${(x / Math.LN2).toFixed(3)} bits/char)`);
        console.log(`training     ${tr.steps} steps (${tr.epochs} epochs, ${tr.charsSeen.toLocaleString('en-US')} chars) on ${tr.corpus}, backend ${tr.backend}`);
        console.log(`train loss   ${f(tr.trainLoss)}`);
        console.log(`val loss     ${f(tr.valLoss)}${tr.bestValLoss !== null ? `; best ${f(tr.bestValLoss)}` : ''}`);
      } else console.log('training     (no training summary: imported or untrained)');
    });
}
