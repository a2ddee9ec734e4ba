// The server against slow, absent and hostile peers (issue 14), on loopback only and with bounded loops:
// a slow-body client is cut off by the receive timeout; abandoned /v1/next requests free their slots at once;
// 500 malformed requests and 64 never-reading streams leave normal requests at normal latency; JSON-only POST,
// the Host check, the API key, the connection cap, the prime deadline, the stream buffer cap, and SIGTERM drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { SseStream } from '../../src/server/sse.js';
import { makeModel, post, readSse, serve, TEXT } from './helpers.js';
import { ROOT } from '../helpers.js';

const JSON_HEADERS = { 'content-type': 'application/json' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** Sends raw bytes; resolves with what came back and when the server closed the connection. */
function rawClient(port: number) {
  const sock = connect(port, '127.0.0.1');
  let data = '';
  const t0 = performance.now();
  const closed = new Promise<number>((resolve) => { sock.on('close', () => resolve(performance.now() - t0)); });
  sock.on('data', (d) => { data += d; });
  sock.on('error', () => {});
  return { sock, closed, data: () => data };
}

async function until(cond: () => boolean, maxMs: number, stepMs = 5): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > maxMs) throw new Error(`condition not met within ${maxMs} ms`);
    await sleep(stepMs);
  }
  return performance.now() - t0;
}

