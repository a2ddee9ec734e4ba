// Training configuration: typed DEFAULTS, named presets (overrides only), and resolve() with the precedence
// defaults < --preset < --config file.json < flags. Unknown keys and bad values are errors that name them.
import { CharlmError } from './errors.js';

export interface TrainConfig {
  /** Model family: rnn (LSTM/GRU/RNN, the keys below) or gpt (nanoGPT's Transformer, the nLayer, nHead, nEmbd, blockSize, bias keys). */
  family: 'rnn' | 'gpt';
  // rnn model (the seed's config.py names in camelCase)
  cell: 'lstm' | 'gru' | 'rnn';
  embeddingDim: number;
  hiddenSize: number;
  numLayers: number;
  /** rnn: between recurrent layers; gpt: on embeddings, attention weights and residual branches. */
  dropout: number;
  embedDropout: number;
  // gpt model (nanoGPT's model_args: n_layer, n_head, n_embd, block_size, bias)
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  bias: boolean;
  // data
  seqLength: number;
  batchSize: number;
  /** Split each batch into micro-batches of this many rows (same gradient, less memory); 0 = off. */
  microBatch: number;
  batching: 'random' | 'stateful';
  valFraction: number;
  /** Hold out this many whole files for validation (several-file corpora) instead of each file's tail; 0 = tails. */
  valFiles: number;
  /** Keep the N most frequent characters plus one unknown symbol (U+FFFD); 0 = every character. */
  maxVocab: number;
  /** Text placed between two files of a corpus. */
  separator: string;
  // optimisation
  epochs: number;
  /** Total optimizer steps; 0 = epochs × (train chars / (batch·seq)). */
  steps: number;
  learningRate: number;
  beta1: number;
  beta2: number;
  weightDecay: number;
  optimizer: 'adam' | 'adamw';
  clip: number;
  schedule: 'constant' | 'cosine' | 'step' | 'plateau';
  warmupSteps: number;
  minLrRatio: number;
  lrDecay: number;
  lrDecayAfterEpochs: number;
  // evaluation and logging
  evalInterval: number;
  evalChars: number;
  /** Validation protocol: stream (state carried) or windows (nanoGPT's independent windows of evalBlock). */
  evalProtocol: 'stream' | 'windows';
  /** windows protocol: characters per window (0 = the model's block size, or seq-length for rnn). */
  evalBlock: number;
  patience: number;
  logInterval: number;
  sampleChars: number;
  // run
  seed: number;
  backend: 'auto' | 'native' | 'wasm' | 'ref' | 'webgpu';
  threads: number;
  precision: 'fp32' | 'bf16';
}

export const DEFAULTS: TrainConfig = {
  family: 'rnn', cell: 'lstm', embeddingDim: 256, hiddenSize: 512, numLayers: 2, dropout: 0, embedDropout: 0,
  nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, bias: false,
  seqLength: 100, batchSize: 64, microBatch: 0, batching: 'random', valFraction: 0.1, valFiles: 0, maxVocab: 0, separator: '\n',
  epochs: 30, steps: 0, learningRate: 0.001, beta1: 0.9, beta2: 0.999, weightDecay: 0, optimizer: 'adam', clip: 5,
  schedule: 'constant', warmupSteps: 0, minLrRatio: 0.1, lrDecay: 0.97, lrDecayAfterEpochs: 10,
  evalInterval: 200, evalChars: 100_000, evalProtocol: 'stream', evalBlock: 0, patience: 0, logInterval: 10, sampleChars: 200,
  seed: 1337, backend: 'auto', threads: 0, precision: 'fp32',
};

