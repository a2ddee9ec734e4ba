// In-browser training speed against Node, side by side in one run: the trainer page (web/train.html) in headless
// Chromium trains a preset for N steps in its Web Worker, then the same TrainSession trains the same config in this
// Node process on the same backend (ref), doing the same work (the steps, the final validation and sample).
// Rounds alternate browser and Node and each side keeps its best, so other load on the machine hits both alike.
// Usage: node --import tsx bench/web-train.ts [--preset web-rnn] [--steps 60] [--rounds 2]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { resolveConfig } from '../src/config.js';
import { refBackend } from '../src/kernels/ref/index.js';
import { generate } from '../src/sample/generate.js';
import { TrainSession } from '../src/train/session.js';
import { startServer } from '../src/server/index.js';
import { makeModel } from '../test/server/helpers.js';

const { values: a } = parseArgs({ options: { preset: { type: 'string', default: 'web-rnn' }, steps: { type: 'string', default: '60' },
  rounds: { type: 'string', default: '2' } } });
const preset = a.preset!, steps = Number(a.steps), rounds = Number(a.rounds);
const text = readFileSync(new URL('../web/sample.txt', import.meta.url), 'utf8');
const config = resolveConfig({ preset, flags: { steps } });
const chars = steps * config.batchSize * config.seqLength;

function node(): number {
  const t0 = performance.now();
  const s = new TrainSession({ config, text, name: 'sample.txt', backend: refBackend });
  while (!s.done) s.trainStep();
  s.validate();
  generate(s.model, s.vocab, { prime: '', length: config.sampleChars, temperature: 0.8, topK: 0, topP: 1, seed: config.seed, unknown: 'skip' });
  return (performance.now() - t0) / 1000;
}

const server = await startServer({ models: [{ name: 'tiny', loaded: makeModel() }], host: '127.0.0.1', port: 0 });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage();
await page.goto(`${server.url}/train.html`);
await page.waitForSelector('body[data-ready="1"]');
await page.click('#use-sample');
await page.waitForFunction(() => /characters/.test(document.getElementById('text-info')?.textContent ?? ''));
await page.selectOption('#preset', preset);

async function chromiumRun(): Promise<number> {
  await page.fill('#steps', String(steps));
  await page.click('#train');
  await page.waitForSelector('#train-status[data-state="done"]', { timeout: 600_000 });
  return Number(await page.getAttribute('#train-status', 'data-seconds'));
}

let bestB = Infinity, bestN = Infinity;
for (let r = 0; r < rounds; r++) {
  const b = await chromiumRun(), n = node();
  bestB = Math.min(bestB, b); bestN = Math.min(bestN, n);
  console.log(`round ${r + 1}: Chromium ${(chars / b).toFixed(0)} chars/s, Node ${(chars / n).toFixed(0)} chars/s`);
}
const ua = await browser.version();
await browser.close();
await server.close();
console.log(`${preset}, ${steps} steps of ${config.batchSize}×${config.seqLength} on web/sample.txt, ref backend, best of ${rounds}:`);
console.log(`  Chromium ${ua} worker: ${(chars / bestB).toFixed(0)} chars/s · Node ${process.version}: ${(chars / bestN).toFixed(0)} chars/s · ratio ${(bestN / bestB).toFixed(2)}`);
