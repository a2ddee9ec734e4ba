// POST /v1/completions: OpenAI's legacy completions API over the same engine as /v1/generate, so SDKs, LangChain-style
// tools and curl recipes work unchanged. Tokens are characters (max_tokens and usage count code points). Sample i
// of a prompt uses seed + i, as /v1/generate does, so the same seed gives the same text on both routes. Streams are
// `data: {...}` events ending with `data: [DONE]`; every error has OpenAI's {error: {message, type, param, code}}.
import { randomInt, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HttpError, badParam } from '../httperror.js';
import type { ServedModel, ServerContext } from '../context.js';
import type { SampleResult } from '../sequence.js';
import { SseStream } from '../sse.js';
import { Reader, SEED_MAX, asObject, readStops, typeName, type GenerateParams } from '../validation.js';
import { startRun, type RunHooks } from './generate.js';

/** Fields OpenAI defines; the ones we do not implement are accepted only at their neutral values. */
const FIELDS = ['model', 'prompt', 'max_tokens', 'temperature', 'top_p', 'n', 'stop', 'seed', 'stream', 'stream_options',
  'user', 'echo', 'logprobs', 'best_of', 'presence_penalty', 'frequency_penalty', 'suffix', 'logit_bias', 'unknown', 'top_k'];

interface CompletionParams { base: GenerateParams; prompts: string[]; includeUsage: boolean }

function parse(body: unknown, ctx: ServerContext): CompletionParams {
  const src = asObject(body, 'the request body');
  const r = new Reader(src, false, FIELDS);
  const neutral = (field: string, ok: (v: unknown) => boolean, what: string) => {
    if (src[field] !== undefined && src[field] !== null && !ok(src[field])) {
      throw badParam(field, `${field} is not supported by this server (only ${what})`);
    }
  };
  neutral('echo', (v) => v === false, 'false');
  neutral('logprobs', (v) => v === 0, 'null or 0');
  neutral('best_of', (v) => v === 1, 'null or 1');
  neutral('presence_penalty', (v) => v === 0, '0');
  neutral('frequency_penalty', (v) => v === 0, '0');
  neutral('suffix', (v) => v === '', 'null or ""');
  neutral('logit_bias', (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0, 'null or {}');
  const raw = src.prompt ?? '';
  const prompts = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(prompts) || prompts.length === 0 || !prompts.every((p) => typeof p === 'string')) {
    throw badParam('prompt', `prompt must be a string or a non-empty array of strings (token ids are not supported), got ${typeName(raw)}`);
  }
  for (const p of prompts as string[]) if ([...p].length > ctx.limits.promptChars) throw badParam('prompt', `prompt is longer than ${ctx.limits.promptChars} characters`);
  const n = r.number('n', 1, 1, ctx.limits.maxN, true);
  if (n * prompts.length > ctx.limits.maxN) throw badParam('n', `${prompts.length} prompts × n = ${n} asks for more than ${ctx.limits.maxN} completions`);
  const seed = src.seed === null ? -1 : r.number('seed', -1, 0, SEED_MAX, true);
  const so = src.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) throw badParam('stream_options', 'stream_options must be an object');
  const stop = src.stop === null ? [] : readStops(src.stop, ctx.limits);
  const model = r.string('model', '');
  return {
    prompts: prompts as string[],
    includeUsage: (so as { include_usage?: unknown } | undefined)?.include_usage === true,
    base: {
      model: model === '' ? null : model, prompt: '', n, stop, seed: seed < 0 ? null : seed,
      length: src.max_tokens === null ? ctx.limits.maxLength : r.number('max_tokens', 16, 0, ctx.limits.maxLength, true),
      temperature: src.temperature === null ? 1 : r.number('temperature', 1, 0, 100, false),
      topP: src.top_p === null ? 1 : r.number('top_p', 1, 0, 1, false, true),
      topK: r.number('top_k', 0, 0, 1_000_000, true),
      stream: src.stream === null ? false : r.boolean('stream', false),
      unknown: r.oneOf('unknown', 'error', ['error', 'skip'] as const),
    },
  };
}

/** OpenAI has stop and length; a sample cut by the time limit is reported as length (it was truncated). */
const finishReason = (r: SampleResult) => (r.finishReason === 'stop' ? 'stop' : 'length');

/** Our error body {error: {code, message, field}} → OpenAI's {error: {message, type, param, code}}. */
export function openAiError(status: number, e: { code?: unknown; message?: unknown; field?: unknown }) {
  const type = status === 401 ? 'authentication_error' : status === 403 ? 'permission_error' : status === 429 ? 'rate_limit_error'
    : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message: String(e.message ?? 'error'), type, param: (e.field as string | null) ?? null,
    code: typeof e.code === 'string' ? e.code.toLowerCase() : null } };
}

