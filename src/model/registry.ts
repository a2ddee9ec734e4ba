// The model families by name. A new family is a folder under src/model/ plus one line here.
import { CharlmError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import type { ModelConfig, FamilyName } from './config.js';
import type { ModelFamily } from './family.js';
import type { LanguageModel } from './model.js';
import { rnnFamily } from './rnn/family.js';
import { gptFamily } from './gpt/family.js';
import { checkParamCount, resolveLoadLimits, type LoadLimits } from './limits.js';

export const FAMILIES: Record<FamilyName, ModelFamily> = {
  rnn: rnnFamily as ModelFamily,
  gpt: gptFamily as ModelFamily,
};

export const FAMILY_NAMES = Object.keys(FAMILIES) as FamilyName[];

export function family(name: string): ModelFamily {
  const f = (FAMILIES as Record<string, ModelFamily | undefined>)[name];
  if (!f || !Object.hasOwn(FAMILIES, name)) {
    throw new CharlmError('UNKNOWN_FAMILY', `unknown model family "${name}"`, `families: ${FAMILY_NAMES.join(', ')}`);
  }
  return f;
}

/**
 * Refuses a config for a fresh model over the parameter cap (the same --max-params as a loaded checkpoint's), before
 * anything is allocated: a typo such as --hidden-size 30000 (3.6G parameters) otherwise spends minutes filling memory.
 */
export function checkModelSize(config: ModelConfig, limits: Partial<LoadLimits> = {}): void {
  checkParamCount(family(config.family).paramSpecs(config), resolveLoadLimits(limits),
    (why, hint) => new CharlmError('MODEL_TOO_LARGE', `the model is too large: ${why}`, hint));
}

/** Builds the model a config describes (fresh parameters, all zero until initialize() or a load). */
export function createModel(config: ModelConfig, backend: Backend): LanguageModel {
  return family(config.family).create(config, backend);
}
