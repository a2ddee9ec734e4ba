// GET /metrics (Prometheus text from prom-client) and the structured request log: requests by route and status,
// characters generated, the batch-size histogram, first-character and request-duration histograms, queue and
// in-flight gauges; one JSON log line per request carrying its id (the client's X-Request-Id when it sends one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server/index.js';
import { makeModel, post, readSse } from './helpers.js';

const tiny = makeModel('lstm', 5);

/** The value of one sample line `name{labels} value` (labels in any order given as a substring match list). */
function metric(text: string, name: string, ...labels: string[]): number {
  const line = text.split('\n').find((l) => l.startsWith(name + (labels.length ? '{' : ' ')) && labels.every((x) => l.includes(x)));
  assert.ok(line, `no ${name} ${labels.join(',')} in\n${text.split('\n').filter((l) => l.startsWith(name)).join('\n')}`);
  return Number(line!.split(' ').at(-1));
}

for (const engine of ['inline', 'worker'] as const) {
  test(`metrics and request logs (${engine} engine)`, async () => {
    const logs: any[] = [];
    const s = await startServer({ models: [{ name: 'tiny', loaded: tiny }], host: '127.0.0.1', port: 0, engine, logLevel: 'info',
      logStream: { write: (line: string) => { logs.push(JSON.parse(line)); } } });
    try {
      const a = await post(`${s.url}/v1/generate`, { prompt: 'First', length: 50, n: 3, seed: 1 });
      assert.equal(a.status, 200);
      const res = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'my-req-7' },
        body: JSON.stringify({ prompt: 'First', length: 40, seed: 2, stream: true }) });
      assert.equal(res.headers.get('x-request-id'), 'my-req-7');
      await readSse(res);
      assert.equal((await fetch(`${s.url}/nope`)).status, 404);
      await new Promise((r) => setTimeout(r, 50)); // the stream's close is counted after its last byte
      const m = await fetch(`${s.url}/metrics`);
      assert.equal(m.status, 200);
      assert.match(m.headers.get('content-type')!, /^text\/plain/);
      const text = await m.text();
      assert.equal(metric(text, 'charlm_http_requests_total', 'route="/v1/generate"', 'status="200"', 'method="POST"'), 2);
      assert.equal(metric(text, 'charlm_http_requests_total', 'status="404"'), 1);
      assert.equal(metric(text, 'charlm_generated_chars_total', 'model="tiny"'), 3 * 50 + 40);
      assert.equal(metric(text, 'charlm_first_char_seconds_count', 'model="tiny"'), 2);
      const steps = metric(text, 'charlm_batch_size_count', 'model="tiny"'), rows = metric(text, 'charlm_batch_size_sum', 'model="tiny"');
      assert.equal(steps, s.stats().steps, 'one batch-size observation per batched step');
      assert.equal(rows, s.stats().seqSteps);
      assert.ok(metric(text, 'charlm_batch_size_bucket', 'le="4"', 'model="tiny"') >= 1, 'the n = 3 steps fall in le=4');
      assert.equal(metric(text, 'charlm_request_duration_seconds_count', 'route="/v1/generate"'), 2);
      assert.equal(metric(text, 'charlm_queue_length', 'model="tiny"'), 0);
      assert.equal(metric(text, 'charlm_inflight_sequences', 'model="tiny"'), 0);
      assert.equal(metric(text, 'charlm_inflight_requests', 'kind="all"'), 0, 'generation requests in flight (admitted ones)');
      assert.equal(metric(text, 'charlm_inflight_requests', 'kind="stream"'), 0);
      console.log(`  ${engine}: ${steps} steps, ${rows} rows; requests, chars, histograms and gauges as expected`);
      const reqLines = logs.filter((l) => l.msg === 'request');
      assert.equal(reqLines.length, 4, JSON.stringify(reqLines));
      const streamed = reqLines.find((l) => l.reqId === 'my-req-7');
      assert.ok(streamed, 'the client\'s X-Request-Id is the log\'s reqId');
      assert.equal(streamed.status, 200);
      assert.equal(streamed.route, '/v1/generate');
      assert.ok(reqLines.every((l) => typeof l.reqId === 'string' && l.reqId.length >= 8 && typeof l.ms === 'number'));
      assert.equal(new Set(reqLines.map((l) => l.reqId)).size, 4, 'request ids are unique');
    } finally { await s.close(); }
  });
}
