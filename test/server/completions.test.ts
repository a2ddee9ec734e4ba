// POST /v1/completions through the official `openai` npm client pointed at the server with baseURL: plain and
// streamed completions (same text as /v1/generate for the same seed), n, stop, max_tokens, usage in characters,
// `data: [DONE]` on the wire, and errors in OpenAI's {error: {message, type, param, code}} shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer } from '../../src/server/index.js';
import { makeModel, post } from './helpers.js';

const tiny = makeModel('lstm', 6);

for (const engine of ['inline', 'worker'] as const) {
  test(`openai client: completions, streaming, n, stop, usage, errors (${engine} engine)`, async () => {
    const s = await startServer({ models: [{ name: 'tiny', loaded: tiny }], host: '127.0.0.1', port: 0, engine });
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused-here', maxRetries: 0 });
    try {
      const c = await client.completions.create({ model: 'tiny', prompt: 'First', max_tokens: 60, n: 2, seed: 7, temperature: 0.9 });
      const g = (await post(`${s.url}/v1/generate`, { model: 'tiny', prompt: 'First', length: 60, n: 2, seed: 7, temperature: 0.9 })).json;
      assert.equal(c.object, 'text_completion');
      assert.equal(c.model, 'tiny');
      assert.match(c.id, /^cmpl-/);
      assert.deepEqual(c.choices.map((x) => x.index), [0, 1]);
      assert.deepEqual(c.choices.map((x) => x.text), g.samples.map((x: { text: string }) => x.text), 'same seed, same text as /v1/generate');
      assert.deepEqual(c.choices.map((x) => x.finish_reason), ['length', 'length']);
      assert.deepEqual(c.usage, { prompt_tokens: 5, completion_tokens: 120, total_tokens: 125 });

      const chunks: string[] = ['', ''];
      const finish: (string | null)[] = [null, null];
      let usage: unknown = null;
      const st = await client.completions.create({ model: 'tiny', prompt: 'First', max_tokens: 60, n: 2, seed: 7, temperature: 0.9,
        stream: true, stream_options: { include_usage: true } });
      for await (const ch of st) {
        if (ch.usage) usage = ch.usage;
        for (const x of ch.choices) { chunks[x.index] += x.text; if (x.finish_reason) finish[x.index] = x.finish_reason; }
      }
      assert.deepEqual(chunks, c.choices.map((x) => x.text), 'streamed text = plain text');
      assert.deepEqual(finish, ['length', 'length']);
      assert.deepEqual(usage, c.usage);

      // stop: the text ends before the stop string, finish_reason "stop"
      const full = c.choices[0].text, cut = [...full].slice(10, 12).join('');
      const stopped = await client.completions.create({ model: 'tiny', prompt: 'First', max_tokens: 60, seed: 7, temperature: 0.9, stop: [cut] });
      assert.equal(stopped.choices[0].finish_reason, 'stop');
      assert.equal(stopped.choices[0].text, full.slice(0, full.indexOf(cut)));

      // the raw wire format ends with data: [DONE]
      const raw = await (await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'First', max_tokens: 5, stream: true, seed: 1 }) })).text();
      assert.ok(raw.endsWith('data: [DONE]\n\n'), raw.slice(-60));
      assert.ok(raw.split('\n\n').filter(Boolean).every((b) => b.startsWith('data: ')), 'only data: events');

      const err = async (body: Record<string, unknown>) => {
        try { await client.completions.create(body as never); } catch (e) { return e as InstanceType<typeof OpenAI.APIError>; }
        assert.fail(`no error for ${JSON.stringify(body)}`);
      };
      const nf = await err({ model: 'nope', prompt: 'a' });
      assert.equal(nf.status, 404);
      assert.deepEqual({ type: nf.type, code: nf.code, param: nf.param }, { type: 'invalid_request_error', code: 'model_not_found', param: 'model' });
      const bad = await err({ model: 'tiny', prompt: 'a', temperature: -1 });
      assert.equal(bad.status, 400);
      assert.equal(bad.param, 'temperature');
      const unk = await err({ model: 'tiny', prompt: 'Zebra ™', max_tokens: 3 });
      assert.equal(unk.status, 422);
      assert.equal(unk.code, 'unknown_chars');
      const unsupported = await err({ model: 'tiny', prompt: 'a', logprobs: 3 });
      assert.equal(unsupported.status, 400);
      assert.equal(unsupported.param, 'logprobs');
      const body = await (await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt": 3}' })).json();
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
      console.log(`  ${engine}: 2 choices × 60 chars, streamed = plain = /v1/generate; errors: ${[nf, bad, unk, unsupported].map((e) => `${e.status} ${e.code}`).join(', ')}`);
    } finally { await s.close(); }
  });
}
