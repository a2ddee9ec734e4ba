// Generation and streamed scoring for the gpt family with a per-sequence KV cache: feeding T new characters costs
// O(T·context), not a forward over the whole context. Each row keeps its keys/values (L,B,S,C) for S = block_size,
// its position and its tokens. When a row is full the context slides: the row is re-primed from its last S/2
// tokens (positions restart at 0), so every prediction sees between S/2 and S characters of context and the cost
// per character stays O(S). nanoGPT's generate() instead crops to the last S tokens and recomputes all of them.
// The keys, values and every kernel buffer are the backend's (BackendMemory); positions and token history are
// host bookkeeping, and the positions go to the kernels through a backend copy written once per forward.
import type { BackendMemory, F32, I32 } from '../../kernels/backend.js';
import { PackedWeight } from '../../nn/packed.js';
import type { ModelState } from '../model.js';
import type { Affine } from './params.js';
import { LN_EPS, type GptModel } from './model.js';

export interface GptState extends ModelState {
  readonly B: number;
  /** Keys and values (L,B,S,C), backend buffers. */
  readonly k: F32; readonly v: F32;
  /** Cached positions per row (0..S); host-only (the kernels get a backend copy). */
  readonly pos: Int32Array;
  /** The tokens at those positions (B,S): what a slide re-primes from. */
  readonly hist: Int32Array;
}

/** Backend buffers for N = B·T rows, grown on demand and viewed with subarray. */
class Scratch {
  cap = 0; capB = 0;
  x!: F32; ln!: F32; qkv!: F32; att!: F32; proj!: F32; fc!: F32; mean!: F32; rstd!: F32; logits!: F32;
  ids!: I32; posIds!: I32; targets!: I32;
  pos!: I32; // (B) the rows' positions, for attentionDecode
  constructor(private readonly mem: BackendMemory) {}
  ensure(N: number, B: number, C: number, V: number): void {
    const mem = this.mem;
    if (B > this.capB) { this.capB = B; this.pos = mem.allocI32(B); }
    if (N <= this.cap) return;
    const f = (n: number) => mem.alloc(n);
    this.cap = N;
    this.x = f(N * C); this.ln = f(N * C); this.qkv = f(N * 3 * C); this.att = f(N * C); this.proj = f(N * C);
    this.fc = f(N * 4 * C); this.mean = f(N); this.rstd = f(N); this.logits = f(N * V);
    this.ids = mem.allocI32(N); this.posIds = mem.allocI32(N); this.targets = mem.allocI32(N);
  }
}

export class GptInference {
  private readonly packs: { a: Affine; p: PackedWeight }[];
  private readonly head: PackedWeight;
  private fresh = false;
  private readonly s: Scratch;
  private last: { x: F32; ln: F32; mean: F32; rstd: F32; logits: F32; cap: number } | null = null;
  private one: GptState | null = null; // B = 1 scratch state for slides
  private chunkIds = new Int32Array(0); private chunkTargets = new Int32Array(0);

  constructor(private readonly m: GptModel) {
    const C = m.config.n_embd;
    this.s = new Scratch(m.backend);
    this.packs = m.blocks.flatMap((b) => [
      { a: b.attn, p: new PackedWeight(b.attn.w, 3 * C, C) }, { a: b.proj, p: new PackedWeight(b.proj.w, C, C) },
      { a: b.fc, p: new PackedWeight(b.fc.w, 4 * C, C) }, { a: b.mlpProj, p: new PackedWeight(b.mlpProj.w, C, 4 * C) }]);
    this.head = new PackedWeight(m.wte, m.config.vocab_size, C);
  }

  weightsChanged(): void {
    this.fresh = false;
    for (const { p } of this.packs) p.stale();
    this.head.stale();
  }

  private refresh(): void {
    if (this.fresh) return;
    for (const { p } of this.packs) p.refresh(this.m.backend, 'nt');
    this.head.refresh(this.m.backend, 'nt');
    this.fresh = true;
  }

  createState(B: number): GptState {
    const c = this.m.config, n = c.n_layer * B * c.block_size * c.n_embd, be = this.m.backend;
    return { B, k: be.alloc(n), v: be.alloc(n), pos: new Int32Array(B), hist: new Int32Array(B * c.block_size) };
  }

  cloneState(s: GptState): GptState {
    const be = this.m.backend, k = be.alloc(s.k.length), v = be.alloc(s.v.length);
    be.copy(k, s.k, k.length); be.copy(v, s.v, v.length);
    return { B: s.B, k, v, pos: s.pos.slice(), hist: s.hist.slice() };
  }

