// The gpt family: nanoGPT's model.py on charlm's kernels. Token + position embeddings → n_layer pre-LayerNorm blocks
// (causal multi-head attention, 4× GELU MLP, residual connections, dropout on embeddings, attention weights and
// residual branches) → final LayerNorm → lm_head tied to wte. Training runs batch-major (B,T) with workspaces
// allocated once per shape; generation keeps a per-sequence KV cache (cache.ts), so a character costs O(context).
// Every buffer a kernel sees is the backend's (BackendMemory); the host writes ids, positions and targets (then
// write()) and reads only the logits it returns (after read()).
import type { Backend, BackendMemory, F32, I32 } from '../../kernels/backend.js';
import { ParamStore } from '../../nn/params.js';
import type { Rng } from '../../util/rng.js';
import type { GptConfig } from '../config.js';
import type { LanguageModel, MicroBatchOptions, ModelDescription, ModelState } from '../model.js';
import { affine, blockParams, gptParamSpecs, type Affine, type BlockParams } from './params.js';
import { GptInference, type GptState } from './cache.js';

export const LN_EPS = 1e-5;

/** Buffers of one training shape (B,T); backward recomputes LayerNorm outputs and GELU rather than storing them. */
class TrainWorkspace {
  readonly ids: I32; readonly posIds: I32; readonly targets: I32;
  readonly xs: F32[];      // L+1 residual streams (N,C): xs[0] embeddings (after dropout), xs[l+1] block l's output
  readonly xmid: F32[];    // per block (N,C): stream after the attention residual
  readonly mean1: F32[]; readonly rstd1: F32[]; readonly mean2: F32[]; readonly rstd2: F32[]; // per block (N)
  readonly qkv: F32[];     // per block (N,3C)
  readonly att: F32[];     // per block (N,C): attention output before c_proj
  readonly lse: F32[];     // per block (B,nh,T)
  readonly fc: F32[];      // per block (N,4C): c_fc output before GELU
  readonly seeds: Uint32Array; // dropout seeds: [emb, then per block: attn, resid1, resid2]
  readonly meanF: F32; readonly rstdF: F32; readonly lnF: F32; // (N), (N), (N,C)
  readonly logits: F32; readonly dLogits: F32; // (N,V)
  // scratch
  readonly ln: F32; readonly proj: F32; readonly g: F32; // (N,C), (N,C), (N,4C)
  readonly dx: F32; readonly dtmp: F32; readonly dqkv: F32; readonly dh: F32; // (N,C), (N,C), (N,3C), (N,4C)
  constructor(mem: BackendMemory, c: GptConfig, readonly B: number, readonly T: number) {
    const N = B * T, C = c.n_embd, L = c.n_layer, f = (n: number) => mem.alloc(n);
    const per = (n: number) => Array.from({ length: L }, () => f(n));
    this.ids = mem.allocI32(N); this.targets = mem.allocI32(N);
    this.posIds = mem.allocI32(N);
    for (let n = 0; n < N; n++) this.posIds[n] = n % T;
    mem.write(this.posIds);
    this.xs = Array.from({ length: L + 1 }, () => f(N * C));
    this.xmid = per(N * C);
    this.mean1 = per(N); this.rstd1 = per(N); this.mean2 = per(N); this.rstd2 = per(N);
    this.qkv = per(N * 3 * C); this.att = per(N * C); this.lse = per(B * c.n_head * T); this.fc = per(N * 4 * C);
    this.seeds = new Uint32Array(1 + 3 * L);
    this.meanF = f(N); this.rstdF = f(N); this.lnF = f(N * C);
    this.logits = f(N * c.vocab_size); this.dLogits = f(N * c.vocab_size);
    this.ln = f(N * C); this.proj = f(N * C); this.g = f(N * 4 * C);
    this.dx = f(N * C); this.dtmp = f(N * C); this.dqkv = f(N * 3 * C); this.dh = f(N * 4 * C);
  }
}

/** y(N,out) = x(N,in)·Wᵀ (+ b). */
export function linearForward(be: Backend, y: F32, x: F32, a: Affine, N: number, out: number, inp: number): void {
  be.matmul(y, x, a.w, N, out, inp, false, true, false);
  if (a.b) be.addRowVector(y, a.b, N, out);
}

