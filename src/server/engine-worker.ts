// Worker-thread side of WorkerEngine: loads the model from checkpoint bytes on its own backend, runs an InlineEngine
// (the same Batcher, so the same continuous batching and the same text per seed), and sends the main thread one
// message per batcher slice with every job's new text, finished samples and the batching counters.
import { parentPort, workerData } from 'node:worker_threads';
import { createBackend, type BackendName } from '../kernels/registry.js';
import { loadModelBytes } from '../model/io.js';
import { Batcher, PrimeCancelled } from './batcher.js';
import { InlineEngine, ZERO_STATS, type FromWorker, type JobHandle, type ToWorker, type WorkerEvent, type WorkerInit } from './engine.js';

const init = workerData as WorkerInit;
const port = parentPort!;
let events: WorkerEvent[] = [];
let steps: number[] = [];
let scheduled = false;
let lazy: ReturnType<typeof setTimeout> | null = null;
let engine: InlineEngine | null = null;

/**
 * Sends the events so far in one message. Events (text, first characters, finished samples) go at the end of the
 * batcher slice that made them; the counters and batch sizes alone wait for the next event or for streamMs, so a
 * busy batch does not cost a message per slice.
 */
function flush(): void {
  scheduled = false;
  if (lazy) { clearTimeout(lazy); lazy = null; }
  const out = events;
  events = [];
  const m: FromWorker = { stats: engine ? engine.stats : ZERO_STATS, events: out, steps };
  steps = [];
  const transfer = out.filter((e) => e[1] === 'l').map((e) => (e[3] as Float32Array).buffer);
  port.postMessage(m, transfer as ArrayBuffer[]);
}
function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(flush);
}
/** The counters changed: send them with the next event, or within streamMs. */
function scheduleLazy(): void {
  if (scheduled || lazy) return;
  lazy = setTimeout(flush, engine!.batcher.opts.streamMs);
}
function emit(e: WorkerEvent): void { events.push(e); schedule(); }

async function main(): Promise<void> {
  const name = init.backend;
  const backend = await createBackend((name.startsWith('native') ? 'native' : 'ref') as BackendName,
    { precision: name.endsWith('bf16') ? 'bf16' : 'fp32', threads: init.threads });
  const loaded = loadModelBytes(init.bytes, backend, 'served model');
  engine = new InlineEngine(new Batcher(loaded.model, loaded.vocab, { ...init.batcher, onStep: (B) => { steps.push(B); scheduleLazy(); } }), loaded.model);
  const handles = new Map<number, JobHandle>();
  port.on('message', (m: ToWorker) => {
    const e = engine!;
    if (m.op === 'gen') {
      const id = m.id;
      let left = m.job.n;
      handles.set(id, e.generate(m.job, {
        onText: (i, text) => emit([id, 't', i, text]),
        onSample: (i, r) => { emit([id, 's', i, r]); if (--left === 0) handles.delete(id); },
        onPrimeFailed: (err) => { handles.delete(id); emit([id, 'f', 0, { cancelled: err instanceof PrimeCancelled, message: err.message }]); },
        onFirstChar: (at) => emit([id, 'c', 0, at]),
      }));
    } else if (m.op === 'logits') {
      const id = m.id, job = e.primeLogits(m.ids, m.deadline);
      handles.set(id, { cancel: job.cancel, pause() {}, resume() {} });
      job.promise.then((logits) => { handles.delete(id); emit([id, 'l', 0, logits]); }, (err: Error) => {
        handles.delete(id);
        emit([id, 'f', 0, { cancelled: err instanceof PrimeCancelled, message: err.message }]);
      });
    } else if (m.op === 'close') {
      e.close();
      flush();
      port.close();
    } else {
      const h = handles.get(m.id);
      if (m.op === 'cancel') { handles.delete(m.id); h?.cancel(); } else if (m.op === 'pause') h?.pause(); else h?.resume();
      schedule(); // the counters changed (a sequence left or was parked)
    }
  });
  schedule();
}

main().catch((e: Error) => port.postMessage({ stats: ZERO_STATS, events: [], error: e.message } satisfies FromWorker));
