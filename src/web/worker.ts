// The browser's compute thread: a Web Worker that trains (TrainSession), samples (generate), encodes and loads
// .safetensors checkpoints, all through the browser-safe library, so nothing is computed on a server and the page
// stays responsive. Bundled by scripts/build-web.mjs into dist/browser/worker.js; its messages are listed in docs/web.md.
import { CharlmError, isCharlmError } from '../errors.js';
import { resolveConfig, PRESETS, type TrainConfig } from '../config.js';
import { browserBackend, type BrowserBackendChoice } from '../kernels/browser.js';
import { decodeUtf8 } from '../data/text.js';
import type { Vocab } from '../data/vocab.js';
import type { LanguageModel } from '../model/model.js';
import { loadModelBytes, type TrainingSummary } from '../model/codec.js';
import { generate, type SampleOptions } from '../sample/generate.js';
import { TrainSession } from '../train/session.js';
import { MAX_CHECKPOINT_BYTES, MAX_TEXT_BYTES, WEB_PRESETS, WEB_MAX_STEPS, WEB_MAX_SAMPLE } from './limits.js';

interface WorkerScope { postMessage(m: unknown, transfer?: ArrayBuffer[]): void; onmessage: ((e: { data: Req }) => void) | null }
declare const self: WorkerScope;

type Req =
  | { type: 'init'; backend?: string }
  | { type: 'train'; id: number; bytes: ArrayBuffer; name: string; preset: string; steps?: number; seed?: number }
  | { type: 'inspect'; id: number; bytes: ArrayBuffer; name: string }
  | { type: 'stop' }
  | { type: 'sample'; id: number; prime: string; length: number; temperature: number; topK: number; topP: number; seed: number }
  | { type: 'checkpoint'; id: number }
  | { type: 'load'; id: number; bytes: ArrayBuffer; name: string };

/** What the page shows about the current model. */
interface Card { summary: string; rows: [string, string | number | boolean][]; params: number; vocab: string[];
                 training: TrainingSummary | null; source: string }

let choice: BrowserBackendChoice | null = null;
let current: { model: LanguageModel; vocab: Vocab; source: string; training: () => TrainingSummary | null } | null = null;
let session: TrainSession | null = null;
let stopRequested = false;
/** The run that may keep stepping: a new run or a load ends the old one at its next turn. */
let activeRun = 0;

const post = (m: unknown, transfer?: ArrayBuffer[]) => self.postMessage(m, transfer);
const tick = () => new Promise<void>((r) => setTimeout(r, 0)); // lets queued messages (stop, sample) in

function card(c = current!): Card {
  const d = c.model.describe();
  return { summary: d.summary, rows: d.rows, params: c.model.params.size, vocab: c.vocab.chars, training: c.training(),
           source: c.source };
}

/** The page's choice (init's `backend`: auto, wasm or ref; the pages take it from ?backend=). */
let wanted = 'auto';
async function backend(): Promise<BrowserBackendChoice> {
  return (choice ??= await browserBackend(wanted));
}

/** The preset's config with the page's step count and seed (bounded, so a typo cannot ask for hours). */
function webConfig(preset: string, steps: number | undefined, seed: number | undefined): TrainConfig {
  if (!(WEB_PRESETS as readonly string[]).includes(preset)) {
    throw new CharlmError('UNKNOWN_PRESET', `unknown preset "${preset}"`, `choose one of ${WEB_PRESETS.join(', ')}`);
  }
  const flags: Record<string, unknown> = {};
  if (steps !== undefined) {
    if (!Number.isInteger(steps) || steps < 1 || steps > WEB_MAX_STEPS) {
      throw new CharlmError('BAD_OPTION', `steps must be a whole number from 1 to ${WEB_MAX_STEPS}`, `the preset's default is ${PRESETS[preset].config.steps}`);
    }
    flags.steps = steps;
  }
  if (seed !== undefined) flags.seed = seed;
  return resolveConfig({ preset, flags });
}

/** Checks a text the way training will (size, strict UTF-8, not empty) and counts its characters. */
function readText(bytes: ArrayBuffer, name: string): string {
  if (bytes.byteLength > MAX_TEXT_BYTES) {
    throw new CharlmError('TEXT_TOO_LARGE', `${name} is ${mib(bytes.byteLength)}; the page trains on at most ${mib(MAX_TEXT_BYTES)} of text`,
      'use a shorter excerpt here, or train on it with `charlm train` in Node');
  }
  const text = decodeUtf8(new Uint8Array(bytes), name);
  if (text.length === 0) throw new CharlmError('CORPUS_EMPTY', `${name} is empty (0 characters)`, 'choose a text file with content');
  return text;
}

function inspect(r: Extract<Req, { type: 'inspect' }>): void {
  const text = readText(r.bytes, r.name);
  const distinct = new Set<string>();
  let chars = 0;
  for (const ch of text) { chars++; if (distinct.size <= 4096) distinct.add(ch); }
  post({ type: 'inspected', id: r.id, chars, distinct: distinct.size });
}

