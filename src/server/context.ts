// What every route shares: the served models (each with its own Engine: a Batcher inline or on a worker thread), the limits, and the counters of
// requests in flight that the 429 limits are checked against.
import { basename } from 'node:path';
import type { FastifyReply } from 'fastify';
import type { LoadedModel } from '../model/io.js';
import { isCharlmError } from '../errors.js';
import { primeIds } from '../sample/generate.js';
import type { BatcherOptions } from './batcher.js';
import { createEngine, type Engine, type EngineKind } from './engine.js';
import type { ServerMetrics } from './metrics.js';
import { HttpError } from './httperror.js';
import type { Limits } from './limits.js';

export interface ServedModel { name: string; loaded: LoadedModel; engine: Engine }

export class ServerContext {
  readonly models = new Map<string, ServedModel>();
  readonly inflight = { requests: 0, streams: 0 };
  readonly startedAt = Date.now();

  constructor(models: { name: string; loaded: LoadedModel }[], readonly limits: Limits,
              batcher: Partial<BatcherOptions> = {}, engine: EngineKind = 'inline', threads?: number,
              readonly metrics: ServerMetrics | null = null) {
    if (models.length === 0) throw new Error('createServer needs at least one model');
    for (const m of models) {
      if (this.models.has(m.name)) throw new Error(`two models are named "${m.name}"`);
      const onStep = metrics ? (B: number) => metrics.batch.observe({ model: m.name }, B) : undefined;
      const { onStep: _ignored, ...plain } = batcher;
      const e = createEngine(engine, m.loaded, { maxBatch: limits.maxBatch, ...plain }, threads, onStep);
      this.models.set(m.name, { name: m.name, loaded: m.loaded, engine: e });
    }
  }

  /** The named model, or the first one when no name is given; 404 otherwise. */
  model(name: string | null): ServedModel {
    if (name === null) return this.models.values().next().value!;
    const m = this.models.get(name);
    if (!m) {
      throw new HttpError(404, 'MODEL_NOT_FOUND', `no model named "${name}"; this server has: ${[...this.models.keys()].join(', ')}`,
        'model');
    }
    return m;
  }

  /** Prompt → ids; characters outside the vocabulary are a 422 that lists them (unless unknown = 'skip'). */
  encode(m: ServedModel, prompt: string, unknown: 'error' | 'skip'): Int32Array {
    try {
      return primeIds(m.loaded.vocab, prompt, unknown);
    } catch (e) {
      if (isCharlmError(e) && e.code === 'UNKNOWN_CHARS') {
        throw new HttpError(422, 'UNKNOWN_CHARS', `${e.message}; send "unknown": "skip" to drop them`, 'prompt',
          { chars: m.loaded.vocab.unknownChars(prompt) });
      }
      throw e;
    }
  }

  /** Reserves a request slot (429 when full); call the returned function exactly once when done. */
  admit(stream: boolean): () => void {
    const { maxRequests, maxStreams } = this.limits;
    if (this.inflight.requests >= maxRequests) {
      throw new HttpError(429, 'TOO_MANY_REQUESTS', `the server is handling ${maxRequests} requests already; retry shortly`);
    }
    if (stream && this.inflight.streams >= maxStreams) {
      throw new HttpError(429, 'TOO_MANY_STREAMS', `the server is streaming to ${maxStreams} clients already; retry shortly`);
    }
    this.inflight.requests++;
    if (stream) this.inflight.streams++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inflight.requests--;
      if (stream) this.inflight.streams--;
    };
  }

  close(): void {
    for (const m of this.models.values()) m.engine.close();
  }
}

/**
 * Watches for the client going away before the answer is complete (its connection closed): the returned function
 * says whether it has, and `onGone` runs once when it happens. Every route that does work checks it.
 */
export function watchClient(reply: FastifyReply, onGone: () => void = () => {}): { gone: () => boolean; stop: () => void } {
  let gone = false;
  const onClose = () => {
    if (reply.raw.writableFinished || gone) return;
    gone = true;
    onGone();
  };
  reply.raw.on('close', onClose);
  return { gone: () => gone, stop: () => reply.raw.off('close', onClose) };
}

/** The answer when a prompt could not be primed before the request's deadline (the server is overloaded). */
export function primeTimeout(ms: number): HttpError {
  return new HttpError(503, 'PRIME_TIMEOUT', `the prompt could not be processed within ${Math.round(ms / 1000)} s (the server is busy); retry shortly`);
}

/** "path/to/shakespeare.safetensors" → "shakespeare". */
export function modelNameFromPath(path: string): string {
  const base = basename(path);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}
