// Untearable checkpoints: the weights and the resume state are saved as a pair. A kill at every point of the save
// sequence leaves either the old pair, the new pair, or a torn pair that --resume refuses (RESUME_MISMATCH) —
// never a silent resume from mismatched files; ENOSPC at any write leaves the old pair byte for byte; orphaned temp
// files are removed by the next run; corrupt state fields are named errors. Also one real SIGKILL during training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type TrainConfig } from '../../src/config.js';
import { train } from '../../src/train/loop.js';
import { encodeTrainState, loadTrainState, saveRunCheckpoint, STATE_FILE } from '../../src/train/state.js';
import { encodeSafetensors, readSafetensorsFile } from '../../src/model/checkpoint.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { CharlmError } from '../../src/errors.js';
import { ROOT } from '../helpers.js';

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
const corpus = () => ({ name: 'fox', text: TEXT, source: 'test' });
const tmp = () => fs.mkdtempSync(join(tmpdir(), 'charlm-pair-'));
const cfg = (steps: number): TrainConfig => resolveConfig({ flags: {
  embeddingDim: 4, hiddenSize: 8, numLayers: 1, seqLength: 8, batchSize: 2, steps, evalInterval: 10, evalChars: 50,
  logInterval: 5, sampleChars: 0, backend: 'ref' } });
const files = (d: string) => Object.fromEntries(['last.safetensors', STATE_FILE].map((f) => [f, fs.readFileSync(join(d, f))]));
const copyDir = (from: string) => { const d = tmp(); fs.cpSync(from, d, { recursive: true }); return d; };
const temps = (d: string) => fs.readdirSync(d).filter((f) => f.endsWith('.tmp'));

class Killed extends Error {}

/** fs for writeFilesAtomic that "dies" at call k: that call and every later one throw, so no cleanup runs. */
function killingFs(k: number) {
  let n = 0, dead = false;
  const wrap = <F extends (...a: any[]) => any>(f: F) => ((...a: Parameters<F>) => {
    if (dead || ++n === k) { dead = true; throw new Killed(`killed at call ${k}`); }
    return f(...a);
  }) as F;
  return { io: { mkdirSync: wrap(fs.mkdirSync), openSync: wrap(fs.openSync), writeSync: wrap(fs.writeSync), fsyncSync: wrap(fs.fsyncSync),
                 closeSync: wrap(fs.closeSync), renameSync: wrap(fs.renameSync), unlinkSync: wrap(fs.unlinkSync) } as any,
           calls: () => n };
}

test('a kill at every point of the save sequence: old pair, new pair, or a refused torn pair', async () => {
  const base = tmp(), straight = tmp();
  await train({ config: cfg(10), corpus: corpus(), outDir: base, backend: refBackend });
  await train({ config: cfg(20), corpus: corpus(), outDir: straight, backend: refBackend });
  const old = files(base), next = files(straight);
  // Count the calls of one complete save first.
  const probe = killingFs(Infinity);
  saveRunCheckpoint(copyDir(base), next[STATE_FILE], next['last.safetensors'], probe.io);
  const total = probe.calls();
  const seen = { old: 0, new: 0, torn: 0 };
  for (let k = 1; k <= total + 1; k++) {
    const dir = copyDir(base);
    try { saveRunCheckpoint(dir, next[STATE_FILE], next['last.safetensors'], killingFs(k).io); } catch (e) { assert.ok(e instanceof Killed || e instanceof CharlmError); }
    const now = files(dir);
    const isOld = now['last.safetensors'].equals(old['last.safetensors']) && now[STATE_FILE].equals(old[STATE_FILE]);
    const isNew = now['last.safetensors'].equals(next['last.safetensors']) && now[STATE_FILE].equals(next[STATE_FILE]);
    try {
      const r = await train({ config: cfg(20), corpus: corpus(), outDir: dir, backend: refBackend, resume: true });
      assert.ok(isOld || isNew, `kill at call ${k}: resumed from a mixed pair`);
      assert.ok(fs.readFileSync(r.lastPath).equals(next['last.safetensors']), `kill at call ${k}: resume did not reach the straight run's weights`);
      seen[isOld ? 'old' : 'new']++;
    } catch (e) {
      assert.ok(e instanceof CharlmError && e.code === 'RESUME_MISMATCH', `kill at call ${k}: ${String(e)}`);
      assert.ok(!isOld && !isNew);
      assert.match(e.hint, /--init-from .*last\.safetensors.*--force/);
      seen.torn++;
    }
    assert.deepEqual(temps(dir), [], `kill at call ${k}: orphaned temp files were not removed by the next run`);
  }
  console.log(`  ${total} file-system calls per save; kill points leaving the old pair ${seen.old}, the new pair ${seen.new}, a refused torn pair ${seen.torn}`);
  assert.equal(seen.torn, 1, 'only a kill between the two renames can tear the pair');
  assert.ok(seen.old > 5 && seen.new >= 1);
});

