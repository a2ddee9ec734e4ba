// `charlm bench`: times the model the way ../shared/reference/pytorch_bench.py (rnn) and bench/nanogpt_bench.py (gpt)
// time PyTorch (same keys): training chars/s (forward + backward + Adam/AdamW on random data, micro-batches when
// --micro-batch is set), sampling chars/s at batch 1 and batch N (one character per step, temperature 0.8; the gpt
// family starts from a full block_size context and keeps sliding, the steady state of long generations), peak
// resident memory. Prints one JSON line. Model shapes come from --preset and the model flags.
import type { Command } from 'commander';
import { resolveConfig } from '../config.js';
import { createModel, family } from '../model/registry.js';
import type { LanguageModel, ModelState } from '../model/model.js';
import { Adam } from '../train/optimizer.js';
import { Rng } from '../util/rng.js';
import { Picker } from '../sample/pick.js';
import type { Backend } from '../kernels/backend.js';
import { backendFor, checkBackendName, parseNumber } from './common.js';
import { CharlmError } from '../errors.js';

/** Model-shape flags bench accepts on top of --preset (TrainConfig keys). */
export interface BenchShape {
  family?: 'rnn' | 'gpt'; nLayer?: number; nHead?: number; nEmbd?: number; blockSize?: number; seqLength?: number;
  batchSize?: number; microBatch?: number;
}
export interface BenchOptions {
  preset: string; vocab: number; steps: number; sampleSteps: number; sampleBatch: number; cell?: 'lstm' | 'gru' | 'rnn';
  hidden?: number; shape?: BenchShape;
}

/** The preset's model (no dropout: the timed work is the model's, not the mask draws) and its training config. */
function benchModel(be: Backend, o: BenchOptions): { m: LanguageModel; cfg: ReturnType<typeof resolveConfig> } {
  const cfg = resolveConfig({ preset: o.preset, flags: { ...(o.cell ? { cell: o.cell } : {}), ...(o.hidden ? { hiddenSize: o.hidden } : {}), ...o.shape } });
  const m = createModel(family(cfg.family).fromTrainConfig({ ...cfg, dropout: 0, embedDropout: 0 }, o.vocab), be);
  return { m, cfg };
}

export function benchTrain(be: Backend, o: BenchOptions): number {
  const { m, cfg } = benchModel(be, o);
  const B = cfg.batchSize, T = cfg.seqLength, micro = cfg.microBatch > 0 && cfg.microBatch < B ? cfg.microBatch : B;
  const rng = new Rng(0);
  m.initialize(rng);
  const x = Int32Array.from({ length: B * T }, () => rng.int(o.vocab)), y = Int32Array.from({ length: B * T }, () => rng.int(o.vocab));
  // AdamW with the family's decay groups for gpt (nanoGPT's configure_optimizers), plain Adam for rnn as before.
  const gpt = cfg.family === 'gpt';
  const adam = gpt ? new Adam(be, m.params.size, m.params.entries.map((e) => m.decays(e.name)), m.params.entries, 0.9, 0.99)
    : new Adam(be, m.params.size);
  const parts = Array.from({ length: Math.ceil(B / micro) }, (_, i) => {
    const r0 = i * micro, r1 = Math.min(B, r0 + micro);
    return { x: x.subarray(r0 * T, r1 * T), y: y.subarray(r0 * T, r1 * T), n: r1 - r0 };
  });
  const step = () => {
    if (parts.length === 1) m.forwardBackward(x, y, B, T, null);
    else parts.forEach((p, i) => m.forwardBackward(p.x, p.y, p.n, T, null, undefined, { accumulate: i > 0, normalizer: B * T }));
    adam.update(be, m.params.data, m.params.grad, 1e-3, gpt ? 0.1 : 0, gpt);
    m.weightsChanged();
  };
  step();
  settle(be);
  const t = performance.now();
  for (let i = 0; i < o.steps; i++) step();
  settle(be);
  return (B * T * o.steps) / ((performance.now() - t) / 1000);
}

/**
 * Waits for a backend that queues work (webgpu: Backend.sync) to finish it: after the warm-up, so the timed steps do
 * not pay for compiling the kernels the warm-up queued (on an H200 that had cut shakespeare-gpt's figure to a third),
 * and after the timed steps, so their last one's work is inside the time (as torch.cuda.synchronize does in the
 * PyTorch benches).
 */
function settle(be: Backend): void {
  be.sync?.();
}

const SAMPLE_OPTS = { temperature: 0.8, topK: 0, topP: 1 };

/**
 * n sampling steps of ids.length rows (the loop `charlm bench` times): one model.step, then every row's next
 * character at temperature 0.8 in one pickRows call, fed back as the next ids.
 */
export function sampleSteps(m: LanguageModel, picker: Picker, rng: Rng, ids: Int32Array, state: ModelState, n: number): void {
  const B = ids.length;
  for (let i = 0; i < n; i++) {
    const logits = m.step(ids, state);
    for (let b = 0; b < B; b++) picker.setRow(b, SAMPLE_OPTS, rng);
    picker.pickRows(ids, logits, B);
  }
}

