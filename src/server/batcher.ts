// Continuous batching for one model: every active sequence is advanced by ONE batched model.step per character.
// Sequences join (after priming their prompt on their own, B = 1, a chunk per turn) and leave at any step; the
// batched ModelState is rebuilt by copying rows. Work runs in bounded slices, then setImmediate, so the
// event loop is never blocked for more than a few milliseconds.
import type { LanguageModel, ModelState } from '../model/model.js';
import type { Vocab } from '../data/vocab.js';
import { Picker } from '../sample/pick.js';
import { Rng } from '../util/rng.js';
import { Sequence, type SequenceSpec } from './sequence.js';

export interface BatcherOptions {
  /** Most sequences in one batched step; the rest wait (1 = no batching). */
  maxBatch: number;
  /** Milliseconds of work per event-loop turn. */
  sliceMs: number;
  /** Most prompt characters primed per forward call (fewer when the model is slow; see primeChunk()). */
  primeChunk: number;
  /**
   * Milliseconds between streamed text flushes: every running sequence's new text goes out together once per
   * interval (a sequence's first text and its end go out at once). Fewer, larger writes leave the two cores to the
   * model: per-slice flushing (~4 ms) cost the HTTP side a write per sequence per slice. 0 = flush every slice.
   */
  streamMs: number;
  /** Called after every batched step with its number of rows (metrics). */
  onStep?: (B: number) => void;
}

export interface Primed { state: ModelState; logits: Float32Array }

/** A prime() that ended because its `cancelled` callback said so (the client went away, or its deadline passed). */
export class PrimeCancelled extends Error {
  constructor() { super('cancelled'); this.name = 'PrimeCancelled'; }
}

export interface BatchStats {
  /** Batched forward passes (one per character position across all active sequences). */
  steps: number;
  /** Sequence-steps done by those passes (Σ B); seqSteps / steps is the mean batch size. */
  seqSteps: number;
  maxBatchSeen: number;
  primeChunks: number;
  /** Longest single slice of work (ms): how long the event loop was held at worst. */
  maxSliceMs: number;
  active: number;
  queued: number;
  /** Sequences parked because their client stopped reading; prompts waiting to be primed. */
  paused: number;
  priming: number;
}

interface PrimeJob {
  ids: Int32Array; pos: number; state: ModelState;
  resolve(p: Primed): void; reject(e: Error): void; cancelled: () => boolean;
}

/** A row of the batch: a sequence being sampled, or a prompt being fed (its last few characters). */
interface Member {
  row: number;
  /** Its own B = 1 state, copied into the batch when it joins. */
  readonly own: ModelState;
  /** Finished (sampled to the end, cancelled, or prompt fully fed). */
  done(): boolean;
  /** The id to feed at this step. */
  feed(): number;
  /** Sets this row's sampling options (and takes its draw) in the picker before a step. */
  setPick(picker: Picker, b: number): void;
  /**
   * Consumes this row's logits (B,V) at `off` after a step and the id the picker chose for it; `batch` is the
   * batched state, this member at `row`.
   */
  take(logits: Float32Array, off: number, id: number, now: number, batch: ModelState): void;
}

const GREEDY = { temperature: 0, topK: 0, topP: 1 };
const NO_RNG = new Rng(0); // never drawn from: greedy rows take no draw

/**
 * With nothing else to run, a prompt is primed in B = 1 forward passes up to its last character, which rides a
 * step (that step's logits pick the first character). One forward over many characters batches the input
 * projections: ~0.5-0.8 of a step per character here, against a whole step for a riding character.
 */
const RIDE_CHARS = 1;
/**
 * When the batch is busy (sequences running, or several prompts waiting), prompts with up to this many characters
 * left ride instead: a row in a step that runs anyway is nearly free, and B = 1 chunks of many prompts would
 * otherwise run one after another, each waiting for the ones before it (the first character of a burst of new
 * requests). Both ways give the same state bit for bit; only when the work happens differs.
 */
const RIDE_CHARS_BUSY = 64;

