// Width-generic SIMD helpers on GCC/Clang vector extensions (SSE/NEON/AVX2/AVX-512 from one source) plus the
// vectorised exp/tanh/sigmoid the cell kernels use. Included INSIDE each ISA namespace after CHARLM_W is defined;
// everything is `static` so the per-ISA copies never merge at link time.
// Accuracy: exp is Cephes' expf (~1 ulp); tanh is Eigen's [13/6] rational (a few ulp, abs err < 3e-7).

typedef float vf __attribute__((vector_size(CHARLM_W * 4)));
typedef int32_t vi __attribute__((vector_size(CHARLM_W * 4)));
typedef uint32_t vu __attribute__((vector_size(CHARLM_W * 4)));
static const long W = CHARLM_W;

static inline vf vload(const float* p) { vf v; __builtin_memcpy(&v, p, sizeof v); return v; }
typedef uint16_t vh __attribute__((vector_size(CHARLM_W * 2)));
// W bf16 values (16-bit bits) widened to fp32: zero-extend, shift into the high half (vpmovzxwd + vpslld).
// (The generic form compiles to two half-width conversions and an insert on AVX-512; the intrinsics are one each.)
static inline vf vloadh(const uint16_t* p) {
#if CHARLM_W == 16 && defined(__AVX512F__)
  return (vf)_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)), 16);
#elif CHARLM_W == 8 && defined(__AVX2__)
  return (vf)_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16);
#else
  vh h;
  __builtin_memcpy(&h, p, sizeof h);
  return (vf)(__builtin_convertvector(h, vu) << 16);
#endif
}
static inline vf vloadB(const float* p) { return vload(p); }
static inline vf vloadB(const uint16_t* p) { return vloadh(p); }
static inline void vstore(float* p, vf v) { __builtin_memcpy(p, &v, sizeof v); }
// Load/store of the first n <= W lanes (tails); missing lanes are zero. Whole vectors take the plain path: a
// variable-length memcpy is a library call, which made every pointwise kernel ~5x slower than it needs to be.
static inline vf vloadn(const float* p, long n) {
  if (n >= W) return vload(p);
  vf v = {};
  __builtin_memcpy(&v, p, n * 4);
  return v;
}
static inline void vstoren(float* p, vf v, long n) {
  if (n >= W) { vstore(p, v); return; }
  __builtin_memcpy(p, &v, n * 4);
}
static inline vf vset(float x) { vf v = {}; return v + x; }
static inline vf vsel(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }
static inline vf vmax(vf a, vf b) { return vsel(a > b, a, b); }
static inline vf vmin(vf a, vf b) { return vsel(a < b, a, b); }
// Clamp that keeps NaN (comparisons with NaN are false), so NaN inputs give NaN outputs like Math.exp/Math.tanh.
static inline vf vclamp(vf x, float lo, float hi) { x = vsel(x < vset(lo), vset(lo), x); return vsel(x > vset(hi), vset(hi), x); }
static inline float vhsum(vf v) { float s = 0; for (long i = 0; i < W; i++) s += v[i]; return s; }
static inline float vhmax(vf v) { float s = v[0]; for (long i = 1; i < W; i++) s = v[i] > s ? v[i] : s; return s; }

static inline vf vexp(vf x) {
  x = vclamp(x, -87.3f, 88.3f);                     // keeps 2^n a normal float
  vf n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x/ln2), ties to even
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf y = vset(1.9875691500e-4f);
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * (r * r) + r + 1.0f;
  vi e = (__builtin_convertvector(n, vi) + 127) << 23;
  return y * (vf)e;
}

static inline vf vtanh(vf x) {
  vf ax = vsel(x < vset(0.0f), -x, x);
  vf xc = vclamp(x, -7.90531110763549805f, 7.90531110763549805f);
  vf x2 = xc * xc;
  vf p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * xc;
  vf q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return vsel(ax < vset(0.0004f), x, p / q);
}

static inline vf vsigmoid(vf x) { return vset(1.0f) / (vexp(-x) + 1.0f); }

// Rounds every lane to bf16 (nearest even, NaN stays NaN), kept as fp32: the same bits as common.h's bf16Round.
static inline vf vbf16(vf x) {
  const vu u = (vu)x;
  const vu r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  const vi nan = (vi)((u & 0x7fffffffu) > 0x7f800000u);
  return vsel(nan, (vf)((u | 0x400000u) & 0xffff0000u), (vf)r);
}
