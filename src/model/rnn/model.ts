// The character model: Embedding(V,E) → L recurrent layers (LSTM/GRU/RNN) → Linear(H,V), as the seed's CharLSTM,
// with parameters named and shaped as its PyTorch state_dict. Forward/backward run over a Backend; all buffers for
// a given (B,T) are allocated once (Workspace) and reused, so training and sampling steps allocate nothing.
// Weight matrices are pre-packed for the backend's GEMM (when it can) once per weight change, not once per product.
// Every buffer a kernel sees is the backend's (BackendMemory); the host writes only ids and targets (then write();
// dropout masks are made by the backend's hash kernel), and reads only the logits it returns (after read()).
import type { Backend, BackendMemory, F32, I32 } from '../../kernels/backend.js';
import type { PackedWeight } from '../../nn/packed.js';
import { ParamStore, type ParamSpec } from '../../nn/params.js';
import { GATES, LayerWorkspace, RecurrentLayer, sharedGrads } from '../../nn/recurrent.js';
import { Linear } from '../../nn/linear.js';
import { makeDropoutMask } from '../../nn/dropout.js';
import type { Rng } from '../../util/rng.js';
import { cellPrefix, type RnnConfig } from '../config.js';
import type { LanguageModel, MicroBatchOptions, ModelDescription, ModelState } from '../model.js';

/** Recurrent state in PyTorch's layout: h, c are (L,B,H); c is null for GRU/RNN. */
export interface RecurrentState extends ModelState { B: number; h: F32; c: F32 | null }

export function paramSpecs(cfg: RnnConfig): ParamSpec[] {
  const { vocabSize: V, embeddingDim: E, hiddenSize: H, numLayers: L } = cfg;
  const G = GATES[cfg.cell] * H, pre = cellPrefix(cfg.cell);
  const specs: ParamSpec[] = [{ name: 'embed.weight', shape: [V, E] }];
  for (let l = 0; l < L; l++) {
    specs.push({ name: `${pre}.weight_ih_l${l}`, shape: [G, l === 0 ? E : H] },
               { name: `${pre}.weight_hh_l${l}`, shape: [G, H] },
               { name: `${pre}.bias_ih_l${l}`, shape: [G] },
               { name: `${pre}.bias_hh_l${l}`, shape: [G] });
  }
  specs.push({ name: 'fc.weight', shape: [V, H] }, { name: 'fc.bias', shape: [V] });
  return specs;
}

class Workspace {
  readonly ids: I32; readonly targets: I32;   // (T,B) time-major copies of the (B,T) inputs
  readonly emb: F32; readonly embIn: F32;      // (T,B,E) embeddings; embIn = after embedding dropout
  readonly embMask: F32;                       // (T,B,E) or empty
  readonly layers: LayerWorkspace[];
  readonly masks: F32[]; readonly dropped: F32[]; // per layer l < L-1: dropout mask and masked output (T,B,H)
  readonly logits: F32; readonly dLogits: F32;  // (T,B,V)
  readonly dOut: F32[];                         // per layer: gradient w.r.t. its output (T,B,H)
  readonly dEmb: F32;                           // (T,B,E)
  constructor(mem: BackendMemory, cfg: RnnConfig, readonly B: number, readonly T: number, train: boolean) {
    const { embeddingDim: E, hiddenSize: H, numLayers: L, vocabSize: V } = cfg, N = B * T, f = (n: number) => mem.alloc(n);
    this.ids = mem.allocI32(N); this.targets = mem.allocI32(N);
    this.emb = f(N * E);
    this.embMask = f(train && cfg.embedDropout > 0 ? N * E : 0);
    this.embIn = this.embMask.length ? f(N * E) : this.emb;
    const grads = train ? sharedGrads(mem, cfg.cell, B, T, H) : null; // one set for all layers: backward is layer by layer
    this.layers = Array.from({ length: L }, () => new LayerWorkspace(mem, cfg.cell, B, T, H, grads));
    const drop = train && cfg.dropout > 0;
    this.masks = Array.from({ length: L - 1 }, () => f(drop ? N * H : 0));
    this.dropped = this.layers.slice(0, L - 1).map((w) => (drop ? f(N * H) : w.out));
    this.logits = f(N * V);
    this.dLogits = f(train ? N * V : 0);
    // Gradients w.r.t. each layer's output; two buffers suffice (layer l reads dOut[l] and writes dOut[l-1]).
    const pair = train ? [f(N * H), f(N * H)] : [];
    this.dOut = Array.from({ length: train ? L : 0 }, (_, l) => pair[l % 2]);
    this.dEmb = f(train ? N * E : 0);
  }
}