async function train(r: Extract<Req, { type: 'train' }>): Promise<void> {
  const text = readText(r.bytes, r.name);
  const cfg = webConfig(r.preset, r.steps, r.seed);
  const { backend: be, note } = await backend();
  const s = session = new TrainSession({ config: cfg, text, name: r.name, backend: be });
  const mine = current = { model: s.model, vocab: s.vocab, source: `trained here on ${r.name}`, training: () => s.summary() };
  stopRequested = false;
  const me = ++activeRun;
  post({ type: 'started', id: r.id, totalSteps: s.totalSteps, trainChars: s.trainChars, valChars: s.valChars,
         vocabSize: s.vocab.size, params: s.model.params.size, summary: s.model.describe().summary, backend: be.name, note });
  const chars = cfg.batchSize * cfg.seqLength, t0 = performance.now();
  while (!s.done && !stopRequested && activeRun === me) {
    const losses: [number, number][] = [], tChunk = performance.now();
    // Steps for about 100 ms at a time, then a progress message and a turn of the event loop.
    do losses.push([s.step + 1, s.trainStep()]);
    while (!s.done && performance.now() - tChunk < 100 && !(cfg.evalInterval > 0 && s.step % cfg.evalInterval === 0));
    const elapsed = (performance.now() - t0) / 1000, rate = s.step / elapsed;
    post({ type: 'progress', id: r.id, step: s.step, totalSteps: s.totalSteps, losses, elapsedS: elapsed,
           etaS: (s.totalSteps - s.step) / Math.max(rate, 1e-9), charsPerS: rate * chars });
    if ((cfg.evalInterval > 0 && s.step % cfg.evalInterval === 0) || s.done) {
      const valLoss = s.validate();
      const sample = generate(s.model, s.vocab, { prime: '', length: cfg.sampleChars, temperature: 0.8, topK: 0, topP: 1,
                                                   seed: cfg.seed, unknown: 'skip' });
      post({ type: 'eval', id: r.id, step: s.step, valLoss, sample });
    }
    await tick();
  }
  // A run ended by a newer run or a load still answers its request, with its own card.
  post({ type: 'trained', id: r.id, stopped: !s.done, card: card(mine), seconds: (performance.now() - t0) / 1000 });
}

function sample(r: Extract<Req, { type: 'sample' }>): void {
  if (!current) throw new CharlmError('NO_MODEL', 'there is no model yet', 'train one or upload a .safetensors checkpoint first');
  if (!Number.isInteger(r.length) || r.length < 1 || r.length > WEB_MAX_SAMPLE) {
    throw new CharlmError('BAD_OPTION', `length must be from 1 to ${WEB_MAX_SAMPLE} characters`, 'pick a shorter length');
  }
  const opts: SampleOptions = { prime: r.prime, length: r.length, temperature: r.temperature, topK: r.topK, topP: r.topP,
                                seed: r.seed, unknown: 'error' };
  const t0 = performance.now();
  let buf = '', last = t0;
  const text = generate(current.model, current.vocab, opts, (ch) => {
    buf += ch;
    const now = performance.now();
    if (now - last > 50) { post({ type: 'chunk', id: r.id, text: buf }); buf = ''; last = now; }
  });
  if (buf) post({ type: 'chunk', id: r.id, text: buf });
  post({ type: 'sampled', id: r.id, text, chars: r.length, seconds: (performance.now() - t0) / 1000 });
}

async function load(r: Extract<Req, { type: 'load' }>): Promise<void> {
  if (r.bytes.byteLength > MAX_CHECKPOINT_BYTES) {
    throw new CharlmError('CHECKPOINT_LIMIT', `${r.name} is ${mib(r.bytes.byteLength)}; the page loads checkpoints up to ${mib(MAX_CHECKPOINT_BYTES)}`,
      'sample from it with `charlm sample` or `charlm serve` instead');
  }
  const { backend: be } = await backend();
  const lm = loadModelBytes(new Uint8Array(r.bytes), be, r.name);
  activeRun++; // a run in progress stops at its next turn
  session = null;
  current = { model: lm.model, vocab: lm.vocab, source: r.name, training: () => lm.training };
  post({ type: 'loaded', id: r.id, card: card() });
}

function checkpoint(r: Extract<Req, { type: 'checkpoint' }>): void {
  if (!current) throw new CharlmError('NO_MODEL', 'there is no model to download yet', 'train one first');
  const bytes = session ? session.checkpoint() : null;
  if (!bytes) throw new CharlmError('NOT_TRAINED_HERE', 'the loaded checkpoint is already a file', 'download is for models trained in this page');
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  post({ type: 'checkpoint', id: r.id, bytes: copy, steps: session!.step }, [copy]);
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 2 : 1)} MiB`;

function fail(id: number | undefined, e: unknown): void {
  if (isCharlmError(e)) post({ type: 'error', id, code: e.code, message: e.message, hint: e.hint });
  else post({ type: 'error', id, code: 'INTERNAL', message: `internal error: ${(e as Error)?.message ?? String(e)}`, hint: '' });
}

self.onmessage = (e) => {
  const r = e.data;
  const run = async () => {
    switch (r.type) {
      case 'init': { if (r.backend !== undefined) wanted = String(r.backend); const c = await backend(); post({ type: 'ready', backend: c.backend.name, note: c.note,
        limits: { textBytes: MAX_TEXT_BYTES, checkpointBytes: MAX_CHECKPOINT_BYTES, steps: WEB_MAX_STEPS, sample: WEB_MAX_SAMPLE },
        presets: WEB_PRESETS.map((name) => ({ name, description: PRESETS[name].description, steps: PRESETS[name].config.steps })) }); break; }
      case 'inspect': inspect(r); break;
      case 'stop': stopRequested = true; break;
      case 'train': await train(r); break;
      case 'sample': sample(r); break;
      case 'checkpoint': checkpoint(r); break;
      case 'load': await load(r); break;
      default: throw new CharlmError('BAD_REQUEST', 'unknown request to the worker', '');
    }
  };
  run().catch((err) => fail('id' in r ? r.id : undefined, err));
};