/** dW += dyᵀ·x; db += Σ dy; dx = dy·W (or += with accumulate). */
function linearBackward(be: Backend, dx: F32 | null, dy: F32, x: F32, a: Affine, N: number, out: number, inp: number,
                        accumulate = false): void {
  be.matmul(a.dw, dy, x, out, inp, N, true, false, true);
  if (a.db) be.sumRows(a.db, dy, N, out);
  if (dx) be.matmul(dx, dy, a.w, N, inp, out, false, false, accumulate);
}

export class GptModel implements LanguageModel {
  readonly family = 'gpt';
  readonly statefulTraining = false;
  readonly params: ParamStore;
  readonly blocks: BlockParams[];
  readonly lnF: Affine;
  readonly wte: F32; readonly wpe: F32; readonly dWte: F32; readonly dWpe: F32;
  private workspaces = new Map<string, TrainWorkspace>();
  private inference: GptInference | null = null;

  constructor(readonly config: GptConfig, public backend: Backend) {
    this.params = new ParamStore(gptParamSpecs(config), backend);
    const ps = this.params, bias = config.bias;
    this.blocks = Array.from({ length: config.n_layer }, (_, l) => blockParams(ps, l, bias));
    this.lnF = affine(ps, 'transformer.ln_f', bias);
    this.wte = ps.value('transformer.wte.weight'); this.dWte = ps.gradOf('transformer.wte.weight');
    this.wpe = ps.value('transformer.wpe.weight'); this.dWpe = ps.gradOf('transformer.wpe.weight');
  }

  get vocabSize(): number { return this.config.vocab_size; }
  get contextLimit(): number { return this.config.block_size; }

  /** nanoGPT's configure_optimizers: decay tensors with ≥ 2 dimensions (matrices, embeddings), not biases/LayerNorms. */
  decays(name: string): boolean { return this.params.entry(name).shape.length >= 2; }

  describe(): ModelDescription {
    const c = this.config;
    return {
      family: 'gpt',
      summary: `GPT ${c.n_layer} layers × ${c.n_head} heads, ${c.n_embd} wide, context ${c.block_size}`,
      rows: [['layers', c.n_layer], ['heads', c.n_head], ['width', c.n_embd], ['context', c.block_size],
             ['bias', c.bias], ['vocabulary', c.vocab_size]],
    };
  }

  /**
   * nanoGPT's _init_weights: Linear and Embedding weights N(0, 0.02), biases 0, LayerNorm weight 1 / bias 0, then
   * every c_proj.weight N(0, 0.02/√(2·n_layer)). Parameters are drawn in state_dict order.
   */
  initialize(rng: Rng): void {
    const ps = this.params, projStd = 0.02 / Math.sqrt(2 * this.config.n_layer);
    for (const e of ps.entries) {
      const v = ps.value(e.name);
      if (e.name.endsWith('.bias')) v.fill(0);
      else if (/\.ln_\d\.weight$|ln_f\.weight$/.test(e.name)) v.fill(1);
      else {
        const std = e.name.endsWith('c_proj.weight') ? projStd : 0.02;
        for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
      }
    }
    ps.write();
    this.weightsChanged();
  }

  weightsChanged(): void { this.inference?.weightsChanged(); }

  releaseWorkspaces(): void {
    this.workspaces.clear();
    this.inference = null;
  }

  private infer(): GptInference {
    if (!this.inference) this.inference = new GptInference(this);
    return this.inference;
  }

  createState(B: number): GptState { return this.infer().createState(B); }
  cloneState(s: ModelState): GptState { return this.infer().cloneState(s as GptState); }
  copyStateRow(dst: ModelState, j: number, src: ModelState, i: number): void {
    this.infer().copyRow(dst as GptState, j, src as GptState, i);
  }
  resetState(s: ModelState, row?: number): void { this.infer().reset(s as GptState, row); }
  releaseState(s: ModelState): void {
    const st = s as GptState;
    this.backend.free?.(st.k); this.backend.free?.(st.v);
  }
  stateTensors(s: ModelState): Record<string, F32> {
    const st = s as GptState;
    return { 'kv.k': st.k, 'kv.v': st.v };
  }

