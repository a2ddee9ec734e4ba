// The character vocabulary: one token per Unicode code point (an emoji is one token, not two UTF-16 halves).
// Order is by code point value, the same as Python's `sorted(set(text))`, so ids match char-rnn/nanoGPT models.
// Browser-safe: no Node imports.

import { CharlmError } from '../errors.js';

const UNKNOWN_HINT = 'use --unknown skip to drop them, or train on text that contains them';

export class Vocab {
  /** id -> character (each entry exactly one code point), sorted by code point for vocabularies from text. */
  readonly chars: string[];
  private readonly ids: Map<string, number>;

  constructor(chars: string[]) {
    if (!Array.isArray(chars) || chars.length === 0) {
      throw new CharlmError('BAD_VOCAB', 'the vocabulary is empty', 'a vocabulary needs at least one character');
    }
    const ids = new Map<string, number>();
    chars.forEach((ch, i) => {
      if (typeof ch !== 'string' || ch.length === 0 || String.fromCodePoint(ch.codePointAt(0)!) !== ch) {
        throw new CharlmError('BAD_VOCAB', `vocabulary entry ${i} (${asciiJson(String(ch).slice(0, 20))}) is not exactly one character`,
          'each vocabulary entry must be a single Unicode code point');
      }
      const cp = ch.codePointAt(0)!;
      if (cp >= 0xd800 && cp <= 0xdfff) { // a lone surrogate: not a character, and not encodable as UTF-8
        throw new CharlmError('BAD_VOCAB', `vocabulary entry ${i} is a lone surrogate (${asciiJson(ch)}), not a character`,
          'each vocabulary entry must be a Unicode scalar value; the file is damaged or was not written by charlm');
      }
      if (ids.has(ch)) {
        throw new CharlmError('BAD_VOCAB', `vocabulary lists ${describeChar(ch)} twice (entries ${ids.get(ch)} and ${i})`,
          'each vocabulary entry must be unique');
      }
      ids.set(ch, i);
    });
    this.chars = chars.slice();
    this.ids = ids;
  }

  /** Distinct code points of `text`, sorted by code point value. */
  static fromText(text: string): Vocab {
    const seen = new Set<number>();
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++; // a surrogate pair: one code point, two UTF-16 units
      seen.add(cp);
    }
    if (seen.size === 0) {
      throw new CharlmError('CORPUS_EMPTY', 'cannot build a vocabulary from empty text',
        'point charlm at a text file with content');
    }
    const cps = Array.from(seen).sort((a, b) => a - b);
    return new Vocab(cps.map((cp) => String.fromCodePoint(cp)));
  }

  get size(): number {
    return this.chars.length;
  }

  /** The id of `ch`, or -1 when it is not in the vocabulary. */
  indexOf(ch: string): number {
    return this.ids.get(ch) ?? -1;
  }

  /**
   * Text -> ids, one per code point. With unknown = 'error' a character outside the vocabulary is a
   * CharlmError naming every such character; with 'skip' they are dropped.
   */
  encode(text: string, unknown: 'error' | 'skip' = 'error'): Int32Array {
    const out = new Int32Array(text.length); // code points <= UTF-16 units
    let n = 0;
    let missing: Set<string> | null = null;
    for (const ch of text) {
      const id = this.ids.get(ch);
      if (id !== undefined) out[n++] = id;
      else if (unknown === 'error') (missing ??= new Set()).add(ch);
    }
    if (missing) throw unknownCharsError(Array.from(missing), 'the text');
    return n === out.length ? out : out.slice(0, n);
  }

  /** Distinct characters of `text` that are not in the vocabulary, in order of first appearance. */
  unknownChars(text: string): string[] {
    const missing = new Set<string>();
    for (const ch of text) if (!this.ids.has(ch)) missing.add(ch);
    return Array.from(missing);
  }

  /** ids -> text. */
  decode(ids: ArrayLike<number>): string {
    const parts: string[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) parts[i] = this.charAt(ids[i]);
    return parts.join('');
  }

  /** The character with id `id`. */
  charAt(id: number): string {
    const ch = Number.isInteger(id) ? this.chars[id] : undefined;
    if (ch === undefined) {
      throw new CharlmError('BAD_TOKEN_ID', `token id ${id} is outside the vocabulary (size ${this.size})`,
        'token ids must be integers in [0, vocabulary size)');
    }
    return ch;
  }

  /** A one-line display of the first `n` characters, e.g. `\n␣!$&',-.3:;?ABC… (+25 more)`. */
  preview(n = 40): string {
    const shown = this.chars.slice(0, Math.max(0, n)).map(displayChar).join('');
    const rest = this.size - Math.min(this.size, Math.max(0, n));
    return rest > 0 ? `${shown}… (+${rest} more)` : shown;
  }
}

/** A CharlmError 'UNKNOWN_CHARS' naming every character in `chars`; `where` says whose text it was. */
export function unknownCharsError(chars: string[], where: string): CharlmError {
  const n = chars.length;
  return new CharlmError('UNKNOWN_CHARS',
    `${where} contains ${n} character${n === 1 ? '' : 's'} not in the vocabulary: ${chars.map(describeChar).join(', ')}`,
    UNKNOWN_HINT);
}

/**
 * A character for an error message: the JSON escape (ASCII-only, so invisible and look-alike characters are
 * unambiguous) followed by the character itself when it is printable, e.g. `"\u00e9" (é)`.
 */
export function describeChar(ch: string): string {
  const escaped = asciiJson(ch);
  const printable = ch.length > 0 && !/^[\p{C}\p{Z}]$/u.test(ch);
  return printable && escaped !== JSON.stringify(ch) ? `${escaped} (${ch})` : escaped;
}

function asciiJson(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function displayChar(ch: string): string {
  if (ch === ' ') return '␣';
  if (ch === '\n') return '\\n';
  if (ch === '\t') return '\\t';
  if (ch === '\r') return '\\r';
  if (/^[\p{C}\p{Z}]$/u.test(ch)) return asciiJson(ch).slice(1, -1);
  return ch;
}
