// The pointwise Transformer kernels (LayerNorm forward/backward, exact-erf GELU forward/backward, hash dropout, add),
// written once on simd.h's vf and compiled per ISA (included INSIDE each ISA namespace after simd.h), mirroring
// src/kernels/ref/transformer.ts. Each works on the rows or the element range it is given; transformer.cc splits
// the work over the thread pool. All fp32 (statistics included), except dropout's x·1/(1-p), rounded from double
// exactly as ref's Float32Array store does, so dropout output is bit-identical to ref.

// out(N,C) = (x - mean)·rstd·w + b per row; mean, rstd (N) saved. b may be null. The mean is summed relative to the
// row's first element and kept as hi + lo floats, so a large common offset (|mean| >> spread) costs no accuracy in
// out (ref computes the statistics in float64); the saved mean is hi.
static void lnForward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, long N,
                      long C, float eps) {
  const long Cv = C / W * W;
  for (long n = 0; n < N; n++) {
    const float* xr = x + n * C;
    float* o = out + n * C;
    const float x0 = xr[0];
    const vf x0v = vset(x0);
    vf a0 = {}, a1 = {};
    long c = 0;
    for (; c + 2 * W <= Cv; c += 2 * W) { a0 += vload(xr + c) - x0v; a1 += vload(xr + c + W) - x0v; }
    if (c < Cv) a0 += vload(xr + c) - x0v;
    float s = vhsum(a0 + a1);
    for (c = Cv; c < C; c++) s += xr[c] - x0;
    const float shift = s / (float)C, hi = x0 + shift, lo = (x0 - hi) + shift;
    const vf hv = vset(hi), lv = vset(lo);
    vf q0 = {}, q1 = {};
    for (c = 0; c + 2 * W <= Cv; c += 2 * W) {
      const vf d0 = (vload(xr + c) - hv) - lv, d1 = (vload(xr + c + W) - hv) - lv;
      q0 += d0 * d0; q1 += d1 * d1;
    }
    if (c < Cv) { const vf d0 = (vload(xr + c) - hv) - lv; q0 += d0 * d0; }
    float v = vhsum(q0 + q1);
    for (c = Cv; c < C; c++) { const float d = (xr[c] - hi) - lo; v += d * d; }
    const float r = 1.0f / __builtin_sqrtf(v / (float)C + eps);
    mean[n] = hi; rstd[n] = r;
    const vf rv = vset(r);
    for (c = 0; c < Cv; c += W) {
      vf y = ((vload(xr + c) - hv) - lv) * rv * vload(w + c);
      if (b) y += vload(b + c);
      vstore(o + c, y);
    }
    for (c = Cv; c < C; c++) o[c] = ((xr[c] - hi) - lo) * r * w[c] + (b ? b[c] : 0.0f);
  }
}

// dx(N,C) += rstd·(dout·w - mean(dout·w) - x̂·mean(dout·w·x̂)); dwPart = Σ_rows dout·x̂, dbPart = Σ_rows dout (written).
static void lnBackward(float* dx, float* dwPart, float* dbPart, const float* dout, const float* x, const float* w,
                       const float* mean, const float* rstd, long N, long C) {
  const long Cv = C / W * W;
  for (long c = 0; c < C; c++) { dwPart[c] = 0; dbPart[c] = 0; }
  for (long n = 0; n < N; n++) {
    const float* xr = x + n * C;
    const float* d = dout + n * C;
    float* g = dx + n * C;
    const float m = mean[n], r = rstd[n];
    const vf mv = vset(m), rv = vset(r);
    vf sd = {}, sdx = {};
    long c = 0;
    for (; c < Cv; c += W) {
      const vf xh = (vload(xr + c) - mv) * rv, dxh = vload(d + c) * vload(w + c);
      sd += dxh; sdx += dxh * xh;
    }
    float sumD = vhsum(sd), sumDX = vhsum(sdx);
    for (; c < C; c++) { const float xh = (xr[c] - m) * r, dxh = d[c] * w[c]; sumD += dxh; sumDX += dxh * xh; }
    sumD /= (float)C; sumDX /= (float)C;
    const vf sdv = vset(sumD), sdxv = vset(sumDX);
    for (c = 0; c < Cv; c += W) {
      const vf xh = (vload(xr + c) - mv) * rv, dv = vload(d + c);
      vstore(dwPart + c, vload(dwPart + c) + dv * xh);
      vstore(dbPart + c, vload(dbPart + c) + dv);
      vstore(g + c, vload(g + c) + rv * (dv * vload(w + c) - sdv - xh * sdxv));
    }
    for (; c < C; c++) {
      const float xh = (xr[c] - m) * r, dv = d[c];
      dwPart[c] += dv * xh; dbPart[c] += dv;
      g[c] += r * (dv * w[c] - sumD - xh * sumDX);
    }
  }
}

