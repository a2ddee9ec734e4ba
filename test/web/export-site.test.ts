// `charlm export MODEL --format web` in real headless Chromium: the folder is served by a plain static file server
// (node:http, a few lines, no charlm code), the page generates from ?prime=…&length=…&temperature=…&seed=… at load
// into #output with data-done="1", and its text equals `charlm sample` in Node on the engine the page computes with
// (the wasm backend, relaxed SIMD in Chromium): greedy, and a seeded temperature-0.8 sample; with ?backend=ref the
// page's seeded sample equals Node's ref. Bad exports are one line with a hint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { makeModel, TEXT } from '../server/helpers.js';
import { charlm, charlmLikePage, launch, skipNoChromium, watch } from './browser.js';

const tmp = mkdtempSync(join(tmpdir(), 'charlm-site-'));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }; // .wasm: octet-stream, as a careless host sends it

/** Any static host: a flat folder, names only, GET only. */
function staticServer(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1)) || 'index.html';
    if (req.method !== 'GET' || !readdirSync(dir).includes(name)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': TYPES[extname(name)] ?? 'application/octet-stream' }).end(readFileSync(join(dir, name)));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

test('export --format web: bad input is one line with a hint', () => {
  const junk = join(tmp, 'junk.safetensors');
  writeFileSync(junk, 'not a checkpoint');
  const r = charlm(['export', junk, '--format', 'web', '-o', join(tmp, 'junk-site')]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /^charlm: .*junk\.safetensors is not a valid checkpoint.*\(hint: .*\) \[CHECKPOINT_CORRUPT\]\n$/);
  const busy = mkdtempSync(join(tmp, 'busy-'));
  writeFileSync(join(busy, 'notes.txt'), 'mine');
  const m = makeModel();
  const b = charlm(['export', m.source, '--format', 'web', '-o', busy]);
  assert.notEqual(b.code, 0);
  assert.match(b.err, /already holds other files \(notes\.txt\).*\[BAD_OPTION\]/);
  assert.deepEqual(readdirSync(busy), ['notes.txt'], 'nothing written next to the user\'s files');
});

test('an exported site samples in the browser, equal to charlm sample', { skip: skipNoChromium() }, async () => {
  // A briefly trained model, so greedy text is not one repeated character.
  const corpus = join(tmp, 'corpus.txt');
  writeFileSync(corpus, TEXT.repeat(30));
  const t = charlm(['train', corpus, '--out', join(tmp, 'run'), '--embedding-dim', '16', '--hidden-size', '32', '--num-layers', '1',
                    '--seq-length', '32', '--batch-size', '8', '--steps', '60', '--learning-rate', '0.01', '--backend', 'ref']);
  assert.equal(t.code, 0, t.err);
  const m = { source: join(tmp, 'run', 'last.safetensors') };
  const dir = join(tmp, 'site');
  const e = charlm(['export', m.source, '--format', 'web', '-o', dir]);
  assert.equal(e.code, 0, e.err);
  console.log(`# ${e.out.trim().split('\n').slice(0, 2).join(' | ')}`);
  assert.deepEqual(readdirSync(dir).sort(), ['charlm-relaxed-private.wasm', 'charlm-simd128-private.wasm', 'chart.js', 'compute.js',
                                              'gpu-worker.js', 'index.html', 'model.safetensors', 'site.js', 'style.css', 'views.js', 'worker.js']);
  const { url, server } = await staticServer(dir);
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems = watch(page, url);
    const run = async (q: Record<string, string>) => {
      await page.goto(`${url}/?${new URLSearchParams(q)}`);
      await page.waitForSelector('#output[data-done="1"]', { timeout: 30_000 });
      return (await page.textContent('#output')) ?? '';
    };
    const prime = 'First Citizen:\n';
    const greedy = await run({ prime, length: '200', temperature: '0', seed: '3' });
    const note = (await page.textContent('#backend')) ?? '';
    console.log(`# ${note}`);
    assert.match(note, /backend: wasm \(WebAssembly (relaxed SIMD|SIMD128), one thread/, 'the site should compute with the wasm backend');
    const node = charlmLikePage(note, ['sample', m.source, '--prime', prime, '--length', '200', '--temperature', '0']);
    assert.equal(node.code, 0, node.err);
    assert.equal(greedy + '\n', node.out, 'the site\'s greedy text should equal charlm sample --temperature 0 (same backend)');
    assert.match(await page.textContent('#card-facts') ?? '', /LSTM 1×32, embedding 16/);
    const shot = join(tmp, 'site.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`# screenshot: ${shot}`);

    const warmArgs = ['sample', m.source, '--prime', 'All', '--length', '150', '--temperature', '0.8', '--seed', '5'];
    const warm = await run({ prime: 'All', length: '150', temperature: '0.8', seed: '5' });
    assert.equal(warm + '\n', charlmLikePage(note, warmArgs).out, 'the same seed should give the same text in the browser and in Node (wasm)');
    const warmRef = await run({ prime: 'All', length: '150', temperature: '0.8', seed: '5', backend: 'ref' });
    assert.match(await page.textContent('#backend') ?? '', /backend: ref/);
    assert.equal(warmRef + '\n', charlm([...warmArgs, '--backend', 'ref']).out, 'the same seed should give the same text in the browser and in Node (ref)');
    assert.equal(await run({ prime: 'All', length: '150', temperature: '0.8', seed: '5' }), warm, 'back on the default backend');

    // The page keeps working after a bad prompt.
    await page.fill('#prompt', 'Ωmega');
    await page.click('#generate');
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.textContent('#error') ?? '', /not in the vocabulary/);
    await page.fill('#prompt', 'All');
    await page.click('#generate');
    await page.waitForSelector('#output[data-done="1"]');
    assert.equal(await page.textContent('#output'), warm);

    // A bad ?backend= is one message on the page, not a page waiting forever.
    await page.goto(`${url}/?backend=nonsense`);
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.textContent('#error') ?? '', /unknown browser backend "nonsense" — use one of auto, wasm, ref/);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    server.close();
  }
});
