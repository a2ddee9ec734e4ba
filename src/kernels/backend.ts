// The Backend interface: every numeric kernel the models use, over flat Float32Array buffers that the backend
// allocates (BackendMemory: the memory seam). `ref` (plain TypeScript) is the readable reference; `native` (C++
// addon) implements the same calls faster. Conventions (llm.c style): outputs first, then inputs, then dimensions.
// Row-major, contiguous buffers. Buffers may be subarray views; kernels never allocate and never keep references.
// Dimension letters: B batch, T time, E embedding, H hidden, V vocabulary, N rows (= B*T usually).

import type { F32, I32 } from '../util/types.js';
export type { F32, I32 };

/** Which products a packed weight serves: 'nt' C = A·Wᵀ, 'nn' C = A·W, or both. */
export type PackModes = 'nt' | 'nn' | 'both';

/**
 * Opaque handle to a weight matrix W(N,K) packed by a backend's packWeights (backend-owned memory, freed when the
 * handle is garbage-collected). It serves only the backend (and precision) that made it.
 */
export interface PackedMatrix {
  readonly N: number;
  readonly K: number;
  readonly modes: PackModes;
}

/**
 * Backend-owned memory (docs/architecture.md, "Backend-owned memory"). Every buffer a kernel sees comes from
 * alloc/allocI32 of the backend that runs the kernel (subarray views of it are fine). Above the kernels buffers stay
 * typed F32/I32, but their contents are the backend's: the host may read a range only after read(view) ("make the
 * host copy current") and must call write(view) after changing a range on the host ("the host changed this view"),
 * before the next kernel uses it. fill and copy run on the backend's side, with no host round trip.
 * ref and native: alloc is new Float32Array, read/write do nothing. wasm: views into the module's memory.
 * webgpu: a host shadow whose ArrayBuffer maps to a GPUBuffer; read/write download/upload.
 */
export interface BackendMemory {
  /** n zeroed floats. The allocation lives while the returned array is reachable: keep it, not only its views. */
  alloc(n: number): F32;
  /** n zeroed int32s (token ids, positions, targets that kernels read). */
  allocI32(n: number): I32;
  /** Optional early release of an array alloc/allocI32 returned (its views must no longer be used). */
  free?(buf: F32 | I32): void;
  /**
   * Optional, for backends that queue kernels instead of running them in the call (webgpu): returns once every queued
   * kernel has run. Timing code calls it; the other backends have nothing to wait for.
   */
  sync?(): void;
  /** buf[start..end) = v, on the backend's side. */
  fill(buf: F32, v: number, start?: number, end?: number): void;
  /** dst[dstOff..dstOff+n) = src[srcOff..srcOff+n), on the backend's side; the ranges must not overlap. */
  copy(dst: F32, src: F32, n: number, dstOff?: number, srcOff?: number): void;
  /** Makes the host copy of this view current (download); the host may then read it. */
  read(view: F32 | I32): void;
  /** The host changed this view: the backend's copy must follow (upload) before a kernel reads it. */
  write(view: F32 | I32): void;
}

export interface Backend extends BackendMemory {
  readonly name: string;

  /**
   * C(M,N) = op(A)(M,K) · op(B)(K,N)  (+ C when accumulate).
   * A is (M,K) when !transA, else stored (K,M); B is (K,N) when !transB, else stored (N,K).
   */
  matmul(C: F32, A: F32, B: F32, M: number, N: number, K: number,
         transA: boolean, transB: boolean, accumulate: boolean): void;

  /**
   * OPTIONAL pre-packed weights (callers fall back to matmul when a backend lacks them). A weight W(N,K) (PyTorch
   * layout: N outputs × K inputs) used in many products (the recurrent W_hh once per time step) is packed once into
   * the GEMM's panel layout instead of on every call:
   *   mode 'nt': C(M,N) (+)= A(M,K)·Wᵀ   (forward: recurrent and input projections, the output layer)
   *   mode 'nn': C(M,K) (+)= A(M,N)·W    (backward: dh_{t-1} = dG·W_hh)
   * Memory: each mode holds one copy of W padded to whole panels (≈ N·K floats; half that at bf16 precision, which
   * packs as bf16 once), so 'both' costs 2·N·K floats. The copy does not follow W: after W changes call repack
   * before the next matmulPacked, or results are stale. A, C are contiguous row-major; C must not overlap A.
   */
  packWeights?(W: F32, N: number, K: number, modes?: PackModes): PackedMatrix;
  /** Re-reads W(N,K) into the handle's panels (after the optimizer or a load changed W; also after an ISA switch). */
  repack?(packed: PackedMatrix, W: F32): void;
  /** C (+)= A·op(W) with W from the handle; see packWeights for the shapes of each mode. Throws on a mode not packed. */
  matmulPacked?(C: F32, A: F32, packed: PackedMatrix, M: number, mode: 'nt' | 'nn', accumulate: boolean): void;

