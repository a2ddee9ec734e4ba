// Read-only routes: GET /healthz, GET /v1/models, GET /v1/models/:name (the model card: architecture, size,
// vocabulary, training summary with its loss history) and GET|POST /v1/next (top next-character candidates).
import { basename } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PrimeCancelled } from '../batcher.js';
import { Picker } from '../../sample/pick.js';
import { primeTimeout, watchClient, type ServedModel, type ServerContext } from '../context.js';
import { parseNext } from '../validation.js';

function summary(m: ServedModel) {
  const { config, training, vocab, model } = m.loaded;
  const d = model.describe();
  return {
    name: m.name, family: config.family, summary: d.summary, parameters: model.params.size, vocabSize: vocab.size,
    ...(config.family === 'rnn'
      ? { cell: config.cell, embeddingDim: config.embeddingDim, hiddenSize: config.hiddenSize, numLayers: config.numLayers }
      : { n_layer: config.n_layer, n_head: config.n_head, n_embd: config.n_embd, block_size: config.block_size }),
    trained: training !== null, steps: training?.steps ?? 0, valLoss: training?.valLoss ?? null,
  };
}

function card(m: ServedModel) {
  const { config, training, vocab, model, metadata, source } = m.loaded;
  const extra = Object.fromEntries(Object.entries(metadata)
    .filter(([k]) => !['vocab', 'config', 'training'].includes(k)));
  return {
    name: m.name, file: basename(source),
    architecture: { ...config },
    description: model.describe(),
    parameters: model.params.size,
    tensors: model.params.entries.map((e) => ({ name: e.name, shape: e.shape })),
    vocab: { size: vocab.size, chars: vocab.chars, preview: vocab.preview() },
    training, metadata: extra,
  };
}

export function registerInfo(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/healthz', async () => ({
    ok: true,
    uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000),
    inflight: ctx.inflight,
    models: [...ctx.models.values()].map((m) => ({ name: m.name, batching: m.engine.stats })),
  }));

  app.get('/v1/models', async () => ({ models: [...ctx.models.values()].map(summary) }));

  app.get<{ Params: { name: string } }>('/v1/models/:name', async (req) => card(ctx.model(req.params.name)));

  const next = async (src: unknown, fromQuery: boolean, reply: FastifyReply) => {
    const p = parseNext(src, ctx.limits, fromQuery);
    const m = ctx.model(p.model);
    const ids = ctx.encode(m, p.prompt, p.unknown);
    const release = ctx.admit(false);
    const deadline = Date.now() + ctx.limits.requestTimeoutMs;
    const job = m.engine.primeLogits(ids, deadline);
    const client = watchClient(reply, () => job.cancel()); // a gone client frees its slot at once
    try {
      let logits;
      try {
        logits = await job.promise;
      } catch (e) {
        if (!(e instanceof PrimeCancelled)) throw e;
        if (client.gone()) return reply; // nobody to answer
        throw primeTimeout(ctx.limits.requestTimeoutMs);
      }
      const V = m.loaded.vocab.size;
      const probs = new Picker(V, m.loaded.vocab.bannedIds, m.loaded.model.backend).distribution(logits, 0, p);
      const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
      const candidates = order.slice(0, Math.min(p.top, V)).filter((i) => probs[i] > 0)
        .map((i) => ({ char: m.loaded.vocab.charAt(i), id: i, prob: probs[i] }));
      return { model: m.name, promptChars: [...p.prompt].length, candidates };
    } finally {
      client.stop();
      release();
    }
  };
  app.get('/v1/next', async (req, reply) => next(req.query, true, reply));
  app.post('/v1/next', async (req, reply) => next(req.body, false, reply));
}
