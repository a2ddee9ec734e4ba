// Causal multi-head attention kernels on simd.h's vf, compiled per ISA (included INSIDE each ISA namespace after
// simd.h), mirroring src/kernels/ref/transformer.ts. One call handles one (batch b, head h) pair; transformer.cc
// spreads the B·nh pairs over the thread pool, so every output element is computed by one thread in a fixed order
// (bit-identical for any thread count).
// Training (flash-style, no (T,T) tensor kept): queries go in blocks of kAttnBQ rows; each block's scores against
// the keys it can see (j < i1) live in a (kAttnBQ, ldk) scratch panel, are soft-maxed in place (keeping only the
// row's log-sum-exp) and multiplied by V. Backward recomputes the block's scores and dropout mask from the same hash.
// The products are small register-tiled GEMMs (attGemm) over strided operands: K and V are transposed once per pair
// into (hd, ldk) panels so that score rows stream along keys.

static const int AMT = CHARLM_W == 16 ? 8 : CHARLM_W == 8 ? 6 : 4;   // register tile: AMT rows x 2 vectors
static const long ANW = 2 * CHARLM_W;

// x in every lane as a plain broadcast, which GCC folds into the FMA's memory operand ({1to16}). simd.h's vset(x)
// is {} + x, which must stay a scalar add (0 + -0 is +0) plus a register broadcast: 3 uops in the inner loop.
// (A lane-by-lane splat is worse: GCC builds it from halves and spills.) 1·x is x for every float, NaN included.
static inline vf vsplat(float x) {
  vf one = {};
  one += 1.0f;
  return one * x;
}

// C(MT x n) (+)= A(MT x K)·B(K x n), n <= 2W: A(r,k) = A[r*ars + k*aks] (broadcast), B(k,c) = B[k*ldb + c].
template <int MT>
static inline void attTile(float* C, long ldc, const float* A, long ars, long aks, const float* B, long ldb, long K,
                           long n, bool acc) {
  vf c0[MT], c1[MT];
#pragma GCC unroll 8
  for (int r = 0; r < MT; r++) c0[r] = c1[r] = vset(0.0f);
  if (n == ANW) {
    for (long k = 0; k < K; k++) {
      const float* bk = B + k * ldb;
      const float* ak = A + k * aks;
      const vf b0 = vload(bk), b1 = vload(bk + W);
#pragma GCC unroll 8
      for (int r = 0; r < MT; r++) {
        const vf a = vsplat(ak[r * ars]);
        c0[r] += a * b0; c1[r] += a * b1;
      }
    }
  } else {
    const long n0 = n < W ? n : W, n1 = n - n0;
    for (long k = 0; k < K; k++) {
      const float* bk = B + k * ldb;
      const float* ak = A + k * aks;
      const vf b0 = vloadn(bk, n0), b1 = n1 > 0 ? vloadn(bk + W, n1) : vset(0.0f);
#pragma GCC unroll 8
      for (int r = 0; r < MT; r++) {
        const vf a = vsplat(ak[r * ars]);
        c0[r] += a * b0; c1[r] += a * b1;
      }
    }
  }
  const long n0 = n < W ? n : W, n1 = n - n0;
#pragma GCC unroll 8
  for (int r = 0; r < MT; r++) {
    float* cr = C + r * ldc;
    vf v0 = c0[r], v1 = c1[r];
    if (acc) { v0 += vloadn(cr, n0); if (n1 > 0) v1 += vloadn(cr + W, n1); }
    vstoren(cr, v0, n0);
    if (n1 > 0) vstoren(cr + W, v1, n1);
  }
}

template <int MT>
static void attTail(int m, float* C, long ldc, const float* A, long ars, long aks, const float* B, long ldb, long K,
                    long n, bool acc) {
  if (m == MT) attTile<MT>(C, ldc, A, ars, aks, B, ldb, K, n, acc);
  else if constexpr (MT > 1) attTail<MT - 1>(m, C, ldc, A, ars, aks, B, ldb, K, n, acc);
}

// C(M,N) (+)= A(M,K)·B(K,N) with A(i,k) = A[i*ars + k*aks], B(k,j) = B[k*ldb + j], C(i,j) = C[i*ldc + j].
static void attGemm(float* C, long ldc, const float* A, long ars, long aks, const float* B, long ldb, long M, long N,
                    long K, bool acc) {
  for (long j = 0; j < N; j += ANW) {
    const long n = N - j < ANW ? N - j : ANW;
    long i = 0;
    for (; i + AMT <= M; i += AMT) attTile<AMT>(C + i * ldc + j, ldc, A + i * ars, ars, aks, B + j, ldb, K, n, acc);
    if (i < M) attTail<AMT>((int)(M - i), C + i * ldc + j, ldc, A + i * ars, ars, aks, B + j, ldb, K, n, acc);
  }
}

