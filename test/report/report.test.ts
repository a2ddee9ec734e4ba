// The run report: renders from synthetic metrics (with and without evaluations, single and non-finite records),
// escapes sample text, references nothing on the network, reads a run folder with its checkpoint metadata, and
// `charlm report` errors are one line with a hint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import { CharlmError } from '../../src/errors.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { Vocab } from '../../src/data/vocab.js';
import { CharModel } from '../../src/model/charmodel.js';
import { saveModel } from '../../src/model/io.js';
import { Rng } from '../../src/util/rng.js';
import type { MetricRecord } from '../../src/train/metrics.js';
import { renderReport, writeReport, parseMetrics } from '../../src/report/index.js';
import { buildTimeline } from '../../src/report/timeline.js';
import { niceTicks } from '../../src/report/svg.js';

const tmp = mkdtempSync(join(tmpdir(), 'charlm-report-'));

function synthetic(withEval: boolean): MetricRecord[] {
  const out: MetricRecord[] = [];
  for (let step = 10; step <= 200; step += 10) {
    out.push({ type: 'train', step, epoch: step / 100, loss: 4 - Math.log(step) / 3, lr: 0.002 * (1 - step / 400),
               chars_per_s: 20000 + (step % 30) * 100, elapsed_s: step * 0.3, grad_norm: 1.2 });
    if (withEval && step % 50 === 0) {
      out.push({ type: 'eval', step, epoch: step / 100, val_loss: 4.1 - Math.log(step) / 3, val_bpc: (4.1 - Math.log(step) / 3) / Math.LN2,
                 train_loss: 4 - Math.log(step) / 3, elapsed_s: step * 0.3 + 0.1, best: true,
                 sample: step === 100 ? 'ROMEO: <script>alert("x")</script> & more' : `sample at ${step}\nsecond line` });
    }
  }
  return out;
}

const input = (metrics: MetricRecord[]) => ({ runDir: '/runs/demo', metrics, summary: null, config: { cell: 'lstm', steps: 200 }, modelInfo: null });