export class Batcher {
  readonly opts: BatcherOptions;
  private readonly picker: Picker;
  private active: Member[] = [];
  private queue: Member[] = [];
  private primes: PrimeJob[] = [];
  private parked: SeqMember[] = [];                // paused by their stream's backpressure; hold their own state
  private state: ModelState | null = null;       // B = active.length rows
  private ids = new Int32Array(0);                // (B) last picked id per row
  private picked = new Int32Array(0);             // (B) ids the picker chose at this step
  private dirty = false;
  private scheduled = false;
  private closed = false;
  private counters = { steps: 0, seqSteps: 0, maxBatchSeen: 0, primeChunks: 0, maxSliceMs: 0 };
  private msPerPrimeChar = 0;                     // running estimate, sizes prime chunks to fit a slice
  private streamedAt = 0;                         // performance.now() of the last flush of every sequence's text

  constructor(readonly model: LanguageModel, readonly vocab: Vocab, opts: Partial<BatcherOptions> = {}) {
    this.opts = { maxBatch: 64, sliceMs: 4, primeChunk: 64, streamMs: 25, ...opts };
    this.picker = new Picker(vocab.size, vocab.bannedIds, model.backend);
  }

  /** active / queued count sequences being sampled (not prompts being fed). */
  get stats(): BatchStats {
    const seqs = (l: Member[]) => l.filter((m) => m instanceof SeqMember).length;
    return { ...this.counters, active: seqs(this.active), queued: seqs(this.queue), paused: this.parked.length, priming: this.primes.length };
  }


  /**
   * Runs the prompt through the model and resolves with its state (B = 1) and next-character logits. Long
   * prompts go through B = 1 forward passes in chunks; their last RIDE_CHARS characters (RIDE_CHARS_BUSY when the
   * batch is busy; all of a short prompt)
   * ride along in the batched step, so many new requests do not stall the ones already generating.
   */
  prime(ids: Int32Array, cancelled: () => boolean = () => false): Promise<Primed> {
    if (this.closed) return Promise.reject(new Error('batcher closed'));
    return new Promise((resolve, reject) => {
      this.primes.push({ ids, pos: 0, state: this.model.createState(1), resolve, reject, cancelled });
      this.schedule();
    });
  }

  /** Picks the first character from the primed logits, then queues the sequence to join the batch. */
  start(spec: SequenceSpec): Sequence {
    const seq = new Sequence(spec);
    if (spec.length <= 0) { seq.finish('length'); return seq; }
    if (this.closed) { seq.finish('cancelled'); return seq; }
    const id = this.picker.pick(spec.logits, 0, spec.pick, spec.rng);
    if (!seq.push(id, this.vocab.charAt(id))) {
      seq.flush(); // the first character goes out now, not at the end of the next slice
      this.queue.push(new SeqMember(seq, this));
      this.schedule();
    }
    return seq;
  }

  /** Removes a sequence at once (its client went away); the batch shrinks at the next step. */
  cancel(seq: Sequence): void {
    if (seq.finished) return;
    seq.finish('cancelled');
    this.removeFinished();
    this.parked = this.parked.filter((m) => m.seq !== seq);
  }

  /**
   * Takes a sequence out of the batch until resume() (its client is not reading: the stream's buffer is full).
   * Its row is copied back into its own B = 1 state, so it costs no compute while parked.
   */
  pause(seq: Sequence): void {
    const at = this.active.findIndex((m) => m instanceof SeqMember && m.seq === seq);
    const m = at >= 0 ? this.active[at] as SeqMember : this.queue.find((q) => q instanceof SeqMember && q.seq === seq) as SeqMember | undefined;
    if (!m || seq.finished) return;
    if (at >= 0) {
      this.model.copyStateRow(m.own, 0, this.state!, m.row);
      this.active.splice(at, 1);
      this.dirty = true;
    } else {
      this.queue = this.queue.filter((q) => q !== m);
    }
    m.row = -1;
    this.parked.push(m);
  }