export class RnnModel implements LanguageModel {
  readonly family = 'rnn';
  readonly contextLimit = null;
  readonly statefulTraining = true;
  readonly params: ParamStore;
  readonly layers: RecurrentLayer[];
  readonly fc: Linear;
  private workspaces = new Map<string, Workspace>();
  private version = 0;
  /** What the packed copies were made from: weightsVersion, backend, and whether W_hh has its backward copy. */
  private packedAt: { version: number; backend: Backend; train: boolean } | null = null;

  readonly config: RnnConfig;

  /** `family` may be left out (configs from before families existed, tests): it is always 'rnn'. */
  constructor(config: RnnConfig | Omit<RnnConfig, 'family'>, public backend: Backend) {
    config = this.config = { ...config, family: 'rnn' };
    this.params = new ParamStore(paramSpecs(config), backend);
    const { embeddingDim: E, hiddenSize: H, numLayers: L, vocabSize: V } = config, ps = this.params;
    const pre = cellPrefix(config.cell);
    this.layers = Array.from({ length: L }, (_, l) => new RecurrentLayer(config.cell, {
      Wih: ps.value(`${pre}.weight_ih_l${l}`), Whh: ps.value(`${pre}.weight_hh_l${l}`),
      bih: ps.value(`${pre}.bias_ih_l${l}`), bhh: ps.value(`${pre}.bias_hh_l${l}`),
      dWih: ps.gradOf(`${pre}.weight_ih_l${l}`), dWhh: ps.gradOf(`${pre}.weight_hh_l${l}`),
      dbih: ps.gradOf(`${pre}.bias_ih_l${l}`), dbhh: ps.gradOf(`${pre}.bias_hh_l${l}`),
    }, l === 0 ? E : H, H));
    this.fc = new Linear(ps.value('fc.weight'), ps.value('fc.bias'), ps.gradOf('fc.weight'), ps.gradOf('fc.bias'), H, V);
  }

  get vocabSize(): number { return this.config.vocabSize; }

  /** Adam's L2 / AdamW decay applies to every tensor, as torch.optim over model.parameters() (the seed's setup). */
  decays(_name: string): boolean { return true; }

  describe(): ModelDescription {
    const c = this.config;
    return {
      family: 'rnn', summary: `${c.cell.toUpperCase()} ${c.numLayers}×${c.hiddenSize}, embedding ${c.embeddingDim}`,
      rows: [['cell', c.cell], ['layers', c.numLayers], ['hidden size', c.hiddenSize], ['embedding', c.embeddingDim],
             ['vocabulary', c.vocabSize]],
    };
  }

  /** Bumped by weightsChanged(); packed weight copies are refreshed when it moves. */
  get weightsVersion(): number { return this.version; }

  /**
   * Call after writing params.data directly (loading, an optimizer step, tests). The packed copies of the weights
   * are then refreshed at the start of the next forward. Training and scoring calls that run several time steps
   * (forward/lossSum with T > 1, forwardBackward) repack anyway, and forwardBackward leaves the copies stale (its
   * caller is about to update the weights), so only the sampling calls (step(), prime(), forward with T = 1) rely
   * on this.
   */
  weightsChanged(): void {
    this.version++;
    this.stalePacks();
  }

  private packedWeights(): { w: PackedWeight; train: 'nt' | 'both' }[] {
    return [...this.layers.flatMap((l) => [{ w: l.wih, train: 'both' as const }, { w: l.whh, train: 'both' as const }]),
            { w: this.fc.w, train: 'nt' }];
  }

  /**
   * Brings the packed copies up to date for this call: training also packs W_ih and W_hh for the backward products
   * dx = dG·W (memory: one copy of every weight matrix, plus a second of each recurrent layer's W_ih and W_hh once
   * the model has trained; bf16 halves both). releaseWorkspaces() frees them.
   */
  private preparePacks(train: boolean, force: boolean): void {
    const at = this.packedAt, be = this.backend;
    if (!force && at && at.version === this.version && at.backend === be && (at.train || !train)) return;
    for (const { w, train: modes } of this.packedWeights()) w.refresh(be, train ? modes : 'nt');
    this.packedAt = { version: this.version, backend: be, train: train || (at?.train ?? false) };
  }

  private stalePacks(): void {
    this.packedAt = null;
    for (const { w } of this.packedWeights()) w.stale();
  }