  private workspace(B: number, T: number): TrainWorkspace {
    const key = `${B}x${T}`;
    let ws = this.workspaces.get(key);
    if (!ws) { ws = new TrainWorkspace(this.backend, this.config, B, T); this.workspaces.set(key, ws); }
    return ws;
  }

  /** Training-style forward over (B,T) from position 0 (no cache); fills ws up to the logits. */
  private run(ws: TrainWorkspace, ids: I32, train: boolean, rng?: Rng): void {
    const be = this.backend, c = this.config, { B, T } = ws, N = B * T, C = c.n_embd, nh = c.n_head, hd = C / nh;
    if (T > c.block_size) throw new Error(`sequence length ${T} exceeds block_size ${c.block_size}`);
    const p = train ? c.dropout : 0;
    if (p > 0 && !rng) throw new Error('dropout in training needs an Rng');
    for (let i = 0; i < ws.seeds.length; i++) ws.seeds[i] = p > 0 ? rng!.nextU32() : 0;
    ws.ids.set(ids.subarray(0, N));
    be.write(ws.ids);
    const x0 = ws.xs[0];
    be.embeddingForward(x0, this.wte, ws.ids, N, C);
    be.embeddingForward(ws.proj, this.wpe, ws.posIds, N, C);
    be.add(x0, x0, ws.proj, N * C);
    if (p > 0) be.dropout(x0, x0, N * C, p, ws.seeds[0]);
    for (let l = 0; l < c.n_layer; l++) {
      const P = this.blocks[l], x = ws.xs[l], xm = ws.xmid[l], out = ws.xs[l + 1];
      be.layerNormForward(ws.ln, ws.mean1[l], ws.rstd1[l], x, P.ln1.w, P.ln1.b, N, C, LN_EPS);
      linearForward(be, ws.qkv[l], ws.ln, P.attn, N, 3 * C, C);
      be.attentionForward(ws.att[l], ws.lse[l], ws.qkv[l], B, T, nh, hd, p, ws.seeds[1 + 3 * l]);
      linearForward(be, ws.proj, ws.att[l], P.proj, N, C, C);
      if (p > 0) be.dropout(ws.proj, ws.proj, N * C, p, ws.seeds[2 + 3 * l]);
      be.add(xm, x, ws.proj, N * C);
      be.layerNormForward(ws.ln, ws.mean2[l], ws.rstd2[l], xm, P.ln2.w, P.ln2.b, N, C, LN_EPS);
      linearForward(be, ws.fc[l], ws.ln, P.fc, N, 4 * C, C);
      be.geluForward(ws.g, ws.fc[l], N * 4 * C);
      linearForward(be, ws.proj, ws.g, P.mlpProj, N, C, 4 * C);
      if (p > 0) be.dropout(ws.proj, ws.proj, N * C, p, ws.seeds[3 + 3 * l]);
      be.add(out, xm, ws.proj, N * C);
    }
    be.layerNormForward(ws.lnF, ws.meanF, ws.rstdF, ws.xs[c.n_layer], this.lnF.w, this.lnF.b, N, C, LN_EPS);
    be.matmul(ws.logits, ws.lnF, this.wte, N, c.vocab_size, C, false, true, false); // lm_head tied to wte
  }

  /** (B,T) batch-major logits of a training-style forward from position 0 (tests, ONNX checks). A workspace view. */
  forward(ids: I32, B: number, T: number): F32 {
    const ws = this.workspace(B, T);
    this.run(ws, ids, false);
    this.backend.read(ws.logits);
    return ws.logits;
  }