export const PRESETS: Record<string, { description: string; config: Partial<TrainConfig> }> = {
  seed: {
    description: "exactly the seed's config.py: seq 100, batch 64, embedding 256, hidden 512, 2 LSTM layers, 30 epochs, Adam 1e-3, no clipping, no validation split",
    config: { cell: 'lstm', seqLength: 100, batchSize: 64, embeddingDim: 256, hiddenSize: 512, numLayers: 2,
              epochs: 30, learningRate: 0.001, clip: 0, valFraction: 0, schedule: 'constant' },
  },
  tiny: {
    description: 'a small LSTM (2×128) that learns visible structure in about a minute on 2 CPU cores',
    config: { embeddingDim: 64, hiddenSize: 128, numLayers: 2, seqLength: 64, batchSize: 32, steps: 3000,
              learningRate: 0.004, schedule: 'cosine', warmupSteps: 50, evalInterval: 500, evalChars: 20_000,
              logInterval: 50, sampleChars: 160 },
  },
  'gpt-tiny': {
    description: 'a small GPT (4 layers × 4 heads, 128 wide, context 64) that learns visible structure in about 1.5 minutes on 2 CPU cores (val ≈ 1.8 on tiny Shakespeare)',
    config: { family: 'gpt', nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 64, bias: false, dropout: 0, seqLength: 64,
              batchSize: 32, steps: 700, learningRate: 5e-3, beta2: 0.99, optimizer: 'adamw', weightDecay: 0.1, clip: 1,
              schedule: 'cosine', warmupSteps: 100, evalInterval: 350, evalChars: 20_000, evalProtocol: 'windows',
              logInterval: 50, sampleChars: 160 },
  },
  'web-rnn': {
    description: 'an LSTM (1×96, embedding 24) sized for the in-browser trainer (seconds in a Web Worker, even on the plain-TypeScript fallback): 300 steps of 16×32 characters',
    config: { embeddingDim: 24, hiddenSize: 96, numLayers: 1, seqLength: 32, batchSize: 16, steps: 300,
              learningRate: 0.008, schedule: 'cosine', warmupSteps: 10, evalInterval: 100, evalChars: 4_000,
              logInterval: 1, sampleChars: 120 },
  },
  'web-gpt': {
    description: 'a GPT (2 layers × 2 heads, 48 wide, context 32) sized for the in-browser trainer: 300 steps of 16×32 characters',
    config: { family: 'gpt', nLayer: 2, nHead: 2, nEmbd: 48, blockSize: 32, bias: false, dropout: 0, seqLength: 32,
              batchSize: 16, steps: 300, learningRate: 5e-3, beta2: 0.99, optimizer: 'adamw', weightDecay: 0.1, clip: 1,
              schedule: 'cosine', warmupSteps: 20, evalInterval: 100, evalChars: 4_000, evalProtocol: 'windows',
              logInterval: 1, sampleChars: 120 },
  },
  'shakespeare-gpt': {
    description: "nanoGPT's shakespeare_char recipe retuned for an hour on 2 CPU cores (6 layers × 6 heads, 192 wide; AdamW lr 3e-3, β2 0.99, decay 0.1, dropout 0.1, clip 1, cosine to lr/10 over 5,000 steps; windows evaluation over the whole held-out tail): best 1.4692 nats/char in 54 minutes (docs/results.md)",
    config: { family: 'gpt', nLayer: 6, nHead: 6, nEmbd: 192, blockSize: 256, bias: false, dropout: 0.1, seqLength: 256,
              batchSize: 16, steps: 5000, learningRate: 3e-3, beta2: 0.99, optimizer: 'adamw', weightDecay: 0.1, clip: 1,
              schedule: 'cosine', warmupSteps: 100, minLrRatio: 0.1, evalInterval: 200, evalChars: 111_540,
              evalProtocol: 'windows', evalBlock: 256, valFraction: 0.1, patience: 0, logInterval: 25 },
  },
  shakespeare: {
    description: 'tiny Shakespeare in under an hour on 2 CPU cores: best validation 1.4454 nats/char after ~25 min (docs/results.md); stops when validation stalls',
    config: { embeddingDim: 128, hiddenSize: 512, numLayers: 2, dropout: 0.2, seqLength: 128, batchSize: 32,
              learningRate: 0.002, schedule: 'cosine', warmupSteps: 100, steps: 4400, evalInterval: 250,
              evalChars: 111_000, clip: 5, valFraction: 0.1, patience: 4 },
  },
};

type Kind = { type: 'int'; min: number; max?: number } | { type: 'bool' } | { type: 'num'; min: number; max?: number; maxExclusive?: boolean }
  | { type: 'enum'; values: readonly string[] } | { type: 'str' };
const SPEC: Record<keyof TrainConfig, Kind> = {
  family: { type: 'enum', values: ['rnn', 'gpt'] },
  cell: { type: 'enum', values: ['lstm', 'gru', 'rnn'] },
  // Upper bounds keep a typo (or a crafted resume state) from asking for terabytes; they are far above any real run.
  nLayer: { type: 'int', min: 1, max: 256 }, nHead: { type: 'int', min: 1, max: 4096 }, nEmbd: { type: 'int', min: 1, max: 65_536 },
  blockSize: { type: 'int', min: 1, max: 1 << 20 }, bias: { type: 'bool' },
  beta1: { type: 'num', min: 0, max: 1, maxExclusive: true }, beta2: { type: 'num', min: 0, max: 1, maxExclusive: true },
  embeddingDim: { type: 'int', min: 1, max: 65_536 }, hiddenSize: { type: 'int', min: 1, max: 65_536 }, numLayers: { type: 'int', min: 1, max: 256 },
  dropout: { type: 'num', min: 0, max: 1, maxExclusive: true }, embedDropout: { type: 'num', min: 0, max: 1, maxExclusive: true },
  seqLength: { type: 'int', min: 1, max: 1 << 20 }, batchSize: { type: 'int', min: 1, max: 1 << 16 }, microBatch: { type: 'int', min: 0, max: 1 << 16 },
  batching: { type: 'enum', values: ['random', 'stateful'] }, valFraction: { type: 'num', min: 0, max: 0.5 },
  valFiles: { type: 'int', min: 0 }, maxVocab: { type: 'int', min: 0 }, separator: { type: 'str' },
  epochs: { type: 'num', min: 0 }, steps: { type: 'int', min: 0 }, learningRate: { type: 'num', min: 0 },
  weightDecay: { type: 'num', min: 0 }, optimizer: { type: 'enum', values: ['adam', 'adamw'] }, clip: { type: 'num', min: 0 },
  schedule: { type: 'enum', values: ['constant', 'cosine', 'step', 'plateau'] }, warmupSteps: { type: 'int', min: 0 },
  minLrRatio: { type: 'num', min: 0, max: 1 }, lrDecay: { type: 'num', min: 0, max: 1 }, lrDecayAfterEpochs: { type: 'num', min: 0 },
  evalInterval: { type: 'int', min: 0 }, evalChars: { type: 'int', min: 0 },
  evalProtocol: { type: 'enum', values: ['stream', 'windows'] }, evalBlock: { type: 'int', min: 0 }, patience: { type: 'int', min: 0 },
  logInterval: { type: 'int', min: 1 }, sampleChars: { type: 'int', min: 0 },
  seed: { type: 'int', min: 0 }, backend: { type: 'enum', values: ['auto', 'native', 'wasm', 'ref', 'webgpu'] }, threads: { type: 'int', min: 0 },
  precision: { type: 'enum', values: ['fp32', 'bf16'] },
};

