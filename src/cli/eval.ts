// `charlm eval <model> <text>`: prints JSON with the model's loss on a text (nats/char, bits/char, perplexity).
import type { Command } from 'commander';
import { readTextFile } from '../data/corpus.js';
import { evaluateText } from '../train/evaluate.js';
import { backendOptions, limitsFrom, loadForCli } from './common.js';

export function register(program: Command): void {
  backendOptions(program.command('eval')
    .description('score a text file with a model: loss in nats/char, bits/char, perplexity')
    .argument('<model>', 'a .safetensors checkpoint')
    .argument('<text>', 'a UTF-8 text file'))
    .action(async (modelPath: string, textPath: string, o: Record<string, any>) => {
      const text = readTextFile(textPath, 'text');
      const lm = await loadForCli(modelPath, o.backend, o.threads, limitsFrom(o));
      const r = evaluateText(lm.model, lm.vocab, text);
      console.log(JSON.stringify({
        model: modelPath, text: textPath, loss_nats_per_char: r.loss, bits_per_char: r.bitsPerChar, perplexity: r.perplexity,
        chars_scored: r.chars, chars_total: r.charsTotal, unknown_chars: r.unknownChars, unknown_distinct: r.unknownDistinct,
      }, null, 2));
    });
}
