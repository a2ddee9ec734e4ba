// Builds the wasm backend (wasm/*.ts, AssemblyScript) into wasm/build/ during `npm install`, from npm packages alone
// (the `assemblyscript` devDependency). Four builds: relaxed-SIMD FMA or plain SIMD128 × a shared (growable) or a
// private memory import; the loader picks one at run time. The .wasm files ship in the package, so an install
// without devDependencies keeps the prebuilt ones (this script then has nothing to do) and never fails the install.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'wasm'), out = join(src, 'build');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const sources = ['kernels.ts', 'gemm.ts', 'transformer.ts', 'simd-math.ts'].map((f) => join(src, f));
const variants = [['relaxed', true], ['relaxed', false], ['simd128', true], ['simd128', false]];
const fileOf = (simd, shared) => join(out, `charlm-${simd}-${shared ? 'shared' : 'private'}.wasm`);

if (process.env.CHARLM_SKIP_WASM === '1' || !existsSync(sources[0])) process.exit(0);
if (!existsSync(asc)) {
  const have = variants.every(([s, sh]) => existsSync(fileOf(s, sh)));
  console.log(have ? 'charlm: wasm backend prebuilt (AssemblyScript not installed; keeping wasm/build)'
                   : 'charlm: wasm backend not built (needs the assemblyscript devDependency); charlm falls back to ref');
  process.exit(0);
}
const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
mkdirSync(out, { recursive: true });
for (const [simd, shared] of variants) {
  const file = fileOf(simd, shared);
  if (existsSync(file) && statSync(file).mtimeMs >= newest && process.env.CHARLM_FORCE_WASM !== '1') continue;
  const args = [asc, join(src, 'kernels.ts'), '-O3', '--noAssert', '--runtime', 'stub', '--use', 'abort=',
    '--importMemory', '--initialMemory', '1', '--enable', 'simd', '-o', file];
  if (simd === 'relaxed') args.push('--enable', 'relaxed-simd');
  if (shared) args.push('--enable', 'threads', '--sharedMemory', '--maximumMemory', '32768');
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) {
    console.error(`charlm: wasm build failed (${simd}, ${shared ? 'shared' : 'private'} memory):\n${r.stdout}${r.stderr}`);
    process.exit(process.env.CHARLM_REQUIRE_WASM === '1' ? 1 : 0);
  }
}
console.log('charlm: wasm backend built');
