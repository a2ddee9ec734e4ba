// Importing PyTorch state_dicts (fixtures from test/fixtures/make_pth.py): charlm's logits and states match
// PyTorch's for zip and legacy .pth, LSTM/GRU/RNN, DDP names and storage offsets; every bad file is a one-line
// CharlmError naming the problem, and a pickle naming a dangerous global is refused without running anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importStateDict } from '../../src/interop/import.js';
import { unpickle } from '../../src/interop/pickle.js';
import { encodeSafetensors } from '../../src/model/checkpoint.js';
import { CharlmError } from '../../src/errors.js';
import { ROOT, diffs, toBatchMajor } from '../helpers.js';

const FIX = path.join(ROOT, 'test', 'fixtures', 'pth');
const TEXT = path.join(FIX, 'text.txt');
const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charlm-import-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function throwsCode(fn: () => unknown, code: string, ...mentions: string[]): CharlmError {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  assert.ok(caught instanceof CharlmError, `expected CharlmError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(!caught.message.includes('\n'), 'one line');
  for (const m of mentions) assert.ok(caught.message.includes(m), `"${caught.message}" should mention ${m}`);
  return caught;
}

function checkAgainstTorch(file: string, cell: 'lstm' | 'gru' | 'rnn'): void {
  const want = expected[cell];
  const { model, vocab, config } = importStateDict(path.join(FIX, file), { vocabFrom: TEXT });
  assert.equal(config.cell, cell);
  assert.equal(vocab.size, expected.V);
  const state = model.createState(want.B);
  const logits = toBatchMajor(model.forward(Int32Array.from(want.ids), want.B, want.T, state), want.B, want.T, expected.V);
  const d = diffs(logits, want.logits), dh = diffs(state.h, want.h_n);
  const dc = want.c_n ? diffs(state.c!, want.c_n).abs : 0;
  console.log(`${file}: ${cell} E${config.embeddingDim} H${config.hiddenSize} L${config.numLayers}: ` +
    `logits maxdiff ${d.abs.toExponential(2)}, h_n ${dh.abs.toExponential(2)}, c_n ${dc.toExponential(2)}`);
  assert.ok(d.abs <= 1e-5 && dh.abs <= 1e-5 && dc <= 1e-5);
}

test('seed .pth (torch.save zip) gives PyTorch logits', () => checkAgainstTorch('seed_lstm.pth', 'lstm'));
test('a deflated ZIP64 re-zip of it gives the same logits', () => checkAgainstTorch('seed_lstm_deflate64.pth', 'lstm'));
test('legacy torch.save format gives the same logits', () => checkAgainstTorch('seed_lstm_legacy.pth', 'lstm'));
test('GRU with a tensor at a storage offset', () => checkAgainstTorch('gru_offset.pth', 'gru'));
test('RNN saved from a DDP-wrapped model (module. prefix)', () => checkAgainstTorch('ddp_rnn.pth', 'rnn'));

test('a plain safetensors state_dict imports too', () => {
  const { model } = importStateDict(path.join(FIX, 'seed_lstm.pth'), { vocabFrom: TEXT });
  const tensors = model.params.entries.map((e) => ({ name: e.name, shape: e.shape, data: model.params.value(e.name) }));
  const file = path.join(tmp, 'sd.safetensors');
  fs.writeFileSync(file, encodeSafetensors(tensors, {}));
  const again = importStateDict(file, { vocabFrom: TEXT });
  assert.equal(again.format, 'safetensors');
  assert.equal(diffs(again.model.params.data, model.params.data).abs, 0);
});

test('forbidden globals are refused, nothing runs', () => {
  throwsCode(() => importStateDict(path.join(FIX, 'evil.pth'), { vocabFrom: TEXT }), 'PICKLE_FORBIDDEN', 'os.system');
  const enc = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
  throwsCode(() => unpickle(enc('\x80\x02cbuiltins\neval\nX\x01\x00\x00\x001\x85R.'), 0, { source: 'p' }), 'PICKLE_FORBIDDEN', 'builtins.eval');
  // protocol-4 STACK_GLOBAL spelling of subprocess.Popen
  throwsCode(() => unpickle(enc('\x80\x04\x8c\x0asubprocess\x8c\x05Popen\x93.'), 0, { source: 'p' }), 'PICKLE_FORBIDDEN', 'subprocess.Popen');
  throwsCode(() => unpickle(enc('\x80\x02c__main__\nCharLSTM\n.'), 0, { source: 'p' }), 'PICKLE_FORBIDDEN', '__main__.CharLSTM');
  throwsCode(() => unpickle(enc('\x80\x02\x81.'), 0, { source: 'p' }), 'PICKLE_UNSUPPORTED', '0x81');
});

test('missing, misshaped, float64 and non-contiguous tensors are named', () => {
  const imp = (f: string) => () => importStateDict(path.join(FIX, f), { vocabFrom: TEXT });
  throwsCode(imp('missing_tensor.pth'), 'IMPORT_MISSING_TENSOR', 'fc.bias');
  throwsCode(imp('misshaped.pth'), 'IMPORT_SHAPE', 'lstm.bias_hh_l0', '[15]', '[16]');
  throwsCode(imp('float64.pth'), 'PTH_UNSUPPORTED_DTYPE', 'float64');
  throwsCode(imp('noncontiguous.pth'), 'PTH_NONCONTIGUOUS', 'fc.weight');
});

test('the vocabulary must come from the exact training text', () => {
  const pth = path.join(FIX, 'seed_lstm.pth');
  throwsCode(() => importStateDict(pth, {}), 'VOCAB_REQUIRED', '--vocab-from', 'never saved its vocabulary');
  const other = path.join(tmp, 'other.txt');
  fs.writeFileSync(other, fs.readFileSync(TEXT, 'utf8') + 'Z');
  throwsCode(() => importStateDict(pth, { vocabFrom: other }), 'VOCAB_MISMATCH',
    `${expected.V + 1} distinct characters`, `${expected.V} rows`, '--vocab-from must be the exact training text');
  // Python's text mode reads \r\n as \n, so the Windows copy of the training text rebuilds the same vocabulary
  const crlf = path.join(tmp, 'crlf.txt');
  fs.writeFileSync(crlf, fs.readFileSync(TEXT, 'utf8').replace(/\n/g, '\r\n'));
  assert.deepEqual(importStateDict(pth, { vocabFrom: crlf }).vocab.chars, importStateDict(pth, { vocabFrom: TEXT }).vocab.chars);
});

test('truncated or damaged archives are CharlmErrors, never crashes or hangs', () => {
  for (const name of ['seed_lstm.pth', 'seed_lstm_legacy.pth']) {
    const bytes = fs.readFileSync(path.join(FIX, name));
    const file = path.join(tmp, `cut-${name}`);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length >> 1));
    throwsCode(() => importStateDict(file, { vocabFrom: TEXT }), name.includes('legacy') ? 'PTH_INVALID' : 'ZIP_CORRUPT');
    let n = 0;
    for (let cut = 1; cut < bytes.length; cut += 53) { // every truncation point, coarsely
      fs.writeFileSync(file, bytes.subarray(0, cut));
      assert.throws(() => importStateDict(file, { vocabFrom: TEXT }), CharlmError, `cut at ${cut}`);
      n++;
    }
    let flips = 0;
    for (let at = 0; at < bytes.length; at += 13) { // single corrupted bytes: an error or a (damaged) model
      const bad = Buffer.from(bytes);
      bad[at] ^= 0xa5;
      fs.writeFileSync(file, bad);
      try { importStateDict(file, { vocabFrom: TEXT }); } catch (e) {
        assert.ok(e instanceof CharlmError, `flip at ${at}: ${String(e)}`);
        flips++;
      }
    }
    console.log(`${name}: ${n} truncations all CharlmError; ${flips} byte flips rejected cleanly`);
  }
});
