// POST /v1/generate: n samples continuing a prompt, as one JSON answer or (stream: true) as Server-Sent Events
// (`chunk` {index, text} as characters are generated, `sample` {index, finishReason, chars} as each ends, then
// `done` with the full answer). A client that goes away has its sequences removed from the batch at once; one that
// stops reading has them parked until it reads again (or is dropped past the stream buffer cap or the idle timeout).
import { randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SampleResult } from '../sequence.js';
import type { JobHandle } from '../engine.js';
import { primeTimeout, watchClient, type ServedModel, type ServerContext } from '../context.js';
import { PrimeCancelled } from '../batcher.js';
import { HttpError } from '../httperror.js';
import { parseGenerate, type GenerateParams } from '../validation.js';
import { SseStream } from '../sse.js';

export interface GenerateAnswer {
  model: string; seed: number;
  samples: SampleResult[];
  usage: { promptChars: number; generatedChars: number };
}

export interface RunHooks {
  onText?: (index: number, text: string) => void; onSample?: (index: number, r: SampleResult) => void;
  /** Set once the job is started (for backpressure). */
  handle?: JobHandle;
}

export function registerGenerate(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/generate', async (req, reply) => {
    const p = parseGenerate(req.body, ctx.limits);
    const m = ctx.model(p.model);
    const ids = ctx.encode(m, p.prompt, p.unknown);
    const release = ctx.admit(p.stream);
    try {
      return p.stream ? await stream(reply, ctx, m, p, ids) : await answer(reply, ctx, m, p, ids);
    } finally {
      release();
    }
  });
}

async function answer(reply: FastifyReply, ctx: ServerContext, m: ServedModel, p: GenerateParams,
                      ids: Int32Array): Promise<GenerateAnswer | FastifyReply> {
  const result = await startRun(reply, ctx, m, p, ids, {});
  return result ?? reply; // null: the client went away; nothing to send
}

async function stream(reply: FastifyReply, ctx: ServerContext, m: ServedModel, p: GenerateParams,
                      ids: Int32Array): Promise<FastifyReply> {
  reply.hijack();
  const sse = new SseStream(reply.raw, ctx.limits.streamBufferBytes);
  const run: RunHooks = {};
  // Backpressure: a client that stops reading parks its sequences (no compute) until its socket drains.
  sse.onBlocked = () => run.handle?.pause();
  sse.onDrain = () => run.handle?.resume();
  sse.open();
  sse.event('start', { model: m.name, n: p.n });
  try {
    const result = await startRun(reply, ctx, m, p, ids, Object.assign(run, {
      onText: (index: number, text: string) => sse.event('chunk', { index, text }),
      onSample: (index: number, r: SampleResult) => sse.event('sample', { index, finishReason: r.finishReason, chars: r.chars }),
    }));
    if (result) sse.event('done', result);
  } catch (e) {
    sse.event('error', e instanceof HttpError ? e.body().error : { code: 'INTERNAL', message: 'internal error', field: null });
  }
  sse.end();
  return reply;
}

/**
 * Primes the prompt once, starts n sequences (seeds seed, seed+1, …) in the model's engine and resolves with
 * the answer, or with null as soon as the client disconnects (its sequences are cancelled).
 */
export function startRun(reply: FastifyReply, ctx: ServerContext, m: ServedModel, p: GenerateParams, ids: Int32Array,
                  hooks: RunHooks): Promise<GenerateAnswer | null> {
  const seed = p.seed ?? randomInt(2 ** 31);
  const t0 = Date.now(), deadline = t0 + ctx.limits.requestTimeoutMs;
  const promptChars = [...p.prompt].length;
  return new Promise((resolve, reject) => {
    const results: SampleResult[] = new Array(p.n);
    let remaining = p.n;
    const client = watchClient(reply, () => {
      handle.cancel();
      resolve(null);
    });
    const handle = m.engine.generate({
      ids, n: p.n, seed, pick: { temperature: p.temperature, topK: p.topK, topP: p.topP }, length: p.length,
      stops: p.stop, deadline, stream: hooks.onText !== undefined,
    }, {
      onText: (i, text) => hooks.onText?.(i, text),
      onFirstChar: (at) => ctx.metrics?.firstChar.observe({ model: m.name }, Math.max(0, at - t0) / 1000),
      onSample: (i, r) => {
        ctx.metrics?.chars.inc({ model: m.name }, r.chars);
        results[i] = r;
        hooks.onSample?.(i, r);
        if (--remaining > 0) return;
        client.stop();
        const generatedChars = results.reduce((a, x) => a + x.chars, 0);
        resolve({ model: m.name, seed, samples: results, usage: { promptChars, generatedChars } });
      },
      onPrimeFailed: (e) => {
        client.stop();
        if (client.gone()) return;
        reject(e instanceof PrimeCancelled ? primeTimeout(ctx.limits.requestTimeoutMs) : e);
      },
    });
    hooks.handle = handle;
  });
}
