// The step loop behind the routes. An Engine primes a prompt and runs n sequences in continuous batching, reporting
// text per batcher slice (coalesced: one callback per sequence per slice, not per character). InlineEngine runs the
// Batcher on this thread; WorkerEngine (engine-worker.ts) runs the same InlineEngine on a worker thread, so the
// model steps never hold the event loop that parses requests and writes streams.
import { Worker } from 'node:worker_threads';
import type { LanguageModel } from '../model/model.js';
import type { LoadedModel } from '../model/io.js';
import { encodeModel } from '../model/io.js';
import type { PickOptions } from '../sample/pick.js';
import { Rng } from '../util/rng.js';
import { Batcher, PrimeCancelled, type BatcherOptions, type BatchStats } from './batcher.js';
import type { Sequence, SampleResult } from './sequence.js';

export interface GenerateJob {
  ids: Int32Array; n: number; seed: number; pick: PickOptions; length: number; stops: string[];
  /** Date.now() after which priming fails (PrimeCancelled) and sampling ends with 'timeout'. */
  deadline: number;
  /** Whether onText is wanted (streams); without it text arrives only in onSample. */
  stream: boolean;
}

export interface JobHooks {
  /** New text of sample `index` (never part of a stop string). */
  onText(index: number, text: string): void;
  onSample(index: number, r: SampleResult): void;
  /** Priming failed: PrimeCancelled when the deadline passed, else the error. */
  onPrimeFailed(e: Error): void;
  /** When the first character of any sample was picked (ms since the epoch, Date.now()). */
  onFirstChar?(at: number): void;
}

export interface JobHandle { cancel(): void; pause(): void; resume(): void }

export interface Engine {
  readonly stats: BatchStats;
  generate(job: GenerateJob, hooks: JobHooks): JobHandle;
  /** Next-character logits (V) after the prompt; cancel() rejects with PrimeCancelled. */
  primeLogits(ids: Int32Array, deadline: number): { promise: Promise<Float32Array>; cancel(): void };
  close(): void;
}

export type EngineKind = 'inline' | 'worker';

export class InlineEngine implements Engine {
  constructor(readonly batcher: Batcher, private readonly model: LanguageModel) {}

  get stats(): BatchStats { return this.batcher.stats; }

  generate(job: GenerateJob, hooks: JobHooks): JobHandle {
    let cancelled = false, paused = false;
    const seqs: Sequence[] = [], b = this.batcher;
    b.prime(job.ids, () => cancelled || Date.now() > job.deadline).then((primed) => {
      if (cancelled) return;
      hooks.onFirstChar?.(Date.now()); // primed: the first characters are picked right below
      for (let i = 0; i < job.n; i++) {
        const state = i === job.n - 1 ? primed.state : this.model.cloneState(primed.state);
        seqs.push(b.start({
          state, logits: primed.logits, rng: new Rng(job.seed + i), pick: job.pick, length: job.length,
          stops: job.stops, deadline: job.deadline,
          onText: job.stream ? (text) => hooks.onText(i, text) : undefined,
          onFinish: (r) => hooks.onSample(i, r),
        }));
      }
      if (paused) for (const s of seqs) b.pause(s);
    }, (e: Error) => { if (!cancelled) hooks.onPrimeFailed(e); });
    return {
      cancel: () => { cancelled = true; for (const s of seqs) b.cancel(s); },
      pause: () => { paused = true; for (const s of seqs) b.pause(s); },
      resume: () => { paused = false; for (const s of seqs) b.resume(s); },
    };
  }

  primeLogits(ids: Int32Array, deadline: number): { promise: Promise<Float32Array>; cancel(): void } {
    let cancelled = false;
    const promise = this.batcher.prime(ids, () => cancelled || Date.now() > deadline).then((p) => p.logits);
    return { promise, cancel: () => { cancelled = true; } };
  }

  close(): void { this.batcher.close(); }
}

/** Messages main → worker. */
export type ToWorker =
  | { op: 'gen'; id: number; job: GenerateJob }
  | { op: 'logits'; id: number; ids: Int32Array; deadline: number }
  | { op: 'cancel' | 'pause' | 'resume'; id: number }
  | { op: 'close' };

/** One event worker → main: [job id, kind, sample index, payload]. */
export type WorkerEvent =
  | [number, 't', number, string] | [number, 's', number, SampleResult] | [number, 'f', number, { cancelled: boolean; message: string }]
  | [number, 'c', number, number] | [number, 'l', number, Float32Array];

export interface FromWorker {
  stats: BatchStats; events: WorkerEvent[];
  /** Rows of each batched step since the last message (for the batch-size histogram). */
  steps?: number[];
  error?: string;
}

export interface WorkerInit {
  bytes: Uint8Array; backend: string; threads: number | undefined; batcher: Partial<BatcherOptions>;
}

export const ZERO_STATS: BatchStats = { steps: 0, seqSteps: 0, maxBatchSeen: 0, primeChunks: 0, maxSliceMs: 0, active: 0, queued: 0, paused: 0, priming: 0 };

/** Backends a worker can rebuild by name (others, e.g. a test's own, run inline). */
export function workerCanRun(m: LoadedModel): boolean {
  return ['ref', 'ref-bf16', 'native', 'native-bf16'].includes(m.model.backend.name);
}

