// Several `charlm serve` processes behind a reverse proxy (docs/examples/proxy.mjs, the example docs/serving.md
// describes): requests alternate between the processes, the same seed gives the same text whichever answers,
// streams pass through, and when one process is gone the other answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeModel, post, readSse } from './helpers.js';

type Proxy = { url: string; close(): Promise<void> };
const { startProxy } = (await import('../../docs/examples/proxy.mjs' as string)) as { startProxy(upstreams: string[]): Promise<Proxy> };

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');

async function serveProcess(model: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'charlm.js'), 'serve', model, '--port', '0', '--backend', 'ref', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CHARLM_QUIET_NATIVE: '1' } });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  for (let i = 0; i < 600 && !/serving on (http:\/\/\S+)/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  const url = /serving on (http:\/\/\S+)/.exec(out)?.[1];
  assert.ok(url, `charlm serve did not start: ${out}`);
  return { child, url: url! };
}

const generateCount = async (url: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('charlm_http_requests_total{') && l.includes('route="/v1/generate"') && l.includes('status="200"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

test('two charlm serve processes behind the example proxy', { timeout: 120_000 }, async () => {
  const model = makeModel('lstm', 8).source;
  const a = await serveProcess(model), b = await serveProcess(model);
  const proxy = await startProxy([a.url, b.url]);
  try {
    const body = { prompt: 'First', length: 80, seed: 11, temperature: 0.9 };
    const texts = [];
    for (let i = 0; i < 4; i++) {
      const r = await post(`${proxy.url}/v1/generate`, body);
      assert.equal(r.status, 200);
      texts.push(r.json.samples[0].text);
    }
    assert.equal(new Set(texts).size, 1, 'the same seed gave different texts on different processes');
    const counts = [await generateCount(a.url), await generateCount(b.url)];
    assert.deepEqual(counts, [2, 2], 'round robin: each process answered two');
    const res = await fetch(`${proxy.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }) });
    const ev = await readSse(res);
    assert.equal(ev.filter((e) => e.event === 'chunk').map((e) => e.data.text).join(''), texts[0], 'streamed through the proxy');
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    for (let i = 0; i < 2; i++) {
      const r = await post(`${proxy.url}/v1/generate`, body);
      assert.equal(r.status, 200, 'the remaining process answers');
      assert.equal(r.json.samples[0].text, texts[0]);
    }
    console.log(`# 2 processes: 4 requests split ${counts.join('/')}, identical seeded text, streaming passes through, failover after one process is killed`);
  } finally {
    await proxy.close();
    for (const p of [a, b]) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  }
});
