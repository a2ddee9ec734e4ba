// The PyTorch companion trainer (torch/charlm_torch.py) against charlm, on CPU with gloo: 2 processes equal 1,
// charlm and PyTorch agree from the same weights on the same batch, the round trip back to charlm, resume, report,
// bad input, and that both engines know the same config keys and defaults. Small models and few steps.
// Skipped, with the reason printed, where no Python with torch is found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULTS, resolveConfig, type TrainConfig } from '../../src/config.js';
import { CharlmError } from '../../src/errors.js';
import { createModel, family } from '../../src/model/registry.js';
import type { LanguageModel } from '../../src/model/model.js';
import { loadModelFile, saveModel } from '../../src/model/io.js';
import { readSafetensorsFile } from '../../src/model/checkpoint.js';
import { Vocab } from '../../src/data/vocab.js';
import { encodeCorpus, splitTrainVal } from '../../src/data/corpus.js';
import { RandomWindows } from '../../src/data/batches.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { Rng } from '../../src/util/rng.js';
import { findTorchPython, TORCH_SCRIPT } from '../../src/train/torch-engine.js';
import { loadTrainState } from '../../src/train/state.js';
import { ROOT, diffs } from '../helpers.js';
import { skipWithout } from '../skips.js';

let PY = '';
let why: string | false = false;
try { PY = findTorchPython().python; } catch (e) { why = (e as Error).message; }
const skip = skipWithout('torch', why);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charlm-torchddp-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A deterministic ~40 KB corpus of words and lines.
const WORDS = 'the of and to a in that is was he for it with as his on be at by had not are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three'.split(' ');
const corpusPath = path.join(tmp, 'words.txt');
{
  const rng = new Rng(7), lines: string[] = [];
  for (let i = 0; i < 800; i++) lines.push(Array.from({ length: 4 + rng.int(6) }, () => WORDS[rng.int(WORDS.length)]).join(' ') + '.');
  fs.writeFileSync(corpusPath, lines.join('\n') + '\n');
}

const SMALL: Partial<TrainConfig> = { embeddingDim: 12, hiddenSize: 24, numLayers: 2, seqLength: 24, batchSize: 8, steps: 5,
  logInterval: 1, evalInterval: 5, evalChars: 3000, sampleChars: 20, learningRate: 0.003, clip: 1 };

function writeConfig(name: string, over: Partial<TrainConfig> = {}): string {
  const file = path.join(tmp, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(resolveConfig({ file: { ...SMALL, ...over } })));
  return file;
}

