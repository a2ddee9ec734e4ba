// What a model family provides to the registry: how to build its config from a training config, check a config
// read from a checkpoint, list its parameters, and make a model. See docs/architecture.md ("adding a family").
import type { Backend } from '../kernels/backend.js';
import type { ParamSpec } from '../nn/params.js';
import type { TrainConfig } from '../config.js';
import type { FamilyName, ModelConfig } from './config.js';
import type { LanguageModel } from './model.js';

export interface ModelFamily<C extends ModelConfig = ModelConfig> {
  readonly name: FamilyName;
  /** The architecture a training run asks for, given the corpus's vocabulary size (bad combinations throw). */
  fromTrainConfig(cfg: TrainConfig, vocabSize: number): C;
  /** A loaded config with this run's training-only settings (dropout) applied, for fine-tuning and resume. */
  withTrainingSettings(c: C, cfg: TrainConfig): C;
  /** Checks and normalises a config read from a checkpoint; `bad(why)` makes the error to throw. */
  validate(raw: Record<string, unknown>, bad: (why: string) => Error): C;
  paramSpecs(c: C): ParamSpec[];
  create(c: C, backend: Backend): LanguageModel;
}
