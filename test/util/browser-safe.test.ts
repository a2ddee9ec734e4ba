// The browser entry (src/index.ts, `charlm/browser`) must not reach any Node built-in: walk its static import graph.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every module reachable from `entry` by static imports/re-exports (type-only imports excluded), with its importer. */
function reachable(entry: string): Map<string, string> {
  const seen = new Map<string, string>([[entry, '(entry)']]);
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    const text = readFileSync(file, 'utf8');
    const re = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
    for (let m; (m = re.exec(text));) {
      if (m[1]) continue; // `import type` is erased at compile time
      const spec = m[2];
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        if (!existsSync(target)) throw new Error(`${file}: cannot resolve ${spec}`);
        if (!seen.has(target)) { seen.set(target, file); todo.push(target); }
      } else if (!seen.has(spec)) seen.set(spec, file);
    }
  }
  return seen;
}

test('browser entry reaches no node: built-in', () => {
  const mods = reachable(resolve(SRC, 'index.ts'));
  const nodeOnly = [...mods].filter(([m]) => m.startsWith('node:') || ['fs', 'path', 'os', 'crypto', 'url', 'worker_threads'].includes(m));
  console.log(`# ${mods.size} modules reachable from src/index.ts; node built-ins: ${nodeOnly.length}`);
  assert.deepEqual(nodeOnly.map(([m, by]) => `${m} (imported by ${by.slice(SRC.length + 1)})`), []);
});

test('the browser worker (src/web/worker.ts, bundled for the pages) reaches no node: built-in', () => {
  const mods = reachable(resolve(SRC, 'web', 'worker.ts'));
  const nodeOnly = [...mods].filter(([m]) => m.startsWith('node:') || ['fs', 'path', 'os', 'crypto', 'url', 'worker_threads'].includes(m));
  console.log(`# ${mods.size} modules reachable from src/web/worker.ts; node built-ins: ${nodeOnly.length}`);
  assert.deepEqual(nodeOnly.map(([m, by]) => `${m} (imported by ${by.slice(SRC.length + 1)})`), []);
});

test('the walker does see node: imports (it can fail)', () => {
  const mods = reachable(resolve(SRC, 'node.ts'));
  assert.ok([...mods.keys()].some((m) => m.startsWith('node:')));
});
