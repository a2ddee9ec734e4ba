// Builds the fastify app over a list of loaded models: one JSON body parser for every content type, the
// structured error answer {error: {code, message, field}} for every 4xx, 405s for wrong methods, and the page.
// createServer() is for tests and embedding; startServer() listens on a host and port.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { LoadedModel } from '../model/io.js';
import { isCharlmError } from '../errors.js';
import type { BatcherOptions, BatchStats } from './batcher.js';
import { ServerContext } from './context.js';
import { HttpError } from './httperror.js';
import { resolveLimits, type Limits } from './limits.js';
import { registerGenerate } from './routes/generate.js';
import { registerInfo } from './routes/info.js';
import { DEFAULT_WEB_DIR, registerStatic } from './static.js';

export interface ServerOptions {
  models: { name: string; loaded: LoadedModel }[];
  limits?: Partial<Limits>;
  batcher?: Partial<Omit<BatcherOptions, 'maxBatch'>>;
  /** Folder holding index.html, app.js, style.css; null serves no page. */
  webDir?: string | null;
  logger?: boolean;
}

export interface CharlmServer {
  app: FastifyInstance;
  /** Batching counters per model (steps, seqSteps, maxBatchSeen, active, queued). */
  stats(model?: string): BatchStats;
  close(): Promise<void>;
}

const ROUTES: Record<string, string[]> = {
  '/v1/generate': ['POST'], '/v1/next': ['GET', 'POST'], '/v1/models': ['GET'], '/v1/models/:name': ['GET'], '/healthz': ['GET'],
};
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE', FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_CONTENT_LENGTH', FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_BAD_URL: 'BAD_URL',
};

export async function createServer(opts: ServerOptions): Promise<CharlmServer> {
  const limits = resolveLimits(opts.limits);
  const ctx = new ServerContext(opts.models, limits, opts.batcher);
  const app = Fastify({
    logger: opts.logger ?? false, bodyLimit: limits.bodyBytes, routerOptions: { maxParamLength: 256 },
    // Errors fastify raises before routing (a malformed URL, a bad media type) get the same structured body.
    frameworkErrors: (err, _req, reply) => {
      const r = reply as unknown as FastifyReply;
      void r.status(err.statusCode ?? 400).send({ error: { code: FASTIFY_CODES[err.code] ?? 'BAD_REQUEST', message: err.message, field: null } });
    },
  });

  // Any content type is read as JSON, so `curl -d '{...}'` works without a header; parse errors are 400s.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') { done(null, undefined); return; }
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(new HttpError(400, 'BAD_JSON', `the request body is not valid JSON: ${(e as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | HttpError | Error, req, reply) => {
    if (err instanceof HttpError) return reply.status(err.status).send(err.body());
    if (isCharlmError(err)) return reply.status(400).send({ error: { code: err.code, message: err.message, field: null } });
    const status = (err as FastifyError).statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = FASTIFY_CODES[(err as FastifyError).code] ?? 'BAD_REQUEST';
      return reply.status(status).send({ error: { code, message: err.message, field: null } });
    }
    req.log.error(err);
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error', field: null } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send(
    new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}`).body()));

  registerGenerate(app, ctx);
  registerInfo(app, ctx);
  if (opts.webDir !== null) registerStatic(app, opts.webDir ?? DEFAULT_WEB_DIR);
  for (const [url, allowed] of Object.entries(ROUTES)) {
    const others = METHODS.filter((m) => !allowed.includes(m) && !(m === 'HEAD' && allowed.includes('GET')));
    app.route({
      method: others, url,
      handler: async (req, reply) => reply.status(405).header('allow', allowed.join(', ')).send(
        new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url}; use ${allowed.join(' or ')}`).body()),
    });
  }

  await app.ready();
  return {
    app,
    stats: (name) => ctx.model(name ?? null).batcher.stats,
    close: async () => { ctx.close(); await app.close(); },
  };
}

/** createServer + listen; resolves with the address actually bound (port 0 picks a free one). */
export async function startServer(opts: ServerOptions & { host: string; port: number }):
  Promise<CharlmServer & { url: string }> {
  const server = await createServer(opts);
  const url = await server.app.listen({ host: opts.host, port: opts.port });
  return { ...server, url };
}
