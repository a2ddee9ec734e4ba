// `charlm train <corpus>`: flags → resolved config (printed first) → library train() → progress on stderr/stdout.
// Ctrl-C finishes the current step, saves, and exits with 130; a second Ctrl-C exits at once (files are atomic).
import { Command, Option } from 'commander';
import { basename } from 'node:path';
import { camelKey, CONFIG_KEYS, DEFAULTS, familyConfig, kebab, PRESETS, resolveConfig, type TrainConfig } from '../config.js';
import { readConfigFile } from '../config-file.js';
import { CharlmError } from '../errors.js';
import { loadCorpusText, DATASETS } from '../data/datasets.js';
import { corpusFromPaths, type CorpusInput } from '../data/prepare.js';
import { resumeConfig, train, type TrainEvent } from '../train/loop.js';
import { backendFor, limitOptions, limitsFrom } from './common.js';
import { Progress } from './progress.js';
import { DataProgress, isDataEvent } from './dataprogress.js';
import { trainWithTorch } from './train-torch.js';

const HELP: Partial<Record<keyof TrainConfig, string>> = {
  seqLength: 'characters per training window (T)', batchSize: 'windows per step (B)',
  microBatch: 'run each batch in micro-batches of this many windows: same gradient, less memory (0 = off)', embeddingDim: 'embedding size (E)',
  hiddenSize: 'hidden size (H)', numLayers: 'recurrent layers (L)', epochs: 'epochs (one = train chars / (B·T) steps)',
  learningRate: 'Adam learning rate', steps: 'total steps (overrides epochs when > 0)', seed: 'random seed',
  cell: 'lstm | gru | rnn', clip: 'clip gradients to this global norm (0 = off)', valFraction: 'held-out tail of the corpus',
  backend: 'auto | native | ref | webgpu', threads: 'native worker threads (0 = all cores)', precision: 'fp32 | bf16 (native)',
  schedule: 'constant | cosine | step | plateau', batching: 'random | stateful', dropout: 'dropout between recurrent layers',
  family: 'rnn (LSTM/GRU/RNN) | gpt (nanoGPT Transformer)', nLayer: 'gpt: Transformer blocks', nHead: 'gpt: attention heads',
  nEmbd: 'gpt: channels (must divide by n-head)', blockSize: 'gpt: context length (≥ seq-length)', bias: 'gpt: biases in Linear and LayerNorm (true | false)',
  beta1: 'Adam β1', beta2: 'Adam β2',
  evalInterval: 'evaluate and save every N steps', patience: 'stop after N evaluations without improvement (0 = never)',
  valFiles: 'hold out N whole files for validation instead of the tail of each file', maxVocab: 'keep the N most frequent characters plus an unknown symbol (0 = all)',
  separator: 'text between two files of the corpus; \\n and \\t escapes work',
};

