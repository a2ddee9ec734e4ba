// Load benchmark for `charlm serve` on loopback: 1, 8 and 32 concurrent streaming clients for a bounded time
// each, with continuous batching and with it off (maxBatch = 1). Reports chars/s served, p50/p99 latency to the
// first character, mean batch size, and the gain from batching. The server runs in a child process with a
// random-init model of the seed's shapes (LSTM, E 256, H 512, 2 layers, V 65): throughput needs no training.
//   node --import tsx bench/serve-load.ts [--seconds 6] [--length 200] [--clients 1,8,32] [--hidden 512] [--backend auto]
//     [--engine worker|inline] [--vocab 65] [--threads N] [--no-unbatched] [--prof DIR] [--raw] [--repeat N] [--stream-ms MS]
// The client is plain node:http (no fetch/web streams) and reports its own CPU share next to the server's.
// --raw: the server process also times the raw sampling step (model.step + the picker in a loop, batch = the phase's
// client count, on the same model and cores, with the engine idle) for half a phase right before and right after
// each served phase, and the phase reports served / raw against the mean of the two: on a host whose speed drifts
// (shared 2-core VMs), a raw figure taken a minute earlier in another process is not the same machine.
// --repeat N: every client count N times, interleaved (1, 32, 1, 32, ...).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CharModel } from '../src/model/charmodel.js';
import { request, Agent } from 'node:http';
import { benchVocab } from './bench-vocab.js';
import { createBackend, type BackendName } from '../src/kernels/registry.js';
import { Rng } from '../src/util/rng.js';
import { startServer } from '../src/server/index.js';
import { Picker } from '../src/sample/pick.js';
import { sampleSteps } from '../src/cli/bench.js';

const PROMPTS = ['ROMEO:\n', 'First Citizen:\nBefore we proceed', 'KING RICHARD III:\nNow is the winter', 'O, ', 'JULIET:\nWhat'];

interface ServerArgs { hidden: number; embed: number; layers: number; backend: string; maxBatch: number; engine: 'worker' | 'inline'; vocab: number; threads?: number; streamMs?: number }

async function serverMain(a: ServerArgs): Promise<void> {
  const backend = await createBackend(a.backend as BackendName, { threads: a.threads });
  const vocab = benchVocab(a.vocab);
  const model = new CharModel({ cell: 'lstm', vocabSize: vocab.size, embeddingDim: a.embed, hiddenSize: a.hidden,
    numLayers: a.layers, dropout: 0, embedDropout: 0 }, backend);
  model.initialize(new Rng(1));
  const loaded = { model, vocab, config: model.config, training: null, metadata: {}, source: 'random-init' };
  const s = await startServer({ models: [{ name: 'bench', loaded }], host: '127.0.0.1', port: 0,
    limits: { maxBatch: a.maxBatch, maxStreams: 1024, maxRequests: 1024, requestTimeoutMs: 600_000 }, webDir: null, engine: a.engine, threads: a.threads,
    ...(a.streamMs !== undefined ? { batcher: { streamMs: a.streamMs } } : {}) });
  /** chars/s of the raw sampling step at batch B for about `seconds` (the loop of `charlm bench`'s sampling figure). */
  const raw = (B: number, seconds: number): number => {
    const rng = new Rng(7), state = model.createState(B), ids = Int32Array.from({ length: B }, () => rng.int(vocab.size));
    const picker = new Picker(vocab.size, vocab.bannedIds, backend);
    const run = (n: number) => sampleSteps(model, picker, rng, ids, state, n);
    run(5);
    let steps = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) { run(5); steps += 5; }
    const rate = (B * steps) / ((performance.now() - t0) / 1000);
    model.releaseState(state);
    return rate;
  };
  process.on('message', (m: any) => {
    if (m && typeof m === 'object' && m.raw) process.send!({ rawCharsPerS: raw(m.raw.batch, m.raw.seconds) });
    if (m === 'stats') process.send!({ stats: s.stats(), cpu: process.cpuUsage() }); // cpu: all of the server's threads
    if (m === 'close') void s.close().then(() => process.exit(0));
  });
  process.send!({ url: s.url, backend: backend.name });
}

interface Phase {
  clients: number; chars: number; seconds: number; ttfc: number[]; unstarted: number; requests: number;
  /** CPU seconds this (client) process used during the phase. */
  clientCpu: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4096 });
const CHUNK = 'event: chunk\ndata: ';

/**
 * One streamed request on a plain node:http socket (lighter than fetch + web streams): counts the characters of
 * `chunk` events, calls onFirst at the first. Resolves when the stream ends or is aborted.
 */
