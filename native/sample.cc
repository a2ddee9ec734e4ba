// Native twin of src/kernels/ref/sample.ts (see sample.h). Same steps in the same order; std::nth_element and
// std::sort / heap operations under the same strict total order (higher probability first, ties to the lower id)
// yield the same kept set in the same order as the reference's quickselect and heaps.
#include "sample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CHARLM_SAMPLE_AVX2 1
#endif

namespace charlm {

static inline uint32_t hiWord(double x) { uint64_t u; std::memcpy(&u, &x, 8); return (uint32_t)(u >> 32); }
static inline uint32_t loWord(double x) { uint64_t u; std::memcpy(&u, &x, 8); return (uint32_t)u; }
static inline double fromWords(uint32_t hi, uint32_t lo) {
  const uint64_t u = ((uint64_t)hi << 32) | lo;
  double x;
  std::memcpy(&x, &u, 8);
  return x;
}

double fdlibmExp(double x) {
  static const double one = 1.0, halF[2] = {0.5, -0.5}, o_threshold = 7.09782712893383973096e+02,
      u_threshold = -7.45133219101941108420e+02,
      ln2HI[2] = {6.93147180369123816490e-01, -6.93147180369123816490e-01},
      ln2LO[2] = {1.90821492927058770002e-10, -1.90821492927058770002e-10}, invln2 = 1.44269504088896338700e+00,
      P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03, P3 = 6.61375632143793436117e-05,
      P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08, E = 2.718281828459045,
      huge = 1.0e+300, twom1000 = 9.33263618503218878990e-302, two1023 = 8.988465674311579539e307;
  double y, hi = 0.0, lo = 0.0, c, t, twopk;
  int32_t k = 0;
  uint32_t hx = hiWord(x);
  const int32_t xsb = (hx >> 31) & 1;
  hx &= 0x7FFFFFFF;
  if (hx >= 0x40862E42) {                       // |x| >= 709.78...
    if (hx >= 0x7FF00000) {
      if (((hx & 0xFFFFF) | loWord(x)) != 0) return x + x;  // NaN
      return (xsb == 0) ? x : 0.0;                          // exp(+-inf) = {inf, 0}
    }
    if (x > o_threshold) return std::numeric_limits<double>::infinity();
    if (x < u_threshold) return twom1000 * twom1000;        // underflow
  }
  if (hx > 0x3FD62E42) {                        // |x| > 0.5 ln2
    if (hx < 0x3FF0A2B2) {                      // and |x| < 1.5 ln2
      if (x == 1.0) return E;
      hi = x - ln2HI[xsb];
      lo = ln2LO[xsb];
      k = 1 - xsb - xsb;
    } else {
      k = (int32_t)(invln2 * x + halF[xsb]);
      t = k;
      hi = x - t * ln2HI[0];                    // t*ln2HI is exact here
      lo = t * ln2LO[0];
    }
    x = hi - lo;
  } else if (hx < 0x3E300000) {                 // |x| < 2**-28
    if (huge + x > one) return one + x;
  } else {
    k = 0;
  }
  t = x * x;
  if (k >= -1021) twopk = fromWords(0x3FF00000 + ((uint32_t)k << 20), 0);
  else twopk = fromWords(0x3FF00000 + ((uint32_t)(k + 1000) << 20), 0);
  c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return one - ((x * c) / (c - 2.0) - x);
  y = one - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * two1023;
    return y * twopk;
  }
  return y * twopk * twom1000;
}

// Math.max semantics: NaN wins.
static inline double jsMax(double a, double b) {
  if (a != a || b != b) return std::numeric_limits<double>::quiet_NaN();
  return a > b ? a : b;  // (±0 ties cannot change exp((l - mx)/t) and are not distinguished)
}

// p[v] = banned[v] ? 0 : exp((l[v] - mx) / t), scalar.
// Returns sum + p[v0] + ... + p[V-1], added left to right (the reference's order).
static double expPassScalar(double* p, const float* l, double mx, double t, const uint8_t* banned, long v0, long V,
                            double sum) {
  for (long v = v0; v < V; v++) {
    p[v] = banned && banned[v] ? 0.0 : fdlibmExp(((double)l[v] - mx) / t);
    sum += p[v];
  }
  return sum;
}