export function registerCompletions(app: FastifyInstance, ctx: ServerContext): void {
  // Every error answer on this route (guard, parsing, validation, limits) leaves in OpenAI's shape.
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode < 400 || !req.url.startsWith('/v1/completions') || typeof payload !== 'string') return payload;
    try {
      const body = JSON.parse(payload) as { error?: Record<string, unknown> };
      return body.error && !('type' in body.error) ? JSON.stringify(openAiError(reply.statusCode, body.error)) : payload;
    } catch { return payload; }
  });

  app.post('/v1/completions', async (req, reply) => {
    const p = parse(req.body, ctx);
    const m = ctx.model(p.base.model);
    const ids = p.prompts.map((prompt) => ctx.encode(m, prompt, p.base.unknown));
    const release = ctx.admit(p.base.stream);
    try {
      return p.base.stream ? await stream(reply, ctx, m, p, ids) : await answer(reply, ctx, m, p, ids);
    } finally {
      release();
    }
  });
}

function envelope(m: ServedModel) {
  return { id: `cmpl-${randomUUID().replace(/-/g, '')}`, object: 'text_completion', created: Math.floor(Date.now() / 1000), model: m.name };
}

function usage(p: CompletionParams, results: SampleResult[][]) {
  const prompt = p.prompts.reduce((a, s) => a + [...s].length, 0);
  const completion = results.flat().reduce((a, r) => a + r.chars, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** One run per prompt (seed shared, as OpenAI's batch prompts would), all at once; null when the client left. */
async function runAll(reply: FastifyReply, ctx: ServerContext, m: ServedModel, p: CompletionParams, ids: Int32Array[],
                      onText?: (choice: number, text: string) => void, onSample?: (choice: number, r: SampleResult) => void,
                      runs: RunHooks[] = []) {
  const seed = p.base.seed ?? randomInt(2 ** 31); // a server-chosen seed, as /v1/generate does
  const answers = await Promise.all(p.prompts.map((prompt, pi) => startRun(reply, ctx, m, { ...p.base, prompt, seed }, ids[pi], runs[pi] = {
    onText: onText && ((i: number, text: string) => onText(pi * p.base.n + i, text)),
    onSample: onSample && ((i: number, r: SampleResult) => onSample(pi * p.base.n + i, r)),
  })));
  return answers.some((a) => a === null) ? null : answers.map((a) => a!.samples);
}

async function answer(reply: FastifyReply, ctx: ServerContext, m: ServedModel, p: CompletionParams, ids: Int32Array[]) {
  const results = await runAll(reply, ctx, m, p, ids);
  if (!results) return reply;
  return {
    ...envelope(m),
    choices: results.flatMap((rs, pi) => rs.map((r, i) => ({ text: r.text, index: pi * p.base.n + i, logprobs: null, finish_reason: finishReason(r) }))),
    usage: usage(p, results),
  };
}

async function stream(reply: FastifyReply, ctx: ServerContext, m: ServedModel, p: CompletionParams, ids: Int32Array[]) {
  reply.hijack();
  const sse = new SseStream(reply.raw, ctx.limits.streamBufferBytes);
  const env = envelope(m);
  const send = (data: unknown) => sse.raw(`data: ${JSON.stringify(data)}\n\n`);
  const runs: RunHooks[] = [];
  // Backpressure as on /v1/generate: a client that stops reading parks its sequences until its socket drains.
  sse.onBlocked = () => { for (const r of runs) r.handle?.pause(); };
  sse.onDrain = () => { for (const r of runs) r.handle?.resume(); };
  sse.open();
  try {
    const results = await runAll(reply, ctx, m, p, ids,
      (index, text) => send({ ...env, choices: [{ text, index, logprobs: null, finish_reason: null }] }),
      (index, r) => send({ ...env, choices: [{ text: '', index, logprobs: null, finish_reason: finishReason(r) }] }), runs);
    if (results && p.includeUsage) send({ ...env, choices: [], usage: usage(p, results) });
  } catch (e) {
    const body = e instanceof HttpError ? e.body().error : { code: 'INTERNAL', message: 'internal error', field: null };
    send(openAiError(e instanceof HttpError ? e.status : 500, body));
  }
  sse.raw('data: [DONE]\n\n');
  sse.end();
  return reply;
}