function streamOnce(url: URL, body: string, signal: AbortSignal, onFirst: () => void, onChars: (n: number) => void): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, signal, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.setEncoding('utf8');
      let buf = '', first = false;
      res.on('data', (d: string) => {
        buf += d;
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          if (!block.startsWith(CHUNK)) continue;
          if (!first) { first = true; onFirst(); }
          const text = (JSON.parse(block.slice(CHUNK.length)) as { text: string }).text;
          let n = 0;
          for (let i = 0; i < text.length; i++) { const c = text.charCodeAt(i); if (c < 0xdc00 || c > 0xdfff) n++; } // code points
          onChars(n);
        }
      });
      res.on('end', resolve); res.on('error', () => resolve()); res.on('aborted', () => resolve());
    });
    req.on('error', () => resolve()); // aborted at the deadline
    req.end(body);
  });
}

/** Each client loops: stream one request, count characters as they arrive; all stop at the deadline. */
async function runPhase(url: string, clients: number, seconds: number, length: number): Promise<Phase> {
  const deadline = performance.now() + seconds * 1000, cpu0 = process.cpuUsage();
  const ph: Phase = { clients, chars: 0, seconds, ttfc: [], unstarted: 0, requests: 0, clientCpu: 0 };
  const target = new URL(`${url}/v1/generate`);
  const client = async (c: number) => {
    for (let r = 0; performance.now() < deadline; r++) {
      const ac = new AbortController(), timer = setTimeout(() => ac.abort(), Math.max(0, deadline - performance.now()));
      const t0 = performance.now();
      let first = false;
      ph.requests++;
      const body = JSON.stringify({ prompt: PROMPTS[(c + r) % PROMPTS.length], length, seed: c * 1000 + r, temperature: 0.8, stream: true });
      await streamOnce(target, body, ac.signal, () => { first = true; ph.ttfc.push(performance.now() - t0); }, (n) => { ph.chars += n; });
      clearTimeout(timer);
      if (!first) ph.unstarted++;
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  const cpu = process.cpuUsage(cpu0);
  ph.clientCpu = (cpu.user + cpu.system) / 1e6;
  return ph;
}

/** The server's own first-character histogram (charlm_first_char_seconds buckets: le → cumulative count). */
async function firstCharBuckets(url: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^charlm_first_char_seconds_bucket\{le="([^"]+)"[^}]*\} (\d+)$/gm)) out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  return out;
}

/** Upper bucket bound (ms) under which fraction p of the phase's first characters fell, server side. */
function bucketPct(before: Map<number, number>, after: Map<number, number>, p: number): number {
  const les = [...after.keys()].sort((a, b) => a - b), total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const le of les) if ((after.get(le)! - (before.get(le) ?? 0)) >= p * total) return le * 1000;
  return NaN;
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

async function main(): Promise<void> {
  const { values: o } = parseArgs({ options: {
    seconds: { type: 'string', default: '6' }, length: { type: 'string', default: '200' },
    clients: { type: 'string', default: '1,8,32' }, hidden: { type: 'string', default: '512' },
    embed: { type: 'string', default: '256' }, layers: { type: 'string', default: '2' }, backend: { type: 'string', default: 'auto' },
    prof: { type: 'string' }, 'no-unbatched': { type: 'boolean', default: false },
    engine: { type: 'string', default: 'worker' }, vocab: { type: 'string', default: '65' }, threads: { type: 'string' },
    raw: { type: 'boolean', default: false }, repeat: { type: 'string', default: '1' }, 'stream-ms': { type: 'string' },
  } });
  const seconds = Number(o.seconds), length = Number(o.length), clientCounts = o.clients!.split(',').map(Number);
  const rows: string[] = [];
  const summary: Record<string, number>[] = [];
  const results = new Map<string, Phase & { meanBatch: number }>();
  for (const maxBatch of o['no-unbatched'] ? [64] : [64, 1]) {
    const args: ServerArgs = { hidden: Number(o.hidden), embed: Number(o.embed), layers: Number(o.layers), backend: o.backend!, maxBatch,
      engine: o.engine as 'worker' | 'inline', vocab: Number(o.vocab), threads: o.threads ? Number(o.threads) : undefined,
      streamMs: o['stream-ms'] !== undefined ? Number(o['stream-ms']) : undefined };
    const worker = fork(fileURLToPath(import.meta.url), ['--server', JSON.stringify(args)], {
      // --prof DIR: a V8 CPU profile of the server process (node --cpu-prof), written when it exits.
      execArgv: ['--import', 'tsx', ...(o.prof ? ['--cpu-prof', `--cpu-prof-dir=${o.prof}`] : [])],
    });
    const ready = await new Promise<{ url: string; backend: string }>((res) => worker.once('message', (m) => res(m as any)));
    const stats = () => new Promise<any>((res) => { worker.once('message', (m: any) => res(m)); worker.send('stats'); });
    const rawStep = (batch: number) => new Promise<number>((res) => {
      worker.once('message', (m: any) => res(Math.round(m.rawCharsPerS)));
      worker.send({ raw: { batch, seconds: seconds / 2 } });
    });
    if (maxBatch === 64) console.log(`# model: LSTM E${o.embed} H${o.hidden} L${o.layers} V${o.vocab}, backend ${ready.backend}, engine ${o.engine}; ${seconds}s per phase, ${length} chars per request`);
    await runPhase(ready.url, 1, 1, 20); // warm-up (JIT, workspaces)
    const order = Array.from({ length: Number(o.repeat) }, () => clientCounts).flat();
    for (const clients of order) {
      const rawBefore = o.raw ? await rawStep(clients) : NaN;
      const before = await stats(), fcBefore = await firstCharBuckets(ready.url);
      const ph = await runPhase(ready.url, clients, seconds, length);
      await new Promise((r) => setTimeout(r, 300)); // let aborted sequences leave
      const after = await stats(), fcAfter = await firstCharBuckets(ready.url);
      const rawAfter = o.raw ? await rawStep(clients) : NaN, rawMean = (rawBefore + rawAfter) / 2;
      const meanBatch = (after.stats.seqSteps - before.stats.seqSteps) / Math.max(1, after.stats.steps - before.stats.steps);
      const serverCpu = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1e6;
      results.set(`${maxBatch}/${clients}`, { ...ph, meanBatch });
      summary.push({ maxBatch, clients, charsPerS: Math.round(ph.chars / seconds), p50FirstCharMs: Math.round(pct(ph.ttfc, 0.5)),
        p99FirstCharMs: Math.round(pct(ph.ttfc, 0.99)), meanBatch: Number(meanBatch.toFixed(2)), requests: ph.requests, started: ph.requests - ph.unstarted,
        clientCpuShare: Number((ph.clientCpu / seconds).toFixed(3)), serverCpuShare: Number((serverCpu / seconds).toFixed(3)),
        serverFirstCharP50BucketMs: bucketPct(fcBefore, fcAfter, 0.5), serverFirstCharP99BucketMs: bucketPct(fcBefore, fcAfter, 0.99),
        ...(o.raw ? { rawBefore, rawAfter, servedOverRaw: Number((ph.chars / seconds / rawMean).toFixed(3)) } : {}) });
      rows.push(`| ${maxBatch === 1 ? 'off (maxBatch=1)' : 'on (maxBatch=64)'} | ${clients} | ${(ph.chars / seconds).toFixed(0)} | ` +
        `${pct(ph.ttfc, 0.5).toFixed(0)} | ${pct(ph.ttfc, 0.99).toFixed(0)} | ${meanBatch.toFixed(1)} | ${ph.requests - ph.unstarted}/${ph.requests} | ` +
        `${(100 * ph.clientCpu / seconds).toFixed(0)}% | ${(100 * serverCpu / seconds).toFixed(0)}% |` +
        (o.raw ? ` ${rawBefore} / ${rawAfter} | ${(100 * ph.chars / seconds / rawMean).toFixed(0)}% |` : ''));
    }
    worker.send('close');
    await new Promise((r) => worker.once('exit', r));
  }
  console.log('| batching | clients | chars/s | p50 first char (ms) | p99 first char (ms) | mean batch | requests started | load client CPU | server CPU |' +
    (o.raw ? ' raw step before / after (chars/s) | served / raw |' : ''));
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|' + (o.raw ? '---:|---:|' : ''));
  for (const r of rows) console.log(r);
  for (const clients of clientCounts) {
    const on = results.get(`64/${clients}`)!, off = results.get(`1/${clients}`);
    if (!off) continue;
    console.log(`# ${clients} clients: batching serves ${(on.chars / Math.max(1, off.chars)).toFixed(2)}× the characters per second`);
  }
  console.log('# requests started = those that got their first character before the phase ended (the rest were still queued)');
  console.log(JSON.stringify({ engine: o.engine, vocab: Number(o.vocab), seconds, length, phases: summary }));
  console.log('# CPU = CPU time used during the phase / phase length (100% = one core): the load client\'s own share, and the server\'s (all threads)');
}

if (process.argv[2] === '--server') await serverMain(JSON.parse(process.argv[3]) as ServerArgs);
else await main();
