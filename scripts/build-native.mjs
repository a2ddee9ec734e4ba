// Builds the optional native backend (native/, binding.gyp) with node-gyp during `npm install`.
// It never fails the install (without a compiler charlm runs on the `wasm` backend after one notice line), except
// under CHARLM_REQUIRE_NATIVE=1 (CI), where a failed build fails with the compiler's output.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.CHARLM_SKIP_NATIVE === '1' || !existsSync(join(root, 'binding.gyp'))) process.exit(0);
// node-gyp: npm's lifecycle puts a shim on PATH; run directly (`node scripts/build-native.mjs`) use npm's bundled copy.
const prefix = join(dirname(process.execPath), '..');
const bundled = join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gypJs = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : '');
const [cmd, pre] = gypJs ? [process.execPath, [gypJs]] : ['node-gyp', []];
// Headers: a distro Node ships them in <prefix>/include/node; use them instead of downloading (offline installs).
const nodedir = !process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))
  ? [`--nodedir=${prefix}`] : [];
const r = spawnSync(cmd, [...pre, 'rebuild', ...nodedir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
if (r.status === 0) {
  console.log('charlm: native backend built');
} else {
  const why = (r.error?.message ?? String(r.stderr ?? '')).trim().split('\n').slice(-3).join(' | ');
  if (process.env.CHARLM_REQUIRE_NATIVE === '1') {
    console.error(`charlm: native backend not built and CHARLM_REQUIRE_NATIVE=1:\n${r.error?.message ?? ''}${r.stdout ?? ''}${r.stderr ?? ''}`);
    process.exit(1);
  }
  console.log(`charlm: native backend not built, charlm will use the wasm backend (${why.slice(0, 300)})`);
}
