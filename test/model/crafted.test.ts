// The crafted files of issue 14, each loaded in a fresh child process that measures it: refused with a CharlmError
// (one line naming the file, with a code) in ≤ 2 s and with peak memory ≤ 300 MB above the process's baseline
// (its max RSS after loading a valid checkpoint and a valid .pth). Prints one line per file; docs/reliability.md.
// The child runs the compiled dist/ (npm test builds it first), so the baseline is charlm's, not a TS compiler's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { craftedInputs, tinyCheckpoint, PTH_DIR, PTH_TEXT } from '../fixtures/hostile.js';
import { ROOT } from '../helpers.js';

const CHILD = `
  import { loadModelFile } from './dist/model/io.js';
  import { importStateDict } from './dist/interop/import.js';
  import { refBackend } from './dist/kernels/ref/index.js';
  import { formatError, isCharlmError } from './dist/errors.js';
  import { readFileSync } from 'node:fs';
  const [kind, file, good, goodPth, text] = process.argv.slice(-5);
  // Peak RSS of this process image in MB: VmHWM (ru_maxrss would include the parent's RSS at fork time on Linux).
  const peakMB = () => { try { return Number(/VmHWM:[^0-9]*([0-9]+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024; }
                         catch { return process.resourceUsage().maxRSS / 1024; } };
  const load = (k, f) => (k === 'checkpoint' ? loadModelFile(f, refBackend) : importStateDict(f, { vocabFrom: text }));
  load('checkpoint', good); load('import', goodPth);                 // warm: code loaded, one valid load of each kind
  globalThis.gc?.();
  const base = peakMB();
  const t0 = performance.now();
  let line = 'LOADED', code = null;
  try { load(kind, file); } catch (e) { line = isCharlmError(e) ? formatError(e) : 'INTERNAL ' + String(e?.stack ?? e); code = e?.code ?? null; }
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, baseMB: base, extraMB: peakMB() - base, line, code }));
`;

test('every crafted input is refused cleanly in ≤ 2 s with ≤ 300 MB above baseline', { timeout: 600_000 }, () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'charlm-crafted-'));
  const good = join(dir, 'good.safetensors');
  fs.writeFileSync(good, tinyCheckpoint());
  let worstMs = 0, worstMB = 0;
  try {
    for (const c of craftedInputs()) {
      const file = c.path ?? join(dir, `${c.name}.${c.kind === 'checkpoint' ? 'safetensors' : 'pth'}`);
      if (c.bytes) fs.writeFileSync(file, c.bytes);
      const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD,
        c.kind, file, good, join(PTH_DIR, 'seed_lstm.pth'), PTH_TEXT], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 });
      assert.equal(r.status, 0, `${c.name}: child failed: ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { ms: number; baseMB: number; extraMB: number; line: string; code: string | null };
      const size = c.bytes ? `${(c.bytes.length / 2 ** 20).toFixed(2)} MB` : 'device';
      console.log(`  ${c.name.padEnd(26)} ${size.padStart(9)}  ${out.ms.toFixed(0).padStart(5)} ms  +${out.extraMB.toFixed(0).padStart(3)} MB (base ${out.baseMB.toFixed(0)})  ${out.line.slice(0, 150)}`);
      assert.ok(!out.line.startsWith('INTERNAL') && out.line !== 'LOADED', `${c.name}: ${out.line}`);
      assert.ok(!out.line.includes('\n') && out.line.includes(file) && /\[[A-Z_]+\]$/.test(out.line), `${c.name}: not one line naming the file with a code: ${out.line}`);
      assert.ok(out.ms <= 2000, `${c.name}: ${out.ms.toFixed(0)} ms`);
      assert.ok(out.extraMB <= 300, `${c.name}: +${out.extraMB.toFixed(0)} MB`);
      worstMs = Math.max(worstMs, out.ms); worstMB = Math.max(worstMB, out.extraMB);
      if (c.bytes) fs.rmSync(file);
    }
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  console.log(`  worst: ${worstMs.toFixed(0)} ms, +${worstMB.toFixed(0)} MB above baseline`);
});

test('through the CLI: one line naming the file, a code, exit status 1 (never the internal-error path)', { timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'charlm-crafted-cli-'));
  try {
    const pick = new Map(craftedInputs().map((c) => [c.name, c]));
    for (const [name, cmd] of [['pth-zip-bomb-declared', 'import'], ['legacy-pickle-dict-flood', 'import'], ['st-absurd-layers', 'info'],
                               ['st-lone-surrogate-vocab', 'sample']] as const) {
      const c = pick.get(name)!;
      const file = join(dir, `${name}\nx.${cmd === 'import' ? 'pth' : 'safetensors'}`); // a newline in the name, too
      fs.writeFileSync(file, c.bytes!);
      const args = cmd === 'import' ? ['import', file, '--vocab-from', PTH_TEXT, '--out', join(dir, 'o.safetensors')] : [cmd, file];
      const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'charlm.js'), ...args], { encoding: 'utf8', env: { ...process.env, CHARLM_QUIET_NATIVE: '1' } });
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(r.status, 1, `${name}: exit ${r.status}: ${r.stderr}`);
      assert.equal(lines.length, 1, `${name}: ${r.stderr}`);
      assert.match(lines[0], /\[[A-Z_]+\]$/);
      assert.ok(lines[0].includes(`${name}\\u000ax`), `${name}: the file is named (escaped): ${lines[0]}`);
      assert.ok(!fs.existsSync(join(dir, 'o.safetensors')));
    }
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});
