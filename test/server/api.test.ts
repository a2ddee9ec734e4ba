// The HTTP API over real loopback HTTP: models, model card, health, generate (JSON and SSE), determinism against
// the library's generate(), stop strings, unknown characters, timeouts and the next-character endpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generate, SAMPLE_DEFAULTS } from '../../src/sample/generate.js';
import type { CharlmServer } from '../../src/server/index.js';
import { TEXT, makeModel, post, readSse } from './helpers.js';
import { startServer } from '../../src/server/index.js';

const tiny = makeModel('lstm', 1);
const gru = makeModel('gru', 2);
let s: CharlmServer & { url: string };

before(async () => {
  s = await startServer({ models: [{ name: 'tiny', loaded: tiny }, { name: 'gru', loaded: gru }], host: '127.0.0.1', port: 0 });
});
after(async () => { await s.close(); });

test('GET /healthz, /v1/models and the model card', async () => {
  const h = await (await fetch(`${s.url}/healthz`)).json();
  assert.equal(h.ok, true);
  assert.deepEqual(h.models.map((m: any) => m.name), ['tiny', 'gru']);
  const list = await (await fetch(`${s.url}/v1/models`)).json();
  assert.equal(list.models.length, 2);
  assert.equal(list.models[0].parameters, tiny.model.params.size);
  const card = await (await fetch(`${s.url}/v1/models/gru`)).json();
  assert.equal(card.architecture.cell, 'gru');
  assert.equal(card.vocab.size, gru.vocab.size);
  assert.deepEqual(card.vocab.chars, gru.vocab.chars);
  assert.equal(card.training.history.length, 40);
  assert.equal(card.file, 'tiny-gru.safetensors');
  const missing = await fetch(`${s.url}/v1/models/nope`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, 'MODEL_NOT_FOUND');
});

test('a seeded request gives exactly the library generate() text, for both models', async () => {
  for (const [name, m] of [['tiny', tiny], ['gru', gru]] as const) {
    const opts = { ...SAMPLE_DEFAULTS, prime: 'First Citizen', length: 120, seed: 7, temperature: 0.8, topK: 10, topP: 0.95 };
    const want = generate(m.model, m.vocab, opts);
    const r = await post(`${s.url}/v1/generate`, { model: name, prompt: opts.prime, length: 120, seed: 7, temperature: 0.8, topK: 10, topP: 0.95 });
    assert.equal(r.status, 200);
    assert.equal(r.json.samples[0].text, want, `${name}: server text differs from generate()`);
    assert.equal(r.json.samples[0].finishReason, 'length');
    assert.equal(r.json.samples[0].chars, 120);
    assert.deepEqual(r.json.usage, { promptChars: 13, generatedChars: 120 });
    // A long prompt is primed in B = 1 chunks and its tail rides in the batch: still the same text.
    const long = TEXT.repeat(3);
    const r2 = await post(`${s.url}/v1/generate`, { model: name, prompt: long, length: 60, seed: 3 });
    assert.equal(r2.json.samples[0].text, generate(m.model, m.vocab, { ...SAMPLE_DEFAULTS, prime: long, length: 60, seed: 3 }));
  }
});

test('n samples use seeds seed, seed+1, …; an empty prompt works; greedy is repeatable', async () => {
  const r = await post(`${s.url}/v1/generate`, { prompt: '', length: 50, seed: 100, n: 3 });
  assert.equal(r.json.samples.length, 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(r.json.samples[i].text, generate(tiny.model, tiny.vocab, { ...SAMPLE_DEFAULTS, prime: '', length: 50, seed: 100 + i }));
  }
  const g1 = await post(`${s.url}/v1/generate`, { prompt: 'A', length: 30, temperature: 0 });
  const g2 = await post(`${s.url}/v1/generate`, { prompt: 'A', length: 30, temperature: 0 });
  assert.equal(g1.json.samples[0].text, g2.json.samples[0].text);
  const zero = await post(`${s.url}/v1/generate`, { prompt: 'A', length: 0 });
  assert.deepEqual(zero.json.samples, [{ text: '', finishReason: 'length', chars: 0 }]);
});

