// Learning-rate schedules: constant (the seed), cosine with linear warmup, step decay (char-rnn: ×decay per epoch
// after an epoch threshold), plateau (halve when validation stalls). Warmup applies to every schedule.
import type { TrainConfig } from '../config.js';

export interface ScheduleState { plateauScale: number; plateauBest: number; plateauBad: number }

export function initialScheduleState(): ScheduleState {
  return { plateauScale: 1, plateauBest: Infinity, plateauBad: 0 };
}

/** lr for 1-based optimizer step `step` of `total`. */
export function lrAt(cfg: TrainConfig, step: number, total: number, stepsPerEpoch: number, st: ScheduleState): number {
  const base = cfg.learningRate;
  const warm = cfg.warmupSteps > 0 && step <= cfg.warmupSteps ? step / cfg.warmupSteps : 1;
  let f = 1;
  switch (cfg.schedule) {
    case 'constant': break;
    case 'cosine': {
      const span = Math.max(1, total - cfg.warmupSteps);
      const p = Math.min(1, Math.max(0, (step - cfg.warmupSteps) / span));
      f = cfg.minLrRatio + (1 - cfg.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * p));
      break;
    }
    case 'step': {
      const epoch = Math.floor((step - 1) / stepsPerEpoch); // completed epochs
      const over = epoch - cfg.lrDecayAfterEpochs + 1;
      if (over > 0) f = Math.pow(cfg.lrDecay, over);
      break;
    }
    case 'plateau': f = st.plateauScale; break;
  }
  return base * warm * f;
}

/** Plateau schedule: after each evaluation, halve the lr when the validation loss has not improved twice running. */
export function observeValidation(cfg: TrainConfig, st: ScheduleState, valLoss: number): void {
  if (cfg.schedule !== 'plateau') return;
  if (valLoss < st.plateauBest - 1e-4) { st.plateauBest = valLoss; st.plateauBad = 0; return; }
  if (++st.plateauBad >= 2) { st.plateauScale *= 0.5; st.plateauBad = 0; }
}
