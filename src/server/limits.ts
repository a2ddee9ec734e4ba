// What the server accepts and how much work one request may ask for. Every limit has a clear answer:
// too-big bodies → 413, out-of-range parameters → 400, too many concurrent requests → 429, overtime → 'timeout'.

export interface Limits {
  /** Largest request body in bytes (→ 413). */
  bodyBytes: number;
  /** Longest prompt in characters (code points) (→ 400). */
  promptChars: number;
  /** Longest generation per sample in characters (→ 400). */
  maxLength: number;
  /** Most samples per request (→ 400). */
  maxN: number;
  /** Most stop strings per request, and the longest one. */
  maxStops: number;
  maxStopChars: number;
  /** Most concurrent streaming requests (→ 429). */
  maxStreams: number;
  /** Most concurrent generate/next requests of any kind (→ 429). */
  maxRequests: number;
  /** Wall-clock budget of one generation; samples still running end with finishReason 'timeout'. */
  requestTimeoutMs: number;
  /** Most sequences stepped together in one batched forward pass; more wait their turn (1 = no batching). */
  maxBatch: number;
  /** Most candidates /v1/next returns. */
  maxTop: number;
}

export const DEFAULT_LIMITS: Limits = {
  bodyBytes: 64 * 1024,
  promptChars: 8000,
  maxLength: 10_000,
  maxN: 16,
  maxStops: 8,
  maxStopChars: 64,
  maxStreams: 64,
  maxRequests: 256,
  requestTimeoutMs: 60_000,
  maxBatch: 64,
  maxTop: 50,
};

export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const out = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(partial)) {
    if (!Object.hasOwn(DEFAULT_LIMITS, k)) throw new Error(`unknown server limit "${k}"`);
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0)) throw new Error(`server limit ${k} must be a positive number, got ${String(v)}`);
    (out as Record<string, number>)[k] = v;
  }
  return out;
}