export function benchSample(be: Backend, o: BenchOptions, batch: number): number {
  const { m, cfg } = benchModel(be, o);
  const rng = new Rng(1);
  m.initialize(rng);
  const state = m.createState(batch), ids = Int32Array.from({ length: batch }, () => rng.int(o.vocab));
  const picker = new Picker(o.vocab, [], be);
  const run = (n: number) => sampleSteps(m, picker, rng, ids, state, n);
  let steps = o.sampleSteps;
  if (cfg.family === 'gpt') {
    // Start from a full context (block_size characters) and time at least one whole slide cycle, so the figure is
    // the steady state of a long generation at context block_size, slides included.
    const S = cfg.blockSize, prime = Int32Array.from({ length: batch * S }, () => rng.int(o.vocab));
    m.prime(prime, batch, S, state);
    steps = Math.max(steps, S);
    run(2);   // the decode step's kernels compiled (and, on a GPU, its SGEMM shapes timed: webgpu/tuner.ts) untimed
  } else run(10);
  settle(be);
  const t = performance.now();
  run(steps);
  settle(be);
  return (batch * steps) / ((performance.now() - t) / 1000);
}

export function register(program: Command): void {
  program.command('bench')
    .description('measure training and sampling speed (same JSON keys as the PyTorch baseline script)')
    .option('--preset <name>', 'model shapes to time', 'seed')
    .option('--backend <name>', 'auto | native | wasm | ref | webgpu', checkBackendName, 'auto')
    .option('--precision <p>', 'fp32 | bf16', 'fp32')
    .option('--threads <n>', 'native worker threads (default: all cores)', parseNumber('threads', true))
    .option('--cell <cell>', 'lstm | gru | rnn (default: the preset\'s)')
    .option('--hidden <n>', 'hidden size override', parseNumber('hidden', true))
    .option('--family <f>', 'rnn | gpt (default: the preset\'s)')
    .option('--n-layer <n>', 'gpt layers', parseNumber('n-layer', true))
    .option('--n-head <n>', 'gpt heads', parseNumber('n-head', true))
    .option('--n-embd <n>', 'gpt width', parseNumber('n-embd', true))
    .option('--block-size <n>', 'gpt context', parseNumber('block-size', true))
    .option('--seq-length <n>', 'training window (gpt: usually the block size)', parseNumber('seq-length', true))
    .option('--batch-size <n>', 'training batch', parseNumber('batch-size', true))
    .option('--micro-batch <n>', 'rows per forward/backward pass (same gradient, less memory)', parseNumber('micro-batch', true))
    .option('--vocab <n>', 'vocabulary size', parseNumber('vocab', true), 65)
    .option('--steps <n>', 'timed training steps', parseNumber('steps', true), 5)
    .option('--sample-steps <n>', 'timed sampling steps', parseNumber('sample-steps', true), 200)
    .option('--sample-batch <n>', 'the batched sampling size', parseNumber('sample-batch', true), 32)
    .option('--json', 'print only the JSON line (the default output is the JSON line too)')
    .action(async (o: Record<string, any>) => {
      if (o.precision !== 'fp32' && o.precision !== 'bf16') throw new CharlmError('BAD_OPTION', `--precision must be fp32 or bf16, got "${o.precision}"`, 'use --precision fp32');
      const be = await backendFor(o.backend, o.threads, o.precision);
      const shape: BenchShape = { family: o.family, nLayer: o.nLayer, nHead: o.nHead, nEmbd: o.nEmbd, blockSize: o.blockSize,
                                  seqLength: o.seqLength, batchSize: o.batchSize, microBatch: o.microBatch };
      const bo: BenchOptions = { preset: o.preset, vocab: o.vocab, steps: o.steps, sampleSteps: o.sampleSteps, sampleBatch: o.sampleBatch, cell: o.cell, hidden: o.hidden, shape };
      const cfg = resolveConfig({ preset: o.preset, flags: { ...shape } });
      const train = benchTrain(be, bo);
      const s1 = benchSample(be, bo, 1);
      const sN = benchSample(be, bo, o.sampleBatch);
      const threads = (be as unknown as { threads?: number }).threads ?? 1;
      console.log(JSON.stringify({
        engine: `charlm ${be.name}`, backend: be.name, precision: o.precision, threads,
        isa: (be as unknown as { isa?: string; simd?: string }).isa ?? (be as unknown as { simd?: string }).simd,
        train_chars_per_s: Math.round(train), sample_chars_per_s_b1: Math.round(s1), [`sample_chars_per_s_b${o.sampleBatch}`]: Math.round(sN),
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        config: { preset: o.preset, vocab: o.vocab, steps: o.steps, cell: o.cell ?? null, hidden: o.hidden ?? null,
                  family: cfg.family, batch: cfg.batchSize, seq: cfg.seqLength, micro_batch: cfg.microBatch,
                  ...(cfg.family === 'gpt' ? { n_layer: cfg.nLayer, n_head: cfg.nHead, n_embd: cfg.nEmbd, block_size: cfg.blockSize } : {}) },
      }));
    });
}
