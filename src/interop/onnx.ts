// ONNX export of a charlm model, written by hand with protobuf.ts (no onnx dependency). Two graphs, both over
// ONNX's own LSTM/GRU/RNN operators (one node per layer, weights reordered to ONNX's gate order):
//   step:     input_ids int64 [B], h0 [L,B,H] (+ c0)   → logits [B,V],   hn (+ cn)   one generation step
//   sequence: input_ids int64 [B,T], h0 [L,B,H] (+ c0) → logits [B,T,V], hn (+ cn)   scoring (pass zeros to start)
// The vocabulary, config and I/O description go in metadata_props, so the .onnx file is self-contained.
// The gpt family's graph is built in onnx-gpt.ts; the protobuf pieces both use are in onnx-proto.ts.
import type { RnnModel } from '../model/rnn/model.js';
import type { GptModel } from '../model/gpt/model.js';
import type { LanguageModel } from '../model/model.js';
import { CharlmError } from '../errors.js';
import type { Vocab } from '../data/vocab.js';
import { cellPrefix } from '../model/config.js';
import { FLOAT, INT64, floatInit, int64Init, modelBytes, type Attr, type IO, type Node, type Initializer } from './onnx-proto.js';
import { exportGptOnnx } from './onnx-gpt.js';

export const OPSET = 14;
const IR_VERSION = 7; // ONNX 1.9: the IR that opset 14 shipped with

/** ONNX gate order from PyTorch's: LSTM i,f,g,o → i,o,f,c; GRU r,z,n → z,r,h; RNN unchanged. */
const GATE_ORDER: Record<string, number[]> = { lstm: [0, 3, 1, 2], gru: [1, 0, 2], rnn: [0] };

export interface OnnxExportOptions {
  /** Whole-sequence scoring graph instead of one generation step. */
  sequence?: boolean;
  producerVersion?: string;
}

