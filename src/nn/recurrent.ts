// Recurrent layers (LSTM, GRU, tanh RNN) in PyTorch's parameter layout, time-major inside: x is (T,B,In).
// Forward does the input projection for all T steps as one GEMM, then one recurrent GEMM + fused pointwise
// per step; backward runs the steps in reverse and accumulates the weight gradients as GEMMs over all steps.
// W_ih and W_hh go through PackedWeight: pre-packed once per weight update where the backend supports it.
// Every buffer is allocated by the backend (BackendMemory); nothing here touches buffer contents on the host.
import type { Backend, BackendMemory, F32 } from '../kernels/backend.js';
import { PackedWeight } from './packed.js';

export type CellType = 'lstm' | 'gru' | 'rnn';
export const GATES: Record<CellType, number> = { lstm: 4, gru: 3, rnn: 1 };

export interface LayerParams { Wih: F32; Whh: F32; bih: F32; bhh: F32; dWih: F32; dWhh: F32; dbih: F32; dbhh: F32 }

/** Gradient buffers shared by all layers of a model (backward runs one layer at a time). */
export interface SharedGrads { dPre: F32; dGh: F32 }

/**
 * Backward runs over chunks of time steps: the weight-gradient GEMMs of a chunk are done as soon as its steps are,
 * so the gate gradients need (chunk,B,G) floats instead of (T,B,G) (seed shapes: 8 MB instead of 52 MB) while
 * each GEMM still sums over ≥ 1024 rows.
 */
export function chunkSteps(B: number, T: number): number {
  return Math.min(T, Math.max(1, Math.ceil(1024 / B)));
}

export function sharedGrads(mem: BackendMemory, cell: CellType, B: number, T: number, H: number): SharedGrads {
  const G = GATES[cell] * H, Tc = chunkSteps(B, T);
  return { dPre: mem.alloc(Tc * B * G), dGh: mem.alloc(cell === 'gru' ? Tc * B * G : 0) };
}

/** Per-(B,T) buffers of one layer; allocated once per shape and reused every step. */
export class LayerWorkspace {
  readonly hs: F32;      // (T+1,B,H): slot 0 = h0, slot t+1 = h_t
  readonly cs: F32;      // lstm: (T+1,B,H) cell states, slot 0 = c0; else empty
  readonly pre: F32;     // (T,B,G·H) gate pre-activations (lstm: activations after forward)
  readonly aux: F32;     // gru: saved [r,z,n,gh_n] (T,B,4H); else empty
  readonly scratch: F32; // lstm: (B,H) tanh(c_t) (recomputed in backward rather than stored for all T); gru: (B,3H) gh
  readonly dPre: F32;    // (T,B,G·H) gradient w.r.t. pre-activations (gru: of the input projection); shared
  readonly dGh: F32;     // gru: (T,B,3H) gradient w.r.t. the hidden projection; shared
  readonly dh0: F32;     // (B,H) gradient into h0 (scratch)
  readonly dcA: F32; readonly dcB: F32; // lstm: (B,H) running cell-state gradients
  readonly bsum: F32;    // (G·H) b_ih + b_hh
  constructor(mem: BackendMemory, readonly cell: CellType, readonly B: number, readonly T: number, readonly H: number,
              grads: SharedGrads | null) {
    const G = GATES[cell] * H, BH = B * H, f = (n: number) => mem.alloc(n);
    this.hs = f((T + 1) * BH);
    this.cs = f(cell === 'lstm' ? (T + 1) * BH : 0);
    this.pre = f(T * B * G);
    this.aux = f(cell === 'gru' ? T * B * 4 * H : 0);
    this.scratch = f(cell === 'lstm' ? BH : cell === 'gru' ? B * G : 0);
    this.dPre = grads ? grads.dPre : f(0);
    this.dGh = grads ? grads.dGh : f(0);
    this.dh0 = f(grads ? BH : 0);
    this.dcA = f(grads && cell === 'lstm' ? BH : 0);
    this.dcB = f(grads && cell === 'lstm' ? BH : 0);
    this.bsum = f(G);
    this.out = this.hs.subarray(BH);
  }
  readonly out: F32;       // (T,B,H) h_1..h_T, the layer's outputs
  private views = new Map<F32, F32[]>();
  private spans = new Map<F32, Map<number, F32>>();
  /** Rows of time steps [t0, t1) of a time-major buffer with `width` values per (t,b); cached like slot(). */
  span(buf: F32, t0: number, t1: number, width: number): F32 {
    let m = this.spans.get(buf);
    if (!m) { m = new Map(); this.spans.set(buf, m); }
    const key = t0 * 1e6 + t1;
    let v = m.get(key);
    if (!v) { const n = this.B * width; v = buf.subarray(t0 * n, t1 * n); m.set(key, v); }
    return v;
  }
  /** Step t's (B,width) slice of a time-major buffer. Views are made once per buffer, so steps allocate nothing. */
  slot(buf: F32, t: number, width: number): F32 {
    let v = this.views.get(buf);
    if (!v) {
      const n = this.B * width;
      v = Array.from({ length: Math.floor(buf.length / n) }, (_, i) => buf.subarray(i * n, (i + 1) * n));
      this.views.set(buf, v);
    }
    return v[t];
  }
}

