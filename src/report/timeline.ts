// Turns the raw metrics.jsonl records of a run into one clean timeline for the report. A resumed run appends to
// the same file: its step counter restarts at the last checkpoint (records past it were redone) and its clock
// restarts at zero, so later records replace earlier ones at the same or higher step and wall time is made
// cumulative. Also computes the headline numbers shown at the top of the report.
import type { EvalRecord, MetricRecord, TrainRecord } from '../train/metrics.js';

export interface Timeline {
  train: TrainRecord[];
  evals: EvalRecord[];
  /** How many times the run was resumed (a step or clock going backwards). */
  resumes: number;
}

export interface KeyNumbers {
  bestValLoss: number | null;
  bestValStep: number | null;
  finalTrainLoss: number | null;
  steps: number | null;
  epochs: number | null;
  totalSeconds: number | null;
  meanCharsPerS: number | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function buildTimeline(records: MetricRecord[]): Timeline {
  const train: TrainRecord[] = [], evals: EvalRecord[] = [];
  let offset = 0, lastClock = -Infinity, maxWall = 0, resumes = 0;
  for (const rec of records) {
    const clock = num(rec.elapsed_s);
    if (clock !== null) {
      if (clock < lastClock) { offset = maxWall; resumes++; }
      lastClock = clock;
    }
    const wall = clock === null ? NaN : clock + offset;
    if (Number.isFinite(wall)) maxWall = Math.max(maxWall, wall);
    const list: MetricRecord[] = rec.type === 'eval' ? evals : train;
    // A step at or before the last kept one means the run went back to a checkpoint: drop what was redone.
    while (list.length && num(rec.step) !== null && list[list.length - 1].step >= rec.step) list.pop();
    list.push({ ...rec, elapsed_s: wall });
  }
  return { train, evals, resumes };
}

export function keyNumbers(t: Timeline): KeyNumbers {
  let bestValLoss: number | null = null, bestValStep: number | null = null;
  for (const e of t.evals) {
    const v = num(e.val_loss);
    if (v !== null && (bestValLoss === null || v < bestValLoss)) { bestValLoss = v; bestValStep = e.step; }
  }
  const lastFinite = <T>(a: T[], f: (x: T) => unknown): number | null => {
    for (let i = a.length - 1; i >= 0; i--) { const v = num(f(a[i])); if (v !== null) return v; }
    return null;
  };
  const all: MetricRecord[] = [...t.train, ...t.evals];
  const maxOf = (f: (r: MetricRecord) => unknown) => {
    const vs = all.map(f).map(num).filter((v): v is number => v !== null);
    return vs.length ? Math.max(...vs) : null;
  };
  const rates = t.train.map((r) => num(r.chars_per_s)).filter((v): v is number => v !== null && v > 0);
  return {
    bestValLoss, bestValStep,
    finalTrainLoss: lastFinite(t.train, (r) => r.loss),
    steps: maxOf((r) => r.step),
    epochs: maxOf((r) => r.epoch),
    totalSeconds: maxOf((r) => r.elapsed_s),
    meanCharsPerS: rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : null,
  };
}
