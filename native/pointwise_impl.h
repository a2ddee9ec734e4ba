// Every non-GEMM Backend kernel, written once on simd.h's vf type and compiled per ISA (included INSIDE the ISA
// namespace of isa_*.cc after simd.h). Semantics mirror src/kernels/ref/*.ts line by line; tails go through
// vloadn/vstoren so the same vector math handles them. In-place aliasing allowed wherever ref allows it
// (each lane is loaded before it is stored). Shapes as in backend.ts.

static void addRowVector(float* Y, const float* b, long M, long N) {
  for (long i = 0; i < M; i++) {
    float* y = Y + i * N;
    long j = 0;
    for (; j + W <= N; j += W) vstore(y + j, vload(y + j) + vload(b + j));
    if (j < N) vstoren(y + j, vloadn(y + j, N - j) + vloadn(b + j, N - j), N - j);
  }
}

static void sumRows(float* db, const float* dY, long M, long N) {
  for (long j0 = 0; j0 < N; j0 += 4 * W) {      // 4 vectors of columns in registers, rows streamed
    long cnt = N - j0 < 4 * W ? N - j0 : 4 * W;
    vf acc[4] = {};
    for (long i = 0; i < M; i++) {
      const float* r = dY + i * N + j0;
      for (long v = 0; v < 4; v++) {
        long c = cnt - v * W;
        if (c >= W) acc[v] += vload(r + v * W);
        else if (c > 0) acc[v] += vloadn(r + v * W, c);
      }
    }
    for (long v = 0; v < 4; v++) {
      long c = cnt - v * W;
      if (c >= W) vstore(db + j0 + v * W, vload(db + j0 + v * W) + acc[v]);
      else if (c > 0) vstoren(db + j0 + v * W, vloadn(db + j0 + v * W, c) + acc[v], c);
    }
  }
}

static void embeddingForward(float* out, const float* table, const int32_t* ids, long N, long E) {
  for (long n = 0; n < N; n++) __builtin_memcpy(out + n * E, table + (long)ids[n] * E, E * 4);
}

static void embeddingBackward(float* dTable, const float* dOut, const int32_t* ids, long N, long E) {
  for (long n = 0; n < N; n++) {
    float* d = dTable + (long)ids[n] * E;
    const float* s = dOut + n * E;
    long e = 0;
    for (; e + W <= E; e += W) vstore(d + e, vload(d + e) + vload(s + e));
    if (e < E) vstoren(d + e, vloadn(d + e, E - e) + vloadn(s + e, E - e), E - e);
  }
}

// gates(B,4H) i,f,g,o: pre-activations in, activations out.
static void lstmCellForward(float* h, float* c, float* tanhC, float* gates, const float* cPrev, long B, long H) {
  for (long b = 0; b < B; b++) {
    float* g = gates + b * 4 * H;
    const long s = b * H;
    for (long j = 0; j < H; j += W) {
      const long n = H - j < W ? H - j : W;
      vf ig = vsigmoid(vloadn(g + j, n)), fg = vsigmoid(vloadn(g + H + j, n));
      vf gg = vtanh(vloadn(g + 2 * H + j, n)), og = vsigmoid(vloadn(g + 3 * H + j, n));
      vstoren(g + j, ig, n); vstoren(g + H + j, fg, n); vstoren(g + 2 * H + j, gg, n); vstoren(g + 3 * H + j, og, n);
      vf cv = fg * vloadn(cPrev + s + j, n) + ig * gg;
      vf tc = vtanh(cv);
      vstoren(c + s + j, cv, n); vstoren(tanhC + s + j, tc, n); vstoren(h + s + j, og * tc, n);
    }
  }
}