  /** Y(M,N) += b(N) on every row. */
  addRowVector(Y: F32, b: F32, M: number, N: number): void;
  /** db(N) += Σ_rows dY(M,N). */
  sumRows(db: F32, dY: F32, M: number, N: number): void;

  /** out(N,E) = table[ids[n]] for each n. ids are valid indices (callers check). */
  embeddingForward(out: F32, table: F32, ids: I32, N: number, E: number): void;
  /** dTable[ids[n]] += dOut(n,:) (scatter-add; repeated ids accumulate). */
  embeddingBackward(dTable: F32, dOut: F32, ids: I32, N: number, E: number): void;

  /**
   * LSTM cell pointwise forward (PyTorch gate order i,f,g,o).
   * gates(B,4H): pre-activations in, activations out (σ(i),σ(f),tanh(g),σ(o)) — kept for backward.
   * c = f*cPrev + i*g; tanhC = tanh(c); h = o*tanhC.  cPrev, c, tanhC, h: (B,H).
   */
  lstmCellForward(h: F32, c: F32, tanhC: F32, gates: F32, cPrev: F32, B: number, H: number): void;
  /**
   * OPTIONAL (the recurrent layer falls back to matmul, then lstmCellForward): one LSTM time step, gates(B,4H) +=
   * hPrev(B,H)·Whh(4H,H)ᵀ, then lstmCellForward(h, c, tanhC, gates, cPrev, B, H). For backends where a call is a GPU
   * dispatch: a product split over K can have its slices summed inside the cell kernel instead of in a pass of its own.
   */
  lstmStepForward?(h: F32, c: F32, tanhC: F32, gates: F32, cPrev: F32, hPrev: F32, Whh: F32, B: number, H: number): void;
  /**
   * LSTM cell pointwise backward. dh(B,H): total gradient into h_t. dc(B,H): gradient into c_t from step t+1
   * (read, then overwritten as scratch). Writes dGates(B,4H) (w.r.t. pre-activations) and dcPrev(B,H).
   */
  lstmCellBackward(dGates: F32, dcPrev: F32, dh: F32, dc: F32, gates: F32, cPrev: F32, tanhC: F32,
                   B: number, H: number): void;
  /**
   * OPTIONAL (the recurrent layer falls back to tanhForward into scratch, then lstmCellBackward): lstmCellBackward
   * given c_t itself, taking tanh(c_t) inside with tanhForward's function, so the same result. One call instead of
   * two per time step, for backends where a call is a GPU dispatch.
   */
  lstmCellBackwardC?(dGates: F32, dcPrev: F32, dh: F32, dc: F32, gates: F32, cPrev: F32, c: F32, B: number, H: number): void;

  /**
   * GRU cell pointwise forward (PyTorch order r,z,n).
   * gi(B,3H) = x·W_ihᵀ + b_ih; gh(B,3H) = hPrev·W_hhᵀ + b_hh (both pre-activation).
   * r = σ(gi_r+gh_r); z = σ(gi_z+gh_z); n = tanh(gi_n + r*gh_n); h = (1-z)*n + z*hPrev.
   * Saves act(B,4H) = [r, z, n, gh_n] for backward.
   */
  gruCellForward(h: F32, act: F32, gi: F32, gh: F32, hPrev: F32, B: number, H: number): void;
  /**
   * GRU backward. dh(B,H) total gradient into h_t. Writes dGi(B,3H), dGh(B,3H) (pre-activation grads of the
   * input and hidden projections) and ACCUMULATES dhPrev(B,H) += z*dh, the direct part (the caller adds dGh·W_hh).
   */
  gruCellBackward(dGi: F32, dGh: F32, dhPrev: F32, dh: F32, act: F32, hPrev: F32, B: number, H: number): void;

  /** Elman RNN (tanh): h = tanh(pre) in place over n values. */
  tanhForward(h: F32, pre: F32, n: number): void;
  /** dPre = dh * (1 - h²) over n values. */
  tanhBackward(dPre: F32, dh: F32, h: F32, n: number): void;

  /**
   * Fused softmax + cross-entropy over N rows of V logits. targets[n] < 0 means "ignore this row".
   * Returns Σ -log softmax(logits[n])[targets[n]] (in float64). When dLogits is non-null it is written with
   * (softmax - onehot) * scale for scored rows and 0 for ignored rows.
   */
  softmaxXent(dLogits: F32 | null, logits: F32, targets: I32, N: number, V: number, scale: number): number;

