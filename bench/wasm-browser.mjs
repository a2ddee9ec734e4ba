// Times the wasm backend on the seed model in headless Chromium (relaxed SIMD where the browser validates it),
// training chars/s and batch-1 sampling chars/s, with the same work as `charlm bench` (random data, Adam, no
// dropout). Serves the package root with COOP/COEP headers, so the page is cross-origin isolated and gets shared
// memory. Usage: node bench/wasm-browser.mjs [--steps N] [--sample-steps N] [--simd simd128|relaxed] [--preset seed]
// Prints one JSON line. Needs `npm run build` (dist/, wasm/build/) and /usr/bin/chromium (or CHROMIUM=path).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const opts = { steps: Number(arg('steps', 3)), sampleSteps: Number(arg('sample-steps', 300)), simd: arg('simd'), preset: arg('preset', 'seed') };
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  try {
    const body = await readFile(join(root, path));
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream',
      'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    res.end(body);
  } catch { res.writeHead(404); res.end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(`http://127.0.0.1:${server.address().port}/bench/wasm-page.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  const r = await page.evaluate((o) => window.benchWasm(o), opts);
  console.log(JSON.stringify({ engine: `chromium ${browser.version()} wasm`, ...r, config: opts }));
} finally {
  await browser.close();
  server.close();
}
