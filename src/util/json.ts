// JSON.parse for text that came from a file or a client: a linear pre-scan counts nesting depth and values before
// anything is built, so a header of a million tiny arrays or `[[[[…` is refused in microseconds instead of being
// parsed into gigabytes. Browser-safe: no Node imports.

export interface JsonBounds {
  /** Deepest nesting of arrays/objects allowed (1 = a flat object or array). */
  maxDepth: number;
  /** Most values (array elements + object members) allowed in the whole document. */
  maxValues: number;
}

/** Why `text` exceeds `bounds`, or null when it is within them (it may still be invalid JSON). */
export function jsonBoundsProblem(text: string, bounds: JsonBounds): string | null {
  let depth = 0, values = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;               // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) { // { [
      if (++depth > bounds.maxDepth) return `it nests deeper than ${bounds.maxDepth} levels`;
      values++;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && ++values > bounds.maxValues) return `it holds more than ${bounds.maxValues} values`;
  }
  return null;
}

/** Parses JSON within bounds; throws `fail(why)` for text that is out of bounds or not JSON. */
export function parseBoundedJson(text: string, bounds: JsonBounds, fail: (why: string) => Error): unknown {
  const problem = jsonBoundsProblem(text, bounds);
  if (problem) throw fail(problem);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw fail(`it is not valid JSON (${(e as Error).message.slice(0, 120)})`);
  }
}
