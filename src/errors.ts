// Errors a user can cause: a code, a one-line message and a hint. The CLI prints them without a stack trace.
// Internal invariants use plain Error (a bug, not a user mistake).

export class CharlmError extends Error {
  readonly code: string;
  readonly hint: string;
  constructor(code: string, message: string, hint = '') {
    super(message);
    this.name = 'CharlmError';
    this.code = code;
    this.hint = hint;
  }
}

export function isCharlmError(e: unknown): e is CharlmError {
  return e instanceof CharlmError;
}

/** One line for a terminal: "error[CODE]: message (hint: ...)". */
export function formatError(e: CharlmError): string {
  return `charlm: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''} [${e.code}]`;
}