  /**
   * PyTorch's default initialisation: Embedding N(0,1); recurrent weights and biases U(±1/√H); Linear weight
   * (kaiming_uniform with a=√5) and bias U(±1/√in) — here in = H, so every non-embedding bound is 1/√H.
   */
  initialize(rng: Rng): void {
    const ps = this.params, bound = 1 / Math.sqrt(this.config.hiddenSize);
    for (const e of ps.entries) {
      const v = ps.value(e.name);
      if (e.name === 'embed.weight') for (let i = 0; i < v.length; i++) v[i] = rng.normal();
      else for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-bound, bound);
    }
    ps.write();
    this.weightsChanged();
  }

  createState(B: number): RecurrentState {
    const n = this.config.numLayers * B * this.config.hiddenSize, be = this.backend;
    return { B, h: be.alloc(n), c: this.config.cell === 'lstm' ? be.alloc(n) : null };
  }

  cloneState(s: ModelState): RecurrentState {
    const r = s as RecurrentState, out = this.createState(r.B), be = this.backend;
    be.copy(out.h, r.h, r.h.length);
    if (out.c && r.c) be.copy(out.c, r.c, r.c.length);
    return out;
  }

  releaseState(s: ModelState): void {
    const r = s as RecurrentState;
    this.backend.free?.(r.h);
    if (r.c) this.backend.free?.(r.c);
  }

  /** dst row j ← src row i, for every layer; h, c are (L,B,H). */
  copyStateRow(dstS: ModelState, j: number, srcS: ModelState, i: number): void {
    const dst = dstS as RecurrentState, src = srcS as RecurrentState;
    const H = this.config.hiddenSize, L = this.config.numLayers;
    for (let l = 0; l < L; l++) {
      const s = (l * src.B + i) * H, d = (l * dst.B + j) * H;
      this.backend.copy(dst.h, src.h, H, d, s);
      if (dst.c && src.c) this.backend.copy(dst.c, src.c, H, d, s);
    }
  }

  resetState(s: ModelState, row?: number): void {
    const r = s as RecurrentState, be = this.backend;
    if (row === undefined) { be.fill(r.h, 0); if (r.c) be.fill(r.c, 0); return; }
    const H = this.config.hiddenSize;
    for (let l = 0; l < this.config.numLayers; l++) {
      const d = (l * r.B + row) * H;
      be.fill(r.h, 0, d, d + H); if (r.c) be.fill(r.c, 0, d, d + H);
    }
  }

  stateTensors(s: ModelState): Record<string, F32> {
    const r = s as RecurrentState;
    return r.c ? { 'carry.h': r.h, 'carry.c': r.c } : { 'carry.h': r.h };
  }

  private workspace(B: number, T: number, train: boolean): Workspace {
    const key = `${B}x${T}${train ? 't' : 'i'}`;
    let ws = this.workspaces.get(key);
    if (!ws) {
      ws = new Workspace(this.backend, this.config, B, T, train);
      this.workspaces.set(key, ws);
    }
    return ws;
  }

  /** Frees cached buffers and packed weight copies (e.g. after training, before long sampling). */
  releaseWorkspaces(): void {
    this.workspaces.clear();
    this.packedAt = null;
    for (const { w } of this.packedWeights()) w.release();
  }

  /**
   * ids: (B,T) row-major token ids. Returns the logits (T,B,V) time-major, a view into the workspace valid until
   * the next call with the same shape (host copy current). The state (if given) is the initial state and receives
   * the final one.
   */
  forward(ids: I32, B: number, T: number, state: ModelState | null, train = false, rng?: Rng): F32 {
    const logits = this.run(this.workspace(B, T, train), ids, state, train, rng).logits;
    this.backend.read(logits);
    return logits;
  }

  /** repack: refresh the packed weights even when weightsChanged() was not called (see weightsChanged). */
  private run(ws: Workspace, ids: I32, s: ModelState | null, train: boolean, rng?: Rng, repack = train || ws.T > 1): Workspace {
    const state = s as RecurrentState | null;
    const be = this.backend, cfg = this.config, { B, T } = ws, N = B * T, H = cfg.hiddenSize, BH = B * H;
    if (state && state.B !== B) throw new Error(`state batch ${state.B} != ${B}`);
    this.preparePacks(train, repack);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) ws.ids[t * B + b] = ids[b * T + t];
    be.write(ws.ids);
    be.embeddingForward(ws.emb, this.params.value('embed.weight'), ws.ids, N, cfg.embeddingDim);
    if (ws.embMask.length) {
      makeDropoutMask(be, ws.embMask, cfg.embedDropout, need(rng));
      be.mul(ws.embIn, ws.emb, ws.embMask, ws.emb.length);
    }
    let x = ws.embIn;
    for (let l = 0; l < cfg.numLayers; l++) {
      const lw = ws.layers[l];
      // Initial state into slot 0, final state (slot T) back out: backend copies, no views made per call.
      if (state) {
        be.copy(lw.hs, state.h, BH, 0, l * BH);
        if (state.c) be.copy(lw.cs, state.c, BH, 0, l * BH);
      } else { be.fill(lw.hs, 0, 0, BH); if (lw.cs.length) be.fill(lw.cs, 0, 0, BH); }
      this.layers[l].forward(be, lw, x);
      if (state) {
        be.copy(state.h, lw.hs, BH, l * BH, T * BH);
        if (state.c) be.copy(state.c, lw.cs, BH, l * BH, T * BH);
      }
      x = lw.out;
      if (l < cfg.numLayers - 1 && ws.masks[l].length) {
        makeDropoutMask(be, ws.masks[l], cfg.dropout, need(rng));
        be.mul(ws.dropped[l], lw.out, ws.masks[l], N * H);
        x = ws.dropped[l];
      }
    }
    this.fc.forward(be, ws.logits, x, N);
    return ws;
  }

  /**
   * One training forward + backward on (B,T) inputs and targets (targets < 0 are ignored).
   * Zeroes and fills params.grad with the gradient of the mean loss; returns the mean loss (nats/char).
   * Micro-batches: with opts.accumulate the gradient is added to params.grad instead, and with opts.normalizer the
   * loss is divided by it (the scored characters of the whole batch) rather than by this call's own count, so
   * summing the returned values and gradients over the micro-batches gives the whole batch's mean and gradient.
   */
  forwardBackward(ids: I32, targets: I32, B: number, T: number, state: ModelState | null, rng?: Rng,
                  opts: MicroBatchOptions = {}): number {
    const ws = this.run(this.workspace(B, T, true), ids, state, true, rng);
    const be = this.backend, cfg = this.config, N = B * T, H = cfg.hiddenSize, L = cfg.numLayers;
    let count = 0;
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      const y = targets[b * T + t];
      ws.targets[t * B + b] = y;
      if (y >= 0) count++;
    }
    be.write(ws.targets);
    const norm = opts.normalizer ?? count;
    const sum = be.softmaxXent(ws.dLogits, ws.logits, ws.targets, N, cfg.vocabSize, norm ? 1 / norm : 0);
    if (!opts.accumulate) be.fill(this.params.grad, 0);
    this.fc.backward(be, ws.dOut[L - 1], ws.dLogits, ws.layers[L - 1].out, N);
    for (let l = L - 1; l >= 0; l--) {
      const input = l === 0 ? ws.embIn : ws.dropped[l - 1];
      const dx = l === 0 ? ws.dEmb : ws.dOut[l - 1];
      this.layers[l].backward(be, ws.layers[l], ws.dOut[l], input, dx);
      if (l > 0 && ws.masks[l - 1].length) be.mul(dx, dx, ws.masks[l - 1], N * H);
    }
    if (ws.embMask.length) be.mul(ws.dEmb, ws.dEmb, ws.embMask, ws.dEmb.length);
    be.embeddingBackward(this.params.gradOf('embed.weight'), ws.dEmb, ws.ids, N, cfg.embeddingDim);
    this.stalePacks(); // the gradient is computed to change the weights: never reuse these copies
    return norm ? sum / norm : 0;
  }

  /** Inference loss: Σ -log p and the count of scored characters (targets < 0 skipped). */
  lossSum(ids: I32, targets: I32, B: number, T: number, state: ModelState | null): { sum: number; count: number } {
    const ws = this.run(this.workspace(B, T, false), ids, state, false);
    let count = 0;
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      const y = targets[b * T + t];
      ws.targets[t * B + b] = y;
      if (y >= 0) count++;
    }
    this.backend.write(ws.targets);
    const sum = this.backend.softmaxXent(null, ws.logits, ws.targets, B * T, this.config.vocabSize, 0);
    return { sum, count };
  }

  /** One generation step: ids (B) → logits (B,V) (a workspace view, host copy current); the state is advanced. */
  step(ids: I32, state: ModelState): F32 {
    return this.forward(ids, state.B, 1, state, false);
  }

  /**
   * Logits of the last time step: a view into the (T,B,V) time-major workspace logits (only it is read back).
   * Like step(), priming trusts weightsChanged() and reuses the packed weights: it runs between steps of the same
   * weights (a server primes every prompt), where repacking all of them cost ~5 steps' time per call.
   */
  prime(ids: I32, B: number, T: number, state: ModelState): F32 {
    if (T === 1) return this.forward(ids, B, T, state, false);
    const all = this.run(this.workspace(B, T, false), ids, state, false, undefined, false).logits, V = this.config.vocabSize;
    const last = all.subarray((T - 1) * B * V, T * B * V);
    this.backend.read(last);
    return last;
  }
}

function need(rng: Rng | undefined): Rng {
  if (!rng) throw new Error('dropout in training needs an Rng');
  return rng;
}
