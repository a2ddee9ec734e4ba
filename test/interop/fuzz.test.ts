// Fuzzing the three file formats charlm reads from strangers: charlm checkpoints (.safetensors), torch.save zips
// (.pth) and legacy torch.save pickles. Each mutated file (truncation, bit flips, byte runs, spliced chunks, number
// lies in binary fields and in JSON, nesting and opcode floods) must load or be refused with a CharlmError — never
// another exception — within a time bound, and the whole run must stay within a memory bound. Seeded: the same
// mutations every run (CHARLM_FUZZ_SEED and CHARLM_FUZZ_N change them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadModelBytes } from '../../src/model/io.js';
import { importModelBytes } from '../../src/interop/import.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { CharlmError, formatError } from '../../src/errors.js';
import { Rng } from '../../src/util/rng.js';
import { join } from 'node:path';
import { buildZip, mutate, NANOGPT_DIR, seedLegacy, seedNanoGpt, seedPth, seedPthEntries, tinyCheckpoint, PTH_TEXT } from '../fixtures/hostile.js';

const N = Number(process.env.CHARLM_FUZZ_N ?? 2100);       // per stream: 5 × 2100 = 10,500 files
const SEED = Number(process.env.CHARLM_FUZZ_SEED ?? 14);
const MAX_MS = 2000, MAX_GROWTH_MB = 300;

const peakMB = () => {
  try { return Number(/VmHWM:[^0-9]*([0-9]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024; } catch { return process.resourceUsage().maxRSS / 1024; }
};

test(`fuzz: ${5 * N} mutated checkpoints, .pth zips, nanoGPT ckpt.pt and legacy pickles end in a model or a CharlmError`, { timeout: 600_000 }, () => {
  // The zip's CRC-32 stops most mutations at the archive layer, so data.pkl is also fuzzed inside a rebuilt, valid zip.
  const entries = seedPthEntries(), pkl = entries.find((e) => e.name.endsWith('data.pkl'))!;
  const rezip = (p: Uint8Array) => buildZip(entries.map((e) => (e === pkl ? { name: e.name, data: p } : e)));
  const formats: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
    ['safetensors', tinyCheckpoint(), (b) => loadModelBytes(b, refBackend, 'fuzz.safetensors')],
    ['pth-zip', seedPth(), (b) => importModelBytes(b, 'fuzz.pth', { vocabFrom: PTH_TEXT })],
    ['pth-zip data.pkl', pkl.data, (b) => importModelBytes(rezip(b), 'fuzz.pth', { vocabFrom: PTH_TEXT })],
    ['nanogpt ckpt.pt', seedNanoGpt(), (b) => importModelBytes(b, 'fuzz-ckpt.pt', { meta: join(NANOGPT_DIR, 'meta.pkl') })],
    ['pth-legacy', seedLegacy(), (b) => importModelBytes(b, 'fuzz-legacy.pth', { vocabFrom: PTH_TEXT })],
  ];
  const base = peakMB();
  const t0 = performance.now();
  let total = 0;
  for (const [name, seed, load] of formats) {
    const rng = new Rng(SEED);
    const codes = new Map<string, number>();
    let loaded = 0, slowest = 0;
    for (let i = 0; i < N; i++) {
      const bytes = mutate(seed, rng);
      const t = performance.now();
      try {
        load(bytes);
        loaded++;
      } catch (e) {
        if (!(e instanceof CharlmError)) {
          assert.fail(`${name} #${i} (seed ${SEED}): not a CharlmError: ${(e as Error)?.stack ?? String(e)}`);
        }
        const line = formatError(e);
        assert.ok(!line.includes('\n') && line.includes('fuzz'), `${name} #${i}: not one line naming the file: ${JSON.stringify(line)}`);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
      const ms = performance.now() - t;
      slowest = Math.max(slowest, ms);
      assert.ok(ms <= MAX_MS, `${name} #${i}: ${ms.toFixed(0)} ms`);
      total++;
    }
    const top = [...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
    console.log(`  ${name}: ${N} mutants, ${loaded} still loadable, ${N - loaded} refused (${top}); slowest ${slowest.toFixed(1)} ms`);
  }
  const growth = peakMB() - base;
  console.log(`  ${total} files in ${((performance.now() - t0) / 1000).toFixed(1)} s, 0 internal errors, peak memory +${growth.toFixed(0)} MB`);
  assert.ok(growth <= MAX_GROWTH_MB, `peak memory grew ${growth.toFixed(0)} MB`);
});