typedef float v8f __attribute__((vector_size(32)));
static inline v8f v8load(const float* p) { v8f v; __builtin_memcpy(&v, p, sizeof v); return v; }
static inline void v8store(float* p, v8f v) { __builtin_memcpy(p, &v, sizeof v); }

// Xt(e, j) = X[j*ld + e] for j < T, zero for T <= j < ldk: a (hd, ldk) panel of keys or values. 8x8 blocks are
// transposed in registers (unpack/shuffle/128-bit permutes, as pack_x86.h's transpose8x8), the edges one by one.
static void attPackT(float* Xt, const float* X, long ld, long T, long hd, long ldk) {
  for (long e = 0; e < hd; e++) for (long j = T; j < ldk; j++) Xt[e * ldk + j] = 0.0f;
  const long T8 = T / 8 * 8, E8 = hd / 8 * 8;
  for (long j = 0; j < T8; j += 8) {
    const float* x = X + j * ld;
    for (long e = 0; e < E8; e += 8) {
      v8f r0 = v8load(x + e), r1 = v8load(x + ld + e), r2 = v8load(x + 2 * ld + e), r3 = v8load(x + 3 * ld + e);
      v8f r4 = v8load(x + 4 * ld + e), r5 = v8load(x + 5 * ld + e), r6 = v8load(x + 6 * ld + e), r7 = v8load(x + 7 * ld + e);
      const v8f t0 = __builtin_shufflevector(r0, r1, 0, 8, 1, 9, 4, 12, 5, 13), t1 = __builtin_shufflevector(r0, r1, 2, 10, 3, 11, 6, 14, 7, 15);
      const v8f t2 = __builtin_shufflevector(r2, r3, 0, 8, 1, 9, 4, 12, 5, 13), t3 = __builtin_shufflevector(r2, r3, 2, 10, 3, 11, 6, 14, 7, 15);
      const v8f t4 = __builtin_shufflevector(r4, r5, 0, 8, 1, 9, 4, 12, 5, 13), t5 = __builtin_shufflevector(r4, r5, 2, 10, 3, 11, 6, 14, 7, 15);
      const v8f t6 = __builtin_shufflevector(r6, r7, 0, 8, 1, 9, 4, 12, 5, 13), t7 = __builtin_shufflevector(r6, r7, 2, 10, 3, 11, 6, 14, 7, 15);
      const v8f u0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13), u1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
      const v8f u2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13), u3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
      const v8f u4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13), u5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
      const v8f u6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13), u7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
      float* d = Xt + e * ldk + j;
      v8store(d, __builtin_shufflevector(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11));
      v8store(d + ldk, __builtin_shufflevector(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11));
      v8store(d + 2 * ldk, __builtin_shufflevector(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11));
      v8store(d + 3 * ldk, __builtin_shufflevector(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11));
      v8store(d + 4 * ldk, __builtin_shufflevector(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15));
      v8store(d + 5 * ldk, __builtin_shufflevector(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15));
      v8store(d + 6 * ldk, __builtin_shufflevector(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15));
      v8store(d + 7 * ldk, __builtin_shufflevector(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15));
    }
    for (long e = E8; e < hd; e++) for (long k = 0; k < 8; k++) Xt[e * ldk + j + k] = x[k * ld + e];
  }
  for (long j = T8; j < T; j++) for (long e = 0; e < hd; e++) Xt[e * ldk + j] = X[j * ld + e];
}

static inline float attDot(const float* a, const float* b, long n) {
  vf s = {};
  long e = 0;
  for (; e + W <= n; e += W) s += vload(a + e) * vload(b + e);
  if (e < n) s += vloadn(a + e, n - e) * vloadn(b + e, n - e);
  return vhsum(s);
}