test('a slow-body client (and a slow-header one) is disconnected by the receive timeout', async () => {
  const s = await serve({ limits: { receiveTimeoutMs: 1000 } });
  try {
    const port = Number(new URL(s.url).port);
    const body = raw(port, `POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`);
    const head = raw(port, `POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    const bytes = [0, 0];
    [body, head].forEach((c, i) => { // one byte every 200 ms, 40 at most (a bounded loop)
      const timer = setInterval(() => { if (++bytes[i] > 40 || c.sock.destroyed) clearInterval(timer); else c.sock.write(i ? 'X' : ' '); }, 200);
    });
    const [tb, th] = await Promise.all([body.closed, head.closed]);
    console.log(`  slow body cut after ${tb.toFixed(0)} ms (${bytes[0]} bytes sent), slow headers after ${th.toFixed(0)} ms; answers ${JSON.stringify(body.data().split('\r\n')[0])}`);
    assert.match(body.data(), /^HTTP\/1\.1 408/);
    assert.ok(tb < 3000 && th < 3000);
    assert.ok((await post(`${s.url}/v1/generate`, { prompt: 'A', length: 3 })).status === 200, 'still serving');
  } finally { await s.close(); }
  function raw(port: number, head: string) { const c = rawClient(port); c.sock.write(head); return c; }
});

test('200 abandoned /v1/next requests free their slots within 1 s', { timeout: 120_000 }, async () => {
  const s = await serve({ models: [{ name: 'tiny', loaded: makeModel('lstm', 1, 128) }], limits: { maxRequests: 256 } });
  try {
    const { port } = new URL(s.url);
    const prompt = TEXT.repeat(70).slice(0, 8000);
    const reqs: ReturnType<typeof request>[] = [];
    let answered = 0;
    for (let i = 0; i < 200; i++) {
      const r = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/next', headers: JSON_HEADERS, agent: false }, (res) => { res.resume(); answered++; });
      r.on('error', () => {});
      r.end(JSON.stringify({ prompt, top: 3 }));
      reqs.push(r);
    }
    await until(() => s.inflight().requests + answered >= 200, 20_000);
    const held = s.inflight().requests;
    for (const r of reqs) r.destroy();
    const freed = await until(() => s.inflight().requests === 0, 5000, 2);
    await until(() => s.stats().priming === 0, 1000, 2);
    console.log(`  ${held} of 200 /v1/next were priming when their clients left (${answered} answered first); all slots free after ${freed.toFixed(0)} ms`);
    assert.ok(held >= 150);
    assert.ok(freed <= 1000, `${freed.toFixed(0)} ms`);
    assert.equal((await post(`${s.url}/v1/next`, { prompt: 'First', top: 3 })).status, 200);
  } finally { await s.close(); }
});

test('500 malformed requests and 64 never-reading streams leave normal requests at normal latency', { timeout: 180_000 }, async () => {
  const s = await serve({ limits: { maxStreams: 64 } });
  const port = Number(new URL(s.url).port);
  const streams: Socket[] = [];
  try {
    const normal = async (k: number) => {
      const times: number[] = [];
      for (let i = 0; i < k; i++) {
        const t0 = performance.now();
        const r = await post(`${s.url}/v1/generate`, { prompt: 'First', length: 50, seed: i });
        assert.equal(r.status, 200);
        times.push(performance.now() - t0);
      }
      return median(times);
    };
    await normal(5); // warm
    const before = await normal(21);
    // 64 streams whose clients never read a byte.
    for (let i = 0; i < 64; i++) {
      const body = JSON.stringify({ prompt: 'First', length: 1000, stream: true, seed: i });
      const c = rawClient(port);
      c.sock.write(`POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      c.sock.pause();
      c.sock.removeAllListeners('data');
      streams.push(c.sock);
    }
    // 500 malformed requests, 50 at a time.
    const bad: [string, string, Record<string, string>, string][] = [
      ['POST', '/v1/generate', JSON_HEADERS, '{"prompt":'], ['POST', '/v1/generate', { 'content-type': 'text/plain' }, '{"prompt":"A"}'],
      ['POST', '/v1/generate', JSON_HEADERS, JSON.stringify({ prompt: 'A', length: -1 })], ['POST', '/v1/next', JSON_HEADERS, '[1,2'],
      ['POST', '/v1/generate', { ...JSON_HEADERS, host: 'evil.example' }, '{"prompt":"A"}'], ['DELETE', '/v1/models', {}, ''],
      ['POST', '/v1/generate', JSON_HEADERS, JSON.stringify({ prompt: 'A'.repeat(70_000) })], ['GET', '/v1/next?temperature=hot', {}, ''],
      ['POST', '/v1/generate', JSON_HEADERS, JSON.stringify({ prompt: 'Ω' })], ['POST', '/v1/generate', JSON_HEADERS, '{"__proto__":{"x":1}}'],
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 500; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => {
        const [method, path, headers, body] = bad[(i + j) % bad.length];
        return new Promise<void>((resolve, reject) => {
          const r = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
            statuses.set(res.statusCode!, (statuses.get(res.statusCode!) ?? 0) + 1);
            res.resume(); res.on('end', () => resolve());
          });
          r.on('error', reject);
          r.end(body);
        });
      }));
    }
    assert.ok([...statuses.keys()].every((c) => c >= 400 && c < 500), JSON.stringify([...statuses]));
    const during = await normal(5); // while the 64 streams still generate: they share the batch (reported, not asserted)
    const settled = await until(() => { const b = s.stats(); return b.active === 0 && b.queued === 0; }, 120_000, 20);
    const st = s.stats();
    const after = await normal(21);
    const open = streams.filter((c) => !c.destroyed).length;
    console.log(`  malformed answers ${JSON.stringify(Object.fromEntries(statuses))}; normal request median ${before.toFixed(1)} ms before, ` +
                `${during.toFixed(1)} ms while the 64 streams generated, ${after.toFixed(1)} ms once they stopped computing (after ${settled.toFixed(0)} ms; ` +
                `${st.paused} sequences parked by backpressure; ${open} never-reading sockets still open, ${s.inflight().streams} stream slots held)`);
    assert.ok(after <= 2 * before + 25, `median latency ${before.toFixed(1)} → ${after.toFixed(1)} ms`);
    assert.equal(s.inflight().streams, 0, 'never-reading clients hold no stream slot once their bounded generation is done');
  } finally {
    for (const c of streams) c.destroy();
    await s.close();
  }
});

test('POST takes application/json only (415); a body without a content type is refused too', async () => {
  const s = await serve();
  try {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': type }, body: '{"prompt":"A"}' });
      assert.equal(r.status, 415, type);
      assert.equal((await r.json()).error.code, 'UNSUPPORTED_MEDIA_TYPE');
    }
    const none = await new Promise<number>((resolve) => {
      const r = request({ host: '127.0.0.1', port: new URL(s.url).port, method: 'POST', path: '/v1/generate', headers: { 'content-length': 14 } },
        (res) => { res.resume(); resolve(res.statusCode!); });
      r.end('{"prompt":"A"}');
    });
    assert.equal(none, 415);
  } finally { await s.close(); }
});

