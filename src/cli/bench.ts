// `charlm bench`: times the model the way ../shared/reference/pytorch_bench.py times PyTorch (same keys):
// training chars/s (forward + backward + Adam on random data), sampling chars/s at batch 1 and batch N
// (one character per step, temperature 0.8), peak resident memory. Prints one JSON line.
import type { Command } from 'commander';
import { resolveConfig } from '../config.js';
import { createModel, family } from '../model/registry.js';
import type { LanguageModel } from '../model/model.js';
import { Adam } from '../train/optimizer.js';
import { Rng } from '../util/rng.js';
import { Picker } from '../sample/pick.js';
import type { Backend } from '../kernels/backend.js';
import { backendFor, checkBackendName, parseNumber } from './common.js';
import { CharlmError } from '../errors.js';

export interface BenchOptions { preset: string; vocab: number; steps: number; sampleSteps: number; sampleBatch: number; cell?: 'lstm' | 'gru' | 'rnn'; hidden?: number }

/** The preset's model (no dropout: the timed work is the model's, not the mask draws) and its training config. */
function benchModel(be: Backend, o: BenchOptions): { m: LanguageModel; cfg: ReturnType<typeof resolveConfig> } {
  const cfg = resolveConfig({ preset: o.preset, flags: { ...(o.cell ? { cell: o.cell } : {}), ...(o.hidden ? { hiddenSize: o.hidden } : {}) } });
  const m = createModel(family(cfg.family).fromTrainConfig({ ...cfg, dropout: 0, embedDropout: 0 }, o.vocab), be);
  return { m, cfg };
}

export function benchTrain(be: Backend, o: BenchOptions): number {
  const { m, cfg } = benchModel(be, o);
  const B = cfg.batchSize, T = cfg.seqLength;
  const rng = new Rng(0);
  m.initialize(rng);
  const x = Int32Array.from({ length: B * T }, () => rng.int(o.vocab)), y = Int32Array.from({ length: B * T }, () => rng.int(o.vocab));
  const adam = new Adam(m.params.size);
  const step = () => { m.forwardBackward(x, y, B, T, null); adam.update(be, m.params.data, m.params.grad, 1e-3, 0, false); m.weightsChanged(); };
  step();
  const t = performance.now();
  for (let i = 0; i < o.steps; i++) step();
  return (B * T * o.steps) / ((performance.now() - t) / 1000);
}

export function benchSample(be: Backend, o: BenchOptions, batch: number): number {
  const { m } = benchModel(be, o);
  const rng = new Rng(1);
  m.initialize(rng);
  const state = m.createState(batch), ids = Int32Array.from({ length: batch }, () => rng.int(o.vocab));
  const picker = new Picker(o.vocab), opts = { temperature: 0.8, topK: 0, topP: 1 };
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const logits = m.step(ids, state);
      for (let b = 0; b < batch; b++) ids[b] = picker.pick(logits, b * o.vocab, opts, rng);
    }
  };
  run(10);
  const t = performance.now();
  run(o.sampleSteps);
  return (batch * o.sampleSteps) / ((performance.now() - t) / 1000);
}

export function register(program: Command): void {
  program.command('bench')
    .description('measure training and sampling speed (same JSON keys as the PyTorch baseline script)')
    .option('--preset <name>', 'model shapes to time', 'seed')
    .option('--backend <name>', 'auto | native | ref', checkBackendName, 'auto')
    .option('--precision <p>', 'fp32 | bf16', 'fp32')
    .option('--threads <n>', 'native worker threads (default: all cores)', parseNumber('threads', true))
    .option('--cell <cell>', 'lstm | gru | rnn (default: the preset\'s)')
    .option('--hidden <n>', 'hidden size override', parseNumber('hidden', true))
    .option('--vocab <n>', 'vocabulary size', parseNumber('vocab', true), 65)
    .option('--steps <n>', 'timed training steps', parseNumber('steps', true), 5)
    .option('--sample-steps <n>', 'timed sampling steps', parseNumber('sample-steps', true), 200)
    .option('--sample-batch <n>', 'the batched sampling size', parseNumber('sample-batch', true), 32)
    .option('--json', 'print only the JSON line (the default output is the JSON line too)')
    .action(async (o: Record<string, any>) => {
      if (o.precision !== 'fp32' && o.precision !== 'bf16') throw new CharlmError('BAD_OPTION', `--precision must be fp32 or bf16, got "${o.precision}"`, 'use --precision fp32');
      const be = await backendFor(o.backend, o.threads, o.precision);
      const bo: BenchOptions = { preset: o.preset, vocab: o.vocab, steps: o.steps, sampleSteps: o.sampleSteps, sampleBatch: o.sampleBatch, cell: o.cell, hidden: o.hidden };
      const train = benchTrain(be, bo);
      const s1 = benchSample(be, bo, 1);
      const sN = benchSample(be, bo, o.sampleBatch);
      const threads = (be as unknown as { threads?: number }).threads ?? 1;
      console.log(JSON.stringify({
        engine: `charlm ${be.name}`, backend: be.name, precision: o.precision, threads,
        isa: (be as unknown as { isa?: string }).isa,
        train_chars_per_s: Math.round(train), sample_chars_per_s_b1: Math.round(s1), [`sample_chars_per_s_b${o.sampleBatch}`]: Math.round(sN),
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        config: { preset: o.preset, vocab: o.vocab, steps: o.steps, cell: o.cell ?? null, hidden: o.hidden ?? null },
      }));
    });
}
