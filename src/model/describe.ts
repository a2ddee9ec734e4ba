// One-line architecture strings for `info` and the report, from any family's config (no model needed).
import type { ModelConfig } from './config.js';

export function architecture(c: ModelConfig): string {
  if (c.family === 'gpt') {
    const C = c.n_embd;
    return `Embedding(${c.vocab_size},${C}) + Position(${c.block_size},${C}) → ${c.n_layer} × [LayerNorm → ` +
           `Attention(${c.n_head} heads) → LayerNorm → MLP(${4 * C})] → LayerNorm → Linear(${C},${c.vocab_size}, tied)` +
           `${c.bias ? '' : ', no biases'}`;
  }
  return `Embedding(${c.vocabSize},${c.embeddingDim}) → ${c.cell.toUpperCase()}(${c.hiddenSize}) × ${c.numLayers} → ` +
         `Linear(${c.hiddenSize},${c.vocabSize})`;
}
