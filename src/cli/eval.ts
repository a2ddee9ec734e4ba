// `charlm eval <model> <text...>`: prints JSON with the model's loss on a corpus (nats/char, bits/char, perplexity).
// The corpus is read like train's: files, folders, .gz, datasets, streamed into tokens (through the token cache).
import type { Command } from 'commander';
import { corpusFromPaths } from '../data/prepare.js';
import { evaluateCorpus } from '../train/evaluate-corpus.js';
import { backendOptions, loadForCli } from './common.js';
import { DataProgress } from './dataprogress.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  backendOptions(program.command('eval')
    .description('score text with a model: loss in nats/char, bits/char, perplexity')
    .argument('<model>', 'a .safetensors checkpoint')
    .argument('<text...>', 'UTF-8 text files, folders, .gz files or a named dataset (several are joined like train does)')
    .option('--include <glob>', 'in folders, read only files matching this glob (repeatable)', collect, [])
    .option('--exclude <glob>', 'in folders, skip files and folders matching this glob (repeatable)', collect, [])
    .option('--no-cache', 'do not read or write the token cache'))
    .action(async (modelPath: string, texts: string[], o: Record<string, any>) => {
      const lm = await loadForCli(modelPath, o.backend, o.threads);
      const bar = new DataProgress(!process.stderr.isTTY); // stdout is JSON; progress on a terminal's stderr only
      const separator = (lm.training?.trainConfig?.separator as string | undefined) ?? '\n';
      try {
        const r = await evaluateCorpus(lm.model, lm.vocab, corpusFromPaths(texts, o.include, o.exclude), {
          separator, cache: o.cache === false ? false : 'auto',
          onEvent: (e) => bar.event(e),
        });
        console.log(JSON.stringify({
          model: modelPath, text: texts.join(', '), loss_nats_per_char: r.loss, bits_per_char: r.bitsPerChar, perplexity: r.perplexity,
          chars_scored: r.chars, chars_total: r.charsTotal, unknown_chars: r.unknownChars, unknown_distinct: r.unknownDistinct,
          ...(r.files > 1 ? { files: r.files } : {}), ...(r.mappedToUnknown ? { mapped_to_unknown_symbol: r.mappedToUnknown } : {}),
        }, null, 2));
      } finally {
        bar.stop();
      }
    });
}