test('stop strings end a sample and are not included; streamed text never leaks a stop', async () => {
  const full = generate(tiny.model, tiny.vocab, { ...SAMPLE_DEFAULTS, prime: 'Speak', length: 400, seed: 5 });
  const stop = full.slice(150, 152); // a two-character string that certainly occurs
  const cut = full.indexOf(stop);
  const r = await post(`${s.url}/v1/generate`, { prompt: 'Speak', length: 400, seed: 5, stop: [stop, 'QQQ'] });
  assert.equal(r.json.samples[0].finishReason, 'stop');
  assert.equal(r.json.samples[0].text, full.slice(0, cut));
  const res = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Speak', length: 400, seed: 5, stop, stream: true }) });
  const events = await readSse(res);
  const streamed = events.filter((e) => e.event === 'chunk').map((e) => e.data.text).join('');
  assert.equal(streamed, full.slice(0, cut));
});

test('streaming: start, chunks that add up to the JSON answer, one sample event each, then done', async () => {
  const body = { prompt: 'All', length: 300, seed: 11, n: 2 };
  const plain = await post(`${s.url}/v1/generate`, body);
  const res = await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
  const events = await readSse(res);
  assert.equal(events[0].event, 'start');
  assert.equal(events.at(-1)!.event, 'done');
  for (let i = 0; i < 2; i++) {
    const text = events.filter((e) => e.event === 'chunk' && e.data.index === i).map((e) => e.data.text).join('');
    assert.equal(text, plain.json.samples[i].text);
  }
  assert.equal(events.filter((e) => e.event === 'sample').length, 2);
  assert.deepEqual(events.at(-1)!.data.samples, plain.json.samples);
  assert.ok(events.filter((e) => e.event === 'chunk').length > 2, 'text should arrive in several chunks');
});

test('unknown prompt characters: 422 naming them, or skipped with unknown: "skip"', async () => {
  const r = await post(`${s.url}/v1/generate`, { prompt: 'Hé™ QQ', length: 5 });
  assert.equal(r.status, 422);
  assert.equal(r.json.error.code, 'UNKNOWN_CHARS');
  assert.equal(r.json.error.field, 'prompt');
  assert.deepEqual(r.json.error.chars, ['H', 'é', '™', 'Q']);
  const skip = await post(`${s.url}/v1/generate`, { prompt: 'Hé™ e', length: 20, seed: 1, unknown: 'skip' });
  assert.equal(skip.status, 200);
  assert.equal(skip.json.samples[0].text, generate(tiny.model, tiny.vocab, { ...SAMPLE_DEFAULTS, prime: ' e', length: 20, seed: 1 }));
});

test('a request past its time limit ends with finishReason "timeout"', async () => {
  const t = await startServer({ models: [{ name: 'tiny', loaded: tiny }], host: '127.0.0.1', port: 0, limits: { requestTimeoutMs: 1 } });
  try {
    const r = await post(`${t.url}/v1/generate`, { prompt: 'A', length: 10000, n: 2 });
    assert.equal(r.status, 200);
    for (const smp of r.json.samples) {
      assert.equal(smp.finishReason, 'timeout');
      assert.ok(smp.chars < 10000);
    }
  } finally { await t.close(); }
});

test('GET and POST /v1/next: sorted candidates whose probabilities match the model', async () => {
  const g = await (await fetch(`${s.url}/v1/next?prompt=${encodeURIComponent('First Cit')}&top=5&temperature=0.5`)).json();
  assert.equal(g.candidates.length, 5);
  for (let i = 1; i < 5; i++) assert.ok(g.candidates[i - 1].prob >= g.candidates[i].prob);
  const p = await post(`${s.url}/v1/next`, { prompt: 'First Cit', top: 5, temperature: 0.5 });
  assert.deepEqual(p.json.candidates, g.candidates);
  const all = await post(`${s.url}/v1/next`, { prompt: 'First Cit', top: 50, topK: 3 });
  assert.equal(all.json.candidates.length, 3);
  assert.ok(Math.abs(all.json.candidates.reduce((a: number, c: any) => a + c.prob, 0) - 1) < 1e-9);
  const bad = await fetch(`${s.url}/v1/next?temperature=hot`);
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.field, 'temperature');
});
