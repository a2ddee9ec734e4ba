// metrics.jsonl: one JSON object per logged training step ({type:"train", step, epoch, loss, lr, chars_per_s,
// elapsed_s}) and per evaluation ({type:"eval", step, val_loss, val_bpc, ..., sample}). Appended and flushed.
import { appendFileSync, writeFileSync } from 'node:fs';
import { CharlmError } from '../errors.js';

export interface TrainRecord { type: 'train'; step: number; epoch: number; loss: number; lr: number; chars_per_s: number; elapsed_s: number; grad_norm?: number }
export interface EvalRecord { type: 'eval'; step: number; epoch: number; val_loss: number; val_bpc: number; train_loss: number | null; elapsed_s: number; best: boolean; sample?: string; /** The validation protocol: 'stream' or 'windows/<block>' (absent in older runs: stream). */ protocol?: string }
export type MetricRecord = TrainRecord | EvalRecord;

export class MetricsLog {
  constructor(readonly path: string, append: boolean) {
    try { if (!append) writeFileSync(path, ''); } catch (e) { throw writeError(path, e); }
  }
  write(rec: MetricRecord): void {
    try { appendFileSync(this.path, JSON.stringify(rec) + '\n'); } catch (e) { throw writeError(this.path, e); }
  }
}

function writeError(path: string, e: unknown): CharlmError {
  return new CharlmError('WRITE_FAILED', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    'check free disk space and permissions of the --out folder');
}
