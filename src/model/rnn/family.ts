// The recurrent family (LSTM, GRU, tanh RNN): the seed's CharLSTM and its siblings.
import { CharlmError } from '../../errors.js';
import { CELLS, type RnnConfig } from '../config.js';
import type { ModelFamily } from '../family.js';
import { paramSpecs, RnnModel } from './model.js';

const MAX_DIM = 1 << 20;

export const rnnFamily: ModelFamily<RnnConfig> = {
  name: 'rnn',
  fromTrainConfig(cfg, vocabSize) {
    return { family: 'rnn', cell: cfg.cell, vocabSize, embeddingDim: cfg.embeddingDim, hiddenSize: cfg.hiddenSize,
             numLayers: cfg.numLayers, dropout: cfg.dropout, embedDropout: cfg.embedDropout };
  },
  withTrainingSettings(c, cfg) {
    return { ...c, dropout: cfg.dropout, embedDropout: cfg.embedDropout };
  },
  validate(c, bad) {
    const posInt = (k: string) => {
      const v = c[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_DIM) throw bad(`config.${k} = ${String(v)}`);
      return v;
    };
    if (!CELLS.includes(c.cell as RnnConfig['cell'])) throw bad(`unknown cell "${String(c.cell)}"`);
    return { family: 'rnn', cell: c.cell as RnnConfig['cell'], vocabSize: posInt('vocabSize'),
             embeddingDim: posInt('embeddingDim'), hiddenSize: posInt('hiddenSize'), numLayers: posInt('numLayers'),
             dropout: Number(c.dropout) || 0, embedDropout: Number(c.embedDropout) || 0 };
  },
  paramSpecs,
  create(c, backend) {
    if (c.family !== 'rnn') throw new CharlmError('BAD_CONFIG_VALUE', `not an rnn config: ${c.family}`, 'internal');
    return new RnnModel(c, backend);
  },
};
