// Continuous batching: concurrent requests share batched steps, a seeded request's text does not depend on
// what else is running, a disconnected client leaves the batch at once, maxBatch = 1 queues, and the 429 limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server/index.js';
import { makeModel, post, readSse } from './helpers.js';

const small = makeModel('lstm', 3);
const slow = makeModel('lstm', 4, 256); // big enough that 10,000 characters take seconds

async function withServer<T>(opts: Parameters<typeof startServer>[0] extends infer O ? Partial<O> : never,
                             fn: (s: Awaited<ReturnType<typeof startServer>>) => Promise<T>): Promise<T> {
  const s = await startServer({ models: [{ name: 'm', loaded: small }], host: '127.0.0.1', port: 0, ...opts });
  try { return await fn(s); } finally { await s.close(); }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('concurrent requests share batched steps, and each seeded text is the same as when run alone', async () => {
  await withServer({}, async (s) => {
    const body = (seed: number) => ({ prompt: 'First', length: 400, seed, temperature: 0.9 });
    const alone = (await post(`${s.url}/v1/generate`, body(42))).json.samples[0].text;
    const before = s.stats();
    const rs = await Promise.all([42, 1, 2, 3, 4, 5, 6, 7].map((seed) => post(`${s.url}/v1/generate`, body(seed))));
    const after = s.stats();
    assert.equal(rs[0].json.samples[0].text, alone, 'seed 42 changed when run alongside others');
    const steps = after.steps - before.steps, seqSteps = after.seqSteps - before.seqSteps;
    console.log(`# 8 concurrent × 400 chars: ${steps} batched steps for ${seqSteps} sequence-steps; max batch ${after.maxBatchSeen}`);
    assert.ok(after.maxBatchSeen >= 4, `max batch ${after.maxBatchSeen}`);
    assert.ok(steps < seqSteps / 2, 'steps were not shared');
    const others = new Set(rs.map((r) => r.json.samples[0].text));
    assert.equal(others.size, 8, 'different seeds should give different texts');
  });
});

test('n = 16 in one request is one batch of 16', async () => {
  await withServer({}, async (s) => {
    const r = await post(`${s.url}/v1/generate`, { prompt: 'A', length: 100, n: 16, seed: 9 });
    assert.equal(r.json.samples.length, 16);
    assert.equal(s.stats().maxBatchSeen, 16);
    assert.ok(s.stats().steps <= 100);
  });
});

test('maxBatch = 1 still serves everyone (queued), with identical seeded texts', async () => {
  const texts = await withServer({}, async (s) =>
    Promise.all([1, 2, 3].map((seed) => post(`${s.url}/v1/generate`, { prompt: 'A', length: 200, seed }))));
  await withServer({ limits: { maxBatch: 1 } }, async (s) => {
    const rs = await Promise.all([1, 2, 3].map((seed) => post(`${s.url}/v1/generate`, { prompt: 'A', length: 200, seed })));
    assert.deepEqual(rs.map((r) => r.json.samples), texts.map((r) => r.json.samples));
    assert.equal(s.stats().maxBatchSeen, 1);
  });
});

test('a client that disconnects is removed from the batch at once', async () => {
  const s = await startServer({ models: [{ name: 'm', loaded: slow }], host: '127.0.0.1', port: 0 });
  try {
    const open = async () => {
      const ac = new AbortController();
      const res = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
        body: JSON.stringify({ prompt: 'A', length: 10000, stream: true, n: 2 }) });
      const reader = res.body!.getReader();
      await reader.read(); // the start event
      return { ac, reader };
    };
    const a = await open(), b = await open();
    for (let i = 0; i < 200 && s.stats().active < 4; i++) await sleep(5);
    assert.equal(s.stats().active, 4);
    a.ac.abort();
    for (let i = 0; i < 200 && s.stats().active > 2; i++) await sleep(5);
    assert.equal(s.stats().active, 2, 'the aborted stream still has sequences in the batch');
    b.ac.abort();
    for (let i = 0; i < 200 && s.stats().active > 0; i++) await sleep(5);
    const st = s.stats();
    assert.equal(st.active, 0);
    await sleep(50);
    assert.equal(s.stats().steps, st.steps, 'steps went on after every client left');
    assert.ok(st.seqSteps < 4 * 9999, `generation ran to the end (${st.seqSteps} sequence-steps)`);
    const h = await (await fetch(`${s.url}/healthz`)).json();
    assert.deepEqual(h.inflight, { requests: 0, streams: 0 });
  } finally { await s.close(); }
});

