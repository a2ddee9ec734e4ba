// Bundles the browser's compute thread (src/web/worker.ts and the browser-safe library under it) into one
// file, dist/browser/worker.js (and the webgpu backend's GPU worker into dist/browser/gpu-worker.js), with esbuild: one classic-worker script, no imports left to resolve, so the page, the
// training page and every exported model site load it from any static host. Runs after tsc in `prepare`/`build`.
// Not dist/web/: tsc writes its own dist/web/worker.js (the unbundled module) there.
// Without esbuild (a production install from git) it prints one notice and the pages that need it say so.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.log('charlm: esbuild is not installed, so dist/browser/worker.js (the in-browser trainer and exported sites) was not built');
  process.exit(0);
}
// worker.js: the compute worker; gpu-worker.js: the GPU worker it starts for the webgpu backend (src/web/gpu-worker.ts).
for (const [entry, name] of [['worker.ts', 'worker.js'], ['gpu-worker.ts', 'gpu-worker.js']]) {
  const out = join(root, 'dist', 'browser', name);
  mkdirSync(dirname(out), { recursive: true });
  await esbuild.build({
    entryPoints: [join(root, 'src', 'web', entry)],
    outfile: out,
    bundle: true,
    format: 'iife', // a classic worker: works in every browser with Web Workers, module workers not needed
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  console.log(`charlm: bundled dist/browser/${name} (${(statSync(out).size / 1024).toFixed(1)} KiB)`);
}