  forwardBackward(ids: I32, targets: I32, B: number, T: number, state: ModelState | null, rng?: Rng,
                  opts: MicroBatchOptions = {}): number {
    if (state) throw new Error('the gpt family trains on independent windows (no carried state)');
    const ws = this.workspace(B, T), be = this.backend, c = this.config, N = B * T, C = c.n_embd, nh = c.n_head;
    const hd = C / nh, L = c.n_layer, p = c.dropout;
    this.run(ws, ids, true, rng);
    let count = 0;
    for (let n = 0; n < N; n++) { ws.targets[n] = targets[n]; if (targets[n] >= 0) count++; }
    be.write(ws.targets);
    const norm = opts.normalizer ?? count;
    const sum = be.softmaxXent(ws.dLogits, ws.logits, ws.targets, N, c.vocab_size, norm ? 1 / norm : 0);
    if (!opts.accumulate) be.fill(this.params.grad, 0);
    // lm_head (tied): dWte += dLogitsᵀ·lnF; dLnF = dLogits·Wte
    be.matmul(this.dWte, ws.dLogits, ws.lnF, c.vocab_size, C, N, true, false, true);
    be.matmul(ws.dtmp, ws.dLogits, this.wte, N, C, c.vocab_size, false, false, false);
    const dx = ws.dx;
    be.fill(dx, 0);
    be.layerNormBackward(dx, this.lnF.dw, this.lnF.db, ws.dtmp, ws.xs[L], this.lnF.w, ws.meanF, ws.rstdF, N, C);
    for (let l = L - 1; l >= 0; l--) {
      const P = this.blocks[l], x = ws.xs[l], xm = ws.xmid[l];
      // MLP branch: out = xm + drop(c_proj(gelu(c_fc(ln_2(xm)))))
      if (p > 0) be.dropout(ws.dtmp, dx, N * C, p, ws.seeds[3 + 3 * l]);
      const dm = p > 0 ? ws.dtmp : dx;
      be.geluForward(ws.g, ws.fc[l], N * 4 * C); // recomputed rather than stored
      linearBackward(be, ws.dh, dm, ws.g, P.mlpProj, N, C, 4 * C);
      be.geluBackward(ws.dh, ws.dh, ws.fc[l], N * 4 * C);
      be.layerNormForward(ws.ln, ws.mean2[l], ws.rstd2[l], xm, P.ln2.w, P.ln2.b, N, C, LN_EPS); // recompute ln_2(xm)
      linearBackward(be, ws.proj, ws.dh, ws.ln, P.fc, N, 4 * C, C);
      be.layerNormBackward(dx, P.ln2.dw, P.ln2.db, ws.proj, xm, P.ln2.w, ws.mean2[l], ws.rstd2[l], N, C);
      // attention branch: xm = x + drop(c_proj(attn(c_attn(ln_1(x)))))
      if (p > 0) be.dropout(ws.dtmp, dx, N * C, p, ws.seeds[2 + 3 * l]);
      const da = p > 0 ? ws.dtmp : dx;
      linearBackward(be, ws.proj, da, ws.att[l], P.proj, N, C, C);
      be.attentionBackward(ws.dqkv, ws.proj, ws.att[l], ws.lse[l], ws.qkv[l], B, T, nh, hd, p, ws.seeds[1 + 3 * l]);
      be.layerNormForward(ws.ln, ws.mean1[l], ws.rstd1[l], x, P.ln1.w, P.ln1.b, N, C, LN_EPS); // recompute ln_1(x)
      linearBackward(be, ws.proj, ws.dqkv, ws.ln, P.attn, N, 3 * C, C);
      be.layerNormBackward(dx, P.ln1.dw, P.ln1.db, ws.proj, x, P.ln1.w, ws.mean1[l], ws.rstd1[l], N, C);
    }
    if (p > 0) be.dropout(dx, dx, N * C, p, ws.seeds[0]);
    be.embeddingBackward(this.dWte, dx, ws.ids, N, C);
    be.embeddingBackward(this.dWpe, dx, ws.posIds, N, C);
    return norm ? sum / norm : 0;
  }

  lossSum(ids: I32, targets: I32, B: number, T: number, state: ModelState | null): { sum: number; count: number } {
    if (state) return this.infer().lossSum(ids, targets, B, T, state as GptState);
    const ws = this.workspace(B, T), N = B * T;
    this.run(ws, ids, false);
    let count = 0;
    for (let n = 0; n < N; n++) { ws.targets[n] = targets[n]; if (targets[n] >= 0) count++; }
    this.backend.write(ws.targets);
    return { sum: this.backend.softmaxXent(null, ws.logits, ws.targets, N, this.config.vocab_size, 0), count };
  }

  prime(ids: I32, B: number, T: number, state: ModelState): F32 {
    return this.infer().prime(ids, B, T, state as GptState);
  }

  step(ids: I32, state: ModelState): F32 {
    return this.infer().prime(ids, state.B, 1, state as GptState);
  }
}
