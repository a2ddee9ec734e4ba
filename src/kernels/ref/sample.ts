// The batched sampling kernel, reference twin: for every row of a step, softmax with temperature, top-k and top-p
// (nucleus), then the draw with a uniform u the caller took from that row's Rng. Selection (quickselect for top-k, a
// heap for top-p) instead of a full sort; no allocation. Arithmetic order is fixed (float64, left to right) so the
// native twin (native/sample.cc) reproduces it bit for bit, and it matches the one-row Picker it replaced.
import type { F32, I32 } from '../backend.js';

/** `a` ranks above `b`: higher probability, ties to the lower id (a strict total order, so the top set is unique). */
function above(p: Float64Array, o: number, a: number, b: number): boolean {
  const pa = p[o + a], pb = p[o + b];
  return pa > pb || (pa === pb && a < b);
}

/** Moves the k best of ord[s..e) (by `above`) into ord[s..s+k), unordered (Hoare-style quickselect, median of 3). */
function selectTop(ord: I32, p: Float64Array, o: number, s: number, e: number, k: number): void {
  let lo = s, hi = e - 1;
  const target = s + k - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    // median of three into ord[mid] as the pivot
    if (above(p, o, ord[mid], ord[lo])) swap(ord, mid, lo);
    if (above(p, o, ord[hi], ord[lo])) swap(ord, hi, lo);
    if (above(p, o, ord[hi], ord[mid])) swap(ord, hi, mid);
    const pivot = ord[mid];
    let i = lo, j = hi;
    while (i <= j) {
      while (above(p, o, ord[i], pivot)) i++;
      while (above(p, o, pivot, ord[j])) j--;
      if (i <= j) { swap(ord, i, j); i++; j--; }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return;
  }
}

function swap(a: I32, i: number, j: number): void { const t = a[i]; a[i] = a[j]; a[j] = t; }

/** Sift-down for a heap over ord[s..s+n) whose root is the best (by `above`). */
function siftDown(ord: I32, p: Float64Array, o: number, s: number, n: number, i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) return;
    const c = l + 1 < n && above(p, o, ord[s + l + 1], ord[s + l]) ? l + 1 : l;
    if (!above(p, o, ord[s + c], ord[s + i])) return;
    swap(ord, s + i, s + c);
    i = c;
  }
}

/** Heapsort of ord[s..s+n) into best-first order. */
function sortTop(ord: I32, p: Float64Array, o: number, s: number, n: number): void {
  // Build best-at-root, pop each root to the back (that leaves the range worst-first), then reverse.
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(ord, p, o, s, n, i);
  for (let m = n - 1; m > 0; m--) { swap(ord, s, s + m); siftDown(ord, p, o, s, m, 0); }
  for (let i = s, j = s + n - 1; i < j; i++, j--) swap(ord, i, j);
}

/**
 * ids(B) = one token per row. logits (B,V); u (B): uniforms in [0,1) (unused by greedy rows); temperature, topK,
 * topP (B): per-row options (temperature ≤ 0 = greedy argmax, ties to the lowest id; topK 0 or ≥ V = off; topP
 * outside (0,1) = off); banned (V) or null: ids with probability 0 that are never the argmax.
 * probs (B,V), order (B,V): scratch; when fullProbs, probs holds each row's final distribution (greedy rows: the
 * temperature-1 softmax, as Picker.distribution gives).
 */
export function sampleRows(ids: I32, probs: Float64Array, order: I32, logits: F32, u: Float64Array,
                           temperature: Float64Array, topK: I32, topP: Float64Array, banned: Uint8Array | null,
                           fullProbs: boolean, B: number, V: number): void {
  for (let b = 0; b < B; b++) {
    const o = b * V, greedy = !(temperature[b] > 0);
    if (greedy) {
      let best = -1;
      for (let v = 0; v < V; v++) if ((!banned || !banned[v]) && (best < 0 || logits[o + v] > logits[o + best])) best = v;
      ids[b] = best;
      if (!fullProbs) continue;
    }
    const t = greedy ? 1 : temperature[b], p = probs;
    let mx = -Infinity;
    for (let v = 0; v < V; v++) if (!banned || !banned[v]) mx = Math.max(mx, logits[o + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) { p[o + v] = banned && banned[v] ? 0 : Math.exp((logits[o + v] - mx) / t); sum += p[o + v]; }
    const k = topK[b] > 0 && topK[b] < V ? topK[b] : V, tp = topP[b], useP = tp > 0 && tp < 1;
    let kept = 1; // divisor after filtering (1 = no filter: the division is then skipped, as before)
    const filtered = k < V || useP;
    for (let v = 0; v < V; v++) p[o + v] /= sum;
    if (filtered) {
      for (let v = 0; v < V; v++) order[o + v] = v;
      let keep: number;
      if (k < V) {
        // The k best, best first; then (top-p) the shortest prefix whose mass reaches tp.
        selectTop(order, p, o, o, o + V, k);
        sortTop(order, p, o, o, k);
        keep = k;
        if (useP) {
          let cum = 0;
          for (let i = 0; i < k; i++) { cum += p[o + order[o + i]]; if (cum >= tp) { keep = i + 1; break; } }
        }
      } else {
        // top-p alone: pop from a heap of all V until the mass reaches tp (O(V + keep·log V)); popped ids land at
        // the back of the range, best last.
        for (let i = (V >> 1) - 1; i >= 0; i--) siftDown(order, p, o, o, V, i);
        let n = V, cum = 0;
        while (n > 0) {
          swap(order, o, o + n - 1);
          cum += p[o + order[o + n - 1]];
          n--;
          siftDown(order, p, o, o, n, 0);
          if (cum >= tp) break;
        }
        // kept ids are order[o+n .. o+V) in worst-first order; reverse them to the front, best first
        keep = V - n;
        rotateToFront(order, o, n, V);
      }
      kept = 0;
      for (let i = 0; i < keep; i++) kept += p[o + order[o + i]];
      for (let i = keep; i < V; i++) p[o + order[o + i]] = 0;
      if (fullProbs) for (let v = 0; v < V; v++) p[o + v] /= kept;
    }
    if (greedy) continue;
    // The draw: walk ids in order over the kept mass until it passes u (rounding: the last kept id).
    const x = u[b], scaled = filtered && !fullProbs;
    let cum = 0, last = 0, pick = -1;
    for (let v = 0; v < V; v++) {
      const q = scaled ? p[o + v] / kept : p[o + v];
      if (q <= 0) continue;
      cum += q;
      last = v;
      if (x < cum) { pick = v; break; }
    }
    ids[b] = pick >= 0 ? pick : last;
  }
}

/** order[o+n .. o+V) holds the kept ids worst first; move them to order[o .. o+V-n) best first (the rest after). */
function rotateToFront(order: I32, o: number, n: number, V: number): void {
  // reverse the whole row, then reverse the tail (the not-kept ids) back: kept ids end up at the front, best first
  for (let i = o, j = o + V - 1; i < j; i++, j--) swap(order, i, j);
  for (let i = o + V - n, j = o + V - 1; i < j; i++, j--) swap(order, i, j);
}
