// The training loop: data → vocabulary → batches → forward/backward → clip → Adam, with periodic evaluation,
// best/last checkpoints, a resumable state file, early stopping, NaN guard and clean interruption (AbortSignal).
// It yields to the event loop after every step so Ctrl-C and progress output stay responsive.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from '../config.js';
import { CharlmError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import { createBackend } from '../kernels/registry.js';
import { Vocab } from '../data/vocab.js';
import { checkCorpusLength } from '../data/corpus.js';
import { prepareCorpus, type CorpusInput, type DataEvent, type PreparedCorpus } from '../data/prepare.js';
import { absoluteSpec } from '../data/sources.js';
import { RandomWindows, StatefulStreams, type Batcher } from '../data/batches.js';
import type { LanguageModel, ModelState } from '../model/model.js';
import { checkModelSize, createModel, family } from '../model/registry.js';
import { encodeModel, loadModelFile, saveModel, type TrainingSummary } from '../model/io.js';
import { removeOrphanTempFiles } from '../util/fs.js';
import type { LoadLimits } from '../model/limits.js';
import { Rng } from '../util/rng.js';
import { generate } from '../sample/generate.js';
import { Adam, clipGradNorm } from './optimizer.js';
import { initialScheduleState, lrAt, observeValidation } from './schedule.js';
import { evaluate as evaluateLoss, windowBlock } from './evaluate.js';
import { MetricsLog } from './metrics.js';
import { checkPair, encodeTrainState, LAST_FILE, loadTrainState, saveRunCheckpoint, STATE_FILE, weightsDigest,
         type TrainStateMeta } from './state.js';
import { acquireRunLock, checkFreshFolder } from './lock.js';

export type { CorpusInput };

export type TrainEvent =
  | { type: 'start'; totalSteps: number; startStep: number; stepsPerEpoch: number; params: number; vocabSize: number;
      trainChars: number; valChars: number; backend: string; unknownChars: string[] }
  | { type: 'step'; step: number; totalSteps: number; epoch: number; loss: number; lr: number; charsPerS: number;
      elapsedS: number; etaS: number }
  | { type: 'eval'; step: number; valLoss: number; valBpc: number; best: boolean; sample: string; protocol: string }
  | { type: 'saved'; path: string }
  | { type: 'notice'; message: string }
  | DataEvent;

export interface TrainOptions {
  config: TrainConfig;
  corpus: CorpusInput;
  outDir: string;
  backend?: Backend;
  /** Continue the run saved in outDir (weights, optimizer, step, RNG, data position). */
  resume?: boolean;
  /** Start from this checkpoint's weights and vocabulary (fine-tuning). */
  initFrom?: string;
  signal?: AbortSignal;
  onEvent?: (ev: TrainEvent) => void;
  /** Drop corpus.text (set it to '') once it is encoded, so a large corpus is held once, as tokens. */
  consumeText?: boolean;
  /** Token cache for file corpora: 'auto' (default: corpora of 16 MB or more), true, false. */
  cache?: boolean | 'auto';
  /** Start a fresh run in a folder that already holds one (its files are replaced). */
  force?: boolean;
  /** Load limits for the --resume / --init-from checkpoint (model/limits.ts). */
  limits?: Partial<LoadLimits>;
  /**
   * With resume: the config keys the caller set on purpose (the CLI's flags). Only these of the resumable keys
   * replace the saved run's values; the rest keep the saved run's. Absent: every resumable key comes from `config`.
   */
  explicitKeys?: readonly (keyof TrainConfig)[];
}

export interface TrainResult {
  outDir: string; lastPath: string; bestPath: string | null;
  steps: number; trainLoss: number | null; valLoss: number | null; bestValLoss: number | null;
  stopped: 'done' | 'early-stop' | 'interrupted'; elapsedS: number; charsPerS: number;
}

/** Config keys a resumed run may change; everything else comes from the saved run. */
export const RESUMABLE_OVERRIDES: readonly (keyof TrainConfig)[] = ['steps', 'epochs', 'evalInterval', 'logInterval', 'patience',
  'backend', 'threads', 'sampleChars'];

/**
 * The config a resumed run continues with: the saved run's, with the resumable keys taken from `cfg` (only those in
 * `explicitKeys` when it is given, so a flag left out keeps the saved value rather than the default).
 */
export function resumeConfig(saved: TrainConfig, cfg: TrainConfig, explicitKeys?: readonly (keyof TrainConfig)[]): TrainConfig {
  const merged = { ...saved };
  for (const k of RESUMABLE_OVERRIDES) {
    if (!explicitKeys || explicitKeys.includes(k)) (merged as unknown as Record<string, unknown>)[k] = cfg[k];
  }
  return merged;
}

/**
 * Trains into opts.outDir while holding its run lock (train/lock.ts): a second training into the same folder is
 * refused, a fresh run into a folder holding a run needs force (or resume), and temp files of a killed run are removed.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const notice = (message: string) => opts.onEvent?.({ type: 'notice', message });
  const lock = acquireRunLock(opts.outDir, notice);
  try {
    const orphans = removeOrphanTempFiles(opts.outDir);
    if (orphans.length) notice(`removed ${orphans.length} temporary file(s) left by an interrupted save in ${opts.outDir}`);
    if (!opts.resume) checkFreshFolder(opts.outDir, opts.force === true);
    return await trainLocked(opts);
  } finally {
    lock.release();
  }
}

async function trainLocked(opts: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  mkdirSync(opts.outDir, { recursive: true });
  const lastPath = join(opts.outDir, LAST_FILE), bestPath = join(opts.outDir, 'best.safetensors');
  const statePath = join(opts.outDir, STATE_FILE);
  let cfg = opts.config;
  let saved: ReturnType<typeof loadTrainState> | null = null;
  if (opts.resume) {
    if (!existsSync(statePath) || !existsSync(lastPath)) {
      throw new CharlmError('RESUME_MISSING', `nothing to resume in ${opts.outDir}`, 'resume needs the --out folder of an earlier run (last.safetensors + state.safetensors)');
    }
    saved = loadTrainState(statePath);
    cfg = resumeConfig(saved.meta.config as unknown as TrainConfig, cfg, opts.explicitKeys);
  }
  const backend = opts.backend ?? await createBackend(cfg.backend, { threads: cfg.threads || undefined, precision: cfg.precision });

  // Vocabulary and model: fresh, fine-tuned from a checkpoint, or resumed.
  let vocab: Vocab, model: LanguageModel, data: PreparedCorpus | undefined;
  const base = opts.resume ? lastPath : opts.initFrom;
  if (base) {
    const lm = loadModelFile(base, backend, opts.limits);
    if (saved) checkPair(opts.outDir, saved.meta, lm.training?.steps ?? null, lm.model.params.read());
    vocab = lm.vocab;
    model = createModel(family(lm.config.family).withTrainingSettings(lm.config, cfg), backend);
    backend.copy(model.params.data, lm.model.params.data, model.params.size);
    model.weightsChanged();
  } else {
    vocab = (data = await loadData(opts, cfg)).vocab;
    const mc = family(cfg.family).fromTrainConfig(cfg, vocab.size);
    checkModelSize(mc, opts.limits);
    model = createModel(mc, backend);
    model.initialize(new Rng(cfg.seed));
  }
  if (cfg.batching === 'stateful' && !model.statefulTraining) {
    throw new CharlmError('BAD_CONFIG_VALUE', `--batching stateful needs a recurrent model; the ${model.family} family has no state to carry between windows`,
      'use --batching random');
  }
  if (model.contextLimit !== null && cfg.seqLength > model.contextLimit) {
    throw new CharlmError('BAD_CONFIG_VALUE', `seq-length ${cfg.seqLength} is longer than the model's context (block-size ${model.contextLimit})`,
      `use --seq-length ${model.contextLimit} or less, or a larger --block-size`);
  }
  data ??= await loadData(opts, cfg, vocab);
  const unknownChars = data.skippedChars;
  if (opts.consumeText && opts.corpus.text !== undefined) opts.corpus.text = '';
  checkCorpusLength(data.tokens.length, cfg.seqLength);
  const { train: trainTok, val: valTok } = data;
  checkCorpusLength(trainTok.length, cfg.batching === 'stateful' ? cfg.seqLength * cfg.batchSize : cfg.seqLength);
  const evalTok = valTok.subarray(0, Math.min(valTok.length, cfg.evalChars));

  const B = cfg.batchSize, T = cfg.seqLength;
  // The windows protocol's window: --eval-block, else the model's context, else (rnn) the training window.
  const evalBlock = cfg.evalProtocol === 'windows'
    ? windowBlock(model, cfg.evalBlock || (model.contextLimit ?? cfg.seqLength)) : 0;
  const evalName = cfg.evalProtocol === 'windows' ? `windows/${evalBlock}` : 'stream';
  const micro = cfg.microBatch > 0 && cfg.microBatch < B ? cfg.microBatch : B;
  if (micro < B && (B % micro !== 0 || cfg.batching === 'stateful')) {
    throw new CharlmError('BAD_CONFIG_VALUE', cfg.batching === 'stateful'
      ? 'micro-batch works with --batching random only' : `micro-batch ${micro} must divide batch-size ${B}`,
      'e.g. --batch-size 64 --micro-batch 16, or --micro-batch 0');
  }
  const rng = new Rng((cfg.seed ^ 0x5eed5eed) >>> 0);
  const batcher: Batcher = cfg.batching === 'stateful' ? new StatefulStreams(trainTok, B, T) : new RandomWindows(trainTok, B, T, rng);
  const carry: ModelState | null = cfg.batching === 'stateful' ? model.createState(B) : null;
  const adam = new Adam(backend, model.params.size, model.params.entries.map((e) => model.decays(e.name)), model.params.entries, cfg.beta1, cfg.beta2);
  const sched = initialScheduleState();
  const stepsPerEpoch = Math.max(1, Math.floor(trainTok.length / (B * T)));
  const totalSteps = cfg.steps > 0 ? cfg.steps : Math.max(1, Math.round(cfg.epochs * stepsPerEpoch));
  let step = 0, bestVal: number | null = null, noImprove = 0, charsSeen = 0;
  let history: [number, number, number | null][] = [];
  if (saved) {
    const m = saved.tensors.get('adam.m'), v = saved.tensors.get('adam.v');
    const carried = carry ? Object.entries(model.stateTensors(carry)) : [];
    if (!m || !v || m.data.length !== adam.m.length || v.data.length !== adam.v.length
        || carried.some(([name, buf]) => { const t = saved!.tensors.get(name); return t !== undefined && t.data.length !== buf.length; })) {
      throw new CharlmError('RESUME_INVALID', `${statePath} does not match the saved model (its tensor sizes differ)`,
        `fine-tune from the weights with --init-from ${lastPath}, or start over with --force`);
    }
    adam.m.set(m.data); adam.v.set(v.data);
    backend.write(adam.m); backend.write(adam.v);
    step = adam.step = saved.meta.step;
    rng.setState(saved.meta.rng);
    batcher.setState(saved.meta.batcher);
    Object.assign(sched, saved.meta.schedule);
    bestVal = saved.meta.bestVal; noImprove = saved.meta.evalsWithoutImprovement;
    history = saved.meta.history; charsSeen = saved.meta.charsSeen;
    for (const [name, buf] of carried) { const t = saved.tensors.get(name); if (t) { buf.set(t.data); backend.write(buf); } }
  }
  const startStep = step;
  const metrics = new MetricsLog(join(opts.outDir, 'metrics.jsonl'), !!saved);
  const emit = opts.onEvent ?? (() => {});
  emit({ type: 'start', totalSteps, startStep, stepsPerEpoch, params: model.params.size, vocabSize: vocab.size,
         trainChars: trainTok.length, valChars: valTok.length, backend: backend.name, unknownChars });

  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  // Row blocks of x and y for micro-batching (views made once).
  const parts = Array.from({ length: B / micro }, (_, i) => ({
    x: x.subarray(i * micro * T, (i + 1) * micro * T), y: y.subarray(i * micro * T, (i + 1) * micro * T) }));
  let lossAcc = 0, lossN = 0, lastTrainLoss: number | null = history.length ? history[history.length - 1][1] : null;
  let lastVal: number | null = null, stopped: TrainResult['stopped'] = 'done';
  let tLog = performance.now(), charsLog = 0;
  const tRun = performance.now();

  const summary = (): TrainingSummary => ({
    corpus: opts.corpus.name, steps: step, epochs: step / stepsPerEpoch, charsSeen, trainLoss: lastTrainLoss,
    valLoss: lastVal, bestValLoss: bestVal, backend: backend.name, history: thin(history, 400),
    trainConfig: cfg as unknown as Record<string, unknown>,
  });
  const checkpoint = () => { // weights and resume state as one pair (train/state.ts)
    backend.read(adam.m); backend.read(adam.v);
    const carried = carry ? model.stateTensors(carry) : null;
    for (const buf of Object.values(carried ?? {})) backend.read(buf);
    const meta: TrainStateMeta = { step, rng: rng.getState(), batcher: batcher.getState(), schedule: { ...sched }, bestVal,
      evalsWithoutImprovement: noImprove, history, config: cfg as unknown as Record<string, unknown>, corpus: opts.corpus.name, charsSeen,
      weightsSha256: weightsDigest(model.params.read()), ...(opts.corpus.spec ? { corpusSpec: absoluteSpec(opts.corpus.spec) } : {}) };
    saveRunCheckpoint(opts.outDir, encodeTrainState(meta, adam.m, adam.v, carried),
                      encodeModel(model, vocab, summary()));
    emit({ type: 'saved', path: lastPath });
  };
  const evaluate = (): boolean => {
    const r = evaluateLoss(model, evalTok, { protocol: cfg.evalProtocol, block: evalBlock });
    lastVal = r.loss;
    const best = bestVal === null || r.loss < bestVal;
    if (best) { bestVal = r.loss; noImprove = 0; } else noImprove++;
    observeValidation(cfg, sched, r.loss);
    if (history.length && history[history.length - 1][0] === step) history[history.length - 1][2] = r.loss;
    else history.push([step, lastTrainLoss ?? NaN, r.loss]);
    const sample = cfg.sampleChars > 0
      ? generate(model, vocab, { prime: '', length: cfg.sampleChars, temperature: 0.8, topK: 0, topP: 1, seed: cfg.seed, unknown: 'skip' })
      : '';
    metrics.write({ type: 'eval', step, epoch: step / stepsPerEpoch, val_loss: r.loss, val_bpc: r.bitsPerChar, protocol: evalName,
                    train_loss: lastTrainLoss, elapsed_s: (performance.now() - t0) / 1000, best, sample });
    emit({ type: 'eval', step, valLoss: r.loss, valBpc: r.bitsPerChar, best, sample, protocol: evalName });
    if (best) saveModel(bestPath, model, vocab, summary());
    return cfg.patience > 0 && noImprove >= cfg.patience;
  };

  while (step < totalSteps) {
    const lr = lrAt(cfg, step + 1, totalSteps, stepsPerEpoch, sched);
    batcher.next(x, y);
    if (carry && batcher instanceof StatefulStreams) {
      if (batcher.resetState) model.resetState(carry);
      batcher.consumedReset();
    }
    let loss = 0;
    if (micro === B) loss = model.forwardBackward(x, y, B, T, carry, rng);
    else parts.forEach((p, i) => { loss += model.forwardBackward(p.x, p.y, micro, T, null, rng, { accumulate: i > 0, normalizer: B * T }); });
    const norm = clipGradNorm(backend, model.params.grad, cfg.clip); // clip 0: only measures the norm
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
      throw new CharlmError('LOSS_NOT_FINITE', `the loss became ${loss} at step ${step + 1}; stopped, keeping the last good checkpoint in ${opts.outDir}`,
        'lower --learning-rate, or clip gradients with --clip 1 (or resume from the last checkpoint with a lower rate)');
    }
    adam.update(backend, model.params.data, model.params.grad, lr, cfg.weightDecay, cfg.optimizer === 'adamw');
    model.weightsChanged();
    step++; charsSeen += B * T; charsLog += B * T;
    lossAcc += loss; lossN++;
    if (step % cfg.logInterval === 0 || step === totalSteps) {
      const now = performance.now(), mean = lossAcc / lossN;
      const cps = charsLog / ((now - tLog) / 1000), elapsed = (now - t0) / 1000;
      lastTrainLoss = mean;
      history.push([step, mean, null]);
      metrics.write({ type: 'train', step, epoch: step / stepsPerEpoch, loss: mean, lr, chars_per_s: cps, elapsed_s: elapsed, grad_norm: norm });
      const rate = (step - startStep) / ((now - tRun) / 1000);
      emit({ type: 'step', step, totalSteps, epoch: step / stepsPerEpoch, loss: mean, lr, charsPerS: cps, elapsedS: elapsed,
             etaS: (totalSteps - step) / Math.max(rate, 1e-9) });
      lossAcc = 0; lossN = 0; tLog = now; charsLog = 0;
    }
    const atEval = cfg.evalInterval > 0 && step % cfg.evalInterval === 0;
    if (atEval || step === totalSteps) {
      const early = evalTok.length > 1 ? evaluate() : false;
      checkpoint();
      if (early) { stopped = 'early-stop'; break; }
    }
    if (opts.signal?.aborted) {
      if (!(atEval || step === totalSteps)) checkpoint();
      stopped = 'interrupted';
      break;
    }
    await new Promise<void>((r) => setImmediate(r));
  }
  const elapsedS = (performance.now() - t0) / 1000;
  return { outDir: opts.outDir, lastPath, bestPath: bestVal === null ? null : bestPath, steps: step, trainLoss: lastTrainLoss,
           valLoss: lastVal, bestValLoss: bestVal, stopped, elapsedS,
           charsPerS: ((step - startStep) * B * T) / ((performance.now() - tRun) / 1000) };
}

/**
 * Corpus → tokens, split: each file's tail validates (valFraction), or whole files (valFiles). Runs saved before
 * these options existed have none of them in their config; their defaults reproduce the old tokens.
 */
function loadData(opts: TrainOptions, cfg: TrainConfig, vocab?: Vocab): Promise<PreparedCorpus> {
  return prepareCorpus(opts.corpus, {
    vocab, maxVocab: cfg.maxVocab ?? 0, separator: cfg.separator ?? '\n', unknown: 'skip',
    split: { valFraction: cfg.valFraction, valFiles: cfg.valFiles ?? 0 }, cache: opts.cache, onEvent: opts.onEvent,
  });
}

/** At most n points, evenly thinned, always keeping the last. */
function thin<T>(a: T[], n: number): T[] {
  if (a.length <= n) return a;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(a[Math.floor((i * (a.length - 1)) / (n - 1))]);
  return out;
}
