// The one error shape every 4xx answer carries: {error: {code, message, field}} (plus extra facts such as the
// unknown characters). Handlers throw HttpError; app.ts's error handler turns it (and fastify's own) into JSON.

export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string,
              readonly field: string | null = null, readonly extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'HttpError';
  }

  body(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, field: this.field, ...this.extra } };
  }
}

export const badParam = (field: string, message: string): HttpError => new HttpError(400, 'BAD_PARAM', message, field);
