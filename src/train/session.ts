// One training run held in memory and driven one step at a time, with no file system, timers or global state:
// what the browser's Web Worker runs. The same pieces as the Node loop (loop.ts: vocabulary, batches, model init,
// clip, Adam/AdamW, schedule, evaluation protocols), minus files, resume, micro-batching and locking.
import type { TrainConfig } from '../config.js';
import { CharlmError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import { Vocab } from '../data/vocab.js';
import { checkCorpusLength, encodeCorpus, splitTrainVal, type Tokens } from '../data/text.js';
import { RandomWindows, StatefulStreams, type Batcher } from '../data/batches.js';
import type { LanguageModel, ModelState } from '../model/model.js';
import { checkModelSize, createModel, family } from '../model/registry.js';
import { encodeModel, type TrainingSummary } from '../model/codec.js';
import { Rng } from '../util/rng.js';
import { Adam, clipGradNorm } from './optimizer.js';
import { initialScheduleState, lrAt, observeValidation } from './schedule.js';
import { evaluate, windowBlock } from './evaluate.js';

export interface SessionOptions {
  config: TrainConfig;
  /** The whole corpus, already decoded. */
  text: string;
  /** The corpus's name, recorded in the checkpoint. */
  name: string;
  backend: Backend;
}

export class TrainSession {
  readonly model: LanguageModel;
  readonly vocab: Vocab;
  readonly config: TrainConfig;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  readonly trainChars: number;
  readonly valChars: number;
  step = 0;
  /** [step, trainLoss, valLoss|null], one point per optimizer step (validation where it ran). */
  readonly history: [number, number, number | null][] = [];
  lastVal: number | null = null;
  bestVal: number | null = null;
  private readonly backend: Backend;
  private readonly corpusName: string;
  private readonly rng: Rng;
  private readonly batcher: Batcher;
  private readonly carry: ModelState | null;
  private readonly adam: Adam;
  private readonly sched = initialScheduleState();
  private readonly evalTok: Tokens;
  private readonly evalBlock: number;
  private readonly x: Int32Array;
  private readonly y: Int32Array;

  constructor(o: SessionOptions) {
    const cfg = this.config = o.config;
    this.backend = o.backend;
    this.corpusName = o.name;
    if (o.text.length === 0) checkCorpusLength(0, cfg.seqLength);
    this.vocab = Vocab.fromText(o.text);
    const tokens = encodeCorpus(o.text, this.vocab);
    checkCorpusLength(tokens.length, cfg.seqLength);
    const { train, val } = splitTrainVal(tokens, cfg.valFraction);
    const B = cfg.batchSize, T = cfg.seqLength;
    const stateful = cfg.batching === 'stateful';
    checkCorpusLength(train.length, stateful ? T * B : T);
    this.trainChars = train.length;
    this.valChars = val.length;
    this.evalTok = val.subarray(0, Math.min(val.length, cfg.evalChars));

    const mc = family(cfg.family).fromTrainConfig(cfg, this.vocab.size);
    checkModelSize(mc);   // the page's form could ask for billions of parameters and freeze the tab
    this.model = createModel(mc, o.backend);
    this.model.initialize(new Rng(cfg.seed));
    if (stateful && !this.model.statefulTraining) {
      throw new CharlmError('BAD_CONFIG_VALUE', `stateful batching needs a recurrent model; the ${this.model.family} family has no state to carry`,
        'use random batching');
    }
    if (this.model.contextLimit !== null && T > this.model.contextLimit) {
      throw new CharlmError('BAD_CONFIG_VALUE', `seq-length ${T} is longer than the model's context (block-size ${this.model.contextLimit})`,
        `use a seq-length of ${this.model.contextLimit} or less`);
    }
    this.evalBlock = cfg.evalProtocol === 'windows' ? windowBlock(this.model, cfg.evalBlock || (this.model.contextLimit ?? T)) : 0;
    this.rng = new Rng((cfg.seed ^ 0x5eed5eed) >>> 0); // the Node loop's batch RNG, so both draw the same windows
    this.batcher = stateful ? new StatefulStreams(train, B, T) : new RandomWindows(train, B, T, this.rng);
    this.carry = stateful ? this.model.createState(B) : null;
    const ps = this.model.params;
    this.adam = new Adam(o.backend, ps.size, ps.entries.map((e) => this.model.decays(e.name)), ps.entries, cfg.beta1, cfg.beta2);
    this.stepsPerEpoch = Math.max(1, Math.floor(train.length / (B * T)));
    this.totalSteps = cfg.steps > 0 ? cfg.steps : Math.max(1, Math.round(cfg.epochs * this.stepsPerEpoch));
    this.x = new Int32Array(B * T);
    this.y = new Int32Array(B * T);
  }

  get done(): boolean { return this.step >= this.totalSteps; }

  /** One optimizer step on one batch; returns its training loss (nats per character). */
  trainStep(): number {
    const cfg = this.config, B = cfg.batchSize, T = cfg.seqLength, m = this.model;
    const lr = lrAt(cfg, this.step + 1, this.totalSteps, this.stepsPerEpoch, this.sched);
    this.batcher.next(this.x, this.y);
    if (this.carry && this.batcher instanceof StatefulStreams) {
      if (this.batcher.resetState) m.resetState(this.carry);
      this.batcher.consumedReset();
    }
    const loss = m.forwardBackward(this.x, this.y, B, T, this.carry, this.rng);
    const norm = clipGradNorm(this.backend, m.params.grad, cfg.clip);
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
      throw new CharlmError('LOSS_NOT_FINITE', `the loss became ${loss} at step ${this.step + 1}; training stopped`,
        'lower the learning rate, or clip gradients');
    }
    this.adam.update(this.backend, m.params.data, m.params.grad, lr, cfg.weightDecay, cfg.optimizer === 'adamw');
    m.weightsChanged();
    this.step++;
    this.history.push([this.step, loss, null]);
    return loss;
  }

  /** Validation loss under the config's protocol (null when there is no held-out text). */
  validate(): number | null {
    if (this.evalTok.length < 2) return null;
    const r = evaluate(this.model, this.evalTok, { protocol: this.config.evalProtocol, block: this.evalBlock });
    this.lastVal = r.loss;
    if (this.bestVal === null || r.loss < this.bestVal) this.bestVal = r.loss;
    observeValidation(this.config, this.sched, r.loss);
    const last = this.history[this.history.length - 1];
    if (last && last[0] === this.step) last[2] = r.loss;
    return r.loss;
  }

  summary(): TrainingSummary {
    const last = this.history[this.history.length - 1];
    return { corpus: this.corpusName, steps: this.step, epochs: this.step / this.stepsPerEpoch,
      charsSeen: this.step * this.config.batchSize * this.config.seqLength, trainLoss: last ? last[1] : null,
      valLoss: this.lastVal, bestValLoss: this.bestVal, backend: this.backend.name, history: thin(this.history, 400),
      trainConfig: this.config as unknown as Record<string, unknown> };
  }

  /** The model as a .safetensors checkpoint, the same bytes `charlm train` would write for these weights. */
  checkpoint(): Uint8Array {
    return encodeModel(this.model, this.vocab, this.summary());
  }
}

/** At most n points, evenly thinned, always keeping the last. */
export function thin<T>(a: T[], n: number): T[] {
  if (a.length <= n) return a;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(a[Math.floor((i * (a.length - 1)) / (n - 1))]);
  return out;
}
