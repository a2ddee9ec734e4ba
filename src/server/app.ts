// Builds the fastify app over a list of loaded models: JSON bodies only (415 otherwise), the Host/API-key guard,
// the structured error answer {error: {code, message, field}} for every 4xx, 405s for wrong methods, and the page.
// The HTTP server itself bounds slow and idle peers: a time limit to receive a request, an idle timeout and a
// connection cap. createServer() is for tests and embedding; startServer() listens on a host and port; drain()
// stops taking work and lets what is in flight finish (SIGTERM in `charlm serve`).
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { LoadedModel } from '../model/io.js';
import { isCharlmError } from '../errors.js';
import type { BatcherOptions, BatchStats } from './batcher.js';
import { ServerContext } from './context.js';
import { ServerMetrics } from './metrics.js';
import type { EngineKind } from './engine.js';
import { HttpError } from './httperror.js';
import { guardHook, type GuardOptions } from './guard.js';
import { resolveLimits, type Limits } from './limits.js';
import { registerGenerate } from './routes/generate.js';
import { registerCompletions } from './routes/completions.js';
import { registerInfo } from './routes/info.js';
import { DEFAULT_WEB_DIR, registerStatic } from './static.js';

export interface ServerOptions {
  models: { name: string; loaded: LoadedModel }[];
  limits?: Partial<Limits>;
  batcher?: Partial<Omit<BatcherOptions, 'maxBatch'>>;
  /** Folder holding index.html, app.js, style.css; null serves no page. */
  webDir?: string | null;
  /** Fastify's JSON logger (one line per request, with its id); logLevel wins when both are given. */
  logger?: boolean;
  /** fatal | error | warn | info | debug | trace | silent (`charlm serve --log-level`). */
  logLevel?: LogLevel;
  /** Where log lines go (default stdout). */
  logStream?: { write(line: string): void };
  /**
   * Where the model steps run: 'worker' (a worker thread per model, so HTTP work overlaps compute; `charlm serve`)
   * or 'inline' (this thread, in bounded slices; the default here). Models on a backend a worker cannot rebuild by
   * name run inline.
   */
  engine?: EngineKind;
  /** Native threads for a worker engine's backend (default: the addon's). */
  threads?: number;
  /** Host check and API key (guard.ts). startServer fills boundHost from its host. */
  guard?: GuardOptions;
}

export interface CharlmServer {
  app: FastifyInstance;
  /** Batching counters per model (steps, seqSteps, maxBatchSeen, active, queued). */
  stats(model?: string): BatchStats;
  /** Requests in flight (all, and streams). */
  inflight(): { requests: number; streams: number };
  /**
   * Stops accepting connections and new work (503), waits up to timeoutMs for in-flight requests and streams to
   * finish, then closes. Resolves with how many were still running at the deadline (and were cancelled).
   */
  drain(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The request id: a sane X-Request-Id from the client (a proxy's), else a fresh UUID. */
function requestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && /^[\w.:-]{1,128}$/.test(h) ? h : randomUUID();
}

const ROUTES: Record<string, string[]> = {
  '/v1/generate': ['POST'], '/v1/completions': ['POST'], '/v1/next': ['GET', 'POST'], '/v1/models': ['GET'], '/v1/models/:name': ['GET'], '/healthz': ['GET'], '/metrics': ['GET'],
};
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE', FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_CONTENT_LENGTH', FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_BAD_URL: 'BAD_URL',
};

export async function createServer(opts: ServerOptions): Promise<CharlmServer> {
  const limits = resolveLimits(opts.limits);
  // The metrics read the context's counters when scraped; the context feeds the batch-size histogram.
  let ctxRef: ServerContext | null = null;
  const metrics = new ServerMetrics(
    () => (ctxRef ? [...ctxRef.models.values()].map((m) => ({ model: m.name, stats: m.engine.stats })) : []),
    () => ctxRef?.inflight ?? { requests: 0, streams: 0 });
  const ctx = new ServerContext(opts.models, limits, opts.batcher, opts.engine ?? 'inline', opts.threads, metrics);
  ctxRef = ctx;
  let httpServer: Server | null = null;
  const logger = opts.logLevel !== undefined ? (opts.logLevel === 'silent' ? false : { level: opts.logLevel, ...(opts.logStream ? { stream: opts.logStream } : {}) }) : opts.logger ?? false;
  const app = Fastify({
    logger, genReqId: requestId,
    logController: new LogController({ disableRequestLogging: true }), // metrics.ts logs one line per request when it closes
    bodyLimit: limits.bodyBytes, routerOptions: { maxParamLength: 256 },
    // Node's own limits on slow and idle peers (checked every ≤ 1 s): a whole request must arrive within
    // receiveTimeoutMs (else 408 and close), a silent connection is closed after idleTimeoutMs.
    serverFactory: (handler) => {
      const s = createHttpServer({
        requestTimeout: limits.receiveTimeoutMs, headersTimeout: limits.receiveTimeoutMs,
        connectionsCheckingInterval: Math.min(1000, Math.max(50, limits.receiveTimeoutMs / 4)), keepAliveTimeout: 5000,
      }, handler);
      s.timeout = limits.idleTimeoutMs;
      s.maxConnections = limits.maxConnections;
      httpServer = s;
      return s;
    },
    // Errors fastify raises before routing (a malformed URL, a bad media type) get the same structured body.
    frameworkErrors: (err, _req, reply) => {
      const r = reply as unknown as FastifyReply;
      void r.status(err.statusCode ?? 400).send({ error: { code: FASTIFY_CODES[err.code] ?? 'BAD_REQUEST', message: err.message, field: null } });
    },
  });

  // JSON only: a POST with another content type (text/plain, a form: what any web page may send cross-site without a
  // preflight) is a 415 before its body is read. Parse errors are 400s.
  app.removeAllContentTypeParsers();
  const parseJson = (_req: unknown, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
    const text = String(body);
    if (text.trim() === '') { done(null, undefined); return; }
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(new HttpError(400, 'BAD_JSON', `the request body is not valid JSON: ${(e as Error).message}`), undefined);
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);

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

  let draining = false;
  metrics.register(app);
  app.addHook('onRequest', guardHook(opts.guard ?? {}, () => draining));

  registerGenerate(app, ctx);
  registerCompletions(app, ctx);
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
  const close = async () => { ctx.close(); await app.close(); };
  return {
    app,
    stats: (name) => ctx.model(name ?? null).engine.stats,
    inflight: () => ({ ...ctx.inflight }),
    drain: async (timeoutMs) => {
      draining = true;
      const s = httpServer as Server | null;
      if (s?.listening) s.close();          // no new connections; open ones finish their requests
      s?.closeIdleConnections();
      const deadline = Date.now() + timeoutMs;
      while (ctx.inflight.requests > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const left = ctx.inflight.requests;
      await close();
      return left;
    },
    close,
  };
}

/** createServer + listen; resolves with the address actually bound (port 0 picks a free one). */
export async function startServer(opts: ServerOptions & { host: string; port: number }):
  Promise<CharlmServer & { url: string }> {
  const server = await createServer({ ...opts, guard: { boundHost: opts.host, ...opts.guard } });
  const url = await server.app.listen({ host: opts.host, port: opts.port });
  return { ...server, url };
}