// Φ(x), the standard normal CDF = erfc(-x/√2)/2, with erfc from Numerical Recipes' erfcc (relative error < 1.2e-7
// in exact arithmetic; in fp32 GELU = x·Φ(x) is within 4e-7 of float64 for |x| < 14, checked in test/kernels).
// erfc(a) for a = |z| >= 0 is accurate relative to itself, so both tails of Φ are.
static inline vf vPhi(vf x) {
  const vf z = x * 0.70710678118654752f;
  const vf az = vsel(z < vset(0.0f), -z, z);
  const vf t = vset(1.0f) / (az * 0.5f + 1.0f);
  vf p = t * 0.17087277f + -0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t + -1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t + -0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t + -1.26551223f;
  const vf half = t * vexp(p - az * az) * 0.5f;   // erfc(|z|)/2
  return vsel(z < vset(0.0f), half, vset(1.0f) - half);
}

// out = x·Φ(x) (PyTorch's nn.GELU() default, exact erf). out may alias x.
static void geluForward(float* out, const float* x, long n) {
  long i = 0;
  for (; i + W <= n; i += W) { const vf v = vload(x + i); vstore(out + i, v * vPhi(v)); }
  if (i < n) { const vf v = vloadn(x + i, n - i); vstoren(out + i, v * vPhi(v), n - i); }
}

// dx = dout·(Φ(x) + x·φ(x)), φ(x) = exp(-x²/2)/√(2π). dx may alias dout.
static void geluBackward(float* dx, const float* dout, const float* x, long n) {
  for (long i = 0; i < n; i += W) {
    const long k = n - i < W ? n - i : W;
    const vf v = vloadn(x + i, k);
    const vf g = vPhi(v) + v * vexp(v * v * -0.5f) * 0.3989422804014327f;
    vstoren(dx + i, vloadn(dout + i, k) * g, k);
  }
}

// murmur3's 32-bit finaliser on every lane (ref's fmix32).
static inline vu vfmix32(vu h) {
  h ^= h >> 16; h *= 0x85ebca6bu;
  h ^= h >> 13; h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// Element i (global index i0+i) is kept when fmix32(seed ^ (i0+i+1)·0x9e3779b1) >= thr, then scaled by s (in double,
// rounded once to fp32 like ref); dropped elements are +0. out may alias x.
static void dropoutRange(float* out, const float* x, long n, long i0, uint32_t thr, double s, uint32_t seed) {
  typedef double vd __attribute__((vector_size(CHARLM_W * 4)));   // W/2 doubles
  typedef float vh __attribute__((vector_size(CHARLM_W * 2)));    // W/2 floats
  vu iota;
  for (long k = 0; k < W; k++) iota[k] = (uint32_t)k;
  const vu seedv = vu{} + seed, thrv = vu{} + thr;
  for (long i = 0; i < n; i += W) {
    const long k = n - i < W ? n - i : W;
    const vu idx = iota + (uint32_t)(i0 + i + 1);
    const vi keep = (vi)(vfmix32(seedv ^ (idx * 0x9e3779b1u)) >= thrv);
    const vf v = vloadn(x + i, k);
    vh lo, hi;
    __builtin_memcpy(&lo, &v, sizeof lo);
    __builtin_memcpy(&hi, (const char*)&v + sizeof lo, sizeof hi);
    const vh slo = __builtin_convertvector(__builtin_convertvector(lo, vd) * s, vh);
    const vh shi = __builtin_convertvector(__builtin_convertvector(hi, vd) * s, vh);
    vf sc;
    __builtin_memcpy(&sc, &slo, sizeof slo);
    __builtin_memcpy((char*)&sc + sizeof slo, &shi, sizeof shi);
    vstoren(out + i, vsel(keep, sc, vset(0.0f)), k);
  }
}

// out = a + b; out may alias a or b.
static void addVec(float* out, const float* a, const float* b, long n) {
  long i = 0;
  for (; i + W <= n; i += W) vstore(out + i, vload(a + i) + vload(b + i));
  if (i < n) vstoren(out + i, vloadn(a + i, n - i) + vloadn(b + i, n - i), n - i);
}
