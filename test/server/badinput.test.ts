// Throws a few hundred malformed requests at the server (bad JSON, wrong types, huge bodies, unknown fields,
// out-of-range numbers, unknown models and characters, wrong methods and paths) and checks that every answer is
// a 4xx with the structured error body, and that the server still serves correctly afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startServer } from '../../src/server/index.js';
import { Rng } from '../../src/util/rng.js';
import { makeModel, post } from './helpers.js';

interface Case { method: string; path: string; body?: string; headers?: Record<string, string>; status?: number }

const VALUES: unknown[] = [null, true, false, -1, 0, 1.5, 1e308, -1e308, 'x', '', '12', [], [1], {}, { a: 1 }, 'é™', 1e9, -0.0001, 2 ** 53];
const FIELDS = ['model', 'prompt', 'length', 'temperature', 'topK', 'topP', 'seed', 'n', 'stop', 'stream', 'unknown'];

function cases(): Case[] {
  const out: Case[] = [];
  const gen = (body: unknown, status?: number) => out.push({ method: 'POST', path: '/v1/generate', body: JSON.stringify(body), status });
  // Every field × a spread of wrong-typed or out-of-range values (some happen to be valid: those may be 200).
  for (const f of FIELDS) for (const v of VALUES) {
    const body: Record<string, unknown> = { prompt: 'A', length: 5, [f]: v };
    out.push({ method: 'POST', path: '/v1/generate', body: JSON.stringify(body) });
    out.push({ method: 'POST', path: '/v1/next', body: JSON.stringify({ prompt: 'A', [f === 'length' ? 'top' : f]: v }) });
  }
  gen({ prompt: 'A', length: -5 }, 400); gen({ prompt: 'A', length: 10001 }, 400); gen({ prompt: 'A', n: 17 }, 400);
  gen({ prompt: 'A', n: 0 }, 400); gen({ prompt: 'A', topP: 0 }, 400); gen({ prompt: 'A', temperature: -1 }, 400);
  gen({ prompt: 'A', stop: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] }, 400); gen({ prompt: 'A', stop: [''] }, 400);
  gen({ prompt: 'A', stop: 'x'.repeat(65) }, 400); gen({ prompt: 'A'.repeat(8001) }, 400);
  gen({ prompt: 'A', bogus: 1 }, 400); gen({ prompt: 'A', top_k: 3 }, 400); gen({ prompt: 'Ω' }, 422);
  gen({ model: 'nope', prompt: 'A' }, 404); gen({ prompt: 'A', unknown: 'ignore' }, 400); gen([1, 2], 400); gen('text', 400);
  gen(42, 400); gen(null, 200);
  for (const body of ['{', '{"prompt":', '{"prompt": "A",}', 'nul', '\u0000', '{"a":1}{"b":2}', '[', '"unterminated', '{\'a\':1}']) {
    out.push({ method: 'POST', path: '/v1/generate', body, status: 400 });
  }
  out.push({ method: 'POST', path: '/v1/generate', body: JSON.stringify({ prompt: 'A'.repeat(70_000) }), status: 413 });
  out.push({ method: 'POST', path: '/v1/next', body: 'x'.repeat(200_000), status: 413 });
  out.push({ method: 'POST', path: '/v1/generate', body: '{"__proto__": {"length": 1}}', status: 400 });
  // JSON only: what a web page may POST cross-site without a preflight (text/plain, forms) is a 415.
  for (const type of ['text/plain', 'multipart/form-data', 'application/x-www-form-urlencoded', 'text/plain;charset=UTF-8', 'application/xml']) {
    out.push({ method: 'POST', path: '/v1/generate', body: '{"prompt":"A"}', headers: { 'content-type': type }, status: 415 });
    out.push({ method: 'POST', path: '/v1/next', body: '{"prompt":"A"}', headers: { 'content-type': type }, status: 415 });
  }
  out.push({ method: 'POST', path: '/v1/generate', body: '{"prompt":"A","length":3}', headers: { 'content-type': 'application/json; charset=utf-8' }, status: 200 });
  for (const [m, p] of [['GET', '/v1/generate'], ['PUT', '/v1/generate'], ['DELETE', '/v1/models'], ['PATCH', '/healthz'],
    ['POST', '/v1/models'], ['POST', '/healthz'], ['DELETE', '/v1/next'], ['GET', '/v2/generate'], ['GET', '/v1/models/x/y'],
    ['GET', '/../etc/passwd'], ['GET', '/web/app.js'], ['GET', '/%'], ['GET', '/v1/models/' + 'x'.repeat(300)],
    ['POST', '/nope'], ['GET', '/v1/models/nope']]) {
    out.push({ method: m, path: p, status: undefined });
  }
  for (const q of ['temperature=x', 'topK=1.5', 'topP=2', 'top=0', 'top=51', 'prompt=%CE%A9', 'model=zz', 'bogus=1',
    'temperature=', 'temperature=1&temperature=2', 'unknown=maybe', 'prompt=' + 'A'.repeat(8001)]) {
    out.push({ method: 'GET', path: `/v1/next?${q}` });
  }
  // Random junk bodies and random JSON objects.
  const rng = new Rng(123);
  for (let i = 0; i < 60; i++) {
    const bytes = Array.from({ length: 1 + rng.int(60) }, () => String.fromCharCode(rng.int(128)));
    out.push({ method: 'POST', path: i % 2 ? '/v1/generate' : '/v1/next', body: bytes.join('') });
  }
  for (let i = 0; i < 60; i++) {
    const body: Record<string, unknown> = {};
    for (let k = 0; k < 1 + rng.int(4); k++) body[FIELDS[rng.int(FIELDS.length)]] = VALUES[rng.int(VALUES.length)];
    out.push({ method: 'POST', path: '/v1/generate', body: JSON.stringify(body) });
  }
  return out;
}

