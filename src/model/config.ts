// Model architecture configs (what a checkpoint needs to rebuild the network), a union discriminated by `family`.
// rnn keeps the seed's names in camelCase; gpt uses nanoGPT's model_args keys so a nanoGPT user reads it as is.
import type { CellType } from '../nn/recurrent.js';

export interface RnnConfig {
  family: 'rnn';
  cell: CellType;
  vocabSize: number;
  embeddingDim: number;
  hiddenSize: number;
  numLayers: number;
  /** Dropout between recurrent layers (PyTorch nn.LSTM(dropout=...)); training only. */
  dropout: number;
  /** Dropout on the embedding output; training only. */
  embedDropout: number;
}

/** nanoGPT's GPTConfig / model_args. */
export interface GptConfig {
  family: 'gpt';
  n_layer: number;
  n_head: number;
  n_embd: number;
  block_size: number;
  /** Biases in the Linear layers and LayerNorms (nanoGPT's `bias`). */
  bias: boolean;
  vocab_size: number;
  /** Dropout on the embeddings, the attention weights and the residual branches; training only. */
  dropout: number;
}

export type ModelConfig = RnnConfig | GptConfig;
export type FamilyName = ModelConfig['family'];

export const CELLS: readonly CellType[] = ['lstm', 'gru', 'rnn'];

/** The recurrent module's name in the state_dict: `lstm.` as in the seed, `gru.` / `rnn.` for the others. */
export function cellPrefix(cell: CellType): string {
  return cell;
}

/** The vocabulary size of any family's config. */
export function vocabSizeOf(c: ModelConfig): number {
  return c.family === 'gpt' ? c.vocab_size : c.vocabSize;
}
