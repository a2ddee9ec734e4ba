// `charlm eval <model> <text...>`: prints JSON with the model's loss on a corpus (nats/char, bits/char, perplexity).
// The corpus is read like train's: files, folders, .gz, datasets, streamed into tokens (through the token cache).
import type { Command } from 'commander';
import { corpusFromPaths } from '../data/prepare.js';
import { EVAL_PROTOCOLS, windowBlock, type EvalProtocol } from '../train/evaluate.js';
import { evaluateCorpus } from '../train/evaluate-corpus.js';
import { CharlmError } from '../errors.js';
import { backendOptions, limitsFrom, loadForCli, parseNumber } from './common.js';
import { DataProgress } from './dataprogress.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  backendOptions(program.command('eval')
    .description('score text with a model: loss in nats/char, bits/char, perplexity')
    .argument('<model>', 'a .safetensors checkpoint')
    .argument('<text...>', 'UTF-8 text files, folders, .gz files or a named dataset (several are joined like train does)')
    .option('--include <glob>', 'in folders, read only files matching this glob (repeatable)', collect, [])
    .option('--exclude <glob>', 'in folders, skip files and folders matching this glob (repeatable)', collect, [])
    .option('--no-cache', 'do not read or write the token cache')
    .option('--protocol <p>', 'stream: state carried through the whole text; windows: nanoGPT\'s independent windows, nothing carried', 'stream')
    .option('--block <n>', 'windows: characters per window (default: the model\'s context, else 256)', parseNumber('block', true))
    .option('--samples <n>', 'windows: draw this many random windows (nanoGPT\'s estimate_loss) instead of tiling the text', parseNumber('samples', true))
    .option('--seed <n>', 'windows: seed for --samples', parseNumber('seed', true), 1337))
    .action(async (modelPath: string, texts: string[], o: Record<string, any>) => {
      const protocol = o.protocol as EvalProtocol;
      if (!EVAL_PROTOCOLS.includes(protocol)) {
        throw new CharlmError('BAD_OPTION', `--protocol must be ${EVAL_PROTOCOLS.join(' or ')}, got "${o.protocol}"`, 'e.g. --protocol windows --block 256');
      }
      if (protocol === 'stream' && (o.block !== undefined || o.samples !== undefined)) {
        throw new CharlmError('BAD_OPTION', '--block and --samples apply to --protocol windows only', 'add --protocol windows');
      }
      const lm = await loadForCli(modelPath, o.backend, o.threads, limitsFrom(o));
      const bar = new DataProgress(!process.stderr.isTTY); // stdout is JSON; progress on a terminal's stderr only
      const separator = (lm.training?.trainConfig?.separator as string | undefined) ?? '\n';
      try {
        const r = await evaluateCorpus(lm.model, lm.vocab, corpusFromPaths(texts, o.include, o.exclude), {
          separator, cache: o.cache === false ? false : 'auto', onEvent: (e) => bar.event(e),
          protocol, block: o.block, samples: o.samples, seed: o.seed,
        });
        const block = protocol === 'windows' ? windowBlock(lm.model, o.block) : null;
        console.log(JSON.stringify({
          model: modelPath, text: texts.join(', '), protocol, ...(block !== null ? { block, samples: o.samples ?? 0 } : {}),
          loss_nats_per_char: r.loss, bits_per_char: r.bitsPerChar, perplexity: r.perplexity,
          chars_scored: r.chars, chars_total: r.charsTotal, unknown_chars: r.unknownChars, unknown_distinct: r.unknownDistinct,
          ...(r.files > 1 ? { files: r.files } : {}), ...(r.mappedToUnknown ? { mapped_to_unknown_symbol: r.mappedToUnknown } : {}),
        }, null, 2));
      } finally {
        bar.stop();
      }
    });
}
