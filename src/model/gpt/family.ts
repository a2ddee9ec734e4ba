// The gpt family: nanoGPT's character-level Transformer. Its checkpoint config uses nanoGPT's model_args keys.
import { CharlmError } from '../../errors.js';
import type { GptConfig } from '../config.js';
import type { ModelFamily } from '../family.js';
import { GptModel } from './model.js';
import { gptParamSpecs } from './params.js';

const MAX_DIM = 1 << 20;

/** The one-line errors for architectures that cannot be built (shared by training flags and checkpoints). */
export function gptShapeProblem(c: Pick<GptConfig, 'n_embd' | 'n_head'>): string | null {
  if (c.n_embd % c.n_head !== 0) return `n_embd ${c.n_embd} is not divisible by n_head ${c.n_head}`;
  return null;
}

export const gptFamily: ModelFamily<GptConfig> = {
  name: 'gpt',
  fromTrainConfig(cfg, vocabSize) {
    const c: GptConfig = { family: 'gpt', n_layer: cfg.nLayer, n_head: cfg.nHead, n_embd: cfg.nEmbd,
                           block_size: cfg.blockSize, bias: cfg.bias, vocab_size: vocabSize, dropout: cfg.dropout };
    const why = gptShapeProblem(c);
    if (why) {
      throw new CharlmError('BAD_CONFIG_VALUE', why.replace('n_embd', 'n-embd').replace('n_head', 'n-head'),
        `choose --n-embd as a multiple of --n-head, e.g. --n-head ${c.n_head} --n-embd ${Math.max(1, Math.round(c.n_embd / c.n_head)) * c.n_head}`);
    }
    return c;
  },
  withTrainingSettings(c, cfg) {
    return { ...c, dropout: cfg.dropout };
  },
  validate(c, bad) {
    const posInt = (k: string) => {
      const v = c[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_DIM) throw bad(`config.${k} = ${String(v)}`);
      return v;
    };
    const out: GptConfig = { family: 'gpt', n_layer: posInt('n_layer'), n_head: posInt('n_head'), n_embd: posInt('n_embd'),
                             block_size: posInt('block_size'), bias: c.bias === true, vocab_size: posInt('vocab_size'),
                             dropout: Number(c.dropout) || 0 };
    if (typeof c.bias !== 'boolean') throw bad(`config.bias = ${String(c.bias)} (must be true or false)`);
    const why = gptShapeProblem(out);
    if (why) throw bad(why);
    return out;
  },
  paramSpecs: gptParamSpecs,
  create(c, backend) {
    return new GptModel(c, backend);
  },
};