// ref's dropoutRowHash: the per-(b·nh+h, query i) seed of that score row's keep decisions.
static inline uint32_t attFmix(uint32_t h) {
  h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
  return h;
}
static inline uint32_t attRowHash(uint32_t seed, long bh, long i) {
  return attFmix(attFmix(seed ^ ((uint32_t)(bh + 1) * 0x9e3779b1u)) ^ ((uint32_t)(i + 1) * 0x85ebca77u));
}
// Lanes j..j+W-1 of that row: kept (all ones) when fmix32(r ^ (j+1)·0x27d4eb2f) >= thr.
static inline vi attIota() {
  vi v;
  for (long k = 0; k < W; k++) v[k] = (int32_t)k;
  return v;
}
static inline vi attKeep(vi iota, uint32_t r, long j, uint32_t thr) {
  const vu idx = (vu)iota + (uint32_t)(j + 1);
  return (vi)(vfmix32((vu{} + r) ^ (idx * 0x27d4eb2fu)) >= (vu{} + thr));
}

static void attnForwardBH(const AttnArgs& a, long bh, float* scratch) {
  const long T = a.T, hd = a.hd, C = a.nh * hd, C3 = 3 * C, ldk = a.ldk, b = bh / a.nh, h = bh % a.nh;
  float* Kt = scratch;               // (hd, ldk)
  float* S = scratch + hd * ldk;     // (kAttnBQ, ldk) scores, then probabilities
  const float* Q = a.qkv + b * T * C3 + h * hd;   // row j of Q/K/V at + j*C3 (+C, +2C)
  attPackT(Kt, Q + C, C3, T, hd, ldk);
  const vi iota = attIota();
  for (long i0 = 0; i0 < T; i0 += kAttnBQ) {
    const long bq = T - i0 < kAttnBQ ? T - i0 : kAttnBQ, i1 = i0 + bq;
    const long nk = (i1 + ANW - 1) / ANW * ANW;   // <= ldk (T rounded up to 32, see attnLdk)
    attGemm(S, ldk, Q + i0 * C3, C3, 1, Kt, ldk, bq, nk, hd, false);
    for (long r = 0; r < bq; r++) {
      const long i = i0 + r;
      float* s = S + r * ldk;
      const vi nv = vi{} + (int32_t)(i + 1);   // keys 0..i are visible
      vf mx = vset(-__builtin_inff());
      for (long j = 0; j <= i; j += W) mx = vmax(mx, vsel(iota + (int32_t)j < nv, vload(s + j), vset(-__builtin_inff())));
      const float m = vhmax(mx) * a.scale;
      vf lv = {};
      for (long j = 0; j < i1; j += W) {
        const vf e = vsel(iota + (int32_t)j < nv, vexp(vload(s + j) * a.scale - m), vset(0.0f));
        vstore(s + j, e); lv += e;
      }
      const float l = vhsum(lv);
      a.lse[bh * T + i] = (float)((double)m + __builtin_log((double)l));
      const vf inv = vset(1.0f / l * (a.drop ? a.keepScale : 1.0f));
      if (a.drop) {
        const uint32_t rh = attRowHash(a.seed, bh, i);
        for (long j = 0; j <= i; j += W) vstore(s + j, vsel(attKeep(iota, rh, j, a.thr), vload(s + j) * inv, vset(0.0f)));
      } else {
        for (long j = 0; j <= i; j += W) vstore(s + j, vload(s + j) * inv);
      }
    }
    attGemm(a.y + (b * T + i0) * C + h * hd, C, S, ldk, 1, Q + 2 * C, C3, bq, hd, i1, false);
  }
}

