// `charlm serve`: model arguments (path or name=path), flag validation as CharlmErrors, and a real start on
// port 0 (through runServe, which the command's action calls) that answers /healthz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { register, parseModelArg, runServe } from '../../src/cli/serve.js';
import { CharlmError } from '../../src/errors.js';
import { makeModel } from './helpers.js';

test('model arguments: basename without extension, or name=path', () => {
  assert.deepEqual(parseModelArg('runs/shakespeare.safetensors'), { name: 'shakespeare', path: 'runs/shakespeare.safetensors' });
  assert.deepEqual(parseModelArg('bard=runs/x.safetensors'), { name: 'bard', path: 'runs/x.safetensors' });
  assert.deepEqual(parseModelArg('/a/b=c/m.v2.safetensors'), { name: 'm.v2', path: '/a/b=c/m.v2.safetensors' });
});

test('bad flags and files are CharlmErrors; a good command serves', async () => {
  const m = makeModel();
  const program = () => { const p = new Command(); p.exitOverride(); register(p); return p; };
  await assert.rejects(program().parseAsync(['node', 'charlm', 'serve', '--port', 'abc', m.source]),
    (e) => e instanceof CharlmError && e.code === 'BAD_OPTION');
  await assert.rejects(program().parseAsync(['node', 'charlm', 'serve', '--backend', 'gpu', m.source]),
    (e) => e instanceof CharlmError && e.code === 'BAD_OPTION');
  await assert.rejects(program().parseAsync(['node', 'charlm', 'serve', '--port', '0', '/nonexistent/x.safetensors']),
    (e) => e instanceof CharlmError);
  await assert.rejects(program().parseAsync(['node', 'charlm', 'serve', '--port', '0', m.source, m.source]),
    (e) => e instanceof CharlmError && /two models/.test(e.message));
  const logs: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => { logs.push(a.join(' ')); };
  let server;
  try {
    server = await runServe([`bard=${m.source}`, m.source],
      { host: '127.0.0.1', port: '0', backend: 'ref', maxBatch: '8', timeout: '5', logLevel: 'warn' });
  } finally { console.log = orig; }
  try {
    assert.match(logs.join('\n'), /model "bard" — LSTM 2×32/);
    const h = await (await fetch(`${server.url}/healthz`)).json();
    assert.deepEqual(h.models.map((x: any) => x.name), ['bard', 'tiny-lstm']);
  } finally { await server.close(); }
});