export class RecurrentLayer {
  readonly G: number;
  /** W_ih (G,In) and W_hh (G,H) for the products; their packed copies are refreshed by the model. */
  readonly wih: PackedWeight;
  readonly whh: PackedWeight;
  constructor(readonly cell: CellType, readonly p: LayerParams, readonly In: number, readonly H: number) {
    this.G = GATES[cell] * H;
    this.wih = new PackedWeight(p.Wih, this.G, In);
    this.whh = new PackedWeight(p.Whh, this.G, H);
  }

  /** Runs T steps from the state already in ws.hs slot 0 (and ws.cs slot 0 for LSTM). x: (T,B,In). */
  forward(be: Backend, ws: LayerWorkspace, x: F32): void {
    const { B, T } = ws, H = this.H, G = this.G, p = this.p;
    this.wih.nt(be, ws.pre, x, T * B, false);
    if (this.cell === 'gru') {
      be.addRowVector(ws.pre, p.bih, T * B, G);
      const gh = ws.scratch; // (B,3H) hidden projection of this step
      for (let t = 0; t < T; t++) {
        const hPrev = ws.slot(ws.hs, t, H);
        this.whh.nt(be, gh, hPrev, B, false);
        be.addRowVector(gh, p.bhh, B, G);
        be.gruCellForward(ws.slot(ws.hs, t + 1, H), ws.slot(ws.aux, t, 4 * H), ws.slot(ws.pre, t, G), gh, hPrev, B, H);
      }
      return;
    }
    be.add(ws.bsum, p.bih, p.bhh, G);
    be.addRowVector(ws.pre, ws.bsum, T * B, G);
    for (let t = 0; t < T; t++) {
      const gates = ws.slot(ws.pre, t, G);
      if (this.cell === 'lstm' && be.lstmStepForward) {   // the product and the cell in one call (a GPU backend)
        be.lstmStepForward(ws.slot(ws.hs, t + 1, H), ws.slot(ws.cs, t + 1, H), ws.scratch, gates, ws.slot(ws.cs, t, H),
                           ws.slot(ws.hs, t, H), p.Whh, B, H);
        continue;
      }
      this.whh.nt(be, gates, ws.slot(ws.hs, t, H), B, true);
      if (this.cell === 'lstm') {
        be.lstmCellForward(ws.slot(ws.hs, t + 1, H), ws.slot(ws.cs, t + 1, H), ws.scratch, gates,
                           ws.slot(ws.cs, t, H), B, H);
      } else {
        be.tanhForward(ws.slot(ws.hs, t + 1, H), gates, B * H);
      }
    }
  }

