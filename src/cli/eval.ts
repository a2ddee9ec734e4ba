// `charlm eval <model> <text>`: prints JSON with the model's loss on a text (nats/char, bits/char, perplexity).
import type { Command } from 'commander';
import { readTextFile } from '../data/corpus.js';
import { evaluateTokens } from '../train/evaluate.js';
import { backendOptions, loadForCli } from './common.js';

export function register(program: Command): void {
  backendOptions(program.command('eval')
    .description('score a text file with a model: loss in nats/char, bits/char, perplexity')
    .argument('<model>', 'a .safetensors checkpoint')
    .argument('<text>', 'a UTF-8 text file'))
    .action(async (modelPath: string, textPath: string, o: Record<string, any>) => {
      const text = readTextFile(textPath, 'text');
      const lm = await loadForCli(modelPath, o.backend, o.threads);
      const ids: number[] = [];
      let unknown = 0;
      for (const ch of text) { const i = lm.vocab.indexOf(ch); if (i < 0) unknown++; ids.push(i); }
      const r = evaluateTokens(lm.model, Int32Array.from(ids));
      console.log(JSON.stringify({
        model: modelPath, text: textPath, loss_nats_per_char: r.loss, bits_per_char: r.bitsPerChar, perplexity: r.perplexity,
        chars_scored: r.chars, chars_total: ids.length, unknown_chars: unknown, unknown_distinct: lm.vocab.unknownChars(text),
      }, null, 2));
    });
}