  /**
   * Adam / AdamW in PyTorch's exact form over n values. step is 1-based.
   * adamw=false: g += wd*p (torch.optim.Adam weight_decay); adamw=true: p *= 1 - lr*wd (torch.optim.AdamW).
   */
  adam(p: F32, g: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number, eps: number,
       weightDecay: number, adamw: boolean, step: number): void;

  // ---- Transformer kernels (the gpt family). C = nh·hd channels; rows are (B,T) batch-major. ----

  /** LayerNorm over N rows of C: out = (x-mean)·rstd·w + b (b may be null); saves mean(N), rstd(N). */
  layerNormForward(out: F32, mean: F32, rstd: F32, x: F32, w: F32, b: F32 | null, N: number, C: number, eps: number): void;
  /** LayerNorm backward: ACCUMULATES dx(N,C), dw(C) and db(C) (db may be null). */
  layerNormBackward(dx: F32, dw: F32, db: F32 | null, dout: F32, x: F32, w: F32, mean: F32, rstd: F32,
                    N: number, C: number): void;
  /** out = GELU(x) = x·Φ(x) (exact erf form) over n values. */
  geluForward(out: F32, x: F32, n: number): void;
  /** dx = dout·GELU'(x), written; dx may alias dout. */
  geluBackward(dx: F32, dout: F32, x: F32, n: number): void;
  /**
   * Inverted dropout with the mask drawn from a counter hash of (seed, i): out = x·mask/(1-p). Calling it again with
   * the same seed on the gradient is its backward, so masks are never stored. out may alias x.
   */
  dropout(out: F32, x: F32, n: number, p: number, seed: number): void;
  /** out = a + b over n values; out may alias a or b. */
  add(out: F32, a: F32, b: F32, n: number): void;
  /**
   * Causal multi-head self-attention forward. qkv (B,T,3C) = [q|k|v] per row (head h at h·hd); y (B,T,C);
   * lse (B,nh,T) saved for backward. Attention dropout p (0 = off) from a counter hash of (seed, b·nh+h, i, j).
   * Memory: no (B,nh,T,T) tensor; scratch is O(T).
   */
  attentionForward(y: F32, lse: F32, qkv: F32, B: number, T: number, nh: number, hd: number, p: number, seed: number): void;
  /** Attention backward: writes dqkv (B,T,3C), recomputing scores and the dropout mask. */
  attentionBackward(dqkv: F32, dy: F32, y: F32, lse: F32, qkv: F32, B: number, T: number, nh: number, hd: number,
                    p: number, seed: number): void;
  /**
   * Cached attention for generation: query (b,t) (row stride qStride in q) at position pos[b]+t attends to cached
   * keys/values kc, vc (B,S,C) at positions 0..pos[b]+t. y (B,T,C).
   */
  attentionDecode(y: F32, q: F32, qStride: number, kc: F32, vc: F32, pos: I32, B: number, T: number, nh: number,
                  hd: number, S: number): void;
  /**
   * OPTIONAL (the gpt cache falls back to two copy() calls per row): writes a step's keys and values into a KV cache.
   * For each row (b,t) of qkv (B·T rows of 3C: q, k, v), its k goes to kc and its v to vc at row b·S + pos[b] + t
   * (kc, vc: B·S rows of C). One call instead of 2·B·T copies, for backends where a call is a GPU dispatch.
   */
  kvCacheWrite?(kc: F32, vc: F32, qkv: F32, pos: I32, B: number, T: number, C: number, S: number): void;

  /**
   * OPTIONAL batched sampling (callers fall back to ref's sampleRows, src/kernels/ref/sample.ts, which defines it):
   * ids(B) = one token per row of logits (B,V) after temperature, top-k, top-p and a draw with u(B) from each row's
   * Rng. Per-row options temperature, topK, topP (B); banned (V) or null. probs, order (B,V): scratch (probs holds
   * the final distributions when fullProbs). Same inputs → the same ids and probs, bit for bit, on every backend.
   * A host-side kernel, the exception to the memory seam: its arrays are plain host arrays (the Picker's) and the
   * logits a model returns after read(). Backends whose memory is not the host's (wasm, webgpu) leave it out.
   */
  sampleRows?(ids: I32, probs: Float64Array, order: I32, logits: F32, u: Float64Array, temperature: Float64Array,
              topK: I32, topP: Float64Array, banned: Uint8Array | null, fullProbs: boolean, B: number, V: number): void;

  /** Σ x² in float64. */
  sumSquares(x: F32, n: number): number;
  /** x *= s. */
  scale(x: F32, n: number, s: number): void;
  /** out = a * b elementwise (dropout masks). */
  mul(out: F32, a: F32, b: F32, n: number): void;
}
