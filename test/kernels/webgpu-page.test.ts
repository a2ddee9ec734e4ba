// One WebGPU training step in a page: headless Chromium on SwiftShader runs the same WGSL kernels (dist/, loaded as
// ES modules from a routed localhost origin, a secure context as WebGPU requires) for one optimizer step of a bigram
// model — embedding → logits = X·Wᵀ → softmax-xent → dW, dX → embedding scatter-add → Adam on W and the table — and
// the loss and updated weights must match refBackend on the same inputs. Flags that give Chromium a WebGPU adapter
// without a GPU: --enable-unsafe-webgpu --use-webgpu-adapter=swiftshader (headless=new).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { refBackend as ref } from '../../src/kernels/ref/index.js';
import { expectClose, rng } from './check.js';
import { skipWithout } from '../skips.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader',
  '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ORIGIN = 'http://localhost:9';
const DIST = join(import.meta.dirname, '..', '..', 'dist');

const PAGE = `<!doctype html><meta charset="utf-8"><title>webgpu step</title>
<script type="module">
import { openDevice } from '/dist/kernels/webgpu/device.js';
import { GpuRunner } from '/dist/kernels/webgpu/runner.js';
import { gpuOps } from '/dist/kernels/webgpu/ops.js';
window.runStep = async ({ table, W, ids, targets, V, E, N, lr }) => {
  const { device, adapterName, gpu, adapter } = await openDevice(navigator.gpu, 'this page');
  const r = new GpuRunner(device, gpu, adapter), ops = gpuOps(r);
  const up = (a) => { const buf = r.createBuffer(a.byteLength); r.upload(buf, 0, a); return { buf, off: 0 }; };
  const zeros = (n) => up(new Float32Array(n));
  const T = up(Float32Array.from(table)), Wg = up(Float32Array.from(W));
  const I = up(Int32Array.from(ids)), Tg = up(Int32Array.from(targets));
  const X = zeros(N * E), logits = zeros(N * V), dL = zeros(N * V), dW = zeros(V * E), dX = zeros(N * E), dT = zeros(V * E);
  ops.embeddingForward(X, T, I, N, E);
  ops.matmul(logits, X, Wg, N, V, E, false, true, false);
  const loss = await ops.softmaxXent(dL, logits, Tg, N, V, 1 / N);
  ops.matmul(dW, dL, X, V, E, N, true, false, false);
  ops.matmul(dX, dL, Wg, N, E, V, false, false, false);
  ops.embeddingBackward(dT, dX, I, N, E);
  const z = () => zeros(V * E);
  ops.adam(Wg, dW, z(), z(), V * E, lr, 0.9, 0.999, 1e-8, 0, false, 1);
  ops.adam(T, dT, z(), z(), V * E, lr, 0.9, 0.999, 1e-8, 0, false, 1);
  const rd = async (a, n) => Array.from(new Float32Array(await r.download(a.buf, 0, n * 4)));
  return { adapterName, loss, W: await rd(Wg, V * E), table: await rd(T, V * E) };
};
window.ready = true;
</script>`;

const why = !existsSync(CHROMIUM) ? `${CHROMIUM} is absent` : false;
test('webgpu in the page: one training step on Chromium\'s WebGPU (SwiftShader) matches ref', { skip: skipWithout('chromium', why) }, async () => {
  assert.ok(existsSync(join(DIST, 'kernels/webgpu/ops.js')), 'dist/ is not built: run `npx tsc -p tsconfig.json` (npm test does)');
  const V = 13, E = 8, N = 37, lr = 0.01, r = rng(31);
  const table = Array.from({ length: V * E }, () => r() * 2 - 1), W = Array.from({ length: V * E }, () => (r() * 2 - 1) * 0.5);
  const ids = Array.from({ length: N }, () => Math.floor(r() * V)), targets = ids.map((_, i) => (i % 7 === 3 ? -1 : Math.floor(r() * V)));

  // ref: the same step on the host
  const Tr = Float32Array.from(table), Wr = Float32Array.from(W), I = Int32Array.from(ids), Tg = Int32Array.from(targets);
  const X = new Float32Array(N * E), logits = new Float32Array(N * V), dL = new Float32Array(N * V);
  const dW = new Float32Array(V * E), dX = new Float32Array(N * E), dT = new Float32Array(V * E);
  ref.embeddingForward(X, Tr, I, N, E);
  ref.matmul(logits, X, Wr, N, V, E, false, true, false);
  const lossRef = ref.softmaxXent(dL, logits, Tg, N, V, 1 / N);
  ref.matmul(dW, dL, X, V, E, N, true, false, false);
  ref.matmul(dX, dL, Wr, N, E, V, false, false, false);
  ref.embeddingBackward(dT, dX, I, N, E);
  ref.adam(Wr, dW, new Float32Array(V * E), new Float32Array(V * E), V * E, lr, 0.9, 0.999, 1e-8, 0, false, 1);
  ref.adam(Tr, dT, new Float32Array(V * E), new Float32Array(V * E), V * E, lr, 0.9, 0.999, 1e-8, 0, false, 1);

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    await page.route(`${ORIGIN}/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === '/step.html') return route.fulfill({ contentType: 'text/html', body: PAGE });
      const file = normalize(join(DIST, path.replace(/^\/dist\//, '')));
      if (!path.startsWith('/dist/') || !file.startsWith(DIST) || !existsSync(file)) return route.fulfill({ status: 404, body: '' });
      return route.fulfill({ contentType: 'text/javascript', body: readFileSync(file, 'utf8') });
    });
    await page.goto(`${ORIGIN}/step.html`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const got = await page.evaluate((inp) => (window as unknown as { runStep(i: unknown): Promise<{ adapterName: string; loss: number; W: number[]; table: number[] }> }).runStep(inp),
      { table, W, ids, targets, V, E, N, lr });
    console.log(`  page adapter: ${got.adapterName}`);
    assert.deepEqual(problems, []);
    expectClose('page step loss', [got.loss], [lossRef], 1e-5);
    expectClose('page step W after Adam', got.W, Wr, 1e-5);
    expectClose('page step embedding table after Adam', got.table, Tr, 1e-5);
  } finally {
    await browser.close();
  }
});
