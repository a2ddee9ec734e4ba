// The worker-thread engine (`charlm serve`'s default): the same text per seed as the library's generate() and as
// the inline engine, alone or among 31 other requests; streams carry the same text; a client that goes away
// leaves the batch at once; the event loop stays free while the worker computes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server/index.js';
import { generate, SAMPLE_DEFAULTS } from '../../src/sample/generate.js';
import { makeModel, post, readSse } from './helpers.js';

const small = makeModel('lstm', 3);
const slow = makeModel('lstm', 4, 256);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const body = (seed: number, extra: object = {}) => ({ prompt: 'First', length: 300, seed, temperature: 0.9, ...extra });

test('worker engine: a seed gives the same text alone, among 31 other requests, inline, and from generate()', async () => {
  const lib = generate(small.model, small.vocab, { ...SAMPLE_DEFAULTS, prime: 'First', length: 300, seed: 42, temperature: 0.9 });
  const inline = await startServer({ models: [{ name: 'm', loaded: small }], host: '127.0.0.1', port: 0, engine: 'inline' });
  const s = await startServer({ models: [{ name: 'm', loaded: small }], host: '127.0.0.1', port: 0, engine: 'worker' });
  try {
    const alone = (await post(`${s.url}/v1/generate`, body(42))).json.samples[0].text;
    const inlineText = (await post(`${inline.url}/v1/generate`, body(42))).json.samples[0].text;
    const seeds = [42, ...Array.from({ length: 31 }, (_, i) => 100 + i)];
    const rs = await Promise.all(seeds.map((seed, i) => post(`${s.url}/v1/generate`, body(seed, i % 3 === 1 ? { topK: 5 } : i % 3 === 2 ? { topP: 0.8 } : {}))));
    assert.equal(alone, lib, 'worker text differs from generate()');
    assert.equal(inlineText, lib, 'inline text differs from generate()');
    assert.equal(rs[0].json.samples[0].text, alone, 'seed 42 changed among 31 others');
    console.log(`# 32 concurrent on the worker: max batch ${s.stats().maxBatchSeen}; seed 42 identical alone, among 31 others, inline and in generate()`);
    assert.ok(s.stats().maxBatchSeen >= 8, `max batch ${s.stats().maxBatchSeen}`);
    const stream = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body(42), stream: true }) });
    const ev = await readSse(stream);
    assert.equal(ev.filter((e) => e.event === 'chunk').map((e) => e.data.text).join(''), lib, 'streamed text differs');
    assert.equal(ev.at(-1)!.event, 'done');
    const next = (url: string) => post(`${url}/v1/next`, { prompt: 'First', top: 5, temperature: 0.7 });
    const [nw, ni] = [await next(s.url), await next(inline.url)];
    assert.equal(nw.status, 200);
    assert.deepEqual(nw.json, ni.json, '/v1/next: the same candidates and probabilities from the worker');
  } finally { await s.close(); await inline.close(); }
});

test('worker engine: a client that disconnects leaves the batch at once; the event loop stays free', async () => {
  const s = await startServer({ models: [{ name: 'm', loaded: slow }], host: '127.0.0.1', port: 0, engine: 'worker' });
  try {
    const open = async () => {
      const ac = new AbortController();
      const res = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
        body: JSON.stringify({ prompt: 'A', length: 10000, stream: true, n: 2 }) });
      await res.body!.getReader().read(); // the start event
      return ac;
    };
    const a = await open(), b = await open();
    for (let i = 0; i < 400 && s.stats().active < 4; i++) await sleep(5);
    assert.equal(s.stats().active, 4);
    let worst = 0;
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await new Promise((r) => setImmediate(r));
      worst = Math.max(worst, performance.now() - t0);
    }
    console.log(`# worst setImmediate delay on the main thread while the worker steps 4 sequences: ${worst.toFixed(1)} ms`);
    assert.ok(worst < 100, `event loop blocked for ${worst} ms`);
    a.abort();
    for (let i = 0; i < 400 && s.stats().active > 2; i++) await sleep(5);
    assert.equal(s.stats().active, 2, 'the aborted stream still has sequences in the batch');
    b.abort();
    for (let i = 0; i < 400 && s.stats().active > 0; i++) await sleep(5);
    const st = s.stats();
    assert.equal(st.active, 0);
    await sleep(100);
    assert.equal(s.stats().steps, st.steps, 'steps went on after every client left');
    const h = await (await fetch(`${s.url}/healthz`)).json();
    assert.deepEqual(h.inflight, { requests: 0, streams: 0 });
  } finally { await s.close(); }
});

test('a burst of 40-60 character prompts rides the busy batch: each text equals generate() (both engines)', async () => {
  const prompts = Array.from({ length: 8 }, (_, i) => 'First Citizen:\nBefore we proceed any further, hear me'.slice(0, 40 + 2 * i));
  for (const engine of ['inline', 'worker'] as const) {
    const s = await startServer({ models: [{ name: 'm', loaded: small }], host: '127.0.0.1', port: 0, engine });
    try {
      const rs = await Promise.all(prompts.map((prompt, i) => post(`${s.url}/v1/generate`, { prompt, length: 50, seed: 20 + i, temperature: 0.9 })));
      rs.forEach((r, i) => assert.equal(r.json.samples[0].text,
        generate(small.model, small.vocab, { ...SAMPLE_DEFAULTS, prime: prompts[i], length: 50, seed: 20 + i, temperature: 0.9 }), `${engine} prompt ${i}`));
      console.log(`# ${engine}: 8 long prompts together, ${s.stats().primeChunks} B = 1 prime chunks, max batch ${s.stats().maxBatchSeen}; texts = generate()`);
    } finally { await s.close(); }
  }
});