  /** Puts a paused sequence back in line for the batch. */
  resume(seq: Sequence): void {
    const m = this.parked.find((p) => p.seq === seq);
    if (!m) return;
    this.parked = this.parked.filter((p) => p !== m);
    if (seq.finished) return;
    this.queue.push(m);
    this.schedule();
  }

  close(): void {
    this.closed = true;
    for (const m of [...this.active, ...this.queue]) {
      if (m instanceof SeqMember) m.seq.finish('cancelled');
      else if (m instanceof PrimeMember) m.job.reject(new Error('batcher closed'));
    }
    for (const m of this.parked) m.seq.finish('cancelled');
    this.active = []; this.queue = []; this.parked = [];
    for (const j of this.primes.splice(0)) j.reject(new Error('batcher closed'));
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.tick());
  }

  private hasWork(): boolean {
    return this.primes.length > 0 || this.active.length > 0 || this.queue.length > 0;
  }

  private tick(): void {
    this.scheduled = false;
    const t0 = performance.now();
    // Prompts whose clients have gone (or whose deadline passed) leave at once, not when they reach the head.
    if (this.primes.some((j) => j.cancelled())) {
      this.primes = this.primes.filter((j) => {
        if (!j.cancelled()) return true;
        j.reject(new PrimeCancelled());
        return false;
      });
    }
    try {
      while (this.hasWork() && !this.closed) {
        this.admitPrimes();
        if (this.primes.length) this.primeChunk();
        if (this.active.length || this.queue.length) this.step();
        if (performance.now() - t0 >= this.opts.sliceMs) break;
      }
    } finally {
      // Every sequence's text once per streamMs; between those, only sequences that have sent nothing yet (their
      // first characters go out at once). A flush may pause (and remove) m, hence the copy.
      const now = performance.now(), all = now - this.streamedAt >= this.opts.streamMs;
      if (all) this.streamedAt = now;
      for (const m of [...this.active]) if (m instanceof SeqMember && (all || m.seq.emitted === 0)) m.seq.flush();
      this.counters.maxSliceMs = Math.max(this.counters.maxSliceMs, performance.now() - t0);
      if (this.hasWork()) this.schedule();
    }
  }

  /** Prompts with few characters left join the batch queue as riders. */
  private admitPrimes(): void {
    const ride = this.rideChars();
    if (!this.primes.some((j) => j.ids.length - j.pos <= ride)) return;
    this.primes = this.primes.filter((j) => {
      if (j.ids.length - j.pos > ride) return true;
      this.queue.push(new PrimeMember(j, this.model, this.vocab.size));
      return false;
    });
  }

  /** Sequences are running or waiting, or several prompts are: new prompts share the batch (RIDE_CHARS_BUSY). */
  private busy(): boolean {
    return this.active.length > 0 || this.queue.length > 0 || this.primes.length > 1;
  }

  /** How many characters left make a prompt a rider now. */
  private rideChars(): number {
    return this.busy() ? RIDE_CHARS_BUSY : RIDE_CHARS;
  }

  /** One B = 1 forward over the next chunk of the first long prompt, stopping rideChars() short of its end. */
  private primeChunk(): void {
    const job = this.primes[0];
    if (job.cancelled()) { this.primes.shift(); job.reject(new PrimeCancelled()); return; }
    // As many characters as fit in the slice at the measured speed (half of it when sequences are running too; 1
    // until measured), at most primeChunk.
    const busy = this.busy(), ride = busy ? RIDE_CHARS_BUSY : RIDE_CHARS, budget = busy ? this.opts.sliceMs / 2 : this.opts.sliceMs;
    const fit = this.msPerPrimeChar > 0 ? Math.floor(budget / this.msPerPrimeChar) : 1;
    const T = Math.max(1, Math.min(this.opts.primeChunk, fit, job.ids.length - job.pos - ride));
    const t0 = performance.now();
    this.model.prime(job.ids.subarray(job.pos, job.pos + T), 1, T, job.state); // logits unused: not the end
    const per = (performance.now() - t0) / T;
    this.msPerPrimeChar = this.msPerPrimeChar > 0 ? 0.8 * this.msPerPrimeChar + 0.2 * per : per;
    job.pos += T;
    this.counters.primeChunks++;
  }

  /** One character for every active row: admit waiting ones, one batched model.step, then each row's logits. */
  private step(): void {
    const now = Date.now();
    for (const m of this.queue) if (m instanceof SeqMember && now > m.seq.spec.deadline) m.seq.finish('timeout');
    this.removeFinished();
    while (this.queue.length && this.active.length < this.opts.maxBatch) {
      this.active.push(this.queue.shift()!);
      this.dirty = true;
    }
    if (!this.active.length) return;
    if (this.dirty) this.rebuild();
    const B = this.active.length, V = this.vocab.size, ids = this.ids;
    for (let b = 0; b < B; b++) ids[b] = this.active[b].feed();
    const logits = this.model.step(ids, this.state!); // (B,V)
    this.counters.steps++;
    this.counters.seqSteps += B;
    this.counters.maxBatchSeen = Math.max(this.counters.maxBatchSeen, B);
    this.opts.onStep?.(B);
    // Every row's next character in one sampleRows call (each row with its own options and Rng).
    for (let b = 0; b < B; b++) this.active[b].setPick(this.picker, b);
    this.picker.pickRows(this.picked, logits, B);
    for (let b = 0; b < B; b++) this.active[b].take(logits, b * V, this.picked[b], now, this.state!);
    this.removeFinished();
  }

  private removeFinished(): void {
    const keep = this.active.filter((m) => !m.done());
    if (keep.length !== this.active.length) { this.active = keep; this.dirty = true; }
    this.queue = this.queue.filter((m) => !m.done());
  }

  /** New batched state for the current active list: survivors' rows copied over, newcomers' B = 1 states copied in. */
  private rebuild(): void {
    const B = this.active.length, old = this.state;
    const next = this.model.createState(B);
    this.active.forEach((s, j) => {
      if (s.row >= 0 && old) this.model.copyStateRow(next, j, old, s.row);
      else this.model.copyStateRow(next, j, s.own, 0);
      s.row = j;
    });
    this.state = next;
    if (old) this.model.releaseState(old); // its rows were copied; only the batch ever held it
    this.ids = new Int32Array(B);
    this.picked = new Int32Array(B);
    this.dirty = false;
  }
}