  /**
   * dOut: (T,B,H) gradient w.r.t. the outputs; it is modified (recurrent gradients are added into it).
   * Accumulates parameter gradients; writes dx (T,B,In) unless null. No gradient flows into h0/c0
   * (truncated back-propagation: the initial state is a constant).
   */
  backward(be: Backend, ws: LayerWorkspace, dOut: F32, x: F32, dx: F32 | null): void {
    const { B, T } = ws, H = this.H, G = this.G, BH = B * H, Tc = chunkSteps(B, T);
    if (this.cell === 'lstm') { be.fill(ws.dcA, 0); this.dc = ws.dcA; this.dcPrev = ws.dcB; }
    for (let t1 = T; t1 > 0; t1 -= Tc) {
      const t0 = Math.max(0, t1 - Tc);
      for (let t = t1 - 1; t >= t0; t--) this.stepBackward(be, ws, dOut, t, t - t0, BH);
      // Weight gradients of this chunk as GEMMs over its (t1-t0)·B rows.
      const rows = (t1 - t0) * B, p = this.p;
      const dPre = t1 - t0 === Tc ? ws.dPre : ws.span(ws.dPre, 0, t1 - t0, G);
      const dHid = this.cell === 'gru' ? (t1 - t0 === Tc ? ws.dGh : ws.span(ws.dGh, 0, t1 - t0, G)) : dPre;
      be.matmul(p.dWhh, dHid, ws.span(ws.hs, t0, t1, H), G, H, rows, true, false, true); // inputs h_{t-1}
      be.sumRows(p.dbhh, dHid, rows, G);
      be.matmul(p.dWih, dPre, ws.span(x, t0, t1, this.In), G, this.In, rows, true, false, true);
      be.sumRows(p.dbih, dPre, rows, G);
      if (dx) this.wih.nn(be, ws.span(dx, t0, t1, this.In), dPre, rows, false);
    }
  }

  private dc!: F32;     // lstm: ws.dcA / ws.dcB, swapped every step
  private dcPrev!: F32;

  /** One step of back-propagation through time; gate gradients go to chunk slot k. */
  private stepBackward(be: Backend, ws: LayerWorkspace, dOut: F32, t: number, k: number, BH: number): void {
    const H = this.H, G = this.G, B = ws.B, whh = this.whh;
    const dh = ws.slot(dOut, t, H), dhPrev = t > 0 ? ws.slot(dOut, t - 1, H) : ws.dh0;
    if (this.cell === 'lstm') {
      const dG = ws.slot(ws.dPre, k, G), c = ws.slot(ws.cs, t + 1, H);
      // tanh(c_t) is recomputed to save T·B·H floats: inside the cell kernel where the backend can, else into scratch
      if (be.lstmCellBackwardC) be.lstmCellBackwardC(dG, this.dcPrev, dh, this.dc, ws.slot(ws.pre, t, G), ws.slot(ws.cs, t, H), c, B, H);
      else {
        be.tanhForward(ws.scratch, c, BH);
        be.lstmCellBackward(dG, this.dcPrev, dh, this.dc, ws.slot(ws.pre, t, G), ws.slot(ws.cs, t, H), ws.scratch, B, H);
      }
      if (t > 0) whh.nn(be, dhPrev, dG, B, true);
      const tmp = this.dc; this.dc = this.dcPrev; this.dcPrev = tmp;
    } else if (this.cell === 'gru') {
      const dGh = ws.slot(ws.dGh, k, G);
      if (t === 0) be.fill(ws.dh0, 0);
      be.gruCellBackward(ws.slot(ws.dPre, k, G), dGh, dhPrev, dh, ws.slot(ws.aux, t, 4 * H), ws.slot(ws.hs, t, H), B, H);
      if (t > 0) whh.nn(be, dhPrev, dGh, B, true);
    } else {
      const dG = ws.slot(ws.dPre, k, G);
      be.tanhBackward(dG, dh, ws.slot(ws.hs, t + 1, H), BH);
      if (t > 0) whh.nn(be, dhPrev, dG, B, true);
    }
  }
}
