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
  /** Wall-clock budget of one generation; samples still running end with finishReason 'timeout'. Priming a prompt
   *  must also finish within it (→ 503 PRIME_TIMEOUT). */
  requestTimeoutMs: number;
  /** Longest time to receive a whole request, headers and body (→ 408 and the connection closed). */
  receiveTimeoutMs: number;
  /** A connection with no traffic for this long is closed (a client that stops reading a stream, an idle keep-alive).
   *  Default: requestTimeoutMs + receiveTimeoutMs, so a long non-streamed generation is never cut. */
  idleTimeoutMs: number;
  /** Most open connections; more are closed as they arrive. */
  maxConnections: number;
  /** Unread bytes a stream may buffer for a client that is not reading before it is dropped. */
  streamBufferBytes: number;
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
  receiveTimeoutMs: 30_000,
  idleTimeoutMs: 90_000,
  maxConnections: 1024,
  streamBufferBytes: 1 << 20,
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
  if (partial.idleTimeoutMs === undefined) out.idleTimeoutMs = out.requestTimeoutMs + out.receiveTimeoutMs;
  return out;
}
