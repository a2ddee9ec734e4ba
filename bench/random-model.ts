// Writes a random-init checkpoint of the seed's shapes (LSTM, E 256, H 512, 2 layers) with a V-character vocabulary,
// for profiling and load tests that need a file but no training: V 65 = tiny-shakespeare's characters, larger V
// takes CJK ideographs from U+4E00 (a Chinese corpus is about 7,000 characters).
//   node --import tsx bench/random-model.ts <out.safetensors> [--vocab 65] [--hidden 512]
import { parseArgs } from 'node:util';
import { CharModel } from '../src/model/charmodel.js';
import { saveModel } from '../src/model/io.js';
import { refBackend } from '../src/kernels/ref/index.js';
import { Rng } from '../src/util/rng.js';
import { benchVocab } from './bench-vocab.js';


const { values: o, positionals } = parseArgs({ allowPositionals: true, options: {
  vocab: { type: 'string', default: '65' }, hidden: { type: 'string', default: '512' }, embed: { type: 'string', default: '256' },
} });
if (!positionals[0]) { console.error('usage: random-model.ts <out.safetensors> [--vocab 65]'); process.exit(2); }
const vocab = benchVocab(Number(o.vocab));
const model = new CharModel({ cell: 'lstm', vocabSize: vocab.size, embeddingDim: Number(o.embed), hiddenSize: Number(o.hidden),
  numLayers: 2, dropout: 0, embedDropout: 0 }, refBackend);
model.initialize(new Rng(1));
saveModel(positionals[0], model, vocab, null);
console.log(`wrote ${positionals[0]}: LSTM E${o.embed} H${o.hidden} L2 V${vocab.size}`);
