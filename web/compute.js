// The pages' side of the compute worker (worker.js, bundled from src/web/worker.ts): numbered requests, each with
// a callback for its progress messages and a promise for its final answer. Plain browser JavaScript.
const FINAL = new Set(['ready', 'inspected', 'trained', 'sampled', 'checkpoint', 'loaded', 'error']);

export class WorkerError extends Error {
  constructor(m) { super(m.message); this.code = m.code; this.hint = m.hint; }
}

/** backend: auto (WebAssembly SIMD, else plain TypeScript), wasm or ref; pages pass their ?backend= here. */
export function startCompute(url = 'worker.js', backend = undefined) {
  const worker = new Worker(url);
  const pending = new Map(); // id → { resolve, reject, onMessage }
  let nextId = 1, fatal = null, started = false;
  let ready;
  const readyP = new Promise((resolve, reject) => { ready = { resolve, reject }; });
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.type === 'ready') { started = true; ready.resolve(m); return; }
    const p = m.id !== undefined ? pending.get(m.id) : undefined;
    // An error before `ready` is init's (e.g. ?backend=nonsense): the page shows it instead of waiting forever.
    if (!p && m.type === 'error' && !started) { ready.reject(new WorkerError(m)); return; }
    if (!p) { if (m.type === 'error') console.warn('worker:', m.message); return; }
    if (!FINAL.has(m.type)) { p.onMessage?.(m); return; }
    pending.delete(m.id);
    if (m.type === 'error') p.reject(new WorkerError(m)); else p.resolve(m);
  };
  // A worker that cannot start (worker.js missing, a syntax error) fails every request with one message.
  worker.onerror = (e) => {
    e.preventDefault?.();
    fatal = new WorkerError({ code: 'WORKER_FAILED', message: `the compute worker failed: ${e.message || 'worker.js could not be loaded'}`, hint: '' });
    ready.reject(fatal);
    for (const p of pending.values()) p.reject(fatal);
    pending.clear();
  };
  worker.postMessage(backend ? { type: 'init', backend } : { type: 'init' });
  return {
    ready: readyP,
    /** Sends msg (its id is added); onMessage sees progress messages; resolves with the final one. */
    request(msg, onMessage, transfer = []) {
      if (fatal) return Promise.reject(fatal);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, onMessage });
        worker.postMessage({ ...msg, id }, transfer);
      });
    },
    stop() { worker.postMessage({ type: 'stop' }); },
  };
}