#ifdef CHARLM_SAMPLE_AVX2
// The same, four lanes at a time: fdlibmExp's main path (1.5 ln2 <= |x| < 704, k >= -1021) as vector IEEE adds,
// multiplies and divides in the same order (this file is built with -ffp-contract=off, so no FMA), and the scalar
// function for lanes outside that range (the row maximum, its near neighbours, underflow, NaN). Identical bits.
// Also returns the sum, added in index order as the lanes are finished (the add chain hides behind the exp work).
__attribute__((target("avx2"))) static double expPassAvx2(double* p, const float* l, double mx, double t,
                                                          const uint8_t* banned, long V) {
  double sum = 0;
  const __m256d vmx = _mm256_set1_pd(mx), vt = _mm256_set1_pd(t), invln2 = _mm256_set1_pd(1.44269504088896338700e+00);
  const __m256d ln2HI = _mm256_set1_pd(6.93147180369123816490e-01), ln2LO = _mm256_set1_pd(1.90821492927058770002e-10);
  const __m256d P1 = _mm256_set1_pd(1.66666666666666019037e-01), P2 = _mm256_set1_pd(-2.77777777770155933842e-03),
                P3 = _mm256_set1_pd(6.61375632143793436117e-05), P4 = _mm256_set1_pd(-1.65339022054652515390e-06),
                P5 = _mm256_set1_pd(4.13813679705723846039e-08), one = _mm256_set1_pd(1.0), two = _mm256_set1_pd(2.0);
  const __m256d half = _mm256_set1_pd(0.5), signbit = _mm256_set1_pd(-0.0);
  // Thresholds on the high word, as "greater than" bounds: A is (loA1, hiA1], B (halfLn2, loA1], C (tiny1, halfLn2].
  const __m256i loA1 = _mm256_set1_epi64x(0x3FF0A2B1), hiA1 = _mm256_set1_epi64x(0x4085FFFF),
                halfLn2 = _mm256_set1_epi64x(0x3FD62E42), tiny1 = _mm256_set1_epi64x(0x3E2FFFFF),
                absHi = _mm256_set1_epi64x(0x7FFFFFFF), bias = _mm256_set1_epi64x(1023);
  const bool div = t != 1.0;   // x / 1 == x exactly: skip the division, same bits
  long v = 0;
  for (; v + 4 <= V; v += 4) {
    __m256d x = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(l + v)), vmx);
    if (div) x = _mm256_div_pd(x, vt);
    const __m256i hx = _mm256_and_si256(_mm256_srli_epi64(_mm256_castpd_si256(x), 32), absHi);
    // Lanes by fdlibm's branch on the high word: A 1.5 ln2 <= |x| < 704 (k from x), B 0.5 ln2 < |x| < 1.5 ln2
    // (k = ±1), C 2^-28 <= |x| <= 0.5 ln2 (k = 0, no reduction); the rest (tiny, huge, NaN, x == 1) go scalar.
    const __m256i isA = _mm256_andnot_si256(_mm256_cmpgt_epi64(hx, hiA1), _mm256_cmpgt_epi64(hx, loA1));
    const __m256i isB = _mm256_andnot_si256(_mm256_cmpgt_epi64(hx, loA1), _mm256_cmpgt_epi64(hx, halfLn2));
    const __m256i isC = _mm256_andnot_si256(_mm256_cmpgt_epi64(hx, halfLn2), _mm256_cmpgt_epi64(hx, tiny1));
    const __m256d neg = _mm256_and_pd(x, signbit);
    const __m256d halF = _mm256_or_pd(half, neg);   // +0.5 or -0.5 by the sign of x
    const __m128i kA = _mm256_cvttpd_epi32(_mm256_add_pd(_mm256_mul_pd(invln2, x), halF));
    // isB's 64-bit lanes narrowed to 4 int32 lanes (all ones or zero), to pick k = ±1 (the sign of x) there.
    const __m128i bMask = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(isB, _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0)));
    const __m128i k = _mm_blendv_epi8(kA, _mm256_cvttpd_epi32(_mm256_or_pd(one, neg)), bMask);
    const __m256d tk = _mm256_cvtepi32_pd(k);
    const __m256d hi = _mm256_sub_pd(x, _mm256_mul_pd(tk, ln2HI)), lo = _mm256_mul_pd(tk, ln2LO);
    const __m256d cMask = _mm256_castsi256_pd(isC);
    const __m256d xr = _mm256_blendv_pd(_mm256_sub_pd(hi, lo), x, cMask), tt = _mm256_mul_pd(xr, xr);
    __m256d poly = _mm256_add_pd(P4, _mm256_mul_pd(tt, P5));
    poly = _mm256_add_pd(P3, _mm256_mul_pd(tt, poly));
    poly = _mm256_add_pd(P2, _mm256_mul_pd(tt, poly));
    poly = _mm256_add_pd(P1, _mm256_mul_pd(tt, poly));
    const __m256d c = _mm256_sub_pd(xr, _mm256_mul_pd(tt, poly));
    const __m256d xc = _mm256_mul_pd(xr, c);
    const __m256d q = _mm256_div_pd(xc, _mm256_sub_pd(two, c));
    const __m256d y = _mm256_sub_pd(one, _mm256_sub_pd(_mm256_sub_pd(lo, q), hi));
    const __m256d twopk = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(k), bias), 52));
    __m256d r = _mm256_mul_pd(y, twopk);
    if (_mm256_movemask_pd(cMask)) {   // k = 0: one - ((x*c)/(c-2.0) - x)
      const __m256d r0 = _mm256_sub_pd(one, _mm256_sub_pd(_mm256_div_pd(xc, _mm256_sub_pd(c, two)), xr));
      r = _mm256_blendv_pd(r, r0, cMask);
    }
    _mm256_storeu_pd(p + v, r);
    const __m256i ok = _mm256_andnot_si256(_mm256_castpd_si256(_mm256_cmp_pd(x, one, _CMP_EQ_OQ)),
                                           _mm256_or_si256(isA, _mm256_or_si256(isB, isC)));
    const int good = _mm256_movemask_pd(_mm256_castsi256_pd(ok));
    if (good != 0xF) {
      double xs[4];
      _mm256_storeu_pd(xs, x);
      for (int i = 0; i < 4; i++) if (!(good >> i & 1)) p[v + i] = fdlibmExp(xs[i]);
    }
    if (banned) for (int i = 0; i < 4; i++) if (banned[v + i]) p[v + i] = 0.0;
    sum += p[v]; sum += p[v + 1]; sum += p[v + 2]; sum += p[v + 3];
  }
  return expPassScalar(p, l, mx, t, banned, v, V, sum);
}

