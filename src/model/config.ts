// The model's architecture config (what a checkpoint needs to rebuild the network) and its validation.
import type { CellType } from '../nn/recurrent.js';

export interface ModelConfig {
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

export const CELLS: readonly CellType[] = ['lstm', 'gru', 'rnn'];

/** The recurrent module's name in the state_dict: `lstm.` as in the seed, `gru.` / `rnn.` for the others. */
export function cellPrefix(cell: CellType): string {
  return cell;
}
