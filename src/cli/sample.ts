// `charlm sample <model>`: writes the prime followed by the generated text to stdout and nothing else
// (diagnostics go to stderr), streaming character by character.
import type { Command } from 'commander';
import { CharlmError } from '../errors.js';
import { generate, SAMPLE_DEFAULTS, validateSampleOptions } from '../sample/generate.js';
import { backendOptions, checkPrecision, limitsFrom, loadForCli, parseNumber, StdoutStream } from './common.js';

export function register(program: Command): void {
  backendOptions(program.command('sample')
    .description('generate text from a trained model')
    .argument('<model>', 'a .safetensors checkpoint written by charlm')
    .option('--prime <text>', 'text to start from (printed first)', '')
    .option('--length <n>', 'characters to generate', parseNumber('length', true), SAMPLE_DEFAULTS.length)
    .option('--temperature <t>', '0 = greedy (argmax); <1 = safer, >1 = wilder', parseNumber('temperature'), SAMPLE_DEFAULTS.temperature)
    .option('--top-k <k>', 'sample only from the k likeliest characters (0 = off)', parseNumber('top-k', true), 0)
    .option('--top-p <p>', 'sample only from the smallest set with this much probability (1 = off)', parseNumber('top-p'), 1)
    .option('--seed <n>', 'random seed (same seed + same model = same text)', parseNumber('seed', true), SAMPLE_DEFAULTS.seed)
    .option('--num-samples <n>', 'independent samples, separated by a blank line', parseNumber('num-samples', true), 1)
    .option('--unknown <mode>', 'prime characters outside the vocabulary: error | skip', 'error')
    .option('--precision <p>', 'fp32 | bf16 (native: weights and inputs rounded to bf16, fp32 sums; half the weight bytes, faster at batch 1)', checkPrecision, 'fp32'))
    .action(async (modelPath: string, o: Record<string, any>) => {
      if (o.unknown !== 'error' && o.unknown !== 'skip') {
        throw new CharlmError('BAD_OPTION', `--unknown must be error or skip, got "${o.unknown}"`, 'use --unknown skip to drop unknown prime characters');
      }
      if (!Number.isInteger(o.numSamples) || o.numSamples < 1) {
        throw new CharlmError('BAD_OPTION', `--num-samples must be ≥ 1, got ${o.numSamples}`, 'e.g. --num-samples 3');
      }
      const opts = { prime: o.prime as string, length: o.length, temperature: o.temperature, topK: o.topK, topP: o.topP,
                     seed: o.seed, unknown: o.unknown as 'error' | 'skip' };
      validateSampleOptions(opts);
      const lm = await loadForCli(modelPath, o.backend, o.threads, limitsFrom(o), o.precision);
      const shownPrime = opts.unknown === 'skip' ? lm.vocab.decode(lm.vocab.encode(opts.prime, 'skip')) : opts.prime;
      lm.vocab.encode(opts.prime, opts.unknown); // fail before printing anything
      const out = new StdoutStream();
      for (let i = 0; i < o.numSamples; i++) {
        if (i > 0) out.write('\n\n');
        out.write(shownPrime);
        generate(lm.model, lm.vocab, { ...opts, seed: opts.seed + i }, (ch) => out.write(ch));
      }
      out.write('\n');
      out.end();
    });
}