// dV += (P∘M)ᵀ·dY; dP = (dY·Vᵀ)∘M; dS = P∘(dP − rowsum(dY∘Y))/√hd; dQ = dS·K; dK += dSᵀ·Q (ref's formulas).
static void attnBackwardBH(const AttnArgs& a, long bh, float* scratch) {
  const long T = a.T, hd = a.hd, C = a.nh * hd, C3 = 3 * C, ldk = a.ldk, b = bh / a.nh, h = bh % a.nh;
  float* Kt = scratch;               // (hd, ldk)
  float* Vt = Kt + hd * ldk;         // (hd, ldk)
  float* P = Vt + hd * ldk;          // (kAttnBQ, ldk): probabilities, then P∘M
  float* dP = P + kAttnBQ * ldk;     // (kAttnBQ, ldk): dY·Vᵀ, then dS
  const float* Q = a.qkv + b * T * C3 + h * hd;
  float* G = a.dqkv + b * T * C3 + h * hd;        // this pair's gradients: dQ at +0, dK at +C, dV at +2C per row
  const float* dY = a.dy + b * T * C + h * hd;
  const float* Y = a.yin + b * T * C + h * hd;
  attPackT(Kt, Q + C, C3, T, hd, ldk);
  attPackT(Vt, Q + 2 * C, C3, T, hd, ldk);
  for (long j = 0; j < T; j++) {
    __builtin_memset(G + j * C3 + C, 0, hd * 4);
    __builtin_memset(G + j * C3 + 2 * C, 0, hd * 4);
  }
  const vi iota = attIota();
  for (long i0 = 0; i0 < T; i0 += kAttnBQ) {
    const long bq = T - i0 < kAttnBQ ? T - i0 : kAttnBQ, i1 = i0 + bq;
    const long nk = (i1 + ANW - 1) / ANW * ANW;
    attGemm(P, ldk, Q + i0 * C3, C3, 1, Kt, ldk, bq, nk, hd, false);
    attGemm(dP, ldk, dY + i0 * C, C, 1, Vt, ldk, bq, nk, hd, false);
    for (long r = 0; r < bq; r++) {
      const long i = i0 + r;
      float* p = P + r * ldk;
      float* dp = dP + r * ldk;
      const float L = a.lse[bh * T + i], D = attDot(dY + i * C, Y + i * C, hd);
      const vi nv = vi{} + (int32_t)(i + 1);
      const uint32_t rh = a.drop ? attRowHash(a.seed, bh, i) : 0;
      for (long j = 0; j < i1; j += W) {
        const vi valid = iota + (int32_t)j < nv;
        const vf pv = vsel(valid, vexp(vload(p + j) * a.scale - L), vset(0.0f));
        vf mk = vset(1.0f);
        if (a.drop) mk = vsel(attKeep(iota, rh, j, a.thr), vset(a.keepScale), vset(0.0f));
        vstore(p + j, pv * mk);
        vstore(dp + j, pv * (vload(dp + j) * mk - D) * a.scale);
      }
    }
    attGemm(G + 2 * C, C3, P, 1, ldk, dY + i0 * C, C, i1, hd, bq, true);        // dV(j < i1) += (P∘M)ᵀ·dY
    attGemm(G + i0 * C3, C3, dP, ldk, 1, Q + C, C3, bq, hd, i1, false);          // dQ(block) = dS·K
    attGemm(G + C, C3, dP, 1, ldk, Q + i0 * C3, C3, i1, hd, bq, true);          // dK(j < i1) += dSᵀ·Q
  }
}

// Generation: query (b,t) at position pos[b]+t attends to cached keys/values 0..pos[b]+t (no dropout).
static void attnDecodeBH(const DecodeArgs& a, long bh, float* s) {
  const long hd = a.hd, C = a.nh * hd, b = bh / a.nh, h = bh % a.nh;
  const float* Kc = a.kc + b * a.S * C + h * hd;
  const float* Vc = a.vc + b * a.S * C + h * hd;
  for (long t = 0; t < a.T; t++) {
    const long n = a.pos[b] + t + 1;
    const float* q = a.q + (b * a.T + t) * a.qStride + h * hd;
    float m = -__builtin_inff();
    for (long j = 0; j < n; j++) {
      const float v = attDot(q, Kc + j * C, hd) * a.scale;
      s[j] = v;
      m = v > m ? v : m;
    }
    vf lv = {};
    long j = 0;
    for (; j + W <= n; j += W) { const vf e = vexp(vload(s + j) - m); vstore(s + j, e); lv += e; }
    float l = vhsum(lv);
    if (j < n) {
      const vf e = vexp(vloadn(s + j, n - j) - m);
      for (long k = 0; k < n - j; k++) { s[j + k] = e[k]; l += e[k]; }
    }
    const float inv = 1.0f / l;
    float* y = a.y + (b * a.T + t) * C + h * hd;
    for (long e = 0; e < hd; e += 4 * W) {   // 4 vectors of the head's columns in registers, keys streamed
      const long cnt = hd - e < 4 * W ? hd - e : 4 * W;
      vf acc[4] = {};
      for (long k = 0; k < n; k++) {
        const vf p = vsplat(s[k]);
        const float* v = Vc + k * C + e;
        for (long u = 0; u < 4; u++) {
          const long c = cnt - u * W;
          if (c <= 0) break;
          acc[u] += p * (c >= W ? vload(v + u * W) : vloadn(v + u * W, c));
        }
      }
      for (long u = 0; u < 4; u++) {
        const long c = cnt - u * W;
        if (c <= 0) break;
        vstoren(y + e + u * W, acc[u] * inv, c < W ? c : W);
      }
    }
  }
}
