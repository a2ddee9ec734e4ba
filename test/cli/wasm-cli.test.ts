// The wasm backend from the command line. On a machine without the native addon (CHARLM_NO_NATIVE=1 stands in for
// one), `--backend auto` picks wasm and says so in one notice line. Training, sampling and evaluation then run on
// it. Its greedy text equals ref's from the same checkpoint, and its eval loss equals ref's to fp32 summation error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'charlm-wasm-cli-'));
const run = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'charlm.js'), ...args],
                      { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const corpus = join(tmp, 'corpus.txt');
writeFileSync(corpus, 'To be, or not to be, that is the question:\nWhether tis nobler in the mind to suffer\n'.repeat(60));

for (const family of ['rnn', 'gpt'] as const) {
  test(`${family}: without the addon, auto trains on wasm (one notice line), then samples and evaluates like ref`, () => {
    const out = join(tmp, family), model = join(out, 'last.safetensors');
    const shape = family === 'rnn' ? ['--embedding-dim', '16', '--hidden-size', '32', '--num-layers', '2']
      : ['--family', 'gpt', '--n-layer', '2', '--n-head', '2', '--n-embd', '16', '--block-size', '32'];
    const t = run(['train', corpus, '--out', out, ...shape, '--seq-length', '32', '--batch-size', '8', '--steps', '30',
                   '--eval-interval', '15', '--learning-rate', '0.01'], { CHARLM_NO_NATIVE: '1' });
    assert.equal(t.code, 0, t.err);
    const notices = t.err.split('\n').filter((l) => l.startsWith('charlm: native backend unavailable'));
    console.log(`  ${notices[0]}`);
    assert.equal(notices.length, 1);
    assert.match(notices[0], /using the wasm backend/);
    assert.ok(existsSync(model));
    const greedy = (backend: string) => run(['sample', model, '--prime', 'To be', '--length', '60', '--temperature', '0', '--backend', backend],
                                            { CHARLM_QUIET_NATIVE: '1' });
    const w = greedy('wasm'), r = greedy('ref');
    assert.equal(w.code, 0, w.err);
    assert.equal(w.out, r.out, 'greedy text on wasm = on ref');
    const loss = (backend: string) => {
      const e = run(['eval', model, corpus, '--backend', backend, '--no-cache'], { CHARLM_QUIET_NATIVE: '1' });
      assert.equal(e.code, 0, e.err);
      return JSON.parse(e.out).loss_nats_per_char as number;
    };
    const lw = loss('wasm'), lr = loss('ref');
    console.log(`  ${family}: eval loss wasm ${lw} vs ref ${lr} (diff ${Math.abs(lw - lr).toExponential(2)})`);
    assert.ok(Math.abs(lw - lr) <= 1e-5 * lr, `${lw} vs ${lr}`);
  });
}