static void lstmCellBackward(float* dGates, float* dcPrev, const float* dh, const float* dc, const float* gates,
                             const float* cPrev, const float* tanhC, long B, long H) {
  const vf one = vset(1.0f);
  for (long b = 0; b < B; b++) {
    const float* g = gates + b * 4 * H;
    float* dg = dGates + b * 4 * H;
    const long s = b * H;
    for (long j = 0; j < H; j += W) {
      const long n = H - j < W ? H - j : W;
      vf ig = vloadn(g + j, n), fg = vloadn(g + H + j, n), gg = vloadn(g + 2 * H + j, n), og = vloadn(g + 3 * H + j, n);
      vf tc = vloadn(tanhC + s + j, n), dhv = vloadn(dh + s + j, n);
      vf dcv = vloadn(dc + s + j, n) + dhv * og * (one - tc * tc);
      vstoren(dg + j, dcv * gg * ig * (one - ig), n);
      vstoren(dg + H + j, dcv * vloadn(cPrev + s + j, n) * fg * (one - fg), n);
      vstoren(dg + 2 * H + j, dcv * ig * (one - gg * gg), n);
      vstoren(dg + 3 * H + j, dhv * tc * og * (one - og), n);
      vstoren(dcPrev + s + j, dcv * fg, n);
    }
  }
}

// act(B,4H) = [r, z, n, gh_n].
static void gruCellForward(float* h, float* act, const float* gi, const float* gh, const float* hPrev, long B, long H) {
  const vf one = vset(1.0f);
  for (long b = 0; b < B; b++) {
    const float* x = gi + b * 3 * H;
    const float* y = gh + b * 3 * H;
    float* a = act + b * 4 * H;
    const long s = b * H;
    for (long j = 0; j < H; j += W) {
      const long n = H - j < W ? H - j : W;
      vf r = vsigmoid(vloadn(x + j, n) + vloadn(y + j, n));
      vf z = vsigmoid(vloadn(x + H + j, n) + vloadn(y + H + j, n));
      vf ghn = vloadn(y + 2 * H + j, n);
      vf nn = vtanh(vloadn(x + 2 * H + j, n) + r * ghn);
      vf hp = vloadn(hPrev + s + j, n);
      vstoren(a + j, r, n); vstoren(a + H + j, z, n); vstoren(a + 2 * H + j, nn, n); vstoren(a + 3 * H + j, ghn, n);
      vstoren(h + s + j, (one - z) * nn + z * hp, n);
    }
  }
}

static void gruCellBackward(float* dGi, float* dGh, float* dhPrev, const float* dh, const float* act,
                            const float* hPrev, long B, long H) {
  const vf one = vset(1.0f);
  for (long b = 0; b < B; b++) {
    const float* a = act + b * 4 * H;
    float* di = dGi + b * 3 * H;
    float* dq = dGh + b * 3 * H;
    const long s = b * H;
    for (long j = 0; j < H; j += W) {
      const long n = H - j < W ? H - j : W;
      vf r = vloadn(a + j, n), z = vloadn(a + H + j, n), nn = vloadn(a + 2 * H + j, n), ghn = vloadn(a + 3 * H + j, n);
      vf d = vloadn(dh + s + j, n);
      vf dn = d * (one - z) * (one - nn * nn);
      vf dz = d * (vloadn(hPrev + s + j, n) - nn) * z * (one - z);
      vf dr = dn * ghn * r * (one - r);
      vstoren(di + j, dr, n); vstoren(di + H + j, dz, n); vstoren(di + 2 * H + j, dn, n);
      vstoren(dq + j, dr, n); vstoren(dq + H + j, dz, n); vstoren(dq + 2 * H + j, dn * r, n);
      vstoren(dhPrev + s + j, vloadn(dhPrev + s + j, n) + d * z, n);  // accumulates (backend.ts)
    }
  }
}

static void tanhForward(float* h, const float* pre, long n) {
  long i = 0;
  for (; i + W <= n; i += W) vstore(h + i, vtanh(vload(pre + i)));
  if (i < n) vstoren(h + i, vtanh(vloadn(pre + i, n - i)), n - i);
}

static void tanhBackward(float* dPre, const float* dh, const float* h, long n) {
  const vf one = vset(1.0f);
  long i = 0;
  for (; i + W <= n; i += W) { vf hv = vload(h + i); vstore(dPre + i, vload(dh + i) * (one - hv * hv)); }
  if (i < n) { vf hv = vloadn(h + i, n - i); vstoren(dPre + i, vloadn(dh + i, n - i) * (one - hv * hv), n - i); }
}

