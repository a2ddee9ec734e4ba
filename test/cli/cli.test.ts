// The charlm command as a user runs it (bin/charlm.js → dist): bad input gives one line with a hint and a
// non-zero exit and never a stack trace; `sample` writes only prime + text to stdout; seeds reproduce text;
// greedy sampling matches PyTorch loading the same checkpoint (when Debian's python3-torch is installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import { skipWithout } from '../skips.js';

const tmp = mkdtempSync(join(tmpdir(), 'charlm-cli-'));
const run = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'charlm.js'), ...args],
                      { encoding: 'utf8', input, env: { ...process.env, CHARLM_QUIET_NATIVE: '1' }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const corpusPath = join(tmp, 'corpus.txt');
writeFileSync(corpusPath, ('To be, or not to be, that is the question:\nWhether tis nobler in the mind to suffer\n').repeat(80));
const model = join(tmp, 'run', 'last.safetensors');

test('train → sample → eval → info on a small corpus', () => {
  const t = run(['train', corpusPath, '--out', join(tmp, 'run'), '--embedding-dim', '16', '--hidden-size', '32', '--num-layers', '1',
                 '--seq-length', '32', '--batch-size', '8', '--steps', '60', '--eval-interval', '30', '--learning-rate', '0.01', '--backend', 'ref']);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /^charlm train — corpus/);
  assert.match(t.out, /config \{"family":"rnn","cell":"lstm"/, 'resolved config printed first');
  assert.ok(existsSync(model) && existsSync(join(tmp, 'run', 'metrics.jsonl')));

  const s = run(['sample', model, '--prime', 'To be', '--length', '50', '--seed', '3']);
  assert.equal(s.code, 0, s.err);
  assert.ok(s.out.startsWith('To be'));
  assert.equal([...s.out].length, 'To be'.length + 50 + 1, 'stdout = prime + 50 chars + newline, nothing else');
  assert.equal(run(['sample', model, '--prime', 'To be', '--length', '50', '--seed', '3']).out, s.out, 'same seed → same text');
  assert.notEqual(run(['sample', model, '--prime', 'To be', '--length', '50', '--seed', '4']).out, s.out);

  const e = run(['eval', model, corpusPath]);
  assert.equal(e.code, 0, e.err);
  const j = JSON.parse(e.out);
  assert.ok(j.loss_nats_per_char > 0 && Math.abs(j.bits_per_char - j.loss_nats_per_char / Math.LN2) < 1e-9 && j.chars_scored > 1000);

  const i = run(['info', model]);
  assert.equal(i.code, 0, i.err);
  assert.match(i.out, /LSTM\(32\) × 1/);
  assert.match(i.out, /60 steps/);
});

test('train: a model over the parameter cap is a one-line MODEL_TOO_LARGE error before anything is allocated', () => {
  const t0 = Date.now();
  const r = run(['train', corpusPath, '--out', join(tmp, 'huge'), '--hidden-size', '30000', '--num-layers', '1', '--steps', '1', '--backend', 'ref']);
  assert.equal(r.code, 1, r.err);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, /^charlm: the model is too large: its config asks for 3,6\d\d,\d{3},\d{3} parameters \(limit 1,000,000,000\) \(hint: .*--max-params \d+\) \[MODEL_TOO_LARGE\]/);
  assert.ok(Date.now() - t0 < 30_000, 'refused at once');
});

test('train: a batch whose activations JavaScript cannot allocate is a one-line OUT_OF_MEMORY error, not an internal one', () => {
  // 65,536 × 4,000 characters: the LSTM's gate activations alone are 67 billion floats, past a typed array's length
  const r = run(['train', corpusPath, '--out', join(tmp, 'hugebatch'), '--batch-size', '65536', '--seq-length', '4000', '--steps', '1',
    '--backend', 'ref', '--quiet']);
  assert.equal(r.code, 1, r.err);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  // (past this machine's memory, which is checked first; with more memory than 250 GiB, past a typed array's length)
  assert.match(r.err, /^charlm: (this run's arrays need more than the machine's|cannot allocate an array of) .*250\.0 GiB.* \(hint: lower --batch-size .*\) \[OUT_OF_MEMORY\]$/m);
});