function send(base: URL, c: Case): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, method: c.method, path: c.path,
      headers: { 'content-type': 'application/json', ...c.headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    if (c.body !== undefined) req.write(c.body);
    req.end();
  });
}

test('hundreds of malformed requests: every answer is a 4xx with {error: {code, message, field}}', async () => {
  const s = await startServer({ models: [{ name: 'tiny', loaded: makeModel() }], host: '127.0.0.1', port: 0 });
  try {
    const all = cases();
    const base = new URL(s.url);
    const tally = new Map<number, number>();
    let served = 0;
    for (let i = 0; i < all.length; i += 16) {
      const batch = all.slice(i, i + 16);
      const answers = await Promise.all(batch.map((c) => send(base, c)));
      answers.forEach((a, j) => {
        const c = batch[j], what = `${c.method} ${c.path.slice(0, 60)} ${String(c.body).slice(0, 80)} → ${a.status} ${a.text.slice(0, 200)}`;
        tally.set(a.status, (tally.get(a.status) ?? 0) + 1);
        assert.ok(a.status < 500, `server error: ${what}`);
        if (c.status !== undefined) assert.equal(a.status, c.status, what);
        if (a.status === 200) { served++; return; }
        assert.ok(a.status >= 400, what);
        const j2 = JSON.parse(a.text);
        assert.equal(typeof j2.error.code, 'string', what);
        assert.equal(typeof j2.error.message, 'string', what);
        assert.ok('field' in j2.error, what);
        if (j2.error.code === 'BAD_PARAM' || j2.error.code === 'UNKNOWN_FIELD') assert.equal(typeof j2.error.field, 'string', what);
      });
    }
    console.log(`# ${all.length} requests: ${[...tally].sort().map(([k, v]) => `${k}×${v}`).join(', ')} (${served} were valid)`);
    assert.ok(all.length >= 300);
    const ok = await post(`${s.url}/v1/generate`, { prompt: 'First', length: 20, seed: 1 });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.samples[0].chars, 20);
    const h = await (await fetch(`${s.url}/healthz`)).json();
    assert.deepEqual(h.inflight, { requests: 0, streams: 0 });
  } finally { await s.close(); }
});

test('a request naming the field: wrong type and out of range both say which field', async () => {
  const s = await startServer({ models: [{ name: 'tiny', loaded: makeModel() }], host: '127.0.0.1', port: 0 });
  try {
    for (const [body, field] of [[{ length: 'ten' }, 'length'], [{ topP: 3 }, 'topP'], [{ stop: 5 }, 'stop'],
      [{ stream: 'yes' }, 'stream'], [{ seed: -3 }, 'seed'], [{ n: 2.5 }, 'n'], [{ prompt: 7 }, 'prompt']] as const) {
      const r = await post(`${s.url}/v1/generate`, body);
      assert.equal(r.status, 400);
      assert.equal(r.json.error.field, field, JSON.stringify(r.json));
    }
  } finally { await s.close(); }
});
