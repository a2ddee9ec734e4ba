// The ONNX pieces every exported graph shares, written with protobuf.ts: nodes, initializers (raw little-endian
// data), typed inputs/outputs with symbolic dimensions, and the ModelProto around them with metadata_props.
// onnx.ts (rnn family) and onnx-gpt.ts (gpt family) describe their graphs in these terms.
import { PbWriter } from './protobuf.js';

export const FLOAT = 1, INT64 = 7; // TensorProto.DataType
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7; // AttributeProto.AttributeType

export type Attr = { name: string; i: number } | { name: string; ints: number[] } | { name: string; f: number };
export interface Node { op: string; inputs: string[]; outputs: string[]; attrs?: Attr[] }
export interface Initializer { name: string; dims: number[]; type: number; raw: Uint8Array }
export type Dim = number | string;
export interface IO { name: string; type: number; dims: Dim[] }
export interface Graph { nodes: Node[]; inits: Initializer[]; inputs: IO[]; outputs: IO[] }

export function floatInit(name: string, dims: number[], data: Float32Array): Initializer {
  const raw = new Uint8Array(data.length * 4);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(4 * i, data[i], true);
  return { name, dims, type: FLOAT, raw };
}

/** A 1-D int64 initializer, or a scalar (dims []) when scalar is set. */
export function int64Init(name: string, values: number[], scalar = false): Initializer {
  const raw = new Uint8Array(values.length * 8);
  const dv = new DataView(raw.buffer);
  values.forEach((v, i) => dv.setBigInt64(8 * i, BigInt(v), true));
  return { name, dims: scalar ? [] : [values.length], type: INT64, raw };
}

function valueInfo(io: IO): PbWriter {
  const shape = new PbWriter();
  for (const d of io.dims) shape.message(1, typeof d === 'number' ? new PbWriter().int(1, d) : new PbWriter().string(2, d));
  const tensorType = new PbWriter().int(1, io.type).message(2, shape);
  return new PbWriter().string(1, io.name).message(2, new PbWriter().message(1, tensorType));
}

function nodeProto(n: Node, index: number): PbWriter {
  const w = new PbWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `${n.op.toLowerCase()}_${index}`).string(4, n.op);
  for (const a of n.attrs ?? []) {
    const aw = new PbWriter().string(1, a.name);
    if ('i' in a) aw.int(3, a.i).int(20, ATTR_INT);
    else if ('f' in a) aw.float(2, a.f).int(20, ATTR_FLOAT);
    else aw.ints(8, a.ints).int(20, ATTR_INTS);
    w.message(5, aw);
  }
  return w;
}

function tensorProto(t: Initializer): PbWriter {
  return new PbWriter().ints(1, t.dims).int(2, t.type).string(8, t.name).bytes(9, t.raw);
}

export interface ModelInfo {
  graphName: string;
  irVersion: number;
  opset: number;
  producerVersion?: string;
  /** metadata_props, in order. */
  meta: Record<string, string>;
}

/** The ModelProto bytes of a graph. */
export function modelBytes(g: Graph, info: ModelInfo): Uint8Array {
  const graph = new PbWriter();
  g.nodes.forEach((n, i) => graph.message(1, nodeProto(n, i)));
  graph.string(2, info.graphName);
  for (const t of g.inits) graph.message(5, tensorProto(t));
  for (const io of g.inputs) graph.message(11, valueInfo(io));
  for (const io of g.outputs) graph.message(12, valueInfo(io));
  const m = new PbWriter().int(1, info.irVersion).string(2, 'charlm').string(3, info.producerVersion ?? '0.1.0');
  m.message(7, graph).message(8, new PbWriter().string(1, '').int(2, info.opset));
  for (const [k, v] of Object.entries(info.meta)) m.message(14, new PbWriter().string(1, k).string(2, v));
  return m.finish();
}
