// Shell-style globs for --include/--exclude: `*` and `?` stay within one path segment, `**` crosses segments,
// `[abc]`/`[!a-z]` are classes, `{a,b}` alternatives. A pattern without `/` matches a file's (or folder's) name at
// any depth, like .gitignore; a pattern with `/` matches the path relative to the folder given on the command line.
import { CharlmError } from '../errors.js';

export interface Glob { pattern: string; test(relPath: string): boolean }

export function compileGlob(pattern: string): Glob {
  const p = pattern.replace(/^\.\//, '').replace(/\/+$/, '');
  if (p === '') {
    throw new CharlmError('BAD_OPTION', `empty glob pattern ${JSON.stringify(pattern)}`, 'e.g. --include "*.txt" or --exclude "drafts/**"');
  }
  const re = new RegExp(`^${toRegExp(p, pattern)}$`, 'u');
  const byName = !p.includes('/');
  return {
    pattern,
    test: (rel: string) => re.test(byName ? rel.slice(rel.lastIndexOf('/') + 1) : rel),
  };
}

function toRegExp(p: string, original: string): string {
  let out = '', i = 0, depth = 0;
  while (i < p.length) {
    const c = p[i];
    if (c === '*') {
      if (p[i + 1] === '*') {
        // `**/` matches zero or more whole segments; a trailing `**` anything below.
        if (p[i + 2] === '/') { out += '(?:.*/)?'; i += 3; } else { out += '.*'; i += 2; }
      } else { out += '[^/]*'; i++; }
    } else if (c === '?') { out += '[^/]'; i++; }
    else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end < 0) throw badGlob(original, 'an unclosed [');
      let body = p.slice(i + 1, end);
      if (body[0] === '!') body = '^' + body.slice(1);
      out += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end + 1;
    } else if (c === '{') { out += '(?:'; depth++; i++; }
    else if (c === '}' && depth > 0) { out += ')'; depth--; i++; }
    else if (c === ',' && depth > 0) { out += '|'; i++; }
    else { out += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'); i++; }
  }
  if (depth > 0) throw badGlob(original, 'an unclosed {');
  return out;
}

function badGlob(pattern: string, why: string): CharlmError {
  return new CharlmError('BAD_OPTION', `glob ${JSON.stringify(pattern)} has ${why}`, 'e.g. --include "*.{txt,md}"');
}
