// Hand-written validation of /v1/generate and /v1/next parameters, so every bad input gets the structured
// 400 that names its field. Query strings (GET) arrive as text and are coerced; JSON bodies must be typed.
import type { Limits } from './limits.js';
import { HttpError, badParam } from './httperror.js';

export interface GenerateParams {
  model: string | null; prompt: string; length: number; temperature: number; topK: number; topP: number;
  seed: number | null; n: number; stop: string[]; stream: boolean; unknown: 'error' | 'skip';
}

export interface NextParams {
  model: string | null; prompt: string; temperature: number; topK: number; topP: number; top: number;
  unknown: 'error' | 'skip';
}

const GENERATE_FIELDS = ['model', 'prompt', 'length', 'temperature', 'topK', 'topP', 'seed', 'n', 'stop', 'stream', 'unknown'];
const NEXT_FIELDS = ['model', 'prompt', 'temperature', 'topK', 'topP', 'top', 'unknown'];
const ALIASES: Record<string, string> = {
  top_k: 'topK', top_p: 'topP', max_tokens: 'length', max_length: 'length', maxLength: 'length',
  num_samples: 'n', prime: 'prompt', text: 'prompt',
};

/** Reads typed fields from a JSON object or (coerce = true) from a query-string object of strings. */
export class Reader {
  constructor(private readonly src: Record<string, unknown>, private readonly coerce: boolean, allowed: string[]) {
    for (const k of Object.keys(src)) {
      if (!allowed.includes(k)) {
        const hint = ALIASES[k] && allowed.includes(ALIASES[k]) ? ` (did you mean "${ALIASES[k]}"?)` : '';
        throw new HttpError(400, 'UNKNOWN_FIELD', `unknown field "${k}"${hint}; allowed: ${allowed.join(', ')}`, k);
      }
    }
  }

  private raw(field: string): unknown {
    const v = this.src[field];
    if (this.coerce && Array.isArray(v)) throw badParam(field, `${field} is given more than once`);
    return v;
  }

  string(field: string, def: string): string {
    const v = this.raw(field);
    if (v === undefined) return def;
    if (typeof v !== 'string') throw badParam(field, `${field} must be a string, got ${typeName(v)}`);
    return v;
  }

  number(field: string, def: number, min: number, max: number, integer: boolean, minOpen = false): number {
    let v = this.raw(field);
    if (v === undefined) return def;
    if (this.coerce && typeof v === 'string') v = v.trim() === '' ? NaN : Number(v);
    const kind = integer ? 'a whole number' : 'a number';
    if (typeof v !== 'number' || !Number.isFinite(v)) throw badParam(field, `${field} must be ${kind}, got ${typeName(v)}`);
    if (integer && !Number.isInteger(v)) throw badParam(field, `${field} must be ${kind}, got ${v}`);
    if (v < min || v > max || (minOpen && v === min)) {
      throw badParam(field, `${field} must be in ${minOpen ? '(' : '['}${min}, ${max}], got ${v}`);
    }
    return v;
  }

  boolean(field: string, def: boolean): boolean {
    let v = this.raw(field);
    if (v === undefined) return def;
    if (this.coerce && (v === 'true' || v === 'false')) v = v === 'true';
    if (typeof v !== 'boolean') throw badParam(field, `${field} must be true or false, got ${typeName(v)}`);
    return v;
  }

  oneOf<T extends string>(field: string, def: T, options: readonly T[]): T {
    const v = this.raw(field);
    if (v === undefined) return def;
    if (typeof v !== 'string' || !options.includes(v as T)) {
      throw badParam(field, `${field} must be one of ${options.map((o) => `"${o}"`).join(', ')}, got ${typeName(v)}`);
    }
    return v as T;
  }
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number') return String(v);
  return typeof v;
}

export function asObject(body: unknown, where: string): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'BAD_BODY', `${where} must be a JSON object, got ${typeName(body)}`);
  }
  return body as Record<string, unknown>;
}

function readPrompt(r: Reader, limits: Limits): string {
  const prompt = r.string('prompt', '');
  let n = 0;
  for (const _ of prompt) if (++n > limits.promptChars) break;
  if (n > limits.promptChars) throw badParam('prompt', `prompt is longer than ${limits.promptChars} characters`);
  return prompt;
}

export function readModel(r: Reader): string | null {
  const m = r.string('model', '');
  return m === '' ? null : m;
}

export const SEED_MAX = 2 ** 32 - 1;

export function parseGenerate(body: unknown, limits: Limits): GenerateParams {
  const r = new Reader(asObject(body, 'the request body'), false, GENERATE_FIELDS);
  const n = r.number('n', 1, 1, limits.maxN, true);
  const seed = r.number('seed', -1, 0, SEED_MAX, true);
  return {
    model: readModel(r),
    prompt: readPrompt(r, limits),
    length: r.number('length', 200, 0, limits.maxLength, true),
    temperature: r.number('temperature', 1, 0, 100, false),
    topK: r.number('topK', 0, 0, 1_000_000, true),
    topP: r.number('topP', 1, 0, 1, false, true),
    seed: seed < 0 ? null : seed,
    n,
    stop: readStops((body as Record<string, unknown>)?.stop, limits),
    stream: r.boolean('stream', false),
    unknown: r.oneOf('unknown', 'error', ['error', 'skip'] as const),
  };
}

export function readStops(v: unknown, limits: Limits): string[] {
  if (v === undefined) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) throw badParam('stop', `stop must be a string or an array of strings, got ${typeName(v)}`);
  if (list.length > limits.maxStops) throw badParam('stop', `stop lists ${list.length} strings; at most ${limits.maxStops}`);
  for (const s of list) {
    if (typeof s !== 'string' || s.length === 0) throw badParam('stop', `each stop must be a non-empty string, got ${typeName(s)}`);
    if ([...s].length > limits.maxStopChars) throw badParam('stop', `a stop string is longer than ${limits.maxStopChars} characters`);
  }
  return list as string[];
}

/** GET /v1/next reads the query string (coerced); POST reads a JSON body. */
export function parseNext(src: unknown, limits: Limits, fromQuery: boolean): NextParams {
  const r = new Reader(asObject(src, fromQuery ? 'the query' : 'the request body'), fromQuery, NEXT_FIELDS);
  return {
    model: readModel(r),
    prompt: readPrompt(r, limits),
    temperature: r.number('temperature', 1, 0, 100, false),
    topK: r.number('topK', 0, 0, 1_000_000, true),
    topP: r.number('topP', 1, 0, 1, false, true),
    top: r.number('top', 10, 1, limits.maxTop, true),
    unknown: r.oneOf('unknown', 'error', ['error', 'skip'] as const),
  };
}