export class WorkerEngine implements Engine {
  stats: BatchStats = { ...ZERO_STATS };
  private readonly worker: Worker;
  private readonly jobs = new Map<number, JobHooks>();
  private readonly logitJobs = new Map<number, { resolve(l: Float32Array): void; reject(e: Error): void }>();
  private nextId = 1;
  private closed = false;
  private readonly started = new Set<number>();     // jobs whose sequences are running (primed)

  constructor(loaded: LoadedModel, batcher: Partial<BatcherOptions>, threads?: number,
              private readonly onStep?: (B: number) => void) {
    const bytes = encodeModel(loaded.model, loaded.vocab, loaded.training);
    const init: WorkerInit = { bytes, backend: loaded.model.backend.name, threads, batcher };
    this.worker = spawnWorker(init);
    this.worker.on('message', (m: FromWorker) => this.receive(m));
    this.worker.on('error', (e) => this.fail(`the model worker failed: ${e.message}`));
    this.worker.on('exit', () => { if (!this.closed) this.fail('the model worker exited'); });
  }

  private post(m: ToWorker): void { if (!this.closed) this.worker.postMessage(m); }

  private receive(m: FromWorker): void {
    this.stats = m.stats;
    if (m.error) { this.fail(m.error); return; }
    if (m.steps && this.onStep) for (const B of m.steps) this.onStep(B);
    for (const [id, kind, index, payload] of m.events) {
      if (kind === 'l') {
        const j = this.logitJobs.get(id);
        this.logitJobs.delete(id);
        j?.resolve(payload);
        continue;
      }
      const h = this.jobs.get(id);
      if (!h && kind !== 'f') continue;
      if (kind === 't') h!.onText(index, payload);
      else if (kind === 's') h!.onSample(index, payload);
      else if (kind === 'c') { this.started.add(id); h!.onFirstChar?.(payload); }
      else {
        const err = payload.cancelled ? new PrimeCancelled() : new Error(payload.message);
        const lj = this.logitJobs.get(id);
        this.logitJobs.delete(id);
        if (lj) lj.reject(err);
        else { this.jobs.delete(id); h?.onPrimeFailed(err); }
      }
    }
  }

  /** The worker died: every open job fails (as an internal error), new ones fail at once. */
  private fail(message: string): void {
    if (this.closed) return;
    this.closed = true;
    const e = new Error(message);
    for (const h of this.jobs.values()) h.onPrimeFailed(e);
    for (const j of this.logitJobs.values()) j.reject(e);
    this.jobs.clear(); this.logitJobs.clear();
    void this.worker.terminate();
  }

  generate(job: GenerateJob, hooks: JobHooks): JobHandle {
    const id = this.nextId++;
    if (this.closed) { queueMicrotask(() => hooks.onPrimeFailed(new Error('the engine is closed'))); return { cancel() {}, pause() {}, resume() {} }; }
    let left = job.n;
    this.jobs.set(id, { ...hooks, onSample: (i, r) => { if (--left === 0) { this.jobs.delete(id); this.started.delete(id); } hooks.onSample(i, r); } });
    this.post({ op: 'gen', id, job });
    return {
      cancel: () => { this.jobs.delete(id); this.started.delete(id); this.post({ op: 'cancel', id }); },
      pause: () => this.post({ op: 'pause', id }),
      resume: () => this.post({ op: 'resume', id }),
    };
  }

  primeLogits(ids: Int32Array, deadline: number): { promise: Promise<Float32Array>; cancel(): void } {
    const id = this.nextId++;
    const promise = new Promise<Float32Array>((resolve, reject) => {
      if (this.closed) { reject(new Error('the engine is closed')); return; }
      this.logitJobs.set(id, { resolve, reject });
      this.post({ op: 'logits', id, ids, deadline });
    });
    return { promise, cancel: () => this.post({ op: 'cancel', id }) };
  }

  close(): void {
    if (this.closed) return;
    this.post({ op: 'close' });
    this.closed = true;
    // As InlineEngine: a job still priming fails ('batcher closed'); sequences already running end as 'cancelled',
    // which calls nothing.
    for (const [id, h] of this.jobs) if (!this.started.has(id)) h.onPrimeFailed(new Error('batcher closed'));
    this.jobs.clear();
    this.started.clear();
    for (const j of this.logitJobs.values()) j.reject(new Error('batcher closed'));
    this.logitJobs.clear();
    setTimeout(() => void this.worker.terminate(), 1000).unref();
  }
}

/**
 * The worker for dist/ (engine-worker.js), or, when running from source under tsx (tests, benches), a bootstrap
 * that registers tsx in the worker first (workers do not inherit the --import hook) and imports engine-worker.ts.
 */
function spawnWorker(init: WorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./engine-worker.js', import.meta.url), { workerData: init });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./engine-worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, workerData: init });
}

/** batcher: plain options (they are cloned to a worker); onStep: the batch-size hook, on this thread either way. */
export function createEngine(kind: EngineKind, loaded: LoadedModel, batcher: Partial<Omit<BatcherOptions, 'onStep'>>,
                             threads?: number, onStep?: (B: number) => void): Engine {
  if (kind === 'worker' && workerCanRun(loaded)) return new WorkerEngine(loaded, batcher, threads, onStep);
  return new InlineEngine(new Batcher(loaded.model, loaded.vocab, { ...batcher, onStep }), loaded.model);
}
