// The in-browser trainer (web/train.html) in real headless Chromium, served by `charlm serve` (which computes
// nothing for it): bad input gets a message and the page keeps working; 30 steps of training lower the loss;
// sampling works; the downloaded checkpoint is read by `charlm info` and `charlm sample` in Node, whose greedy
// text equals the page's; an uploaded Node checkpoint samples the same greedy text in the page as in Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/server/index.js';
import { encodeSafetensors } from '../../src/model/safetensors.js';
import { makeModel, TEXT } from '../server/helpers.js';
import { charlm, charlmLikePage, launch, skipNoChromium, watch } from './browser.js';

const tmp = mkdtempSync(join(tmpdir(), 'charlm-train-page-'));
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;

test('train in the page: bad input, 30 steps, sample, download, upload', { skip: skipNoChromium() }, async () => {
  const served = makeModel();
  const s = await startServer({ models: [{ name: 'tiny', loaded: served }], host: '127.0.0.1', port: 0 });
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 }, acceptDownloads: true });
    const problems = watch(page, s.url);
    let computeRequests = 0;
    page.on('request', (r) => { if (r.url().includes('/v1/')) computeRequests++; });
    await page.goto(`${s.url}/train.html`);
    await page.waitForSelector('body[data-ready="1"]');
    const note = (await page.textContent('#backend')) ?? '';
    assert.match(note, /backend: wasm \(WebAssembly (relaxed SIMD|SIMD128), one thread/, 'the page should train with the wasm backend');
    const error = async () => { await page.waitForSelector('#error:not([hidden])'); return (await page.textContent('#error')) ?? ''; };
    const clearError = () => page.evaluate(() => { document.getElementById('error')!.hidden = true; });

    // Bad input: each gets one clear message, and the page goes on working afterwards.
    await page.setInputFiles('#text-file', { name: 'latin1.txt', mimeType: 'text/plain', buffer: Buffer.from('caf\xe9 au lait', 'latin1') });
    assert.match(await error(), /latin1\.txt is not valid UTF-8: bad byte sequence at byte offset 3 \(0xe9/);
    await clearError();
    await page.setInputFiles('#text-file', { name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.alloc(0) });
    assert.match(await error(), /empty\.txt is empty/);
    await clearError();
    await page.setInputFiles('#text-file', { name: 'huge.txt', mimeType: 'text/plain', buffer: Buffer.alloc(32 * 2 ** 20 + 1, 0x61) });
    assert.match(await error(), /huge\.txt is 32\.0 MiB; the page trains on at most 32\.0 MiB of text/);
    await clearError();
    await page.setInputFiles('#ckpt-file', { name: 'noise.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not a checkpoint at all') });
    assert.match(await error(), /noise\.safetensors is not a valid checkpoint/);
    await clearError();
    const foreign = encodeSafetensors([{ name: 'weight', shape: [2, 2], data: new Float32Array(4) }], { format: 'pt' });
    await page.setInputFiles('#ckpt-file', { name: 'foreign.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(foreign) });
    assert.match(await error(), /foreign\.safetensors is not a usable charlm checkpoint: its format is "pt"/);
    await clearError();
    assert.equal(await page.isDisabled('#train'), true, 'no usable text has been chosen yet');

    // A text dropped on the page; sampling while a run trains; Stop.
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'small.txt', { type: 'text/plain' }));
      document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, TEXT.repeat(40));
    await page.waitForFunction(() => /small\.txt · 5,080 characters · \d+ distinct/.test(document.getElementById('text-info')?.textContent ?? ''));
    await page.selectOption('#preset', 'web-gpt');
    await page.fill('#steps', '500');
    await page.click('#train');
    await page.waitForFunction(() => Number(document.getElementById('progress')?.getAttribute('value')) >= 2);
    await page.fill('#length', '40');
    await page.click('#generate');
    await page.waitForSelector('#output[data-done="1"]');
    assert.equal([...(await page.textContent('#output .gen-part')) ?? ''].length, 40);
    assert.equal(await page.isEnabled('#stop-train'), true, 'the run should still be training after the sample');
    await page.click('#stop-train');
    await page.waitForSelector('#train-status[data-state="stopped"]');
    assert.match(await page.textContent('#card-facts') ?? '', /GPT 2 layers × 2 heads, 48 wide, context 32/);

    // 30 steps on the small text: the loss falls.
    await page.selectOption('#preset', 'web-rnn');
    await page.fill('#steps', '30');
    await page.click('#train');
    await page.waitForSelector('#train-status[data-state="done"]', { timeout: 120_000 });
    const losses = JSON.parse(await page.getAttribute('#train-chart', 'data-losses') ?? '[]') as [number, number][];
    assert.deepEqual(losses.map(([step]) => step), Array.from({ length: 30 }, (_, i) => i + 1));
    const first = mean(losses.slice(0, 5).map((l) => l[1])), last = mean(losses.slice(-5).map((l) => l[1]));
    console.log(`# page training: loss ${first.toFixed(3)} (steps 1-5) → ${last.toFixed(3)} (steps 26-30); ${await page.textContent('#train-status')}`);
    assert.ok(last < first - 0.5, `loss should fall by more than 0.5 nats: ${first} → ${last}`);
    assert.equal(await page.getAttribute('#progress', 'value'), '30');
    assert.match(await page.textContent('#card-facts') ?? '', /LSTM 1×96, embedding 24/);

    // Sample greedily, and download the checkpoint.
    await page.fill('#prompt', 'First');
    await page.fill('#length', '120');
    await page.fill('#temperature', '0');
    await page.click('#generate');
    await page.waitForSelector('#output[data-done="1"]');
    const pageText = (await page.textContent('#output .gen-part')) ?? '';
    assert.equal([...pageText].length, 120);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.match(download.suggestedFilename(), /^charlm-web-rnn-30steps\.safetensors$/);
    const file = join(tmp, download.suggestedFilename());
    await download.saveAs(file);
    const shot = join(tmp, 'train-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`# screenshot: ${shot}`);

    // Node reads the page's checkpoint: info, and greedy sampling equal to the page's.
    const info = charlm(['info', file]);
    assert.equal(info.code, 0, info.err);
    assert.match(info.out, /Embedding\(\d+,24\) → LSTM\(96\) × 1/);
    assert.match(info.out, /small\.txt/);
    const sampled = charlmLikePage(note, ['sample', file, '--prime', 'First', '--length', '120', '--temperature', '0']);
    assert.equal(sampled.code, 0, sampled.err);
    assert.equal(sampled.out, `First${pageText}\n`, 'charlm sample in Node (same backend) should write the page\'s greedy text');

    // Upload a checkpoint written in Node and sample from it in the page.
    await page.setInputFiles('#ckpt-file', { name: 'tiny-lstm.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(served.source) });
    await page.waitForFunction(() => /LSTM 2×32/.test(document.getElementById('card-facts')?.textContent ?? ''));
    assert.equal(await page.isDisabled('#download'), true, 'an uploaded checkpoint is already a file');
    await page.fill('#prompt', 'All: ');
    await page.fill('#length', '80');
    await page.click('#generate');
    await page.waitForSelector('#output[data-done="1"]');
    const expected = charlmLikePage(note, ['sample', served.source, '--prime', 'All: ', '--length', '80', '--temperature', '0']);
    assert.equal(expected.code, 0, expected.err);
    assert.equal(`All: ${await page.textContent('#output .gen-part')}\n`, expected.out);

    // A prompt outside the vocabulary is a message, not a broken page.
    await page.fill('#prompt', 'Ωmega');
    await page.click('#generate');
    assert.match(await error(), /not in the vocabulary/);
    assert.equal(computeRequests, 0, 'the page must not ask the server to compute anything');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await s.close();
  }
});
