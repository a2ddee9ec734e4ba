// Bigger data from the command line: train and eval on folders, several paths and .gz files with globs, the
// separator flag with shell escapes, --val-files, --max-vocab, --resume finding its corpus again, and
// `charlm cache ls|clear` on a corpus large enough to be cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from '../helpers.js';
import { loadModelFile } from '../../src/model/io.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { unescapeSeparator } from '../../src/cli/train.js';

const tmp = mkdtempSync(join(tmpdir(), 'charlm-datacli-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const cacheDir = join(tmp, 'cache');
const run = (args: string[], cwd = ROOT) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'charlm.js'), ...args],
                      { encoding: 'utf8', cwd, env: { ...process.env, CHARLM_QUIET_NATIVE: '1', CHARLM_CACHE_DIR: cacheDir }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const SMALL = ['--embedding-dim', '8', '--hidden-size', '16', '--num-layers', '1', '--seq-length', '16', '--batch-size', '4',
               '--eval-interval', '0', '--eval-chars', '500', '--sample-chars', '0', '--backend', 'ref'];

const folder = join(tmp, 'books');
mkdirSync(join(folder, 'part2'), { recursive: true });
for (let i = 0; i < 5; i++) writeFileSync(join(folder, `ch${i}.txt`), `Chapter ${i}. It was a dark and stormy night; 春眠不覺曉.\n`.repeat(30));
writeFileSync(join(folder, 'part2', 'ch9.txt.gz'), gzipSync(Buffer.from('The end, at last. 😀\n'.repeat(30))));
writeFileSync(join(folder, 'README.md'), 'not part of the corpus');

test('separator escapes', () => {
  assert.equal(unescapeSeparator('\\n\\n'), '\n\n');
  assert.equal(unescapeSeparator('\\t|\\\\n'), '\t|\\n');
  assert.equal(unescapeSeparator('<eot>'), '<eot>');
});

test('train on a folder (.gz inside, --exclude, --val-files, --separator), resume without naming the corpus, eval it', () => {
  const out = join(tmp, 'run');
  const r = run(['train', folder, '--exclude', '*.md', '--val-files', '2', '--separator', '\\n\\n', '--steps', '4', ...SMALL, '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /"separator":"\\n\\n"/);
  assert.match(r.err, /corpus: 6 files \(1 gzipped\)/);
  assert.match(r.err, /validation files \(2\): .*ch1\.txt, .*ch4\.txt/);
  const lm = loadModelFile(join(out, 'last.safetensors'), refBackend);
  assert.equal((lm.training?.trainConfig as Record<string, unknown>).separator, '\n\n');
  assert.ok(lm.vocab.indexOf('😀') >= 0 && lm.vocab.indexOf('#') < 0);

  const again = run(['train', '--resume', out, '--steps', '6', '--quiet'], tmp); // another working folder
  assert.equal(again.code, 0, again.err);
  assert.equal(loadModelFile(join(out, 'last.safetensors'), refBackend).training?.steps, 6);

  const e = run(['eval', join(out, 'last.safetensors'), folder, '--include', '*.txt', '--backend', 'ref']);
  assert.equal(e.code, 0, e.err);
  const j = JSON.parse(e.out);
  assert.equal(j.files, 5);
  assert.equal(j.unknown_chars, 0);
  assert.ok(Number.isFinite(j.loss_nats_per_char));
});

test('--resume keeps the saved run\'s eval and log intervals unless they are given again', () => {
  const out = join(tmp, 'intervals');
  const r = run(['train', folder, '--steps', '4', ...SMALL, '--eval-interval', '2', '--log-interval', '3', '--eval-chars', '200', '--out', out]);
  assert.equal(r.code, 0, r.err);
  const again = run(['train', '--resume', out, '--steps', '8'], tmp);
  assert.equal(again.code, 0, again.err);
  const shown = JSON.parse(/^config (.*)$/m.exec(again.out)![1]);
  assert.equal(shown.evalInterval, 2, 'a left-out --eval-interval keeps the saved value, not the default');
  assert.equal(shown.logInterval, 3);
  assert.equal(shown.steps, 8);
  assert.equal(shown.embeddingDim, 8, 'the printed config is the saved run\'s');
  const evals = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((m) => m.type === 'eval').map((m) => m.step);
  assert.deepEqual(evals, [2, 4, 6, 8]);
  const third = run(['train', '--resume', out, '--steps', '9', '--eval-interval', '9', '--quiet'], tmp);
  assert.equal(third.code, 0, third.err);
  assert.equal(loadModelFile(join(out, 'last.safetensors'), refBackend).training?.steps, 9);
});

test('--max-vocab: the unknown symbol is reported, recorded and never sampled', () => {
  const out = join(tmp, 'maxv');
  const r = run(['train', folder, '--max-vocab', '12', '--steps', '4', ...SMALL, '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /rare characters: [\d,]+ distinct \([\d,]+ occurrences\) map to the unknown symbol/);
  const lm = loadModelFile(join(out, 'last.safetensors'), refBackend);
  assert.equal(lm.vocab.size, 13);
  assert.equal(lm.vocab.unknown, '\uFFFD');
  const s = run(['sample', join(out, 'last.safetensors'), '--prime', '春眠', '--length', '300', '--temperature', '1.5', '--backend', 'ref']);
  assert.equal(s.code, 0, s.err);
  assert.ok(!s.out.slice(2).includes('\uFFFD'));
  // eval scores rare characters as the unknown symbol: none are left unscored.
  const e = run(['eval', join(out, 'last.safetensors'), folder, '--backend', 'ref']);
  assert.equal(e.code, 0, e.err);
  const j = JSON.parse(e.out);
  assert.equal(j.unknown_chars, 0);
  assert.ok(j.mapped_to_unknown_symbol > 0);
  assert.ok(j.chars_scored > 0.99 * j.chars_total, 'rare characters are scored too');
});

test('bad inputs are one-line errors', () => {
  const a = run(['train', join(tmp, 'nope')]);
  assert.equal(a.code, 1);
  assert.match(a.err, /FILE_NOT_FOUND|no such file, folder or dataset/);
  const b = run(['train', folder, '--include', '*.nothing', ...SMALL]);
  assert.match(b.err, /no files in folder .* match --include\/--exclude/);
  const c = run(['train', join(folder, 'ch0.txt'), '--val-files', '1', ...SMALL, '--out', join(tmp, 'x')]);
  assert.match(c.err, /--val-files 1 needs more than 1 files/);
  for (const x of [a, b, c]) assert.ok(!/\n\s+at /.test(x.err), 'no stack trace');
});

test('cache ls|clear: a corpus of 16 MB or more is cached on the first run and read back on the second', () => {
  const big = join(tmp, 'big.txt');
  writeFileSync(big, 'All work and no play makes Jack a dull boy.\n'.repeat(400_000)); // 17.6 MB
  const args = ['train', big, '--steps', '1', ...SMALL, '--out', join(tmp, 'bigrun'), '--force']; // --force: the same folder again
  const first = run(args);
  assert.equal(first.code, 0, first.err);
  assert.match(first.err, /encoded in .*, cached/);
  const ls = run(['cache', 'ls']);
  assert.match(ls.out, /1 entry/);
  assert.match(ls.out, /17,600,000 tokens/);
  const second = run(args);
  assert.match(second.err, /read from the token cache/);
  assert.match(run([...args, '--no-cache']).err, /encoded in/);
  assert.match(run(['cache', 'clear']).out, /removed 1 entry/);
  assert.match(run(['cache', 'ls']).out, /0 entries/);
});