// Row max and Σexp in float vectors (V is small), logZ and the loss total in double like ref.
static double softmaxXent(float* dLogits, const float* logits, const int32_t* targets, long N, long V,
                          double scale) {
  double total = 0;
  for (long r = 0; r < N; r++) {
    const float* l = logits + r * V;
    float* d = dLogits ? dLogits + r * V : nullptr;
    const int32_t t = targets[r];
    if (t < 0) {
      if (d) __builtin_memset(d, 0, V * 4);
      continue;
    }
    vf mxv = vset(-__builtin_inff());
    long v = 0;
    for (; v + W <= V; v += W) mxv = vmax(mxv, vload(l + v));
    float mx = vhmax(mxv);
    for (; v < V; v++) mx = l[v] > mx ? l[v] : mx;
    vf sv = {};
    for (v = 0; v + W <= V; v += W) sv += vexp(vload(l + v) - mx);
    float sum = vhsum(sv);
    double sumd = sum;
    if (v < V) {
      vf e = vexp(vloadn(l + v, V - v) - mx);
      for (long k = 0; k < V - v; k++) sumd += e[k];
    }
    const double logZ = (double)mx + __builtin_log(sumd);
    total += logZ - (double)l[t];
    if (d) {
      const float lz = (float)logZ, sc = (float)scale;
      for (v = 0; v + W <= V; v += W) vstore(d + v, vexp(vload(l + v) - lz) * sc);
      if (v < V) vstoren(d + v, vexp(vloadn(l + v, V - v) - lz) * sc, V - v);
      d[t] -= sc;
    }
  }
  return total;
}

// torch.optim.Adam/AdamW, in double per element like ref (memory-bound, so double costs nothing here).
static void adam(float* p, const float* g, float* m, float* v, long n, double lr, double beta1, double beta2,
                 double eps, double weightDecay, bool adamw, double step) {
  const double bc1 = 1 - __builtin_pow(beta1, step), bc2s = __builtin_sqrt(1 - __builtin_pow(beta2, step));
  const double stepSize = lr / bc1, decay = adamw ? 1 - lr * weightDecay : 1, l2 = adamw ? 0 : weightDecay;
  for (long i = 0; i < n; i++) {
    double gi = (double)g[i] + l2 * (double)p[i];
    double pi = (float)((double)p[i] * decay);
    float mi = (float)(beta1 * m[i] + (1 - beta1) * gi);
    float vi_ = (float)(beta2 * v[i] + (1 - beta2) * gi * gi);
    m[i] = mi; v[i] = vi_;
    p[i] = (float)(pi - stepSize * mi / (__builtin_sqrt((double)vi_) / bc2s + eps));
  }
}

static double sumSquares(const float* x, long n) {
  typedef double vd __attribute__((vector_size(CHARLM_W * 4)));       // W/2 doubles
  typedef float vh __attribute__((vector_size(CHARLM_W * 2)));        // W/2 floats
  const long H2 = W / 2;
  vd a0 = {}, a1 = {};
  long i = 0;
  for (; i + 2 * H2 <= n; i += 2 * H2) {
    vh u, w;
    __builtin_memcpy(&u, x + i, sizeof u); __builtin_memcpy(&w, x + i + H2, sizeof w);
    vd du = __builtin_convertvector(u, vd), dw = __builtin_convertvector(w, vd);
    a0 += du * du; a1 += dw * dw;
  }
  double s = 0;
  for (long k = 0; k < H2; k++) s += a0[k] + a1[k];
  for (; i < n; i++) s += (double)x[i] * x[i];
  return s;
}

static void scale(float* x, long n, float s) {
  long i = 0;
  for (; i + W <= n; i += W) vstore(x + i, vload(x + i) * s);
  if (i < n) vstoren(x + i, vloadn(x + i, n - i) * s, n - i);
}

static void mul(float* out, const float* a, const float* b, long n) {
  long i = 0;
  for (; i + W <= n; i += W) vstore(out + i, vload(a + i) * vload(b + i));
  if (i < n) vstoren(out + i, vloadn(a + i, n - i) * vloadn(b + i, n - i), n - i);
}