/** Rows of a (G·H, X) matrix (or a G·H vector, X = 1) regrouped block by block in `order`. */
function reorderGates(src: Float32Array, order: number[], H: number, X: number): Float32Array {
  const out = new Float32Array(src.length), block = H * X;
  order.forEach((from, to) => out.set(src.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

/** Builds the graph (nodes, initializers, inputs, outputs) for `model`. */
function buildGraph(model: RnnModel, sequence: boolean) {
  const { cell, hiddenSize: H, numLayers: L, vocabSize: V, embeddingDim: E } = model.config;
  const ps = model.params, pre = cellPrefix(cell), order = GATE_ORDER[cell], G = order.length * H;
  ps.read();
  const lstm = cell === 'lstm';
  const nodes: Node[] = [];
  const inits: Initializer[] = [
    floatInit('embed.weight', [V, E], ps.value('embed.weight')),
    floatInit('fc.weight_t', [H, V], transpose(ps.value('fc.weight'), V, H)), // (H,V) so that MatMul(x, W)
    floatInit('fc.bias', [V], ps.value('fc.bias')),
    int64Init('axes_0', [0]), int64Init('axes_1', [1]),
  ];
  const B = 'batch', T = 'time';
  const inputs: IO[] = [{ name: 'input_ids', type: INT64, dims: sequence ? [B, T] : [B] }];
  const stateDims = [L, B, H];
  inputs.push({ name: 'h0', type: FLOAT, dims: stateDims });
  if (lstm) inputs.push({ name: 'c0', type: FLOAT, dims: stateDims });

  // ids → time-major (T,B) → embeddings (T,B,E); the step graph is the sequence graph with T = 1.
  if (sequence) nodes.push({ op: 'Transpose', inputs: ['input_ids'], outputs: ['ids_tb'], attrs: [{ name: 'perm', ints: [1, 0] }] });
  else nodes.push({ op: 'Unsqueeze', inputs: ['input_ids', 'axes_0'], outputs: ['ids_tb'] });
  nodes.push({ op: 'Gather', inputs: ['embed.weight', 'ids_tb'], outputs: ['x_0'] });

  const hs: string[] = [], cs: string[] = [];
  for (let l = 0; l < L; l++) {
    const inDim = l === 0 ? E : H;
    const Wb = reorderGates(ps.value(`${pre}.bias_ih_l${l}`), order, H, 1);
    const Rb = reorderGates(ps.value(`${pre}.bias_hh_l${l}`), order, H, 1);
    const bias = new Float32Array(2 * G);
    bias.set(Wb, 0); bias.set(Rb, G);
    inits.push(
      floatInit(`W_${l}`, [1, G, inDim], reorderGates(ps.value(`${pre}.weight_ih_l${l}`), order, H, inDim)),
      floatInit(`R_${l}`, [1, G, H], reorderGates(ps.value(`${pre}.weight_hh_l${l}`), order, H, H)),
      floatInit(`B_${l}`, [1, 2 * G], bias),
      int64Init(`layer_${l}`, [l]), int64Init(`layer_${l}_end`, [l + 1]));
    // this layer's initial state: (1,B,H) slices of h0/c0
    nodes.push({ op: 'Slice', inputs: ['h0', `layer_${l}`, `layer_${l}_end`, 'axes_0'], outputs: [`h0_${l}`] });
    const rnnInputs = [`x_${l}`, `W_${l}`, `R_${l}`, `B_${l}`, '', `h0_${l}`];
    if (lstm) {
      nodes.push({ op: 'Slice', inputs: ['c0', `layer_${l}`, `layer_${l}_end`, 'axes_0'], outputs: [`c0_${l}`] });
      rnnInputs.push(`c0_${l}`);
    }
    const attrs: Attr[] = [{ name: 'hidden_size', i: H }];
    if (cell === 'gru') attrs.push({ name: 'linear_before_reset', i: 1 }); // PyTorch applies r after R·h + b
    nodes.push({ op: cell.toUpperCase(), inputs: rnnInputs,
                 outputs: [`y_${l}`, `hn_${l}`, ...(lstm ? [`cn_${l}`] : [])], attrs });
    nodes.push({ op: 'Squeeze', inputs: [`y_${l}`, 'axes_1'], outputs: [`x_${l + 1}`] }); // (T,1,B,H) → (T,B,H)
    hs.push(`hn_${l}`); cs.push(`cn_${l}`);
  }
  const stack = (parts: string[], out: string) =>
    nodes.push(parts.length === 1 ? { op: 'Identity', inputs: parts, outputs: [out] }
                                   : { op: 'Concat', inputs: parts, outputs: [out], attrs: [{ name: 'axis', i: 0 }] });
  stack(hs, 'hn');
  if (lstm) stack(cs, 'cn');

  nodes.push({ op: 'MatMul', inputs: [`x_${L}`, 'fc.weight_t'], outputs: ['fc_mm'] },
             { op: 'Add', inputs: ['fc_mm', 'fc.bias'], outputs: ['logits_tb'] }); // (T,B,V)
  if (sequence) nodes.push({ op: 'Transpose', inputs: ['logits_tb'], outputs: ['logits'], attrs: [{ name: 'perm', ints: [1, 0, 2] }] });
  else nodes.push({ op: 'Squeeze', inputs: ['logits_tb', 'axes_0'], outputs: ['logits'] });

  const outputs: IO[] = [{ name: 'logits', type: FLOAT, dims: sequence ? [B, T, V] : [B, V] },
                         { name: 'hn', type: FLOAT, dims: stateDims }];
  if (lstm) outputs.push({ name: 'cn', type: FLOAT, dims: stateDims });
  return { nodes, inits, inputs, outputs };
}

/** The ONNX ModelProto bytes for `model` (see the header for the graph's inputs and outputs). */
export function exportOnnx(lm: LanguageModel, vocab: Vocab, opts: OnnxExportOptions = {}): Uint8Array {
  if (lm.family === 'gpt') return exportGptOnnx(lm as GptModel, vocab, opts);
  if (lm.family !== 'rnn') {
    throw new CharlmError('UNSUPPORTED', `ONNX export of the ${lm.family} family is not available`, 'ONNX export covers the rnn and gpt families');
  }
  const model = lm as RnnModel;
  const sequence = !!opts.sequence;
  const g = buildGraph(model, sequence);

  const { cell } = model.config;
  const meta: Record<string, string> = {
    format: 'charlm-onnx',
    graph: sequence ? 'sequence' : 'step',
    vocab: JSON.stringify(vocab.chars),
    config: JSON.stringify(model.config),
    inputs: sequence ? `input_ids int64 [B,T]; h0 float [L,B,H]${cell === 'lstm' ? '; c0 float [L,B,H]' : ''} (zeros to start)`
                     : `input_ids int64 [B]; h0 float [L,B,H]${cell === 'lstm' ? '; c0 float [L,B,H]' : ''}`,
    outputs: `logits float ${sequence ? '[B,T,V]' : '[B,V]'} (unnormalised); hn${cell === 'lstm' ? ', cn' : ''} float [L,B,H]`,
  };
  return modelBytes(g, { graphName: sequence ? 'charlm_sequence' : 'charlm_step', irVersion: IR_VERSION, opset: OPSET,
                        producerVersion: opts.producerVersion, meta });
}