test('ENOSPC at each write leaves the previous pair byte for byte and no temp files', async () => {
  const base = tmp(), straight = tmp();
  await train({ config: cfg(10), corpus: corpus(), outDir: base, backend: refBackend });
  await train({ config: cfg(20), corpus: corpus(), outDir: straight, backend: refBackend });
  const old = files(base), next = files(straight);
  for (let j = 1; j <= 2; j++) { // the two writes of a save (the state's, then the weights')
    const dir = copyDir(base);
    let writes = 0;
    const io = { ...fs, writeSync: (...a: Parameters<typeof fs.writeSync>) => {
      if (++writes === j) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      return (fs.writeSync as any)(...a);
    } } as any;
    assert.throws(() => saveRunCheckpoint(dir, next[STATE_FILE], next['last.safetensors'], io),
      (e: unknown) => e instanceof CharlmError && e.code === 'WRITE_FAILED' && /ENOSPC/.test(e.message));
    const now = files(dir);
    assert.ok(now['last.safetensors'].equals(old['last.safetensors']) && now[STATE_FILE].equals(old[STATE_FILE]), `ENOSPC at write ${j}`);
    assert.deepEqual(temps(dir), []);
    const r = await train({ config: cfg(20), corpus: corpus(), outDir: dir, backend: refBackend, resume: true });
    assert.ok(fs.readFileSync(r.lastPath).equals(next['last.safetensors']));
  }
});

test('corrupt resume-state fields are named RESUME_INVALID / BAD_CONFIG_VALUE errors', async () => {
  const base = tmp();
  await train({ config: cfg(10), corpus: corpus(), outDir: base, backend: refBackend });
  const st = readSafetensorsFile(join(base, STATE_FILE));
  const meta = JSON.parse(st.metadata.state);
  const cases: [string, (m: any) => void, string, RegExp][] = [
    ['step', (m) => { m.step = -3; }, 'RESUME_INVALID', /"step"/],
    ['rng', (m) => { m.rng = 'x'; }, 'RESUME_INVALID', /"rng"/],
    ['batcher', (m) => { m.batcher = [1e300]; }, 'RESUME_INVALID', /"batcher"/],
    ['schedule', (m) => { m.schedule = null; }, 'RESUME_INVALID', /"schedule"/],
    ['history', (m) => { m.history = [[1]]; }, 'RESUME_INVALID', /"history"/],
    ['config value', (m) => { m.config.batchSize = 1e12; }, 'RESUME_INVALID', /"batchSize"|batch-size/],
    ['config key', (m) => { m.config.constructor = 1; }, 'UNKNOWN_CONFIG_KEY', /constructor/],
    ['digest', (m) => { m.weightsSha256 = 'abc'; }, 'RESUME_INVALID', /weightsSha256/],
    ['not an object', (m) => { for (const k of Object.keys(m)) delete m[k]; m.step = 0; }, 'RESUME_INVALID', /"/],
  ];
  for (const [label, mutate, code, re] of cases) {
    const dir = copyDir(base);
    const m = structuredClone(meta);
    mutate(m);
    const tensors = [...st.tensors.values()];
    fs.writeFileSync(join(dir, STATE_FILE), encodeSafetensors(tensors, { format: 'charlm-train-state', state: JSON.stringify(m) }));
    await assert.rejects(train({ config: cfg(20), corpus: corpus(), outDir: dir, backend: refBackend, resume: true }),
      (e: unknown) => e instanceof CharlmError && (e.code === code || (code === 'RESUME_INVALID' && e.code === 'BAD_CONFIG_VALUE')) && re.test(e.message),
      label);
  }
  // A state whose moments do not fit the model.
  const dir = copyDir(base);
  const { meta: good } = loadTrainState(join(base, STATE_FILE));
  fs.writeFileSync(join(dir, STATE_FILE), encodeTrainState(good, new Float32Array(3), new Float32Array(3), null));
  await assert.rejects(train({ config: cfg(20), corpus: corpus(), outDir: dir, backend: refBackend, resume: true }),
    (e: unknown) => e instanceof CharlmError && e.code === 'RESUME_INVALID');
});

test('a real SIGKILL during training: the folder resumes, or is refused as torn, never silently mixed', { timeout: 120_000 }, async () => {
  const script = `
    import { train } from './src/train/loop.ts';
    import { resolveConfig } from './src/config.ts';
    import { refBackend } from './src/kernels/ref/index.ts';
    const config = resolveConfig({ flags: { embeddingDim: 4, hiddenSize: 8, numLayers: 1, seqLength: 8, batchSize: 2, steps: 100000,
      evalInterval: 1, evalChars: 50, logInterval: 5, sampleChars: 0, backend: 'ref' } });
    await train({ config, corpus: { name: 'fox', text: ${JSON.stringify(TEXT)}, source: 'x' }, outDir: process.argv.at(-1), backend: refBackend,
                  onEvent: (e) => { if (e.type === 'saved') process.stdout.write('s'); } });`;
  const outcomes: string[] = [];
  for (const afterSaves of [3, 17]) {
    const dir = tmp();
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let saves = 0;
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (b: Buffer) => { saves += b.length; if (saves >= afterSaves) { child.kill('SIGKILL'); } });
      child.on('exit', () => resolve());
    });
    try {
      const r = await train({ config: { ...cfg(0), steps: 100000 }, corpus: corpus(), outDir: dir, backend: refBackend, resume: true,
        signal: AbortSignal.abort() }); // resume, take one step, stop
      outcomes.push(`resumed at step ${r.steps}`);
    } catch (e) {
      assert.ok(e instanceof CharlmError && e.code === 'RESUME_MISMATCH', String(e));
      outcomes.push('refused (torn)');
    }
    assert.deepEqual(temps(dir), []);
  }
  console.log(`  after SIGKILL: ${outcomes.join('; ')}`);
});
