// Datasets: tiny Shakespeare from a data dir, from cache, or by (injected, offline) download with checksum and
// atomic caching; sotu from the npm package; plain file paths; helpful errors for unknown names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATASETS, SHAKESPEARE_URL, loadCorpusText } from '../../src/data/datasets.js';
import { encodeCorpus } from '../../src/data/corpus.js';
import { Vocab } from '../../src/data/vocab.js';
import { CharlmError } from '../../src/errors.js';
import { skipWithout } from '../skips.js';

const MIRROR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/tinyshakespeare.txt');
const noMirror = skipWithout('shakespeare-mirror', !fs.existsSync(MIRROR) && `${MIRROR} is absent`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charlm-datasets-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function rejectsCode(p: Promise<unknown>, code: string): Promise<CharlmError> {
  let caught: unknown;
  try { await p; } catch (e) { caught = e; }
  assert.ok(caught instanceof CharlmError, `expected CharlmError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.ok(caught.hint.length > 0);
  return caught;
}

/** A fetch that serves `body` for the Shakespeare URL and counts calls; never touches the network. */
function fakeFetch(body: Uint8Array | Error, status = 200) {
  const calls: string[] = [];
  const impl = (async (url: string | URL | Request) => {
    calls.push(String(url));
    if (body instanceof Error) throw body;
    return new Response(Uint8Array.from(body), { status });
  }) as typeof fetch;
  return { impl, calls };
}

test('DATASETS lists the named datasets', () => {
  assert.deepEqual(DATASETS.map((d) => d.name), ['shakespeare', 'sotu']);
});

test('shakespeare from a data dir; missing file there is DATASET_MISSING', { skip: noMirror }, async () => {
  const r = await loadCorpusText('shakespeare', { dataDir: path.dirname(MIRROR) });
  assert.equal(r.name, 'shakespeare');
  assert.equal(r.text.length, 1115394);
  assert.equal(Vocab.fromText(r.text).size, 65);
  const e = await rejectsCode(loadCorpusText('shakespeare', { dataDir: tmp }), 'DATASET_MISSING');
  assert.ok(e.message.includes(path.join(tmp, 'tinyshakespeare.txt')));
});

test('shakespeare download: verified, cached atomically, then read from cache', { skip: noMirror }, async () => {
  const cacheDir = path.join(tmp, 'cache-ok', 'nested');
  const lines: string[] = [];
  const { impl, calls } = fakeFetch(fs.readFileSync(MIRROR));
  const r = await loadCorpusText('shakespeare', { dataDir: '', cacheDir, fetchImpl: impl, log: (l) => lines.push(l) });
  assert.deepEqual(calls, [SHAKESPEARE_URL]);
  assert.equal(r.text.length, 1115394);
  assert.deepEqual(fs.readdirSync(cacheDir), ['tinyshakespeare.txt'], 'no temp files left behind');
  assert.ok(lines.some((l) => l.includes('downloading')));

  const again = await loadCorpusText('shakespeare', { dataDir: '', cacheDir, fetchImpl: impl });
  assert.equal(calls.length, 1, 'second load comes from the cache');
  assert.equal(again.text, r.text);
  assert.equal(again.source, path.join(cacheDir, 'tinyshakespeare.txt'));

  // A damaged cache is noticed by its checksum and downloaded again.
  fs.writeFileSync(path.join(cacheDir, 'tinyshakespeare.txt'), 'damaged');
  const healed = await loadCorpusText('shakespeare', { dataDir: '', cacheDir, fetchImpl: impl });
  assert.equal(calls.length, 2);
  assert.equal(healed.text, r.text);
});

test('shakespeare download with a bad checksum caches nothing', { skip: noMirror }, async () => {
  const cacheDir = path.join(tmp, 'cache-bad');
  const bad = Uint8Array.from(fs.readFileSync(MIRROR));
  bad[1000] ^= 1;
  const e = await rejectsCode(loadCorpusText('shakespeare', { dataDir: '', cacheDir, fetchImpl: fakeFetch(bad).impl }),
    'CHECKSUM_MISMATCH');
  assert.match(e.message, /sha256/);
  assert.ok(!fs.existsSync(path.join(cacheDir, 'tinyshakespeare.txt')));
});

test('shakespeare download failures are DOWNLOAD_FAILED with the data-dir hint', async () => {
  const cacheDir = path.join(tmp, 'cache-net');
  const offline = new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) });
  const e = await rejectsCode(loadCorpusText('shakespeare', { dataDir: '', cacheDir, fetchImpl: fakeFetch(offline).impl }),
    'DOWNLOAD_FAILED');
  assert.ok(e.message.includes('ENOTFOUND'), e.message);
  assert.equal(e.hint, 'set CHARLM_DATA_DIR to a folder holding tinyshakespeare.txt, or pass a file path');
  const e404 = await rejectsCode(
    loadCorpusText('shakespeare', { dataDir: '', cacheDir, fetchImpl: fakeFetch(new Uint8Array(0), 404).impl }), 'DOWNLOAD_FAILED');
  assert.match(e404.message, /HTTP 404/);
  assert.ok(!fs.existsSync(cacheDir) || fs.readdirSync(cacheDir).length === 0);
});

test('sotu loads from the npm package: > 10 MB, chronological, blank-line separated', async () => {
  const t0 = performance.now();
  const r = await loadCorpusText('sotu');
  const ms = performance.now() - t0;
  assert.equal(r.name, 'sotu');
  assert.ok(r.text.length > 10_000_000, `${r.text.length} chars`);
  assert.ok(r.text.startsWith('Fellow-Citizens of the Senate and House of Representatives:'), 'Washington 1790 first');
  assert.ok(r.text.endsWith('\n') && !r.text.endsWith('\n\n\n'));
  assert.equal(r.text.split('\n\n').length, 233);
  assert.match(r.source, /233 addresses, 1790-2021/);
  // Two speakers in one year: the outgoing president (January) comes before the incoming one.
  const order = (a: string, b: string) => {
    const i = r.text.indexOf(a), j = r.text.indexOf(b);
    assert.ok(i >= 0 && j >= 0 && i < j, `${a} before ${b}`);
  };
  order('I have the honor to report to the Congress on the st', 'Members of the Eighty-third Congress: I welcome'); // 1953
  order('Once again it is my Constitutional duty to assess th', 'It is a pleasure to return from '); // 1961
  const t1 = performance.now();
  const v = Vocab.fromText(r.text);
  const tokens = encodeCorpus(r.text, v);
  assert.equal(tokens.length, r.text.length, 'sotu is all BMP: one token per UTF-16 unit');
  assert.ok(tokens instanceof Uint8Array);
  console.log(`sotu: ${r.text.length} chars, vocab ${v.size}, load ${ms.toFixed(0)} ms, vocab+encode ${(performance.now() - t1).toFixed(0)} ms`);
});

test('file paths load as text; unknown names list the datasets', async () => {
  const f = path.join(tmp, 'mine.txt');
  fs.writeFileSync(f, 'my corpus 😀');
  const r = await loadCorpusText(f);
  assert.equal(r.text, 'my corpus 😀');
  assert.equal(r.name, 'mine.txt');
  const e = await rejectsCode(loadCorpusText('shakespear'), 'FILE_NOT_FOUND');
  assert.ok(e.message.includes('shakespear'));
  assert.match(e.hint, /shakespeare, sotu/);
  await rejectsCode(loadCorpusText(tmp), 'NOT_A_FILE');
});
