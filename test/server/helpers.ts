// Shared by the server tests: a small random-init model saved and reloaded from a temp dir (with a made-up
// training summary, so the model card has a loss curve), a server on loopback port 0, and an SSE reader.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CharModel } from '../../src/model/charmodel.js';
import { loadModelFile, saveModel, type LoadedModel, type TrainingSummary } from '../../src/model/io.js';
import { Vocab } from '../../src/data/vocab.js';
import { refBackend } from '../../src/kernels/ref/index.js';
import { Rng } from '../../src/util/rng.js';
import { startServer, type ServerOptions } from '../../src/server/index.js';

export const TEXT = 'First Citizen:\nBefore we proceed any further, hear me speak.\nAll: Speak, speak! You are resolved rather to die than to famish?\n';

export function makeModel(cell: 'lstm' | 'gru' | 'rnn' = 'lstm', seed = 1, hiddenSize = 32): LoadedModel {
  const vocab = Vocab.fromText(TEXT);
  const model = new CharModel({ cell, vocabSize: vocab.size, embeddingDim: 16, hiddenSize, numLayers: 2,
    dropout: 0, embedDropout: 0 }, refBackend);
  model.initialize(new Rng(seed));
  const history: [number, number, number | null][] = Array.from({ length: 40 }, (_, i) =>
    [i * 50, 4 * Math.exp(-i / 10) + 1.2 + 0.05 * Math.sin(i), i % 5 === 4 ? 4 * Math.exp(-i / 10) + 1.35 : null]);
  const training: TrainingSummary = { corpus: 'tiny.txt', steps: 2000, epochs: 3, charsSeen: 1_000_000,
    trainLoss: history[39][1], valLoss: 1.4, backend: 'ref', history };
  const path = join(mkdtempSync(join(tmpdir(), 'charlm-server-')), `tiny-${cell}.safetensors`);
  saveModel(path, model, vocab, training);
  return loadModelFile(path, refBackend);
}

export async function serve(opts: Partial<ServerOptions> = {}) {
  return startServer({ models: [{ name: 'tiny', loaded: makeModel() }], host: '127.0.0.1', port: 0, ...opts });
}

export async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

export interface SseEvent { event: string; data: any }

/** Reads a whole SSE response into its events (calling onEvent as they arrive). */
export async function readSse(res: Response, onEvent?: (e: SseEvent) => void): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const ev = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1];
      const e = { event: ev, data: data === undefined ? null : JSON.parse(data) };
      events.push(e);
      onEvent?.(e);
    }
  }
  return events;
}