/** `--separator '\n\n'` as typed in a shell: backslash escapes \n \t \r \0 \\ become the characters. */
export function unescapeSeparator(raw: string): string {
  return raw.replace(/\\([ntr0\\])/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\' })[c]!);
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  const cmd = program.command('train')
    .description('train a model on a text file or a named dataset (shakespeare, sotu)')
    .argument('[corpus...]', `text files, folders (read recursively, sorted), .gz files, or one of: ${DATASETS.map((d) => d.name).join(', ')}`)
    .option('--include <glob>', 'in folders, read only files matching this glob (repeatable), e.g. "*.txt"', collect, [])
    .option('--exclude <glob>', 'in folders, skip files and folders matching this glob (repeatable)', collect, [])
    .option('--no-cache', 'do not read or write the token cache (used for file corpora of 16 MB or more)')
    .option('--preset <name>', `start from a preset: ${Object.keys(PRESETS).join(', ')}`)
    .option('--config <file.json>', 'JSON file of config keys (overrides the preset; flags override it)')
    .option('--out <dir>', 'output folder (default runs/<corpus name>)')
    .option('--resume <dir>', 'continue the run saved in this folder')
    .option('--init-from <model>', 'fine-tune: start from this checkpoint (keeps its vocabulary)')
    .option('--force', 'start a fresh run in an --out folder that already holds one (its files are replaced)')
    .option('--quiet', 'no progress output')
    .option('--print-config', 'print the resolved config as JSON and exit (the input of torch/charlm_torch.py)')
    .option('--engine <name>', 'charlm | torch (PyTorch DDP through torchrun: torch/charlm_torch.py; --batch-size is the global batch)', 'charlm')
    .option('--nproc <n>', 'with --engine torch: processes on this machine (torchrun --nproc_per_node)', '1');
  limitOptions(cmd);
  for (const key of CONFIG_KEYS) {
    cmd.addOption(new Option(`--${kebab(key)} <value>`, `${HELP[key] ?? key} (default ${JSON.stringify(DEFAULTS[key])})`));
  }
  cmd.action(async (corpusArgs: string[], o: Record<string, unknown>) => {
    if (o.printConfig) {
      const file = o.config ? readConfigFile(String(o.config)) : undefined;
      const flags = Object.fromEntries(CONFIG_KEYS.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
      console.log(JSON.stringify(resolveConfig({ preset: o.preset as string | undefined, file, fileName: o.config as string, flags }), null, 2));
      return;
    }
    if (o.engine !== 'charlm' && o.engine !== 'torch') {
      throw new CharlmError('BAD_OPTION', `--engine must be charlm or torch, got "${String(o.engine)}"`, 'use --engine torch for PyTorch/torchrun');
    }
    if (!corpusArgs.length && !o.resume) {
      throw new CharlmError('MISSING_CORPUS', 'train needs a corpus', 'e.g. `charlm train shakespeare --preset tiny` or `charlm train my.txt`');
    }
    const flags: Record<string, unknown> = {};
    for (const key of CONFIG_KEYS) if (o[key] !== undefined) flags[key] = o[key];
    if (typeof flags.separator === 'string') flags.separator = unescapeSeparator(flags.separator);
    const file = o.config ? readConfigFile(String(o.config)) : undefined;
    const config = resolveConfig({ preset: o.preset as string | undefined, file, fileName: o.config as string, flags });
    let args = corpusArgs, include = o.include as string[], exclude = o.exclude as string[];
    const outDir = (o.resume as string | undefined) ?? (o.out as string | undefined);
    // Keys asked for now (flags, the config file, the preset): on resume only these replace the saved run's values.
    const explicitKeys = [...new Set([...Object.keys(flags), ...Object.keys(file ?? {}),
      ...Object.keys(o.preset ? PRESETS[o.preset as string]?.config ?? {} : {})].map(camelKey))] as (keyof TrainConfig)[];
    let shown = config; // what the run will use: on resume, the saved run's config with the flags given now
    if (o.resume) {
      const { loadTrainState } = await import('../train/state.js');
      const meta = loadTrainState(`${o.resume}/state.safetensors`).meta;
      shown = resumeConfig(meta.config as unknown as TrainConfig, config, explicitKeys);
      if (!args.length) {
        if (meta.corpusSpec) ({ paths: args, include = [], exclude = [] } = meta.corpusSpec);
        else args = [meta.corpus];
      }
    }
    const log = (l: string) => process.stderr.write(`charlm: ${l}\n`);
    // One named dataset is read as text (as it always was); anything else streams from files.
    const corpus: CorpusInput = args.length === 1 && DATASETS.some((d) => d.name === args[0])
      ? await loadCorpusText(args[0], { log })
      : corpusFromPaths(args, include, exclude);
    const out = outDir ?? `runs/${basename(corpus.name).replace(/\.[^.]*$/, '') || 'model'}`;
    const quiet = o.quiet === true;
    if (!quiet) {
      const size = corpus.text !== undefined ? ` (${corpus.text.length.toLocaleString('en-US')} characters)` : '';
      console.log(`charlm train — corpus ${corpus.source}${size}, out ${out}`);
      console.log(`config ${JSON.stringify(familyConfig(shown))}`);
    }
    if (o.engine === 'torch') {
      // On resume, the merged config: charlm_torch.py lets every resumable key it is given replace the saved value.
      await trainWithTorch({ config: shown, corpus, out, nproc: Number(o.nproc), resume: !!o.resume, initFrom: o.initFrom as string | undefined, quiet });
      return;
    }
    const backend = await backendFor(config.backend, config.threads || undefined, config.precision);
    const ac = new AbortController();
    let interrupts = 0;
    const onSig = () => {
      if (++interrupts > 1) process.exit(130);
      process.stderr.write('\ncharlm: interrupted — finishing this step and saving (Ctrl-C again to quit now)\n');
      ac.abort();
    };
    process.on('SIGINT', onSig);
    const progress = new Progress(quiet), dataProgress = new DataProgress(quiet);
    try {
      const r = await train({ config, corpus, outDir: out, backend, resume: !!o.resume, initFrom: o.initFrom as string | undefined, force: o.force === true, limits: limitsFrom(o),
                              signal: ac.signal, explicitKeys, consumeText: true, cache: o.cache === false ? false : 'auto',
                              onEvent: (e: TrainEvent) => (isDataEvent(e) ? dataProgress.event(e) : progress.event(e)) });
      progress.stop();
      if (!quiet) {
        const val = r.bestValLoss !== null ? `, best val ${r.bestValLoss.toFixed(4)} nats/char (${(r.bestValLoss / Math.LN2).toFixed(3)} bits/char)` : '';
        console.log(`${r.stopped === 'done' ? 'done' : r.stopped}: ${r.steps} steps in ${r.elapsedS.toFixed(1)} s, ` +
                    `${Math.round(r.charsPerS).toLocaleString('en-US')} chars/s, train loss ${r.trainLoss?.toFixed(4) ?? '—'}${val}`);
        console.log(`saved ${r.lastPath}${r.bestPath ? ` and ${r.bestPath}` : ''}`);
        console.log(`next: charlm sample ${r.bestPath ?? r.lastPath} --prime "..." --length 500`);
      }
      if (r.stopped === 'interrupted') process.exitCode = 130;
    } finally {
      progress.stop();
      dataProgress.stop();
      process.off('SIGINT', onSig);
    }
  });
}
