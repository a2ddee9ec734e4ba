// The `charlm import` and `charlm export` commands through commander: files written, one summary line each,
// and user mistakes (no --vocab-from, unknown format) surface as CharlmErrors for main to print.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { register as registerImport, defaultImportOut } from '../../src/cli/import.js';
import { register as registerExport } from '../../src/cli/export.js';
import { loadModelFile } from '../../src/model/io.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { CharlmError } from '../../src/errors.js';
import { ROOT } from '../helpers.js';

const FIX = path.join(ROOT, 'test', 'fixtures', 'pth');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charlm-cli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function program(): Command {
  const p = new Command().exitOverride();
  registerImport(p);
  registerExport(p);
  return p;
}

test('import then export', async () => {
  const ckpt = path.join(tmp, 'seed.safetensors');
  await program().parseAsync(['import', path.join(FIX, 'seed_lstm.pth'), '--vocab-from', path.join(FIX, 'text.txt'), '--out', ckpt], { from: 'user' });
  const lm = loadModelFile(ckpt, refBackend);
  assert.equal(lm.config.hiddenSize, 12);
  assert.equal(lm.metadata.imported_from, 'seed_lstm.pth');
  await program().parseAsync(['export', ckpt, '--format', 'onnx'], { from: 'user' });
  await program().parseAsync(['export', ckpt, '--format', 'onnx', '--sequence', '--out', path.join(tmp, 'seq.onnx')], { from: 'user' });
  assert.ok(fs.statSync(path.join(tmp, 'seed.onnx')).size > 1000);
  assert.ok(fs.statSync(path.join(tmp, 'seq.onnx')).size > 1000);
  assert.equal(defaultImportOut('a/m.pth'), path.join('a', 'm.safetensors'));
  assert.equal(defaultImportOut('m.safetensors'), 'm.charlm.safetensors');
});

test('user mistakes are CharlmErrors', async () => {
  await assert.rejects(program().parseAsync(['import', path.join(FIX, 'seed_lstm.pth')], { from: 'user' }),
    (e: unknown) => e instanceof CharlmError && e.code === 'VOCAB_REQUIRED');
  await assert.rejects(program().parseAsync(['export', 'x.safetensors', '--format', 'tflite'], { from: 'user' }),
    (e: unknown) => e instanceof CharlmError && e.code === 'BAD_OPTION');
});
