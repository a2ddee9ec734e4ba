// Public, browser-safe API: the model, kernels, vocabulary, sampling, configuration, checkpoints as bytes and
// step-by-step training (no file system).
export { CharlmError, isCharlmError, formatError } from './errors.js';
export type { Backend } from './kernels/backend.js';
export { refBackend } from './kernels/ref/index.js';
export type { BackendMemory } from './kernels/backend.js';
export { instantiateWasmBackend, relaxedSimdSupported, sharedMemorySupported, wasmFileName, type WasmBackend,
         type WasmSimd } from './kernels/wasm/backend.js';
export { Adam, clipGradNorm } from './train/optimizer.js';
export { RnnModel, RnnModel as CharModel, paramSpecs, type RecurrentState } from './model/rnn/model.js';
export { GptModel } from './model/gpt/model.js';
export type { LanguageModel, ModelState, ModelDescription } from './model/model.js';
export type { ModelConfig, RnnConfig, GptConfig } from './model/config.js';
export { createModel, family, FAMILIES } from './model/registry.js';
export { Vocab } from './data/vocab.js';
export { Rng } from './util/rng.js';
export { Picker, type PickOptions } from './sample/pick.js';
export { generate, generateBatch, SAMPLE_DEFAULTS, type SampleOptions } from './sample/generate.js';
export { DEFAULTS, PRESETS, resolveConfig, type TrainConfig } from './config.js';
export { browserBackend, BROWSER_BACKENDS, BROWSER_WASM_FILES, type BrowserBackendChoice, type BrowserBackendOptions } from './kernels/browser.js';
export { encodeModel, loadModelBytes, type LoadedModel, type TrainingSummary } from './model/codec.js';
export { encodeSafetensors, parseSafetensors } from './model/safetensors.js';
export { decodeUtf8, encodeCorpus } from './data/text.js';
export { TrainSession, type SessionOptions } from './train/session.js';