// max over l[0..V) as Math.max would fold it (NaN if any is NaN); the float max is exact, so it equals the double one.
__attribute__((target("avx2"))) static double maxAvx2(const float* l, long V) {
  __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 nan = _mm256_setzero_ps();
  long v = 0;
  for (; v + 8 <= V; v += 8) {
    const __m256 x = _mm256_loadu_ps(l + v);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    m = _mm256_max_ps(m, x);
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, m);
  double mx = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < 8; i++) if (lanes[i] > mx) mx = lanes[i];
  for (; v < V; v++) { if (l[v] != l[v]) return std::numeric_limits<double>::quiet_NaN(); if (l[v] > mx) mx = l[v]; }
  if (_mm256_movemask_ps(nan)) return std::numeric_limits<double>::quiet_NaN();
  return mx;
}
static const bool gHasAvx2 = __builtin_cpu_supports("avx2");
#endif

// p[v] = exp((l[v] - mx) / t) (0 where banned); returns Σ p in index order.
static double expPass(double* p, const float* l, double mx, double t, const uint8_t* banned, long V, bool simd) {
#ifdef CHARLM_SAMPLE_AVX2
  if (simd && gHasAvx2) return expPassAvx2(p, l, mx, t, banned, V);
#endif
  return expPassScalar(p, l, mx, t, banned, 0, V, 0.0);
}

