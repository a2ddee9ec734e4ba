// Serves the browser pages at /: the playground (web/index.html, app.js), the in-browser trainer (train.html,
// train.js), the compute worker they share (dist/browser/worker.js, bundled at build time), the GPU worker it starts
// for ?backend=webgpu (dist/browser/gpu-worker.js) and the WebAssembly kernels it fetches from beside itself
// (wasm/build/, the private-memory builds). Every file is sent with COOP/COEP headers (cross-origin isolation). A fixed list of files, read on request, so
// there is no path to traverse.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './httperror.js';
import { BROWSER_WASM_FILES } from '../kernels/browser.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** src/server or dist/server → the package's web/ folder. */
export const DEFAULT_WEB_DIR = join(ROOT, 'web');
/** Where scripts/build-web.mjs writes the worker bundle. */
export const WEB_BUNDLE_DIR = join(ROOT, 'dist', 'browser');
/** Where scripts/build-wasm.mjs writes the WebAssembly kernels. */
export const WASM_BUILD_DIR = join(ROOT, 'wasm', 'build');

const FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/chart.js': ['chart.js', 'text/javascript; charset=utf-8'],
  '/compute.js': ['compute.js', 'text/javascript; charset=utf-8'],
  '/views.js': ['views.js', 'text/javascript; charset=utf-8'],
  '/train.html': ['train.html', 'text/html; charset=utf-8'],
  '/train.js': ['train.js', 'text/javascript; charset=utf-8'],
  '/sample.txt': ['sample.txt', 'text/plain; charset=utf-8'],
};
/** Built files, from WEB_BUNDLE_DIR. */
const BUILT: Record<string, [string, string]> = {
  '/worker.js': ['worker.js', 'text/javascript; charset=utf-8'],
  '/gpu-worker.js': ['gpu-worker.js', 'text/javascript; charset=utf-8'],
};

/** The kernels the worker fetches (it falls back to plain TypeScript without them). */
const WASM: Record<string, [string, string]> = Object.fromEntries(BROWSER_WASM_FILES.map((f) => [`/${f}`, [f, 'application/wasm']]));

export function registerStatic(app: FastifyInstance, webDir: string, bundleDir = WEB_BUNDLE_DIR, wasmDir = WASM_BUILD_DIR): void {
  const routes = [...Object.entries(FILES).map(([u, f]) => [u, f, webDir] as const),
                  ...Object.entries(BUILT).map(([u, f]) => [u, f, bundleDir] as const),
                  ...Object.entries(WASM).map(([u, f]) => [u, f, wasmDir] as const)];
  for (const [url, [file, type], dir] of routes) {
    app.get(url, async (_req, reply) => {
      let body: Buffer;
      try {
        body = await readFile(join(dir, file));
      } catch {
        throw new HttpError(404, 'NOT_FOUND', dir === bundleDir
          ? `the page file ${file} is missing from ${dir}: build it with \`npm run build\` (needs esbuild, a dev dependency)`
          : dir === wasmDir ? `the page file ${file} is missing from ${dir}: build it with \`npm run build\``
          : `the page file ${file} is missing from ${dir}`);
      }
      // Cross-origin isolation (COOP + COEP): the webgpu backend's compute worker waits on its GPU worker through
      // SharedArrayBuffer, which a page only gets when isolated. Everything the pages load is same-origin.
      return reply.header('content-type', type).header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('cross-origin-opener-policy', 'same-origin').header('cross-origin-embedder-policy', 'require-corp').send(body);
    });
  }
}
