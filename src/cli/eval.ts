// `charlm eval <model> <text>`: prints JSON with the model's loss on a text (nats/char, bits/char, perplexity).
import type { Command } from 'commander';
import { readTextFile } from '../data/corpus.js';
import { EVAL_PROTOCOLS, evaluateText, windowBlock, type EvalProtocol } from '../train/evaluate.js';
import { CharlmError } from '../errors.js';
import { backendOptions, limitsFrom, loadForCli, parseNumber } from './common.js';

export function register(program: Command): void {
  backendOptions(program.command('eval')
    .description('score a text file with a model: loss in nats/char, bits/char, perplexity')
    .argument('<model>', 'a .safetensors checkpoint')
    .argument('<text>', 'a UTF-8 text file')
    .option('--protocol <p>', 'stream: state carried through the whole text; windows: nanoGPT\'s independent windows, nothing carried', 'stream')
    .option('--block <n>', 'windows: characters per window (default: the model\'s context, else 256)', parseNumber('block', true))
    .option('--samples <n>', 'windows: draw this many random windows (nanoGPT\'s estimate_loss) instead of tiling the text', parseNumber('samples', true))
    .option('--seed <n>', 'windows: seed for --samples', parseNumber('seed', true), 1337))
    .action(async (modelPath: string, textPath: string, o: Record<string, any>) => {
      const protocol = o.protocol as EvalProtocol;
      if (!EVAL_PROTOCOLS.includes(protocol)) {
        throw new CharlmError('BAD_OPTION', `--protocol must be ${EVAL_PROTOCOLS.join(' or ')}, got "${o.protocol}"`, 'e.g. --protocol windows --block 256');
      }
      if (protocol === 'stream' && (o.block !== undefined || o.samples !== undefined)) {
        throw new CharlmError('BAD_OPTION', '--block and --samples apply to --protocol windows only', 'add --protocol windows');
      }
      const text = readTextFile(textPath, 'text');
      const lm = await loadForCli(modelPath, o.backend, o.threads, limitsFrom(o));
      const r = evaluateText(lm.model, lm.vocab, text, { protocol, block: o.block, samples: o.samples, seed: o.seed });
      const block = protocol === 'windows' ? windowBlock(lm.model, o.block) : null;
      console.log(JSON.stringify({
        model: modelPath, text: textPath, protocol, ...(block !== null ? { block, samples: o.samples ?? 0 } : {}),
        loss_nats_per_char: r.loss, bits_per_char: r.bitsPerChar, perplexity: r.perplexity,
        chars_scored: r.chars, chars_total: r.charsTotal, unknown_chars: r.unknownChars, unknown_distinct: r.unknownDistinct,
      }, null, 2));
    });
}