// The maximum over the ids that are not banned, folded as Math.max (NaN wins).
static double rowMax(const float* l, const uint8_t* banned, long V, bool simd) {
#ifdef CHARLM_SAMPLE_AVX2
  if (simd && gHasAvx2 && !banned) return maxAvx2(l, V);
#endif
  double mx = -std::numeric_limits<double>::infinity();
  for (long v = 0; v < V; v++) if (!banned || !banned[v]) mx = jsMax(mx, (double)l[v]);
  return mx;
}


void sampleRowsRange(int32_t* ids, double* probs, int32_t* order, const float* logits, const double* u,
                     const double* temperature, const int32_t* topK, const double* topP, const uint8_t* banned,
                     bool fullProbs, long b0, long b1, long V, bool simd) {
  for (long b = b0; b < b1; b++) {
    const float* l = logits + b * V;
    double* p = probs + b * V;
    int32_t* ord = order + b * V;
    const bool greedy = !(temperature[b] > 0);
    if (greedy) {
      long best = -1;
      for (long v = 0; v < V; v++)
        if ((!banned || !banned[v]) && (best < 0 || l[v] > l[best])) best = v;
      ids[b] = (int32_t)best;
      if (!fullProbs) continue;
    }
    const double t = greedy ? 1.0 : temperature[b];
    const double mx = rowMax(l, banned, V, simd);
    const double sum = expPass(p, l, mx, t, banned, V, simd);   // Σ in index order, as the reference adds
    const long k = topK[b] > 0 && topK[b] < V ? topK[b] : V;
    const double tp = topP[b];
    const bool useP = tp > 0 && tp < 1, filtered = k < V || useP;
    // Unfiltered draws divide by the sum on the fly (up to the picked id only); everything else needs p normalised.
    const bool normalise = filtered || fullProbs;
    double kept = normalise ? 1 : sum;
    if (normalise) for (long v = 0; v < V; v++) p[v] /= sum;
    if (filtered) {
      for (long v = 0; v < V; v++) ord[v] = (int32_t)v;
      auto above = [p](int32_t a, int32_t c) { return p[a] > p[c] || (p[a] == p[c] && a < c); };
      long keep;
      if (k < V) {
        std::nth_element(ord, ord + (k - 1), ord + V, above);
        std::sort(ord, ord + k, above);
        keep = k;
        if (useP) {
          double cum = 0;
          for (long i = 0; i < k; i++) { cum += p[ord[i]]; if (cum >= tp) { keep = i + 1; break; } }
        }
      } else {
        // Heap with the best at the root (std heaps put the "largest" by the comparator first: use below = !above).
        auto below = [&above](int32_t a, int32_t c) { return above(c, a); };
        std::make_heap(ord, ord + V, below);
        long n = V;
        double cum = 0;
        while (n > 0) {
          std::pop_heap(ord, ord + n, below);
          cum += p[ord[n - 1]];
          n--;
          if (cum >= tp) break;
        }
        keep = V - n;
        std::reverse(ord, ord + V);             // kept ids to the front, best first
      }
      kept = 0;
      for (long i = 0; i < keep; i++) kept += p[ord[i]];
      for (long i = keep; i < V; i++) p[ord[i]] = 0;
      if (fullProbs) for (long v = 0; v < V; v++) p[v] /= kept;
    }
    if (greedy) continue;
    const double x = u[b];
    const bool scaled = !fullProbs;   // p holds e or e/sum: divide by the kept mass (or the sum) on the fly
    double cum = 0;
    long last = 0, pick = -1;
    for (long v = 0; v < V; v++) {
      const double q = scaled ? p[v] / kept : p[v];
      if (q <= 0) continue;
      cum += q;
      last = v;
      if (x < cum) { pick = v; break; }
    }
    ids[b] = (int32_t)(pick >= 0 ? pick : last);
  }
}

}  // namespace charlm
