// Recurrent layers (LSTM, GRU, tanh RNN) in PyTorch's parameter layout, time-major inside: x is (T,B,In).
// Forward does the input projection for all T steps as one GEMM, then one recurrent GEMM + fused pointwise
// per step; backward runs the steps in reverse and accumulates the weight gradients as GEMMs over all steps.
import type { Backend, F32 } from '../kernels/backend.js';

export type CellType = 'lstm' | 'gru' | 'rnn';
export const GATES: Record<CellType, number> = { lstm: 4, gru: 3, rnn: 1 };

export interface LayerParams { Wih: F32; Whh: F32; bih: F32; bhh: F32; dWih: F32; dWhh: F32; dbih: F32; dbhh: F32 }

/** Per-(B,T) buffers of one layer; allocated once per shape and reused every step. */
export class LayerWorkspace {
  readonly hs: F32;      // (T+1,B,H): slot 0 = h0, slot t+1 = h_t
  readonly cs: F32;      // lstm: (T+1,B,H) cell states, slot 0 = c0; else empty
  readonly pre: F32;     // (T,B,G·H) gate pre-activations (lstm: activations after forward)
  readonly aux: F32;     // lstm: tanh(c) (T,B,H); gru: saved [r,z,n,gh_n] (T,B,4H) ; rnn: empty
  readonly dPre: F32;    // (T,B,G·H) gradient w.r.t. pre-activations (gru: of the input projection)
  readonly dGh: F32;     // gru: (T,B,3H) gradient w.r.t. the hidden projection; gru also uses it as gh scratch
  readonly dh0: F32;     // (B,H) gradient into h0 (scratch)
  readonly dcA: F32; readonly dcB: F32; // lstm: (B,H) running cell-state gradients
  readonly bsum: F32;    // (G·H) b_ih + b_hh
  constructor(readonly cell: CellType, readonly B: number, readonly T: number, readonly H: number) {
    const G = GATES[cell] * H, BH = B * H;
    this.hs = new Float32Array((T + 1) * BH);
    this.cs = new Float32Array(cell === 'lstm' ? (T + 1) * BH : 0);
    this.pre = new Float32Array(T * B * G);
    this.aux = new Float32Array(cell === 'lstm' ? T * BH : cell === 'gru' ? T * B * 4 * H : 0);
    this.dPre = new Float32Array(T * B * G);
    this.dGh = new Float32Array(cell === 'gru' ? T * B * G : 0);
    this.dh0 = new Float32Array(BH);
    this.dcA = new Float32Array(cell === 'lstm' ? BH : 0);
    this.dcB = new Float32Array(cell === 'lstm' ? BH : 0);
    this.bsum = new Float32Array(G);
    this.hPrevAll = this.hs.subarray(0, T * BH);
    this.out = this.hs.subarray(BH);
  }
  readonly hPrevAll: F32;  // (T,B,H) h_0..h_{T-1}
  readonly out: F32;       // (T,B,H) h_1..h_T, the layer's outputs
  private views = new Map<F32, F32[]>();
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
  constructor(readonly cell: CellType, readonly p: LayerParams, readonly In: number, readonly H: number) {
    this.G = GATES[cell] * H;
  }

  /** Runs T steps from the state already in ws.hs slot 0 (and ws.cs slot 0 for LSTM). x: (T,B,In). */
  forward(be: Backend, ws: LayerWorkspace, x: F32): void {
    const { B, T } = ws, H = this.H, G = this.G, p = this.p;
    be.matmul(ws.pre, x, p.Wih, T * B, G, this.In, false, true, false);
    if (this.cell === 'gru') {
      be.addRowVector(ws.pre, p.bih, T * B, G);
      const gh = ws.slot(ws.dGh, 0, G); // scratch during forward; overwritten by backward
      for (let t = 0; t < T; t++) {
        const hPrev = ws.slot(ws.hs, t, H);
        be.matmul(gh, hPrev, p.Whh, B, G, H, false, true, false);
        be.addRowVector(gh, p.bhh, B, G);
        be.gruCellForward(ws.slot(ws.hs, t + 1, H), ws.slot(ws.aux, t, 4 * H), ws.slot(ws.pre, t, G), gh, hPrev, B, H);
      }
      return;
    }
    for (let j = 0; j < G; j++) ws.bsum[j] = p.bih[j] + p.bhh[j];
    be.addRowVector(ws.pre, ws.bsum, T * B, G);
    for (let t = 0; t < T; t++) {
      const gates = ws.slot(ws.pre, t, G);
      be.matmul(gates, ws.slot(ws.hs, t, H), p.Whh, B, G, H, false, true, true);
      if (this.cell === 'lstm') {
        be.lstmCellForward(ws.slot(ws.hs, t + 1, H), ws.slot(ws.cs, t + 1, H), ws.slot(ws.aux, t, H), gates,
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
    const { B, T } = ws, H = this.H, G = this.G, p = this.p, BH = B * H;
    const dSlot = (t: number): F32 => (t >= 0 ? ws.slot(dOut, t, H) : ws.dh0);
    if (this.cell === 'lstm') {
      let dc = ws.dcA, dcPrev = ws.dcB;
      dc.fill(0);
      for (let t = T - 1; t >= 0; t--) {
        const dG = ws.slot(ws.dPre, t, G);
        be.lstmCellBackward(dG, dcPrev, dSlot(t), dc, ws.slot(ws.pre, t, G), ws.slot(ws.cs, t, H),
                            ws.slot(ws.aux, t, H), B, H);
        if (t > 0) be.matmul(dSlot(t - 1), dG, p.Whh, B, H, G, false, false, true);
        const tmp = dc; dc = dcPrev; dcPrev = tmp;
      }
    } else if (this.cell === 'gru') {
      for (let t = T - 1; t >= 0; t--) {
        const dGh = ws.slot(ws.dGh, t, G);
        if (t === 0) ws.dh0.fill(0);
        be.gruCellBackward(ws.slot(ws.dPre, t, G), dGh, dSlot(t - 1), dSlot(t), ws.slot(ws.aux, t, 4 * H),
                           ws.slot(ws.hs, t, H), B, H);
        if (t > 0) be.matmul(dSlot(t - 1), dGh, p.Whh, B, H, G, false, false, true);
      }
    } else {
      for (let t = T - 1; t >= 0; t--) {
        const dG = ws.slot(ws.dPre, t, G);
        be.tanhBackward(dG, dSlot(t), ws.slot(ws.hs, t + 1, H), BH);
        if (t > 0) be.matmul(dSlot(t - 1), dG, p.Whh, B, H, G, false, false, true);
      }
    }
    const N = T * B;
    const hPrev = ws.hPrevAll;                           // h_0..h_{T-1}: the inputs of the recurrent GEMMs
    const dHid = this.cell === 'gru' ? ws.dGh : ws.dPre; // gradient w.r.t. the hidden projection
    be.matmul(p.dWhh, dHid, hPrev, G, H, N, true, false, true);
    be.sumRows(p.dbhh, dHid, N, G);
    be.matmul(p.dWih, ws.dPre, x, G, this.In, N, true, false, true);
    be.sumRows(p.dbih, ws.dPre, N, G);
    if (dx) be.matmul(dx, ws.dPre, p.Wih, N, this.In, G, false, false, false);
  }
}