test('train: a batch whose arrays each fit but together pass the machine\'s memory is refused before any is written', () => {
  // 4,096 × 1,024 positions of a 64-layer GPT: 4 GiB per activation, terabytes in all (each allocated untouched)
  const t0 = Date.now();
  const r = run(['train', corpusPath, '--out', join(tmp, 'hugeall'), '--family', 'gpt', '--n-layer', '64', '--n-head', '4',
    '--n-embd', '256', '--batch-size', '4096', '--block-size', '1024', '--seq-length', '1024', '--steps', '1', '--backend', 'ref', '--quiet']);
  assert.equal(r.code, 1, r.err);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, /^charlm: this run's arrays need more than the machine's [\d.]+ GiB of memory \([\d.]+ GiB made, 4\.0 GiB more asked for\) \(hint: lower --batch-size .*\) \[OUT_OF_MEMORY\]$/m);
  assert.ok(Date.now() - t0 < 60_000, 'refused without writing the arrays');
});

test('eval counts characters outside the vocabulary instead of crashing', () => {
  const other = join(tmp, 'other.txt');
  writeFileSync(other, 'To be — or not to be? ✓ 😀 whether');
  const e = run(['eval', model, other]);
  assert.equal(e.code, 0, e.err);
  const j = JSON.parse(e.out);
  assert.ok(j.unknown_chars >= 4);
  assert.ok(j.unknown_distinct.includes('😀'));
});

test('--temperature 0 is greedy and --unknown skip drops unknown prime characters', () => {
  const a = run(['sample', model, '--prime', 'To', '--length', '40', '--temperature', '0', '--seed', '1']);
  const b = run(['sample', model, '--prime', 'To', '--length', '40', '--temperature', '0', '--seed', '2']);
  assert.equal(a.out, b.out, 'greedy ignores the seed');
  const s = run(['sample', model, '--prime', 'To😀', '--length', '5', '--unknown', 'skip']);
  assert.equal(s.code, 0, s.err);
  assert.ok(s.out.startsWith('To') && !s.out.includes('😀'));
});

