// The web page in real headless Chromium (playwright-core): the model card and loss curve render, typing a
// prompt shows next-character candidates, Generate streams text in, Stop ends it. Saves a screenshot whose
// path is printed. Skips, saying why, when /usr/bin/chromium is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/server/index.js';
import { makeModel } from './helpers.js';
import { skipWithout } from '../skips.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

test('the page: card, candidates, streamed generation, stop', { skip: skipWithout('chromium', !existsSync(CHROMIUM) && `${CHROMIUM} is absent`) }, async () => {
  const { chromium } = await import('playwright-core');
  const s = await startServer({ models: [{ name: 'tiny', loaded: makeModel() }, { name: 'slow', loaded: makeModel('gru', 5, 256) }],
    host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('request', (r) => { if (!r.url().startsWith(s.url) && !r.url().startsWith('data:')) problems.push(`outside request: ${r.url()}`); });
    await page.goto(s.url);
    await page.waitForSelector('#loss-chart svg path.train');
    assert.match(await page.textContent('#card-facts') ?? '', /LSTM 2×32, embedding 16/);
    assert.deepEqual(await page.$$eval('#model option', (os) => os.map((o) => (o as HTMLOptionElement).value)), ['tiny', 'slow']);

    await page.fill('#prompt', 'First Citizen:\nBefore we proceed');
    await page.waitForFunction(() => document.querySelectorAll('#candidates .cand').length === 12);
    await page.fill('#seed', '7');
    await page.click('#generate');
    await page.waitForFunction(() => (document.querySelector('#output .gen-part')?.textContent ?? '').length > 0);
    await page.waitForFunction(() => /characters · length/.test(document.querySelector('#status')?.textContent ?? ''));
    const text = await page.textContent('#output .gen-part');
    assert.equal([...(text ?? '')].length, 400);
    const direct = await (await fetch(`${s.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny',
      prompt: 'First Citizen:\nBefore we proceed', length: 400, seed: 7, temperature: 0.8, topK: 0, topP: 0.95 }) })).json();
    assert.equal(text, direct.samples[0].text, 'the page showed different text than the API gives');

    const shot = join(mkdtempSync(join(tmpdir(), 'charlm-page-')), 'page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`# screenshot: ${shot}`);

    // A long generation on the slow model streams in several pieces and stops on request.
    await page.selectOption('#model', 'slow');
    await page.waitForFunction(() => /GRU/.test(document.querySelector('#card-facts')?.textContent ?? ''));
    await page.fill('#prompt', 'All');
    await page.evaluate(() => { (document.getElementById('length') as HTMLInputElement).value = '2000'; });
    await page.click('#generate');
    await page.waitForFunction(() => (document.querySelector('#output .gen-part')?.textContent ?? '').length > 5);
    const partial = (await page.textContent('#output .gen-part'))!.length;
    assert.ok(partial < 2000, 'expected to catch the text mid-stream');
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'stopped');
    for (let i = 0; i < 100 && s.stats('slow').active > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.stats('slow').active, 0, 'stopping in the page should end the generation on the server');

    await page.fill('#prompt', 'Ωmega');
    await page.click('#generate');
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.textContent('#error') ?? '', /not in the vocabulary/);
    assert.deepEqual(problems.filter((p) => !/422/.test(p)), []);
  } finally {
    await browser.close();
    await s.close();
  }
});