test('Host header: the bound address and localhost only, unless --allowed-hosts says otherwise', async () => {
  const get = (url: string, host: string) => new Promise<number>((resolve) => {
    const u = new URL(url);
    request({ host: '127.0.0.1', port: u.port, path: '/v1/models', headers: { host } }, (res) => { res.resume(); resolve(res.statusCode!); }).end();
  });
  const s = await serve();
  try {
    for (const h of ['127.0.0.1', `127.0.0.1:${new URL(s.url).port}`, 'localhost:1', 'LOCALHOST.', '[::1]:80']) assert.equal(await get(s.url, h), 200, h);
    for (const h of ['evil.example', 'evil.example:8080', '127.0.0.1.nip.io', 'localhost.evil.example']) assert.equal(await get(s.url, h), 403, h);
  } finally { await s.close(); }
  const t = await serve({ guard: { allowedHosts: ['models.example'] } });
  try {
    assert.equal(await get(t.url, 'models.example:443'), 200);
    assert.equal(await get(t.url, 'evil.example'), 403);
  } finally { await t.close(); }
  const any = await serve({ guard: { allowedHosts: ['*'] } });
  try { assert.equal(await get(any.url, 'evil.example'), 200); } finally { await any.close(); }
});

test('--api-key: the API needs "Authorization: Bearer <key>"; /healthz and the page stay open', async () => {
  const s = await serve({ guard: { apiKey: 'sesame-open-1234' }, webDir: undefined });
  try {
    const call = (path: string, auth?: string) => fetch(`${s.url}${path}`, auth ? { headers: { authorization: auth } } : {});
    for (const auth of [undefined, 'Bearer nope', 'sesame-open-1234', 'Basic c2VzYW1l']) {
      const r = await call('/v1/models', auth);
      assert.equal(r.status, 401, String(auth));
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
    assert.equal((await call('/v1/models', 'Bearer sesame-open-1234')).status, 200);
    const g = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { ...JSON_HEADERS, authorization: 'bearer sesame-open-1234' }, body: '{"prompt":"A","length":2}' });
    assert.equal(g.status, 200);
    assert.equal((await call('/healthz')).status, 200);
    assert.equal((await call('/')).status, 200);
  } finally { await s.close(); }
});

test('the connection cap closes connections beyond --max-connections', async () => {
  const s = await serve({ limits: { maxConnections: 4 } });
  const port = Number(new URL(s.url).port);
  const held = Array.from({ length: 4 }, () => rawClient(port));
  try {
    await sleep(100);
    const extra = rawClient(port);
    const ms = await extra.closed;
    assert.ok(ms < 1000, `the 5th connection was closed after ${ms.toFixed(0)} ms`);
    for (const c of held) c.sock.destroy();
    await sleep(100);
    assert.equal((await post(`${s.url}/v1/generate`, { prompt: 'A', length: 2 })).status, 200);
  } finally { for (const c of held) c.sock.destroy(); await s.close(); }
});

test('priming has a deadline: prompts still queued when it passes get 503 PRIME_TIMEOUT', { timeout: 60_000 }, async () => {
  const s = await serve({ models: [{ name: 'tiny', loaded: makeModel('lstm', 1, 128) }], limits: { requestTimeoutMs: 300 } });
  try {
    const prompt = TEXT.repeat(70).slice(0, 8000);
    const rs = await Promise.all(Array.from({ length: 12 }, () => post(`${s.url}/v1/next`, { prompt, top: 2 })));
    const codes = rs.map((r) => (r.status === 200 ? 200 : `${r.status} ${r.json.error.code}`));
    console.log(`  12 queued 8000-character prompts with a 300 ms deadline: ${JSON.stringify(codes)}`);
    assert.ok(codes.includes('503 PRIME_TIMEOUT'));
    assert.ok(codes.every((c) => c === 200 || c === '503 PRIME_TIMEOUT'));
    assert.equal(s.inflight().requests, 0);
  } finally { await s.close(); }
});

