// Builds the optional native backend (native/, binding.gyp) with node-gyp during `npm install`.
// It never fails the install: without a compiler charlm runs on the `ref` backend after one notice line.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.CHARLM_SKIP_NATIVE === '1' || !existsSync(join(root, 'binding.gyp'))) process.exit(0);
const r = spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
if (r.status === 0) {
  console.log('charlm: native backend built');
} else {
  const why = (r.error?.message ?? String(r.stderr ?? '')).trim().split('\n').slice(-3).join(' | ');
  console.log(`charlm: native backend not built, charlm will use the ref backend (${why.slice(0, 300)})`);
}