test('too many concurrent streams → 429 with the structured error; slots free up afterwards', async () => {
  const s = await startServer({ models: [{ name: 'm', loaded: slow }], host: '127.0.0.1', port: 0, limits: { maxStreams: 2 } });
  try {
    const acs = [new AbortController(), new AbortController()];
    const opened = await Promise.all(acs.map((ac) => fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
      body: JSON.stringify({ prompt: 'A', length: 10000, stream: true }) })));
    assert.deepEqual(opened.map((r) => r.status), [200, 200]);
    const third = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'A', length: 10, stream: true }) });
    assert.equal(third.status, 429);
    assert.equal((await third.json()).error.code, 'TOO_MANY_STREAMS');
    const plain = await post(`${s.url}/v1/generate`, { prompt: 'A', length: 10 });
    assert.equal(plain.status, 200, 'non-streaming requests are not limited by maxStreams');
    for (const ac of acs) ac.abort();
    for (let i = 0; i < 200 && s.stats().active > 0; i++) await sleep(5);
    const again = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'A', length: 10, stream: true }) });
    assert.equal(again.status, 200);
    const ev = await readSse(again);
    assert.equal(ev.at(-1)!.event, 'done');
  } finally { await s.close(); }
});

test('the event loop stays responsive while long generations run', async () => {
  const s = await startServer({ models: [{ name: 'm', loaded: slow }], host: '127.0.0.1', port: 0 });
  try {
    const acs = Array.from({ length: 8 }, () => new AbortController());
    for (const ac of acs) {
      void fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal, body: JSON.stringify({ prompt: 'A'.repeat(2000), length: 10000 }) })
        .catch(() => undefined);
    }
    await sleep(100);
    let worst = 0;
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await new Promise((r) => setImmediate(r));
      worst = Math.max(worst, performance.now() - t0);
      const h = await fetch(`${s.url}/healthz`);
      assert.equal(h.status, 200);
    }
    console.log(`# worst setImmediate delay while 8 long generations run: ${worst.toFixed(1)} ms; longest batcher slice ${s.stats().maxSliceMs.toFixed(1)} ms`);
    assert.ok(worst < 100, `event loop blocked for ${worst} ms`);
    for (const ac of acs) ac.abort();
  } finally { await s.close(); }
});

test('streamed text goes out once per stream interval: the first character at once, the rest batched, same text', async () => {
  const body = { prompt: 'First', length: 300, seed: 11, temperature: 0.9, stream: true };
  const chunksWith = async (streamMs: number) => {
    const s = await startServer({ models: [{ name: 'm', loaded: slow }], host: '127.0.0.1', port: 0, batcher: { streamMs } });
    try {
      const res = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return (await readSse(res)).filter((e) => e.event === 'chunk').map((e) => e.data.text as string);
    } finally { await s.close(); }
  };
  const want = await withServer({ models: [{ name: 'm', loaded: slow }] },
    async (s) => (await post(`${s.url}/v1/generate`, { ...body, stream: false })).json.samples[0].text);
  // An interval longer than the whole sample: the first character alone, then everything else when it ends.
  const long = await chunksWith(60_000);
  assert.equal(long.length, 2, `chunks: ${long.map((c) => c.length).join(',')}`);
  assert.equal([...long[0]].length, 1);
  // Interval 0: a write after every slice of model steps (the 4-layer model needs many slices for 300 characters).
  const every = await chunksWith(0);
  assert.ok(every.length > 5, `only ${every.length} chunks with streamMs 0`);
  for (const c of [long, every]) assert.equal(c.join(''), want, 'streamed text differs from the JSON answer');
});