test('a parked sequence resumes exactly where it was: same text as one never parked', async () => {
  const { Batcher } = await import('../../src/server/batcher.js');
  const { Rng } = await import('../../src/util/rng.js');
  const lm = makeModel('lstm', 3, 32);
  const b = new Batcher(lm.model, lm.vocab, { maxBatch: 8 });
  const ids = lm.vocab.encode('First');
  const texts: string[] = [];
  let parkedOnce = false;
  await new Promise<void>((resolve) => {
    let left = 2;
    const seqs: any[] = [];
    for (let i = 0; i < 2; i++) {
      void b.prime(ids).then((p) => {
        seqs[i] = b.start({ state: p.state, logits: p.logits, rng: new Rng(9), pick: { temperature: 1, topK: 0, topP: 1 }, length: 400,
          stops: [], deadline: Date.now() + 60_000,
          onText: () => {
            if (i === 0 && !parkedOnce && seqs[0]?.count > 50) { // park the first for a while, mid-generation
              parkedOnce = true; b.pause(seqs[0]); setTimeout(() => b.resume(seqs[0]), 100);
            }
          },
          onFinish: (r) => { texts[i] = r.text; if (--left === 0) resolve(); } });
      });
    }
  });
  b.close();
  assert.ok(parkedOnce);
  assert.equal(texts[0], texts[1]);
});

test('SSE backpressure: blocked once when the socket is full, resumed on drain, dropped past the buffer cap', async () => {
  const writes: string[] = [];
  const res = Object.assign(new EventEmitter(), {
    writableLength: 0, destroyed: false, writableEnded: false, ok: true,
    write(s: string) { writes.push(s); this.writableLength += s.length; return this.ok; },
    destroy() { this.destroyed = true; },
  });
  const sse = new SseStream(res as never, 1000);
  const log: string[] = [];
  const tick = () => new Promise<void>((r) => queueMicrotask(r)); // events queued in one run are written after it
  sse.onBlocked = () => log.push('blocked');
  sse.onDrain = () => log.push('drain');
  sse.event('chunk', { text: 'a' });
  await tick();
  res.ok = false;
  sse.event('chunk', { text: 'b' }); sse.event('chunk', { text: 'c' });
  await tick();
  assert.equal(writes.length, 2, 'b and c (one synchronous run) went out in one write');
  assert.equal(writes[1], 'event: chunk\ndata: {"text":"b"}\n\nevent: chunk\ndata: {"text":"c"}\n\n');
  res.ok = true; res.writableLength = 0; res.emit('drain');
  res.emit('drain'); // a drain without a block is ignored
  assert.deepEqual(log, ['blocked', 'drain']);
  sse.event('chunk', { text: 'x'.repeat(2000) });
  await tick();
  assert.ok(res.destroyed, 'dropped past the cap');
});

test('SIGTERM drains: an in-flight stream finishes, new connections are refused, the process exits 0', { timeout: 60_000 }, async () => {
  const m = makeModel('lstm', 1, 64);
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'charlm.js'), 'serve', m.source, '--port', '0', '--backend', 'ref', '--timeout', '30'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CHARLM_QUIET_NATIVE: '1' } });
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await until(() => /serving on (http:\/\/\S+)/.test(out), 20_000, 20);
    const url = /serving on (http:\/\/\S+)/.exec(out)![1];
    const res = await fetch(`${url}/v1/generate`, { method: 'POST', headers: JSON_HEADERS,
      body: JSON.stringify({ prompt: 'First', length: 3000, stream: true, seed: 1 }) });
    let signalled = false;
    const events = await readSse(res, (e) => { if (e.event === 'chunk' && !signalled) { signalled = true; child.kill('SIGTERM'); } });
    const done = events.find((e) => e.event === 'done');
    assert.ok(done, `the stream finished after SIGTERM: ${events.map((e) => e.event).slice(-3)}`);
    assert.equal(done.data.samples[0].chars, 3000);
    await assert.rejects(fetch(`${url}/healthz`), 'no new connections');
    assert.equal(await exited, 0);
    assert.match(err, /SIGTERM: finishing in-flight requests/);
  } finally { child.kill('SIGKILL'); }
});