  /** dst row j ← src row i: only the filled positions of each layer's keys and values are copied. */
  copyRow(dst: GptState, j: number, src: GptState, i: number): void {
    const c = this.m.config, S = c.block_size, C = c.n_embd, n = src.pos[i] * C, be = this.m.backend;
    for (let l = 0; l < c.n_layer; l++) {
      const so = ((l * src.B + i) * S) * C, d = ((l * dst.B + j) * S) * C;
      be.copy(dst.k, src.k, n, d, so);
      be.copy(dst.v, src.v, n, d, so);
    }
    dst.pos[j] = src.pos[i];
    dst.hist.set(src.hist.subarray(i * S, i * S + src.pos[i]), j * S);
  }

  /** Empties one row (or all): keys past pos are never read, so only pos is cleared. */
  reset(s: GptState, row?: number): void {
    if (row === undefined) s.pos.fill(0); else s.pos[row] = 0;
  }

  /**
   * Next-character logits (B,V) after feeding ids (B,T), host copy current; long inputs keep their last block_size
   * characters.
   */
  prime(ids: I32, B: number, T: number, st: GptState): F32 {
    if (st.B !== B) throw new Error(`state batch ${st.B} != ${B}`);
    const S = this.m.config.block_size;
    let off = 0;
    if (T > S) { off = T - S; this.reset(st); } // only the last S characters can be seen
    let logits: F32 | null = null;
    while (off < T) {
      const n = this.makeRoom(st, T - off);
      const chunk = n === T ? ids : this.copyChunk(ids, B, T, off, n, null);
      logits = this.forward(chunk, B, n, st, 'last');
      off += n;
    }
    this.m.backend.read(logits!);
    return logits!;
  }

  /** Σ -log p over (B,T) targets, feeding ids after the state (the streamed evaluation protocol). */
  lossSum(ids: I32, targets: I32, B: number, T: number, st: GptState): { sum: number; count: number } {
    if (st.B !== B) throw new Error(`state batch ${st.B} != ${B}`);
    const V = this.m.config.vocab_size;
    let off = 0, sum = 0, count = 0;
    while (off < T) {
      const n = this.makeRoom(st, T - off);
      const x = this.copyChunk(ids, B, T, off, n, 'ids'), y = this.copyChunk(targets, B, T, off, n, 'targets');
      const logits = this.forward(x, B, n, st, 'all');
      const yb = this.s.targets.subarray(0, B * n); // forward sized the scratch for B·n rows
      for (let i = 0; i < B * n; i++) { yb[i] = y[i]; if (y[i] >= 0) count++; }
      this.m.backend.write(yb);
      sum += this.m.backend.softmaxXent(null, logits, yb, B * n, V, 0);
      off += n;
    }
    return { sum, count };
  }

  /** Slides rows that cannot take min(want, S/2) more positions; returns how many positions every row can take. */
  private makeRoom(st: GptState, want: number): number {
    const S = this.m.config.block_size, need = Math.min(want, Math.max(1, Math.floor(S / 2)));
    let room = S;
    for (let b = 0; b < st.B; b++) {
      if (S - st.pos[b] < need) this.slide(st, b, Math.min(st.pos[b], Math.floor(S / 2)));
      room = Math.min(room, S - st.pos[b]);
    }
    return Math.min(want, room);
  }

  /** Re-primes row b from its last `keep` tokens at positions 0..keep-1. */
  private slide(st: GptState, b: number, keep: number): void {
    const S = this.m.config.block_size;
    const tokens = st.hist.slice(b * S + st.pos[b] - keep, b * S + st.pos[b]);
    st.pos[b] = 0;
    if (keep === 0) return;
    const one = this.one ?? (this.one = this.createState(1));
    one.pos[0] = 0;
    this.forward(tokens, 1, keep, one, 'none');
    this.copyRow(st, b, one, 0);
  }

  /** Columns off..off+n of a (B,T) row-major array, as a contiguous (B,n) array (reused buffers). */
  private copyChunk(a: I32, B: number, T: number, off: number, n: number, which: 'ids' | 'targets' | null): I32 {
    let buf = which === 'targets' ? this.chunkTargets : this.chunkIds;
    if (buf.length < B * n) {
      buf = new Int32Array(B * n);
      if (which === 'targets') this.chunkTargets = buf; else this.chunkIds = buf;
    }
    const out = buf.subarray(0, B * n);
    for (let b = 0; b < B; b++) out.set(a.subarray(b * T + off, b * T + off + n), b * n);
    return out;
  }