class SeqMember implements Member {
  row = -1;
  constructor(readonly seq: Sequence, private readonly b: Batcher) {}
  get own(): ModelState { return this.seq.spec.state; }
  done(): boolean { return this.seq.finished !== null; }
  feed(): number { return this.seq.lastId; }
  setPick(picker: Picker, b: number): void { picker.setRow(b, this.seq.spec.pick, this.seq.spec.rng); }
  take(_logits: Float32Array, _off: number, id: number, now: number): void {
    const s = this.seq;
    if (!s.push(id, this.b.vocab.charAt(id)) && now > s.spec.deadline) s.finish('timeout');
  }
}

class PrimeMember implements Member {
  row = -1;
  private finished = false;
  constructor(readonly job: PrimeJob, private readonly model: LanguageModel, private readonly V: number) {}
  get own(): ModelState { return this.job.state; }
  done(): boolean {
    if (!this.finished && this.job.cancelled()) { this.finished = true; this.job.reject(new PrimeCancelled()); }
    return this.finished;
  }
  feed(): number { return this.job.ids[this.job.pos]; }
  /** A prompt row picks nothing: greedy (no Rng draw), its id ignored. */
  setPick(picker: Picker, b: number): void { picker.setRow(b, GREEDY, NO_RNG); }
  take(logits: Float32Array, off: number, _id: number, _now: number, batch: ModelState): void {
    const j = this.job;
    if (++j.pos < j.ids.length) return;
    this.model.copyStateRow(j.state, 0, batch, this.row);
    this.finished = true;
    j.resolve({ state: j.state, logits: logits.slice(off, off + this.V) });
  }
}