function assertOffline(html: string): void {
  assert.doesNotMatch(html, /https?:\/\//i, 'no http(s) references');
  assert.doesNotMatch(html, /\b(src|href)\s*=/i, 'no external resources');
  assert.doesNotMatch(html, /url\((?!#)|@import/i, 'no CSS fetches (url(#id) is an in-page reference)');
  assert.doesNotMatch(html, /<script/i, 'no scripts at all');
}

test('renders a run with evaluations: charts, key numbers, escaped samples, nothing fetched', () => {
  const html = renderReport(input(synthetic(true)));
  assert.match(html, /^<!DOCTYPE html>/);
  assert.equal((html.match(/<svg/g) ?? []).length, 4, 'four charts');
  assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; more/, 'sample is escaped');
  assertOffline(html);
  assert.match(html, /report — demo/);
  assert.match(html, /<pre>sample at 50\nsecond line<\/pre>/);
  assert.match(html, /step 200/);
  assert.match(html, /validation/, 'legend names the validation series');
  assert.doesNotMatch(html, /NaN|undefined/);
  assert.equal(renderReport(input(synthetic(true))), html, 'same input, same bytes');
});

test('renders a run without validation and degenerate runs (single record, NaN/null values, empty)', () => {
  const noVal = renderReport(input(synthetic(false)));
  assert.match(noVal, /no validation/);
  assert.match(noVal, /No evaluations were recorded/);
  assert.match(noVal, /<svg/);
  assertOffline(noVal);

  const one = renderReport(input([{ type: 'train', step: 1, epoch: 0, loss: 4.2, lr: 0.001, chars_per_s: 1000, elapsed_s: 0.5 }]));
  assert.match(one, /<circle/, 'a single point is drawn as a dot');
  const bad = renderReport(input([
    { type: 'train', step: 1, epoch: 0, loss: NaN, lr: 0.001, chars_per_s: null as unknown as number, elapsed_s: 0.5 },
    { type: 'train', step: 2, epoch: 0, loss: 3, lr: null as unknown as number, chars_per_s: 10, elapsed_s: 1 },
    { type: 'eval', step: 2, epoch: 0, val_loss: null as unknown as number, val_bpc: NaN, train_loss: null, elapsed_s: 1, best: false },
  ]));
  const empty = renderReport({ runDir: 'x', metrics: [], summary: null, config: null, modelInfo: null });
  for (const html of [one, bad, empty]) {
    assert.doesNotMatch(html, /NaN|undefined|Infinity/);
    assertOffline(html);
  }
  assert.match(empty, /no data recorded/);
});

test('a resumed run: steps redone after a crash are replaced and wall time keeps counting', () => {
  const tr = (step: number, t: number, loss = 1): MetricRecord => ({ type: 'train', step, epoch: 0, loss, lr: 1, chars_per_s: 1, elapsed_s: t });
  const tl = buildTimeline([tr(10, 5), tr(20, 10), tr(30, 15, 9), tr(30, 2, 2), tr(40, 4)]);
  assert.deepEqual(tl.train.map((r) => [r.step, r.elapsed_s, r.loss]), [[10, 5, 1], [20, 10, 1], [30, 17, 2], [40, 19, 1]]);
  assert.equal(tl.resumes, 1);
  assert.deepEqual(niceTicks(0, 300, 6), [0, 50, 100, 150, 200, 250, 300]);
});

test('writeReport reads metrics.jsonl and checkpoint metadata and writes report.html atomically', () => {
  const dir = join(tmp, 'run');
  mkdirSync(dir);
  writeFileSync(join(dir, 'metrics.jsonl'), synthetic(true).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const vocab = Vocab.fromText('abcdefgh \n');
  const model = new CharModel({ cell: 'gru', vocabSize: vocab.size, embeddingDim: 4, hiddenSize: 8, numLayers: 1, dropout: 0, embedDropout: 0 }, refBackend);
  model.initialize(new Rng(1));
  saveModel(join(dir, 'last.safetensors'), model, vocab, { corpus: 'tiny-corpus', steps: 200, epochs: 2, charsSeen: 5000, trainLoss: 2.2,
    valLoss: 2.3, bestValLoss: 2.3, backend: 'ref', history: [], trainConfig: { cell: 'gru', hiddenSize: 8, learningRate: 0.002 } });
  const out = writeReport(dir);
  assert.equal(out, join(dir, 'report.html'));
  const html = readFileSync(out, 'utf8');
  assert.match(html, /tiny-corpus/);
  assert.match(html, /GRU\(8\) × 1/);
  assert.match(html, new RegExp(`>${model.params.size.toLocaleString('en-US')}<`), 'parameter count');
  assert.match(html, /learningRate<\/td><td class="v">0.002/);
  const custom = writeReport(dir, join(tmp, 'elsewhere', 'r.html'));
  assert.ok(existsSync(custom));
});

test('user errors: missing folder, no metrics.jsonl, corrupt line (named); a torn last line is skipped', () => {
  const code = (f: () => unknown) => { try { f(); } catch (e) { assert.ok(e instanceof CharlmError && e.hint); return `${e.code}: ${e.message}`; } return 'ok'; };
  assert.match(code(() => writeReport(join(tmp, 'nope'))), /^RUN_NOT_FOUND/);
  mkdirSync(join(tmp, 'empty'));
  assert.match(code(() => writeReport(join(tmp, 'empty'))), /^METRICS_MISSING/);
  const good = JSON.stringify(synthetic(false)[0]);
  assert.match(code(() => parseMetrics(`${good}\n{"type":"train",\n${good}\n`, 'm.jsonl')), /^METRICS_INVALID: m\.jsonl line 2 /);
  assert.match(code(() => parseMetrics(`${good}\n[1,2]\n`, 'm.jsonl')), /line 2 is not a charlm metrics record/);
  assert.equal(parseMetrics(`${good}\n${good}\n{"type":"tr`, 'm.jsonl').length, 2);
  assert.equal(parseMetrics('{"type":"train","step":3,"loss":NaN,"lr":1}\n', 'm')[0].type, 'train', 'bare NaN reads as null');
});

test('charlm report: prints the path; errors are one line with a hint, no stack trace', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'charlm.js'), 'report', ...args], { encoding: 'utf8', timeout: 60_000 });
  const ok = run([join(tmp, 'run'), '--out', join(tmp, 'cli.html')]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), join(tmp, 'cli.html'));
  const dir = join(tmp, 'corrupt');
  mkdirSync(dir);
  writeFileSync(join(dir, 'metrics.jsonl'), '{"type":"train","step":1}\nnot json\n');
  for (const [args, re] of [[[join(tmp, 'missing')], /does not exist/], [[join(tmp, 'empty')], /no metrics\.jsonl/], [[dir], /line 2 is not valid JSON/]] as const) {
    const r = run([...args]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /\(hint: /);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
