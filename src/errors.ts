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

/**
 * One line for a terminal: "charlm: message (hint: ...) [CODE]". Control characters (which a hostile file can put in
 * a tensor name or a key that a message quotes) are escaped, so the line stays one line and cannot drive the terminal.
 */
export function formatError(e: CharlmError): string {
  return oneLine(`charlm: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''} [${e.code}]`);
}

function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