test('sample --precision bf16 runs the bf16 twin, repeatably; a bad --precision is a one-line error', () => {
  const args = ['sample', model, '--prime', 'To', '--length', '40', '--seed', '5', '--backend', 'ref', '--precision', 'bf16'];
  const a = run(args), b = run(args);
  assert.equal(a.code, 0, a.err);
  assert.ok(a.out.startsWith('To') && [...a.out].length === 2 + 40 + 1);
  assert.equal(a.out, b.out, 'same seed → same text at bf16');
  const bad = run(['sample', model, '--precision', 'fp16']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^charlm: --precision must be fp32 or bf16, got "fp16" \(hint: /);
  assert.equal(bad.err.trim().split('\n').length, 1);
});

const py = '/usr/bin/python3';
const noTorch = skipWithout('torch', spawnSync(py, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status !== 0 &&
  `${py} cannot import torch/numpy (Debian python3-torch not installed)`);
test('greedy continuation equals PyTorch loading the same checkpoint with the seed model', { skip: noTorch }, () => {
  const ours = run(['sample', model, '--prime', 'Whether', '--length', '200', '--temperature', '0']).out;
  const theirs = spawnSync(py, [join(ROOT, 'scripts', 'torch_check.py'), model, '--prime', 'Whether', '--length', '200', '--greedy'], { encoding: 'utf8' });
  assert.equal(theirs.status, 0, theirs.stderr);
  assert.equal(theirs.stdout, ours);
});

const BAD: [string, string[], RegExp][] = [
  ['missing corpus file', ['train', join(tmp, 'nope.txt')], /FILE_NOT_FOUND/],
  ['empty corpus', ['train', 'EMPTY'], /CORPUS_EMPTY/],
  ['invalid UTF-8', ['train', 'BADUTF8'], /byte offset 3/],
  ['too-short corpus', ['train', 'SHORT', '--seq-length', '100'], /CORPUS_TOO_SHORT/],
  ['unknown prime characters', ['sample', 'MODEL', '--prime', 'Zé'], /"Z".*\(Z\)|UNKNOWN_CHARS/],
  ['corrupt checkpoint', ['sample', 'CORRUPT'], /CHECKPOINT_CORRUPT/],
  ['a text file as checkpoint', ['info', 'CORPUS'], /CHECKPOINT_CORRUPT|CHECKPOINT_INVALID/],
  ['missing checkpoint', ['sample', join(tmp, 'nope.safetensors')], /FILE_NOT_FOUND/],
  ['bad flag value', ['train', 'CORPUS', '--hidden-size', 'big'], /BAD_CONFIG_VALUE/],
  ['unknown flag', ['train', 'CORPUS', '--hiden-size', '3'], /unknown option/],
  ['unknown preset', ['train', 'CORPUS', '--preset', 'huge'], /UNKNOWN_PRESET/],
  ['unknown config-file key', ['train', 'CORPUS', '--config', 'BADCONFIG'], /hidden_sise.*UNKNOWN_CONFIG_KEY/],
  ['bad temperature', ['sample', 'MODEL', '--temperature', 'hot'], /BAD_OPTION/],
  ['bad top-p', ['sample', 'MODEL', '--top-p', '0'], /BAD_OPTION/],
];
for (const [what, args, re] of BAD) {
  test(`bad input: ${what} → one line with a hint, non-zero exit, no stack trace`, () => {
    const files: Record<string, string> = {
      EMPTY: join(tmp, 'empty.txt'), BADUTF8: join(tmp, 'bad.txt'), SHORT: join(tmp, 'short.txt'), MODEL: model,
      CORRUPT: join(tmp, 'corrupt.safetensors'), CORPUS: corpusPath, BADCONFIG: join(tmp, 'bad.json'),
    };
    writeFileSync(files.EMPTY, '');
    writeFileSync(files.BADUTF8, Buffer.from([0x61, 0x62, 0x63, 0xc3, 0x28, 0x64]));
    writeFileSync(files.SHORT, 'short text');
    writeFileSync(files.CORRUPT, readFileSync(model).subarray(0, 300));
    writeFileSync(files.BADCONFIG, '{"hidden_sise": 3}');
    const r = run(args.map((a) => files[a] ?? a));
    assert.notEqual(r.code, 0);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, `one line on stderr, got:\n${r.err}`);
    assert.match(lines[0], /hint/);
    assert.match(lines[0], re);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  });
}

test('Ctrl-C (SIGINT) during training finishes the step, saves, and exits with 130', async () => {
  const { spawn } = await import('node:child_process');
  const out = join(tmp, 'sigint');
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'charlm.js'), 'train', corpusPath, '--out', out, '--embedding-dim', '8',
    '--hidden-size', '16', '--num-layers', '1', '--seq-length', '16', '--batch-size', '4', '--steps', '1000000', '--log-interval', '1',
    '--eval-interval', '0', '--backend', 'ref'], { env: { ...process.env, CHARLM_QUIET_NATIVE: '1' } });
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
    if (/step 20\//.test(err) && !child.killed) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 130, err.slice(-500));
  assert.match(err, /interrupted/);
  assert.ok(existsSync(join(out, 'last.safetensors')) && existsSync(join(out, 'state.safetensors')));
  const info = run(['info', join(out, 'last.safetensors'), '--json']);
  assert.ok(JSON.parse(info.out).training.steps >= 20);
});
