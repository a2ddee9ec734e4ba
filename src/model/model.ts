// The model interface every family implements (rnn: LSTM/GRU/RNN; gpt: nanoGPT's Transformer). Everything above
// the model (training, evaluation, sampling, the server's batcher, checkpoints, info, report) uses only this, so a
// new family is a folder under src/model/ plus one line in registry.ts. Per-sequence state is opaque: recurrent
// h/c for the rnn family, a KV cache for the gpt family; callers create, clone, copy rows of and reset it.
// Buffers (params, state tensors) are the backend's (BackendMemory): ids and targets go in as plain host arrays (the
// model copies them into its own buffers), logits come back with their host copy current.
import type { Backend, F32, I32 } from '../kernels/backend.js';
import type { ParamStore } from '../nn/params.js';
import type { Rng } from '../util/rng.js';
import type { ModelConfig } from './config.js';

/** Opaque per-sequence state for B rows; only the model that made it reads inside. */
export interface ModelState { readonly B: number }

/** What `info`, the server's /v1/models, the report and the web page show about a model. */
export interface ModelDescription {
  family: string;
  /** One line, e.g. "LSTM 2×512, embedding 256" or "GPT 6 layers × 6 heads, 384 wide, context 256". */
  summary: string;
  /** Label/value rows for tables (architecture only; the parameter count is params.size). */
  rows: [string, string | number | boolean][];
}

export interface MicroBatchOptions {
  /** Add to params.grad instead of overwriting it. */
  accumulate?: boolean;
  /** Divide the loss by this (the whole batch's scored count) instead of this call's own count. */
  normalizer?: number;
}

export interface LanguageModel {
  readonly family: string;
  readonly config: ModelConfig;
  readonly vocabSize: number;
  readonly params: ParamStore;
  backend: Backend;
  /** The longest context the model can attend to (gpt: block_size); null when unbounded (recurrent). */
  readonly contextLimit: number | null;
  /** Whether carrying state across training windows is meaningful (--batching stateful). */
  readonly statefulTraining: boolean;

  /** The family's initialisation (PyTorch's defaults for rnn, nanoGPT's for gpt), drawn from rng. */
  initialize(rng: Rng): void;
  /**
   * Call after params.data changed (params.write() after a host write, an optimizer step): refreshes derived copies
   * (packed weights).
   */
  weightsChanged(): void;
  /** Frees cached buffers (after training, before long sampling). */
  releaseWorkspaces(): void;
  /** Whether weight decay applies to this parameter (AdamW in nanoGPT decays matrices only). */
  decays(name: string): boolean;
  describe(): ModelDescription;

  createState(B: number): ModelState;
  cloneState(s: ModelState): ModelState;
  /** dst row j ← src row i. */
  copyStateRow(dst: ModelState, j: number, src: ModelState, i: number): void;
  /**
   * Gives the state's backend memory back now; the state must not be used again. Optional: memory of an unreachable
   * state returns when it is garbage-collected, but a wasm or GPU memory cannot tell the JavaScript collector how
   * large it is, so owners of short-lived states (generate, evaluate, the server's batcher) release them.
   */
  releaseState(s: ModelState): void;
  /** Clears one row, or every row when row is undefined. */
  resetState(s: ModelState, row?: number): void;
  /** Named backend buffers holding the state (to save with a resumable run): read() before, write() after a set. */
  stateTensors(s: ModelState): Record<string, F32>;

  /**
   * One training forward + backward on (B,T) ids and targets (targets < 0 are ignored); state (if any) is the
   * initial state and receives the final one. Fills params.grad with the gradient of the mean loss and returns it.
   */
  forwardBackward(ids: I32, targets: I32, B: number, T: number, state: ModelState | null, rng?: Rng,
                  opts?: MicroBatchOptions): number;
  /** Inference loss over (B,T): Σ -log p and the count of scored characters (targets < 0 skipped). */
  lossSum(ids: I32, targets: I32, B: number, T: number, state: ModelState | null): { sum: number; count: number };
  /**
   * Feeds (B,T) ids after whatever the state already holds and returns the next-character logits of each row,
   * (B,V) — a workspace view valid until the next call. Inputs past contextLimit slide the context.
   */
  prime(ids: I32, B: number, T: number, state: ModelState): F32;
  /** One generation step: ids (B) → logits (B,V) (a workspace view); the state is read and advanced. */
  step(ids: I32, state: ModelState): F32;
}