function py(args: string[], env: NodeJS.ProcessEnv = {}): { stdout: string; stderr: string } {
  const r = spawnSync(PY, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1', ...env }, timeout: 300_000 });
  assert.equal(r.status, 0, `${args.join(' ')}\n${r.error ? `${r.error.message}\n` : ''}${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** charlm_torch.py train with `nproc` processes under torchrun (the launcher that also works on torch 1.13 + Python 3.11). */
function torchTrain(nproc: number, cfg: string, out: string, extra: string[] = []): void {
  py([TORCH_SCRIPT, 'torchrun', '--standalone', `--nproc_per_node=${nproc}`, TORCH_SCRIPT, 'train', '--config', cfg,
      '--corpus', corpusPath, '--out', out, '--quiet', ...extra]);
}

function trainLosses(run: string): number[] {
  return fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((r) => r.type === 'train').map((r) => r.loss as number);
}

function weightsDiff(a: string, b: string): number {
  const ta = readSafetensorsFile(a).tensors, tb = readSafetensorsFile(b).tensors;
  assert.deepEqual([...ta.keys()], [...tb.keys()]);
  return Math.max(...[...ta.keys()].map((k) => diffs(ta.get(k)!.data, tb.get(k)!.data).abs));
}

test('2 processes equal 1 process with the same global batch (random windows and stateful streams)', { skip }, () => {
  for (const batching of ['random', 'stateful'] as const) {
    const cfg = writeConfig(`ddp-${batching}`, { batching });
    const one = path.join(tmp, `ddp-${batching}-1`), two = path.join(tmp, `ddp-${batching}-2`);
    py([TORCH_SCRIPT, 'train', '--config', cfg, '--corpus', corpusPath, '--out', one, '--quiet']); // 1 process, no torchrun
    torchTrain(2, cfg, two);
    const l1 = trainLosses(one), l2 = trainLosses(two);
    assert.equal(l1.length, 5);
    const dl = diffs(l2, l1).abs, dw = weightsDiff(path.join(one, 'last.safetensors'), path.join(two, 'last.safetensors'));
    console.log(`${batching}: 2 vs 1 process over 5 steps: loss maxdiff ${dl.toExponential(2)}, weights maxdiff ${dw.toExponential(2)}`);
    assert.ok(dl <= 1e-5 && dw <= 1e-5);
  }
});

test('charlm and PyTorch: the same initial weights, the same first batch, the same loss and gradients (lstm, gru, rnn, gpt)', { skip }, () => {
  const cases: Record<string, Partial<TrainConfig>> = {
    lstm: { cell: 'lstm' }, gru: { cell: 'gru' }, rnn: { cell: 'rnn' },
    gpt: { family: 'gpt', nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 24, bias: true },
  };
  const text = fs.readFileSync(corpusPath, 'utf8'), vocab = Vocab.fromText(text);
  const dir = path.join(tmp, 'parity');
  fs.mkdirSync(dir);
  const models: Record<string, { model: LanguageModel; cfg: TrainConfig }> = {};
  for (const [name, over] of Object.entries(cases)) {
    fs.copyFileSync(writeConfig(`parity-${name}`, over), path.join(dir, `${name}.config.json`));
    const cfg = resolveConfig({ file: { ...SMALL, ...over } });
    const model = createModel(family(cfg.family).fromTrainConfig(cfg, vocab.size), refBackend);
    model.initialize(new Rng(cfg.seed));
    saveModel(path.join(dir, `${name}.safetensors`), model, vocab, null);
    models[name] = { model, cfg };
  }
  py([path.join(ROOT, 'test', 'torch', 'parity.py'), corpusPath, dir, ...Object.keys(cases)]);
  for (const [name, { model, cfg }] of Object.entries(models)) {
    const { train } = splitTrainVal(encodeCorpus(text, vocab), cfg.valFraction);
    const dInit = weightsDiff(path.join(dir, `${name}.safetensors`), path.join(dir, `${name}.torch-init.safetensors`));
    const B = cfg.batchSize, T = cfg.seqLength, x = new Int32Array(B * T), y = new Int32Array(B * T);
    new RandomWindows(train, B, T, new Rng((cfg.seed ^ 0x5eed5eed) >>> 0)).next(x, y);
    const ref = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as { x: number[]; loss: number; grads: Record<string, number[]> };
    assert.deepEqual(Array.from(x), ref.x, 'the first batch differs');
    const loss = model.forwardBackward(x, y, B, T, null);
    let dGrad = 0;
    for (const e of model.params.entries) dGrad = Math.max(dGrad, diffs(model.params.gradOf(e.name), ref.grads[e.name]).abs);
    console.log(`${name}: init maxdiff ${dInit.toExponential(2)}, loss diff ${Math.abs(loss - ref.loss).toExponential(2)}, gradient maxdiff ${dGrad.toExponential(2)}`);
    assert.ok(dInit <= 1e-6 && Math.abs(loss - ref.loss) <= 1e-5 && dGrad <= 1e-5);
  }
});

test('round trip: charlm train --engine torch --nproc 2 (rnn) and a gpt run, then charlm sample and report read them', { skip }, () => {
  const out = path.join(tmp, 'cli');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), 'train', corpusPath, '--engine', 'torch', '--nproc', '2',
    '--config', writeConfig('cli', { steps: 150, evalInterval: 75, logInterval: 25, learningRate: 0.01 }), '--out', out],
    { encoding: 'utf8', env: { ...process.env, CHARLM_PYTHON: PY }, timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /engine torch: .*nproc_per_node=2/);
  const ckpt = path.join(out, 'best.safetensors');
  const lm = loadModelFile(ckpt, refBackend);
  assert.equal(lm.training?.backend, 'torch-cpu×2');
  assert.equal(lm.training?.steps, 150);
  const charlm = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), 'sample', ckpt, '--prime', 'the ', '--length', '80', '--temperature', '0'],
    { encoding: 'utf8' });
  assert.equal(charlm.status, 0, charlm.stderr);
  const torch = py([TORCH_SCRIPT, 'sample', ckpt, '--prime', 'the ', '--length', '80', '--temperature', '0']).stdout;
  console.log(`greedy continuation, charlm:  ${JSON.stringify(charlm.stdout)}\ngreedy continuation, PyTorch: ${JSON.stringify(torch)}`);
  assert.equal(charlm.stdout, torch);
  // The gpt family, one process without torchrun: a continuation longer than the context (charlm's sliding cache).
  const gptOut = path.join(tmp, 'gpt-run');
  py([TORCH_SCRIPT, 'train', '--config', writeConfig('gpt-run', { family: 'gpt', nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 24, steps: 100,
    evalInterval: 50, logInterval: 25, learningRate: 0.01, evalProtocol: 'windows' }), '--corpus', corpusPath, '--out', gptOut, '--quiet']);
  const gptCkpt = path.join(gptOut, 'last.safetensors');
  const gCharlm = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), 'sample', gptCkpt, '--prime', 'the ', '--length', '60', '--temperature', '0'],
    { encoding: 'utf8' });
  assert.equal(gCharlm.status, 0, gCharlm.stderr);
  const gTorch = py([TORCH_SCRIPT, 'sample', gptCkpt, '--prime', 'the ', '--length', '60', '--temperature', '0']).stdout;
  console.log(`gpt greedy continuation, charlm:  ${JSON.stringify(gCharlm.stdout)}\ngpt greedy continuation, PyTorch: ${JSON.stringify(gTorch)}`);
  assert.equal(gCharlm.stdout, gTorch);
  const rep = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), 'report', out], { encoding: 'utf8' });
  assert.equal(rep.status, 0, rep.stderr);
  const html = fs.readFileSync(rep.stdout.trim(), 'utf8');
  assert.match(html, /torch-cpu×2/);
  assert.match(html, /<svg/);
});

test('charlm train --engine torch --resume keeps the saved run\'s eval and log intervals unless given again', { skip }, () => {
  const out = path.join(tmp, 'torch-resume-cli');
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), 'train', ...args, '--engine', 'torch', '--quiet'],
                        { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1', CHARLM_QUIET_NATIVE: '1' }, timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
  };
  cli([corpusPath, '--out', out, '--embedding-dim', '12', '--hidden-size', '24', '--num-layers', '1', '--seq-length', '24',
       '--batch-size', '8', '--steps', '4', '--eval-interval', '2', '--log-interval', '2', '--eval-chars', '2000']);
  cli(['--resume', out, '--steps', '6']);
  const passed = JSON.parse(fs.readFileSync(path.join(out, 'torch-config.json'), 'utf8')) as TrainConfig;
  assert.equal(passed.steps, 6, 'a flag given on resume still applies');
  assert.equal(passed.evalInterval, 2, 'the saved eval interval (not the default) goes to the torch engine');
  assert.equal(passed.logInterval, 2);
  const evals = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((r) => r.type === 'eval').map((r) => r.step as number);
  assert.deepEqual(evals, [2, 4, 6], 'evaluations every 2 steps before and after the resume');
});

test('with dropout and micro-batches, both engines leave the Rng in the same state (the torch engine skips charlm\'s mask seeds)', { skip }, () => {
  const cfg = writeConfig('draws', { steps: 3, evalInterval: 3, dropout: 0.2, embedDropout: 0.1, microBatch: 4 });
  const a = path.join(tmp, 'draws-charlm'), b = path.join(tmp, 'draws-torch');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), 'train', corpusPath, '--config', cfg, '--out', a, '--quiet'],
                      { encoding: 'utf8', env: { ...process.env, CHARLM_QUIET_NATIVE: '1' }, timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  torchTrain(1, cfg, b);
  const rngOf = (dir: string) => loadTrainState(path.join(dir, 'state.safetensors')).meta.rng;
  assert.deepEqual(rngOf(b), rngOf(a), 'after 3 steps the generators differ: the batches would no longer match');
});

test('an interrupted run resumes exactly (dropout on, cosine schedule mid-way)', { skip }, () => {
  const cfg = writeConfig('resume', { steps: 6, logInterval: 2, evalInterval: 3, dropout: 0.2, embedDropout: 0.1, schedule: 'cosine', warmupSteps: 2 });
  const whole = path.join(tmp, 'whole'), split = path.join(tmp, 'split'), stop = path.join(tmp, 'stop-now');
  py([TORCH_SCRIPT, 'train', '--config', cfg, '--corpus', corpusPath, '--out', whole, '--quiet']);
  // The stop file (what charlm's Ctrl-C writes) stops the run at its first logged step, 2; then it resumes to 6.
  fs.writeFileSync(stop, '');
  py([TORCH_SCRIPT, 'train', '--config', cfg, '--corpus', corpusPath, '--out', split, '--quiet', '--stop-file', stop]);
  assert.equal(trainLosses(split).length, 1);
  assert.ok(!fs.existsSync(stop));
  py([TORCH_SCRIPT, 'train', '--config', cfg, '--corpus', corpusPath, '--out', split, '--resume', '--quiet']);
  assert.deepEqual(trainLosses(split), trainLosses(whole));
  const d = weightsDiff(path.join(whole, 'last.safetensors'), path.join(split, 'last.safetensors'));
  console.log(`stopped at step 2 and resumed vs uninterrupted, after 6 steps: weights maxdiff ${d}`);
  assert.equal(d, 0);
});

test('bad input fails in Python with one charlm-style line', { skip }, () => {
  const cfg = writeConfig('bad');
  const latin1 = path.join(tmp, 'latin1.txt');
  fs.writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  const run = (corpus: string) => spawnSync(PY, [TORCH_SCRIPT, 'train', '--config', cfg, '--corpus', corpus, '--out', path.join(tmp, 'bad')], { encoding: 'utf8' });
  const missing = run(path.join(tmp, 'nope.txt'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^charlm: corpus not found: .*nope\.txt \(hint: .+\) \[FILE_NOT_FOUND\]\n$/);
  const bad = run(latin1);
  assert.equal(bad.status, 1);
  // The same line as charlm's own engine gives for that file.
  const charlm = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), 'train', latin1], { encoding: 'utf8' });
  assert.equal(bad.stderr, charlm.stderr);
  assert.match(bad.stderr, /^charlm: .* is not valid UTF-8: bad byte sequence at byte offset 3 \(0xe9 0x0a\) \(hint: .+\) \[INVALID_UTF8\]\n$/);
  const unknownKey = path.join(tmp, 'unknown.json');
  fs.writeFileSync(unknownKey, '{"hiddenSize": 8, "hidenSize": 9}');
  const k = spawnSync(PY, [TORCH_SCRIPT, 'train', '--config', unknownKey, '--corpus', corpusPath, '--out', path.join(tmp, 'bad')], { encoding: 'utf8' });
  assert.equal(k.status, 1);
  assert.match(k.stderr, /^charlm: unknown config key "hidenSize" .*\[UNKNOWN_CONFIG_KEY\]\n$/);
});

test('both engines know the same config keys with the same defaults', { skip }, () => {
  assert.deepEqual(JSON.parse(py([TORCH_SCRIPT, 'defaults']).stdout), DEFAULTS);
});

test('charlm train --print-config prints the resolved config and reads no corpus', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), 'train', 'no-such-corpus.txt', '--preset', 'seed',
    '--hidden-size', '64', '--print-config'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), resolveConfig({ preset: 'seed', flags: { hiddenSize: '64' } }));
  const bad = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'charlm.js'), 'train', corpusPath, '--engine', 'jax'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^charlm: --engine must be charlm or torch, got "jax" .*\[BAD_OPTION\]\n$/);
});

test('Python discovery: CHARLM_PYTHON must have torch; a python3 on the PATH without torch falls back to the system one', { skip }, () => {
  assert.throws(() => findTorchPython({ ...process.env, CHARLM_PYTHON: path.join(tmp, 'no-python') }),
    (e: unknown) => e instanceof CharlmError && e.code === 'TORCH_NOT_FOUND');
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'python3'), '#!/bin/sh\necho "No module named torch" >&2\nexit 1\n', { mode: 0o755 });
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  delete env.CHARLM_PYTHON;
  if (PY === '/usr/bin/python3') assert.equal(findTorchPython(env).python, '/usr/bin/python3');
});
