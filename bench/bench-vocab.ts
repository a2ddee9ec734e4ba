// Vocabularies for benchmarks: tiny-shakespeare's 65 characters, then CJK ideographs from U+4E00 up to V
// (a Chinese poetry corpus has about 7,000 distinct characters).
import { Vocab } from '../src/data/vocab.js';

export const SHAKESPEARE_CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function benchVocab(V: number): Vocab {
  const chars = [...SHAKESPEARE_CHARS].slice(0, V);
  for (let c = 0x4e00; chars.length < V; c++) chars.push(String.fromCodePoint(c));
  return new Vocab(chars);
}
