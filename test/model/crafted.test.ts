// The crafted files of issue 14, loaded in a child process that measures each: refused with a CharlmError (one line
// naming the file, with a code) in ≤ 2 s and with peak memory ≤ 300 MB above the RSS just before the load (after a
// valid checkpoint and a valid .pth were loaded). Prints one line per file; docs/reliability.md.
// The child runs the compiled dist/ (npm test builds it first), so the baseline is charlm's, not a TS compiler's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { craftedInputs, tinyCheckpoint, PTH_DIR, PTH_TEXT } from '../fixtures/hostile.js';
import { ROOT } from '../helpers.js';

// One child loads every crafted file in turn. Before each, the peak-RSS mark is reset (writing 5 to
// /proc/self/clear_refs resets VmHWM on Linux), so each file's peak is measured against the RSS just before it; where
// that is not possible, each file gets its own child.
const CHILD = `
  import { loadModelFile } from './dist/model/io.js';
  import { importModel } from './dist/interop/import.js';
  import { refBackend } from './dist/kernels/ref/index.js';
  import { formatError, isCharlmError } from './dist/errors.js';
  import { readFileSync, writeFileSync } from 'node:fs';
  const [list, good, goodPth, text] = process.argv.slice(-4);
  const status = () => readFileSync('/proc/self/status', 'utf8');
  const kb = (key) => Number(new RegExp(key + ':[^0-9]*([0-9]+)').exec(status())[1]);
  const load = (k, f) => (k === 'checkpoint' ? loadModelFile(f, refBackend) : importModel(f, { vocabFrom: text }));
  load('checkpoint', good); load('import', goodPth);                 // warm: code loaded, one valid load of each kind
  const out = [];
  for (const [kind, file] of JSON.parse(list)) {
    globalThis.gc();
    writeFileSync('/proc/self/clear_refs', '5');                     // VmHWM := VmRSS
    const base = kb('VmRSS');
    const t0 = performance.now();
    let line = 'LOADED';
    try { load(kind, file); } catch (e) { line = isCharlmError(e) ? formatError(e) : 'INTERNAL ' + String(e?.stack ?? e); }
    const ms = performance.now() - t0;
    out.push({ ms, baseMB: base / 1024, extraMB: (kb('VmHWM') - base) / 1024, line });
  }
  process.stdout.write(JSON.stringify(out));
`;

function canResetPeak(): boolean {
  try { fs.writeFileSync('/proc/self/clear_refs', '5'); return /VmHWM/.test(fs.readFileSync('/proc/self/status', 'utf8')); } catch { return false; }
}

test('every crafted input is refused cleanly in ≤ 2 s with ≤ 300 MB above baseline', { timeout: 600_000, skip: !canResetPeak() && 'needs Linux /proc (VmHWM, clear_refs)' }, () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'charlm-crafted-'));
  const good = join(dir, 'good.safetensors');
  fs.writeFileSync(good, tinyCheckpoint());
  let worstMs = 0, worstMB = 0;
  try {
    const crafted = craftedInputs();
    const files = crafted.map((c) => {
      const file = c.path ?? join(dir, `${c.name}.${c.kind === 'checkpoint' ? 'safetensors' : 'pth'}`);
      if (c.bytes) fs.writeFileSync(file, c.bytes);
      return [c.kind, file];
    });
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD,
      JSON.stringify(files), good, join(PTH_DIR, 'seed_lstm.pth'), PTH_TEXT], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
    assert.equal(r.status, 0, `child failed: ${r.stderr}`);
    const results = JSON.parse(r.stdout) as { ms: number; baseMB: number; extraMB: number; line: string }[];
    crafted.forEach((c, i) => {
      const out = results[i], file = files[i][1];
      const size = c.bytes ? `${(c.bytes.length / 2 ** 20).toFixed(2)} MB` : 'device';
      console.log(`  ${c.name.padEnd(26)} ${size.padStart(9)}  ${out.ms.toFixed(0).padStart(5)} ms  +${out.extraMB.toFixed(0).padStart(3)} MB (RSS before ${out.baseMB.toFixed(0)})  ${out.line.slice(0, 150)}`);
      assert.ok(!out.line.startsWith('INTERNAL') && out.line !== 'LOADED', `${c.name}: ${out.line}`);
      assert.ok(!out.line.includes('\n') && out.line.includes(file) && /\[[A-Z_]+\]$/.test(out.line), `${c.name}: not one line naming the file with a code: ${out.line}`);
      assert.ok(out.ms <= 2000, `${c.name}: ${out.ms.toFixed(0)} ms`);
      assert.ok(out.extraMB <= 300, `${c.name}: +${out.extraMB.toFixed(0)} MB`);
      worstMs = Math.max(worstMs, out.ms); worstMB = Math.max(worstMB, out.extraMB);
    });
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  console.log(`  worst: ${worstMs.toFixed(0)} ms, +${worstMB.toFixed(0)} MB above the RSS before the load`);
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