export const CONFIG_KEYS = Object.keys(SPEC) as (keyof TrainConfig)[];

export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function badKey(key: string, where: string): CharlmError {
  return new CharlmError('UNKNOWN_CONFIG_KEY', `unknown config key "${key}" in ${where}`,
    `valid keys: ${CONFIG_KEYS.map(kebab).join(', ')}`);
}

/** Checks one value (string values from flags are parsed) and returns it typed. */
export function checkValue(key: keyof TrainConfig, raw: unknown, where: string): TrainConfig[typeof key] {
  const k = SPEC[key];
  const fail = (why: string) => new CharlmError('BAD_CONFIG_VALUE', `${kebab(key)} ${why} (in ${where})`,
    `got ${JSON.stringify(raw)}`);
  if (k.type === 'str') {
    if (typeof raw !== 'string') throw fail('must be a string');
    return raw as never;
  }
  if (k.type === 'bool') {
    if (raw === true || raw === 'true' || raw === '1' || raw === 1) return true as never;
    if (raw === false || raw === 'false' || raw === '0' || raw === 0) return false as never;
    throw fail('must be true or false');
  }
  if (k.type === 'enum') {
    if (typeof raw !== 'string' || !k.values.includes(raw)) throw fail(`must be one of ${k.values.join(', ')}`);
    return raw as never;
  }
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw fail('must be a number');
  if (k.type === 'int' && !Number.isInteger(n)) throw fail('must be a whole number');
  if (n < k.min) throw fail(`must be ≥ ${k.min}`);
  if (k.type === 'int' && k.max !== undefined && n > k.max) throw fail(`must be ≤ ${k.max}`);
  if (k.type === 'num' && k.max !== undefined && (k.maxExclusive ? n >= k.max : n > k.max)) {
    throw fail(`must be ${k.maxExclusive ? '<' : '≤'} ${k.max}`);
  }
  return n as never;
}

/** A config key as written in a flag or file (camelCase, kebab-case or snake_case) in its camelCase form. */
export function camelKey(rawKey: string): string {
  return rawKey.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());
}

function applyObject(into: TrainConfig, obj: Record<string, unknown>, where: string): void {
  for (const [rawKey, v] of Object.entries(obj)) {
    const key = camelKey(rawKey) as keyof TrainConfig;
    if (!Object.hasOwn(SPEC, key)) throw badKey(rawKey, where); // own keys only: constructor, __proto__ are unknown
    (into as unknown as Record<string, unknown>)[key] = checkValue(key, v, where);
  }
}

/** defaults < preset < config file < flags. `flags` keys may be camelCase or kebab-case. */
export function resolveConfig(opts: { preset?: string; file?: Record<string, unknown>; fileName?: string;
                                      flags?: Record<string, unknown> } = {}): TrainConfig {
  const cfg: TrainConfig = { ...DEFAULTS };
  if (opts.preset !== undefined) {
    const p = Object.hasOwn(PRESETS, opts.preset) ? PRESETS[opts.preset] : undefined;
    if (!p) throw new CharlmError('UNKNOWN_PRESET', `unknown preset "${opts.preset}"`, `presets: ${Object.keys(PRESETS).join(', ')}`);
    Object.assign(cfg, p.config);
  }
  if (opts.file) applyObject(cfg, opts.file, opts.fileName ?? 'config file');
  if (opts.flags) applyObject(cfg, Object.fromEntries(Object.entries(opts.flags).filter(([, v]) => v !== undefined)), 'flags');
  return cfg;
}

const RNN_KEYS: (keyof TrainConfig)[] = ['cell', 'embeddingDim', 'hiddenSize', 'numLayers', 'embedDropout'];
const GPT_KEYS: (keyof TrainConfig)[] = ['nLayer', 'nHead', 'nEmbd', 'blockSize', 'bias'];

/** The config without the other family's model keys (what `train` prints). */
export function familyConfig(cfg: TrainConfig): Partial<TrainConfig> {
  const drop = new Set(cfg.family === 'gpt' ? RNN_KEYS : GPT_KEYS);
  return Object.fromEntries(Object.entries(cfg).filter(([k]) => !drop.has(k as keyof TrainConfig))) as Partial<TrainConfig>;
}
