// ONNX export of the gpt family: nanoGPT's forward as one graph of standard operators (opset 17, for
// LayerNormalization; GELU written with Erf), input_ids int64 [B,T] (T ≤ block_size) → logits float [B,T,V] at every
// position. Weights keep nanoGPT's state_dict names and layout (Linear weights (out,in) pass through a Transpose
// that runtimes fold into a constant); the causal mask is a (S,S) initializer of 0 / -inf sliced to (T,T).
import type { Vocab } from '../data/vocab.js';
import type { GptModel } from '../model/gpt/model.js';
import { LN_EPS } from '../model/gpt/model.js';
import { FLOAT, INT64, floatInit, int64Init, modelBytes, type Graph, type Initializer, type Node } from './onnx-proto.js';
import type { OnnxExportOptions } from './onnx.js';

export const GPT_OPSET = 17;
const IR_VERSION = 8; // ONNX 1.12: the IR that opset 17 shipped with

function buildGptGraph(model: GptModel): Graph {
  const c = model.config, { n_embd: C, n_head: nh, block_size: S, vocab_size: V, bias } = c, hd = C / nh;
  const ps = model.params;
  ps.read();
  const nodes: Node[] = [];
  const inits: Initializer[] = [];
  const param = (name: string) => {
    inits.push(floatInit(name, ps.entry(name).shape, ps.value(name)));
    return name;
  };
  const mask = new Float32Array(S * S);
  for (let i = 0; i < S; i++) for (let j = i + 1; j < S; j++) mask[i * S + j] = -Infinity; // row i sees keys 0..i
  inits.push(floatInit('causal_mask', [S, S], mask),
             floatInit('attn_scale', [], Float32Array.of(1 / Math.sqrt(hd))),
             floatInit('sqrt_half', [], Float32Array.of(Math.SQRT1_2)),
             floatInit('one', [], Float32Array.of(1)), floatInit('half', [], Float32Array.of(0.5)),
             int64Init('zero_i', [0], true), int64Init('one_i', [1], true), int64Init('axes_0', [0]), int64Init('axes_01', [0, 1]),
             int64Init('zeros_2', [0, 0]), int64Init('qkv_split', [C, C, C]),
             int64Init('heads_shape', [0, 0, nh, hd]), int64Init('merge_shape', [0, 0, C]));
  let k = 0;
  const op = (type: string, inputs: string[], attrs?: Node['attrs']): string => {
    const out = `${type.toLowerCase()}_${k++}`;
    nodes.push({ op: type, inputs, outputs: [out], attrs });
    return out;
  };
  const layerNorm = (x: string, name: string) =>
    op('LayerNormalization', [x, param(`${name}.weight`), ...(bias ? [param(`${name}.bias`)] : [])],
       [{ name: 'axis', i: -1 }, { name: 'epsilon', f: LN_EPS }]);
  /** x·Wᵀ (+ b) for a Linear weight stored (out,in) as in PyTorch. */
  const linear = (x: string, name: string) => {
    const y = op('MatMul', [x, op('Transpose', [param(`${name}.weight`)], [{ name: 'perm', ints: [1, 0] }])]);
    return bias ? op('Add', [y, param(`${name}.bias`)]) : y;
  };

  // positions 0..T-1 and the (T,T) corner of the causal mask, from the input's own length
  const T = op('Gather', [op('Shape', ['input_ids']), 'one_i'], [{ name: 'axis', i: 0 }]); // scalar
  const pos = op('Range', ['zero_i', T, 'one_i']);
  const T1 = op('Unsqueeze', [T, 'axes_0']);
  const TT = op('Concat', [T1, T1], [{ name: 'axis', i: 0 }]);
  const maskTT = op('Slice', ['causal_mask', 'zeros_2', TT, 'axes_01']);

  let x = op('Add', [op('Gather', [param('transformer.wte.weight'), 'input_ids']),
                     op('Gather', [param('transformer.wpe.weight'), pos])]); // (B,T,C)
  for (let l = 0; l < c.n_layer; l++) {
    const p = `transformer.h.${l}`;
    const qkv = linear(layerNorm(x, `${p}.ln_1`), `${p}.attn.c_attn`); // (B,T,3C)
    const [q, kk, v] = ['q', 'k', 'v'].map((n) => `${p}.${n}`);
    nodes.push({ op: 'Split', inputs: [qkv, 'qkv_split'], outputs: [q, kk, v], attrs: [{ name: 'axis', i: 2 }] });
    const heads = (t: string, perm: number[]) => op('Transpose', [op('Reshape', [t, 'heads_shape'])], [{ name: 'perm', ints: perm }]);
    const qh = heads(q, [0, 2, 1, 3]), kT = heads(kk, [0, 2, 3, 1]), vh = heads(v, [0, 2, 1, 3]); // (B,nh,T,hd), (B,nh,hd,T)
    const scores = op('Add', [op('Mul', [op('MatMul', [qh, kT]), 'attn_scale']), maskTT]);    // (B,nh,T,T)
    const y = op('MatMul', [op('Softmax', [scores], [{ name: 'axis', i: -1 }]), vh]);          // (B,nh,T,hd)
    const merged = op('Reshape', [op('Transpose', [y], [{ name: 'perm', ints: [0, 2, 1, 3] }]), 'merge_shape']);
    x = op('Add', [x, linear(merged, `${p}.attn.c_proj`)]);
    const h = linear(layerNorm(x, `${p}.ln_2`), `${p}.mlp.c_fc`);                             // (B,T,4C)
    const gelu = op('Mul', [op('Mul', [h, 'half']), op('Add', [op('Erf', [op('Mul', [h, 'sqrt_half'])]), 'one'])]);
    x = op('Add', [x, linear(gelu, `${p}.mlp.c_proj`)]);
  }
  const wteT = op('Transpose', ['transformer.wte.weight'], [{ name: 'perm', ints: [1, 0] }]); // lm_head tied to wte
  nodes.push({ op: 'MatMul', inputs: [layerNorm(x, 'transformer.ln_f'), wteT], outputs: ['logits'] });
  return {
    nodes, inits,
    inputs: [{ name: 'input_ids', type: INT64, dims: ['batch', 'time'] }],
    outputs: [{ name: 'logits', type: FLOAT, dims: ['batch', 'time', V] }],
  };
}

/** The ONNX ModelProto bytes of a gpt-family model (one graph: every position's logits). */
export function exportGptOnnx(model: GptModel, vocab: Vocab, opts: OnnxExportOptions = {}): Uint8Array {
  const c = model.config;
  return modelBytes(buildGptGraph(model), {
    graphName: 'charlm_gpt', irVersion: IR_VERSION, opset: GPT_OPSET, producerVersion: opts.producerVersion,
    meta: {
      format: 'charlm-onnx',
      graph: 'gpt',
      vocab: JSON.stringify(vocab.chars),
      config: JSON.stringify(c),
      inputs: `input_ids int64 [B,T], 1 ≤ T ≤ ${c.block_size} (block_size); no state: feed the last ≤ ${c.block_size} characters`,
      outputs: 'logits float [B,T,V] (unnormalised) at every position; the next character\'s are logits[:, -1]',
    },
  });
}