  /**
   * Feeds (B,T) ids at each row's positions pos[b].. (room was made), writing keys/values into the cache. Returns
   * logits for every position (B·T,V), the last position of each row (B,V), or nothing.
   */
  private forward(ids: I32, B: number, T: number, st: GptState, out: 'all' | 'last' | 'none'): F32 {
    const m = this.m, be = m.backend, c = m.config, N = B * T, C = c.n_embd, S = c.block_size, V = c.vocab_size;
    const nh = c.n_head, hd = C / nh, s = this.s;
    this.refresh();
    s.ensure(N, B, C, V);
    const x = s.x.subarray(0, N * C), ln = s.ln.subarray(0, N * C), qkv = s.qkv.subarray(0, N * 3 * C);
    const att = s.att.subarray(0, N * C), proj = s.proj.subarray(0, N * C), fc = s.fc.subarray(0, N * 4 * C);
    const mean = s.mean.subarray(0, N), rstd = s.rstd.subarray(0, N);
    const idv = s.ids.subarray(0, N), posIds = s.posIds.subarray(0, N), pos = s.pos.subarray(0, B);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      idv[b * T + t] = ids[b * T + t];
      posIds[b * T + t] = st.pos[b] + t;
      st.hist[b * S + st.pos[b] + t] = ids[b * T + t];
    }
    pos.set(st.pos);
    be.write(idv); be.write(posIds); be.write(pos);
    be.embeddingForward(x, m.wte, idv, N, C);
    be.embeddingForward(proj, m.wpe, posIds, N, C);
    be.add(x, x, proj, N * C);
    const LBSC = B * S * C;
    for (let l = 0; l < c.n_layer; l++) {
      const P = m.blocks[l], pk = 4 * l; // this layer's packs: c_attn, c_proj, c_fc, mlp.c_proj
      const kc = st.k.subarray(l * LBSC, (l + 1) * LBSC), vc = st.v.subarray(l * LBSC, (l + 1) * LBSC);
      be.layerNormForward(ln, mean, rstd, x, P.ln1.w, P.ln1.b, N, C, LN_EPS);
      this.linear(qkv, ln, this.packs[pk], N, 3 * C);
      // this step's keys and values into the cache: one call where the backend has it (a GPU dispatch), else copies
      if (be.kvCacheWrite) be.kvCacheWrite(kc, vc, qkv, pos, B, T, C, S);
      else for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
        const src = (b * T + t) * 3 * C, dst = l * LBSC + (b * S + st.pos[b] + t) * C;
        be.copy(st.k, qkv, C, dst, src + C);
        be.copy(st.v, qkv, C, dst, src + 2 * C);
      }
      be.attentionDecode(att, qkv, 3 * C, kc, vc, pos, B, T, nh, hd, S);
      this.linear(proj, att, this.packs[pk + 1], N, C);
      be.add(x, x, proj, N * C);
      be.layerNormForward(ln, mean, rstd, x, P.ln2.w, P.ln2.b, N, C, LN_EPS);
      this.linear(fc, ln, this.packs[pk + 2], N, 4 * C);
      be.geluForward(fc, fc, N * 4 * C);
      this.linear(proj, fc, this.packs[pk + 3], N, C);
      be.add(x, x, proj, N * C);
    }
    for (let b = 0; b < B; b++) st.pos[b] += T;
    if (out === 'none') return s.logits.subarray(0, 0);
    if (out === 'all') {
      be.layerNormForward(ln, mean, rstd, x, m.lnF.w, m.lnF.b, N, C, LN_EPS);
      const logits = s.logits.subarray(0, N * V);
      this.head.nt(be, logits, ln, N, false);
      return logits;
    }
    const lw = this.lastBuffers(B, C, V);
    for (let b = 0; b < B; b++) be.copy(lw.x, x, C, b * C, (b * T + T - 1) * C);
    const xl = lw.x.subarray(0, B * C), lnl = lw.ln.subarray(0, B * C), logits = lw.logits.subarray(0, B * V);
    be.layerNormForward(lnl, lw.mean, lw.rstd, xl, m.lnF.w, m.lnF.b, B, C, LN_EPS);
    this.head.nt(be, logits, lnl, B, false);
    return logits;
  }

  private linear(y: F32, x: F32, pk: { a: Affine; p: PackedWeight }, N: number, out: number): void {
    pk.p.nt(this.m.backend, y, x, N, false);
    if (pk.a.b) this.m.backend.addRowVector(y, pk.a.b, N, out);
  }

  private lastBuffers(B: number, C: number, V: number) {
    if (!this.last || this.last.cap < B) {
      const f = (n: number) => this.m.backend.alloc(n);
      this.last = { x: f(B * C), ln: f(B * C), mean: f(B), rstd: f(B), logits: f(B * V), cap: B };
    }
    return this.last;
  }
}
