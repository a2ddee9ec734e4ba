// Prometheus metrics for `GET /metrics` (prom-client, one Registry per server, so tests and several servers in one
// process do not share counters) and the one structured log line per request. Requests are counted and timed when
// their connection's response closes, which also covers hijacked SSE streams (fastify's onResponse does not).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchStats } from './batcher.js';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'charlm_http_requests_total', help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const, registers: [this.registry] });
  readonly duration = new Histogram({ name: 'charlm_request_duration_seconds', help: 'Time from request to the end of its response',
    labelNames: ['route'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry] });
  readonly firstChar = new Histogram({ name: 'charlm_first_char_seconds', help: 'Time from request to its first generated character',
    labelNames: ['model'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry] });
  readonly chars = new Counter({ name: 'charlm_generated_chars_total', help: 'Characters generated (sent to clients)',
    labelNames: ['model'] as const, registers: [this.registry] });
  readonly batch = new Histogram({ name: 'charlm_batch_size', help: 'Rows in each batched model step',
    labelNames: ['model'] as const, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [this.registry] });

  constructor(stats: () => { model: string; stats: BatchStats }[], inflight: () => { requests: number; streams: number }) {
    const registry = this.registry;
    new Gauge({ name: 'charlm_queue_length', help: 'Sequences waiting to join the batch, and prompts waiting to be primed',
      labelNames: ['model'] as const, registers: [registry],
      collect() { for (const s of stats()) this.set({ model: s.model }, s.stats.queued + s.stats.priming); } });
    new Gauge({ name: 'charlm_inflight_sequences', help: 'Sequences being generated (in the batch or parked by backpressure)',
      labelNames: ['model'] as const, registers: [registry],
      collect() { for (const s of stats()) this.set({ model: s.model }, s.stats.active + s.stats.paused); } });
    new Gauge({ name: 'charlm_inflight_requests', help: 'HTTP requests in flight (all, and streams)', labelNames: ['kind'] as const,
      registers: [registry], collect() { const f = inflight(); this.set({ kind: 'all' }, f.requests); this.set({ kind: 'stream' }, f.streams); } });
  }

  /**
   * Counts, times and logs every request once its response closes (finished, failed, or the client went away:
   * status 499 then, as nginx logs it). The request id (fastify's reqId, from X-Request-Id when sent) is in the log
   * line and the X-Request-Id response header.
   */
  register(app: FastifyInstance): void {
    app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done) => {
      const t0 = process.hrtime.bigint();
      reply.raw.setHeader('x-request-id', req.id); // on the raw response: hijacked SSE streams carry it too
      reply.raw.once('close', () => {
        const route = req.routeOptions.url ?? 'unmatched';
        const status = reply.raw.writableFinished ? reply.raw.statusCode : 499;
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        this.requests.inc({ route, method: req.method, status: String(status) });
        this.duration.observe({ route }, s);
        req.log.info({ method: req.method, url: req.url.slice(0, 200), route, status, ms: Math.round(s * 1e4) / 10 }, 'request');
      });
      done();
    });
    app.get('/metrics', async (_req, reply) => {
      const text = await this.registry.metrics();
      return reply.header('content-type', this.registry.contentType).send(text);
    });
  }
}
