// The `ref` backend: plain TypeScript kernels, the readable reference every other backend is tested against.
import type { Backend } from '../backend.js';
import { matmul } from './matmul.js';
import * as pw from './pointwise.js';
import * as cells from './cells.js';
import { adam, softmaxXent } from './loss-optim.js';
import * as tf from './transformer.js';
import { sampleRows } from './sample.js';
import { hostMemory } from '../host-memory.js';

export const refBackend: Backend = {
  name: 'ref',
  ...hostMemory,
  matmul,
  addRowVector: pw.addRowVector,
  sumRows: pw.sumRows,
  embeddingForward: pw.embeddingForward,
  embeddingBackward: pw.embeddingBackward,
  lstmCellForward: cells.lstmCellForward,
  lstmCellBackward: cells.lstmCellBackward,
  gruCellForward: cells.gruCellForward,
  gruCellBackward: cells.gruCellBackward,
  tanhForward: pw.tanhForward,
  tanhBackward: pw.tanhBackward,
  softmaxXent,
  adam,
  sumSquares: pw.sumSquares,
  scale: pw.scale,
  mul: pw.mul,
  layerNormForward: tf.layerNormForward,
  layerNormBackward: tf.layerNormBackward,
  geluForward: tf.geluForward,
  geluBackward: tf.geluBackward,
  add: tf.add,
  dropout: tf.dropout,
  attentionForward: tf.attentionForward,
  attentionBackward: tf.attentionBackward,
  attentionDecode: tf.attentionDecode,
  kvCacheWrite: tf.kvCacheWrite,
  sampleRows,
};
