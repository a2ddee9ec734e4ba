// `charlm export MODEL --format web`: writes a static model site (Node only; the files it writes run in the browser).
// The page (web/site.html as index.html, site.js, compute.js, views.js, chart.js, style.css), the compute worker
// bundle (dist/browser/worker.js), the WebAssembly kernels it fetches from beside itself (the relaxed-SIMD and SIMD128
// builds with private memory: a visitor downloads the one their browser runs) and the checkpoint as
// model.safetensors: any static file host serves the folder and no server code runs. The checkpoint is loaded here first, so a bad model fails now and not in a visitor's tab.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CharlmError } from '../errors.js';
import { refBackend } from '../kernels/ref/index.js';
import { loadModelBytes, type LoadedModel } from '../model/codec.js';
import { readFileBytes, writeFileAtomic } from '../util/fs.js';
import { DEFAULT_WEB_DIR, WASM_BUILD_DIR, WEB_BUNDLE_DIR } from '../server/static.js';
import { BROWSER_WASM_FILES } from '../kernels/browser.js';
import { MAX_CHECKPOINT_BYTES } from './limits.js';

/** [file in the site, where it comes from] */
const PAGE_FILES: [string, 'web' | 'bundle' | 'wasm', string][] = [
  ['index.html', 'web', 'site.html'], ['site.js', 'web', 'site.js'], ['compute.js', 'web', 'compute.js'],
  ['views.js', 'web', 'views.js'], ['chart.js', 'web', 'chart.js'], ['style.css', 'web', 'style.css'],
  ['worker.js', 'bundle', 'worker.js'], ['gpu-worker.js', 'bundle', 'gpu-worker.js'], ...BROWSER_WASM_FILES.map((f): [string, 'wasm', string] => [f, 'wasm', f]),
];
export const SITE_FILES = [...PAGE_FILES.map(([f]) => f), 'model.safetensors'];

export interface SiteResult { dir: string; files: { name: string; bytes: number }[]; totalBytes: number; loaded: LoadedModel }

export function exportWebSite(modelPath: string, dir: string, opts: { webDir?: string; bundleDir?: string; wasmDir?: string } = {}): SiteResult {
  const bytes = readFileBytes(modelPath, 'checkpoint');
  if (bytes.length > MAX_CHECKPOINT_BYTES) {
    throw new CharlmError('CHECKPOINT_LIMIT', `${modelPath} is ${(bytes.length / 2 ** 20).toFixed(1)} MiB; browsers load checkpoints up to ${MAX_CHECKPOINT_BYTES / 2 ** 20} MiB`,
      'export a smaller model, or serve this one with `charlm serve`');
  }
  const loaded = loadModelBytes(bytes, refBackend, modelPath);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new CharlmError('BAD_OPTION', `${dir} exists and is not a folder`, 'pass a new folder with -o');
    const foreign = readdirSync(dir).filter((f) => !SITE_FILES.includes(f));
    if (foreign.length) {
      throw new CharlmError('BAD_OPTION', `${dir} already holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`,
        'export into a new or empty folder (a folder holding an earlier export is overwritten)');
    }
  }
  const dirs = { web: opts.webDir ?? DEFAULT_WEB_DIR, bundle: opts.bundleDir ?? WEB_BUNDLE_DIR, wasm: opts.wasmDir ?? WASM_BUILD_DIR };
  const hints = { web: 'reinstall charlm', bundle: 'build it with `npm run build` (the worker bundle needs esbuild, a dev dependency)',
                  wasm: 'build it with `npm run build` (the wasm kernels need assemblyscript)' };
  const sources = PAGE_FILES.map(([name, from, file]) => {
    const src = join(dirs[from], file);
    if (!existsSync(src)) {
      throw new CharlmError('WEB_BUILD_MISSING', `the page file ${src} is missing`, hints[from]);
    }
    return { name, data: readFileSync(src) as Uint8Array };
  });
  sources.push({ name: 'model.safetensors', data: bytes });
  mkdirSync(dir, { recursive: true });
  for (const f of sources) writeFileAtomic(join(dir, f.name), f.data);
  const files = sources.map((f) => ({ name: f.name, bytes: f.data.length }));
  return { dir, files, totalBytes: files.reduce((s, f) => s + f.bytes, 0), loaded };
}
