// The resumable training state beside last.safetensors: Adam moments, step, RNG, data position, schedule,
// best validation loss, loss history, and the carried hidden state of stateful batching. The state and the weights
// are written as one pair (both temp files first, then both renames) and the state records the step and a SHA-256
// of the weights, so resume can tell a torn pair (a kill between the renames) from a good one and refuses it.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CharlmError } from '../errors.js';
import { encodeSafetensors, readSafetensorsFile, type NamedTensor } from '../model/checkpoint.js';
import { writeFilesAtomic, type AtomicWriteFs } from '../util/fs.js';
import { resolveConfig } from '../config.js';
import type { ScheduleState } from './schedule.js';

export const STATE_FILE = 'state.safetensors';
export const LAST_FILE = 'last.safetensors';

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
  /** SHA-256 (hex) of the weights saved with this state, in last.safetensors' tensor order. Absent in older runs. */
  weightsSha256?: string;
}

/** SHA-256 of a model's weights (its flat parameter buffer, little-endian F32 bytes). */
export function weightsDigest(params: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength)).digest('hex');
}

/** The carried state of stateful batching, under the model's own names (rnn: carry.h, carry.c). */
export type CarryTensors = Record<string, Float32Array>;

export function encodeTrainState(meta: TrainStateMeta, m: Float32Array, v: Float32Array, carry: CarryTensors | null): Uint8Array {
  const tensors: NamedTensor[] = [
    { name: 'adam.m', shape: [m.length], data: m },
    { name: 'adam.v', shape: [v.length], data: v },
  ];
  if (carry) for (const [name, data] of Object.entries(carry)) tensors.push({ name, shape: [data.length], data });
  const json = JSON.stringify(meta, (_k, val) => (val === Infinity ? 'Infinity' : val));
  return encodeSafetensors(tensors, { format: 'charlm-train-state', state: json });
}

export function saveTrainState(path: string, meta: TrainStateMeta, m: Float32Array, v: Float32Array,
                               carry: CarryTensors | null): void {
  writeFilesAtomic([{ file: path, bytes: encodeTrainState(meta, m, v, carry) }]);
}

/**
 * Saves the resume state and the weights of one step as a pair: both are written to temp files and fsynced before
 * either is renamed, so a full disk leaves the previous pair untouched; a kill between the two renames leaves a
 * pair that loadRunState refuses (its digest does not match).
 */
export function saveRunCheckpoint(outDir: string, stateBytes: Uint8Array, lastBytes: Uint8Array, io?: AtomicWriteFs): void {
  writeFilesAtomic([{ file: join(outDir, STATE_FILE), bytes: stateBytes }, { file: join(outDir, LAST_FILE), bytes: lastBytes }], io);
}

export function loadTrainState(path: string): { meta: TrainStateMeta; tensors: Map<string, NamedTensor> } {
  const dec = readSafetensorsFile(path);
  if (dec.metadata.format !== 'charlm-train-state' || !dec.metadata.state) {
    throw new CharlmError('RESUME_INVALID', `${path} is not a charlm training state`, 'resume from the --out folder of a charlm train run');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(dec.metadata.state, (_k, val) => (val === 'Infinity' ? Infinity : val));
  } catch {
    throw invalid(path, 'state', 'is not valid JSON');
  }
  return { meta: validateMeta(raw, path), tensors: dec.tensors };
}

function invalid(path: string, field: string, why: string): CharlmError {
  return new CharlmError('RESUME_INVALID', `${path}: the saved training state's "${field}" ${why}`,
    'the state file is damaged; fine-tune from the weights with --init-from <dir>/last.safetensors, or start over with --force');
}

/** Every field a resume reads, checked (own keys only); the saved config goes through the same checks as flags. */
function validateMeta(raw: unknown, path: string): TrainStateMeta {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(path, 'state', 'is not an object');
  const o = raw as Record<string, unknown>;
  const get = (k: string) => (Object.hasOwn(o, k) ? o[k] : undefined);
  const isNum = (v: unknown) => typeof v === 'number' && !Number.isNaN(v);
  const count = (k: string) => {
    const v = get(k);
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw invalid(path, k, `is ${JSON.stringify(v)?.slice(0, 40)}, not a count`);
    return v as number;
  };
  const step = count('step'), evalsWithoutImprovement = count('evalsWithoutImprovement'), charsSeen = count('charsSeen');
  const rng = get('rng');
  if (!Array.isArray(rng) || rng.length < 4 || rng.length > 5 || !rng.slice(0, 4).every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)
      || (rng.length === 5 && rng[4] !== null && !isNum(rng[4]))) throw invalid(path, 'rng', 'is not a generator state');
  const batcher = get('batcher');
  if (!Array.isArray(batcher) || batcher.length > 2 || !batcher.every((x) => Number.isSafeInteger(x) && x >= 0)) {
    throw invalid(path, 'batcher', 'is not a data position');
  }
  const schedule = get('schedule') as Record<string, unknown> | undefined;
  if (typeof schedule !== 'object' || schedule === null || !['plateauScale', 'plateauBest', 'plateauBad'].every((k) => isNum(schedule[k]))) {
    throw invalid(path, 'schedule', 'is not a schedule state');
  }
  const bestVal = get('bestVal');
  if (bestVal !== null && !isNum(bestVal)) throw invalid(path, 'bestVal', 'is not a number');
  const history = get('history');
  if (!Array.isArray(history) || !history.every((p) => Array.isArray(p) && p.length === 3 && isNum(p[0])
      && p.slice(1).every((x: unknown) => x === null || typeof x === 'number'))) throw invalid(path, 'history', 'is not a loss history');
  const corpus = get('corpus');
  if (typeof corpus !== 'string') throw invalid(path, 'corpus', 'is not a string');
  const config = get('config');
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw invalid(path, 'config', 'is not an object');
  resolveConfig({ file: config as Record<string, unknown>, fileName: `${path} (saved config)` }); // throws BAD_CONFIG_VALUE naming the key
  const digest = get('weightsSha256');
  if (digest !== undefined && (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest))) throw invalid(path, 'weightsSha256', 'is not a SHA-256');
  return { step, rng: rng as number[], batcher: batcher as number[], schedule: schedule as unknown as ScheduleState,
           bestVal: bestVal as number | null, evalsWithoutImprovement, history: history as TrainStateMeta['history'],
           config: config as Record<string, unknown>, corpus, charsSeen, weightsSha256: digest as string | undefined };
}

/**
 * Refuses a state that was not saved with these weights: a different step, or (for states that carry one) a
 * different weights digest. That is what a kill between the two renames of saveRunCheckpoint leaves behind.
 */
export function checkPair(outDir: string, meta: TrainStateMeta, weightsStep: number | null, weights: Float32Array): void {
  const stepOk = weightsStep === null || weightsStep === meta.step;
  const digestOk = meta.weightsSha256 === undefined || meta.weightsSha256 === weightsDigest(weights);
  if (stepOk && digestOk) return;
  throw new CharlmError('RESUME_MISMATCH',
    `${join(outDir, LAST_FILE)} (step ${weightsStep ?? '?'}) and ${join(outDir, STATE_FILE)} (step ${meta.step}) do not belong together ` +
    '(a save was interrupted between the two files)',
    `resume from the weights alone with --init-from ${join(outDir, LAST_FILE)} (optimizer state restarts), or start over with --force`);
}
