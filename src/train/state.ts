// The resumable training state beside last.safetensors: Adam moments, step, RNG, data position, schedule,
// best validation loss, loss history, and the carried hidden state of stateful batching. Written atomically.
import { CharlmError } from '../errors.js';
import { encodeSafetensors, readSafetensorsFile, type NamedTensor } from '../model/checkpoint.js';
import { writeFileAtomic } from '../util/fs.js';
import type { ScheduleState } from './schedule.js';

export const STATE_FILE = 'state.safetensors';

export interface TrainStateMeta {
  step: number;
  rng: number[];
  batcher: number[];
  schedule: ScheduleState;
  bestVal: number | null;
  evalsWithoutImprovement: number;
  history: [number, number, number | null][];
  config: Record<string, unknown>;
  corpus: string;
  charsSeen: number;
}

export function saveTrainState(path: string, meta: TrainStateMeta, m: Float32Array, v: Float32Array,
                               carry: Record<string, Float32Array> | null): void {
  const tensors: NamedTensor[] = [
    { name: 'adam.m', shape: [m.length], data: m },
    { name: 'adam.v', shape: [v.length], data: v },
  ];
  // The carried state of stateful batching, under the model's own names (rnn: carry.h, carry.c).
  if (carry) for (const [name, data] of Object.entries(carry)) tensors.push({ name, shape: [data.length], data });
  const json = JSON.stringify(meta, (_k, val) => (val === Infinity ? 'Infinity' : val));
  writeFileAtomic(path, encodeSafetensors(tensors, { format: 'charlm-train-state', state: json }));
}

export function loadTrainState(path: string): { meta: TrainStateMeta; tensors: Map<string, NamedTensor> } {
  const dec = readSafetensorsFile(path);
  if (dec.metadata.format !== 'charlm-train-state' || !dec.metadata.state) {
    throw new CharlmError('RESUME_INVALID', `${path} is not a charlm training state`, 'resume from the --out folder of a charlm train run');
  }
  const meta = JSON.parse(dec.metadata.state, (_k, val) => (val === 'Infinity' ? Infinity : val)) as TrainStateMeta;
  return { meta, tensors: dec.tensors };
}
