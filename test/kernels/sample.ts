// Kernel-suite cases for sampleRows (batched temperature / top-k / top-p / draw). Every backend must give the SAME
// ids and the SAME float64 probabilities as ref, bit for bit (tolerance 0: the native twin repeats ref's float64
// operations in order, with an exp identical to V8's Math.exp), and ref must equal the one-row, full-sort Picker it
// replaced (oldPick below, kept verbatim as the oracle), so the same seed still gives the same text.
import assert from 'node:assert/strict';
import type { Backend } from '../../src/kernels/backend.js';
import { refBackend as ref } from '../../src/kernels/ref/index.js';
import { sampleRows as refSampleRows } from '../../src/kernels/ref/sample.js';
import { randView, rng } from './check.js';

interface Opt { temperature: number; topK: number; topP: number }

/** The previous Picker (full sort), as the oracle: the distribution, and the draw with uniform u. */
function oldPick(logits: Float32Array, off: number, V: number, o: Opt, ban: Uint8Array | null, u: number): { id: number; p: Float64Array } {
  const p = new Float64Array(V), t = o.temperature > 0 ? o.temperature : 1;
  let mx = -Infinity;
  for (let v = 0; v < V; v++) if (!ban || !ban[v]) mx = Math.max(mx, logits[off + v]);
  let sum = 0;
  for (let v = 0; v < V; v++) { p[v] = ban && ban[v] ? 0 : Math.exp((logits[off + v] - mx) / t); sum += p[v]; }
  for (let v = 0; v < V; v++) p[v] /= sum;
  const k = o.topK > 0 && o.topK < V ? o.topK : V;
  if (k < V || (o.topP > 0 && o.topP < 1)) {
    const ord = new Int32Array(V);
    for (let v = 0; v < V; v++) ord[v] = v;
    ord.sort((a, b) => p[b] - p[a] || a - b);
    let keep = k, cum = 0;
    if (o.topP > 0 && o.topP < 1) {
      for (let i = 0; i < k; i++) { cum += p[ord[i]]; if (cum >= o.topP) { keep = i + 1; break; } }
    }
    let kept = 0;
    for (let i = 0; i < V; i++) { if (i < keep) kept += p[ord[i]]; else p[ord[i]] = 0; }
    for (let v = 0; v < V; v++) p[v] /= kept;
  }
  if (o.temperature <= 0) {
    let best = -1;
    for (let v = 0; v < V; v++) if ((!ban || !ban[v]) && (best < 0 || logits[off + v] > logits[off + best])) best = v;
    return { id: best, p };
  }
  let cum = 0, last = 0;
  for (let v = 0; v < V; v++) {
    if (p[v] <= 0) continue;
    cum += p[v];
    last = v;
    if (u < cum) return { id: v, p };
  }
  return { id: last, p };
}

const OPTS: Opt[] = [
  { temperature: 1, topK: 0, topP: 1 }, { temperature: 0, topK: 0, topP: 1 }, { temperature: 0.7, topK: 40, topP: 1 },
  { temperature: 1, topK: 0, topP: 0.9 }, { temperature: 0.8, topK: 5, topP: 0.5 }, { temperature: 1.3, topK: 1, topP: 1 },
  { temperature: 0.1, topK: 0, topP: 0.3 }, { temperature: 2, topK: 100000, topP: 0.999 }, { temperature: 1, topK: 3, topP: 1 },
];

/** [B, V, logit scale, tie quantum (0 = none), banned ids] */
const SHAPES: [number, number, number, number, number[]][] = [
  [1, 1, 1, 0, []], [3, 2, 1, 0, []], [9, 5, 3, 0.5, [4]], [18, 65, 2.5, 0, [0]], [9, 65, 4, 1, []], [32, 65, 2, 0, []],
  [9, 300, 300, 0, [7, 8]], [9, 7000, 2.5, 0, []], [9, 7000, 6, 0.25, [6999]],
  [9, 7000, 0.05, 0, []], [9, 4099, 0.6, 0, []], // near-uniform rows (an untrained model): every lane in exp's small-|x| branches
];

function run(b: Backend, B: number, V: number, logits: Float32Array, opts: Opt[], u: Float64Array, ban: Uint8Array | null,
             full: boolean): { ids: Int32Array; probs: Float64Array } {
  const ids = new Int32Array(B), probs = new Float64Array(B * V), order = new Int32Array(B * V);
  const temp = Float64Array.from(opts, (o) => o.temperature), topK = Int32Array.from(opts, (o) => o.topK);
  const topP = Float64Array.from(opts, (o) => o.topP);
  (b.sampleRows ?? refSampleRows)(ids, probs, order, logits, u, temp, topK, topP, ban, full, B, V);
  return { ids, probs };
}

export function sampleCases(label: string): [string, (b: Backend) => void][] {
  return [[`sampleRows (temperature, top-k, top-p, draw; bit-exact vs ref and vs the full-sort picker)`, (b) => {
    if (!b.sampleRows) console.log(`  ${label}: no sampleRows (callers use ref's)`);
    const r = rng(15);
    let rows = 0, probDiff = 0;
    for (const [B, V, scale, q, banned] of SHAPES) {
      const ban = banned.length ? new Uint8Array(V) : null;
      for (const id of banned) ban![id] = 1;
      for (let rep = 0; rep < 3; rep++) {
        const logits = randView(B * V, r, -scale, scale);
        if (q > 0) for (let i = 0; i < logits.length; i++) logits[i] = Math.round(logits[i] / q) * q;  // many ties
        const opts = Array.from({ length: B }, (_, i) => OPTS[(i + rep) % OPTS.length]);
        const u = Float64Array.from({ length: B }, () => r());
        for (const full of [false, true]) {
          const got = run(b, B, V, logits, opts, u, ban, full), want = run(ref, B, V, logits, opts, u, ban, full);
          assert.deepEqual(Array.from(got.ids), Array.from(want.ids), `${label} sampleRows ids B=${B} V=${V} full=${full}`);
          if (full) {
            for (let i = 0; i < B * V; i++) {
              if (!Object.is(got.probs[i], want.probs[i])) {
                assert.fail(`${label} sampleRows probs B=${B} V=${V} [${i}]: ${got.probs[i]} vs ref ${want.probs[i]} (tolerance 0)`);
              }
            }
          }
        }
        // ref against the old one-row picker: same ids, same distributions (bit for bit).
        const mine = run(ref, B, V, logits, opts, u, ban, true);
        for (let row = 0; row < B; row++) {
          const old = oldPick(logits, row * V, V, opts[row], ban, u[row]);
          assert.equal(mine.ids[row], old.id, `ref vs full-sort picker B=${B} V=${V} row ${row} ${JSON.stringify(opts[row])}`);
          for (let v = 0; v < V; v++) {
            probDiff = Math.max(probDiff, Math.abs(mine.probs[row * V + v] - old.p[v]));
            if (!Object.is(mine.probs[row * V + v], old.p[v])) {
              assert.fail(`ref vs full-sort picker probs V=${V} row ${row} id ${v}: ${mine.probs[row * V + v]} vs ${old.p[v]}`);
            }
          }
          rows++;
        }
      }
    }
    console.log(`  ${label} sampleRows: ${rows} rows, ids equal to ref and to the full-sort picker; probs max abs diff ${probDiff} (tolerance 0)`);
  }]];
}
