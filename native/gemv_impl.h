// Width-generic GEMM pieces on simd.h's vf: the small-M (M <= 4, batch-1 sampling) kernels that stream the weights
// once (as given, or pre-packed), and a portable packed micro-kernel. Included INSIDE each ISA namespace after simd.h.
// R16: bf16 precision: B is rounded to bf16 as it streams through registers (A arrives already rounded).

// C(M, j0..j1) (+)= A(M,K) · B(N,K)ᵀ: dot products along k, 4 columns × MM rows of vector accumulators.
template <int MM, bool R16>
static void gemvNTm(float* C, long ldc, const float* A, const float* B, long j0, long j1, long K, int beta) {
  long j = j0;
  for (; j < j1; j += 4) {
    const long nj = j1 - j < 4 ? j1 - j : 4;
    vf acc[MM][4] = {};
    long k = 0;
    for (; k + W <= K; k += W) {
      vf a[MM];
      for (int i = 0; i < MM; i++) a[i] = vload(A + i * K + k);
      for (int q = 0; q < 4; q++) {
        if (q >= nj) break;
        vf b = vload(B + (j + q) * K + k);
        if (R16) b = vbf16(b);
        for (int i = 0; i < MM; i++) acc[i][q] += a[i] * b;
      }
    }
    for (int q = 0; q < nj; q++) {
      for (int i = 0; i < MM; i++) {
        float s = vhsum(acc[i][q]);
        for (long kk = k; kk < K; kk++) s += A[i * K + kk] * (R16 ? bf16Round(B[(j + q) * K + kk]) : B[(j + q) * K + kk]);
        float* c = C + i * ldc + j + q;
        *c = beta ? *c + s : s;
      }
    }
  }
}

// C(M, j0..j1) (+)= A(M,K) · B(K,N): rows of B streamed once, 4 vectors of columns × MM rows in registers.
template <int MM, bool R16>
static void gemvNNm(float* C, long ldc, const float* A, const float* B, long j0, long j1, long K, long N, int beta) {
  for (long j = j0; j < j1; j += 4 * W) {
    const long cnt = j1 - j < 4 * W ? j1 - j : 4 * W;
    vf acc[MM][4] = {};
    if (cnt == 4 * W) {
      for (long k = 0; k < K; k++) {
        const float* b = B + k * N + j;
        vf b0 = vload(b), b1 = vload(b + W), b2 = vload(b + 2 * W), b3 = vload(b + 3 * W);
        if (R16) { b0 = vbf16(b0); b1 = vbf16(b1); b2 = vbf16(b2); b3 = vbf16(b3); }
        for (int i = 0; i < MM; i++) {
          const float a = A[i * K + k];
          acc[i][0] += a * b0; acc[i][1] += a * b1; acc[i][2] += a * b2; acc[i][3] += a * b3;
        }
      }
    } else {
      for (long k = 0; k < K; k++) {
        const float* b = B + k * N + j;
        for (int v = 0; v < 4; v++) {
          const long c = cnt - v * W;
          if (c <= 0) break;
          vf bv = c >= W ? vload(b + v * W) : vloadn(b + v * W, c);
          if (R16) bv = vbf16(bv);
          for (int i = 0; i < MM; i++) acc[i][v] += A[i * K + k] * bv;
        }
      }
    }
    for (int i = 0; i < MM; i++) {
      for (int v = 0; v < 4; v++) {
        const long c = cnt - v * W;
        if (c <= 0) break;
        float* cp = C + i * ldc + j + v * W;
        const long w = c >= W ? W : c;
        vf r = acc[i][v];
        if (beta) r += vloadn(cp, w);
        vstoren(cp, r, w);
      }
    }
  }
}

#define CHARLM_GEMV_CASES(fn, ...)                                                                   \
  switch (M * 2 + (bf16 ? 1 : 0)) {                                                                  \
    case 2: fn<1, false>(__VA_ARGS__); break;  case 3: fn<1, true>(__VA_ARGS__); break;               \
    case 4: fn<2, false>(__VA_ARGS__); break;  case 5: fn<2, true>(__VA_ARGS__); break;               \
    case 6: fn<3, false>(__VA_ARGS__); break;  case 7: fn<3, true>(__VA_ARGS__); break;               \
    case 8: fn<4, false>(__VA_ARGS__); break;  default: fn<4, true>(__VA_ARGS__); break;              \
  }

static void gemvNT(float* C, long ldc, const float* A, const float* B, long M, long j0, long j1, long K, int beta,
                   bool bf16) {
  CHARLM_GEMV_CASES(gemvNTm, C, ldc, A, B, j0, j1, K, beta)
}

static void gemvNN(float* C, long ldc, const float* A, const float* B, long M, long j0, long j1, long K, long N,
                   int beta, bool bf16) {
  CHARLM_GEMV_CASES(gemvNNm, C, ldc, A, B, j0, j1, K, N, beta)
}

// C(M, j0..j1) (+)= A(M,depth) · B over pre-packed NR = 2W panels (gemm.h's PackedB, fp32). Blocks outermost so
// each KC block streams as one contiguous run; per block the partial sums are added to C (the blocked GEMM's order).
// M <= 2 splits k into even/odd accumulators: two FMA chains per vector hide the FMA latency at batch 1.
// E = float (fp32 / bf16-rounded panels) or uint16_t (half16 panels, widened as loaded): the same loop and order.
template <int MM, typename E>
static void gemvPackedM(float* C, long ldc, const float* A, const E* Bp, long npad, long depth, long KC, long j0,
                        long j1, int beta) {
  const long NR = 2 * W;
  constexpr int U = MM <= 2 ? 2 : 1;
  for (long pc = 0; pc < depth; pc += KC) {
    const long kc = depth - pc < KC ? depth - pc : KC;
    const int bt = pc > 0 ? 1 : beta;
    const float* a = A + pc;
    for (long j = j0; j < j1; j += NR) {
      const E* b = Bp + pc * npad + j * kc;
      vf acc[U][MM][2] = {};
      long k = 0;
      for (; k + U <= kc; k += U) {
        for (int u = 0; u < U; u++) {
          const vf b0 = vloadB(b + (k + u) * NR), b1 = vloadB(b + (k + u) * NR + W);
          for (int i = 0; i < MM; i++) {
            const float ai = a[i * depth + k + u];
            acc[u][i][0] += ai * b0; acc[u][i][1] += ai * b1;
          }
        }
      }
      for (; k < kc; k++) {
        const vf b0 = vloadB(b + k * NR), b1 = vloadB(b + k * NR + W);
        for (int i = 0; i < MM; i++) {
          const float ai = a[i * depth + k];
          acc[0][i][0] += ai * b0; acc[0][i][1] += ai * b1;
        }
      }
      const long n = j1 - j < NR ? j1 - j : NR;
      for (int i = 0; i < MM; i++) {
        for (int v = 0; v < 2; v++) {
          const long c = n - v * W;
          if (c <= 0) break;
          vf r = acc[0][i][v];
          if (U == 2) r += acc[U - 1][i][v];
          float* cp = C + i * ldc + j + v * W;
          const long w = c >= W ? W : c;
          if (bt) r += vloadn(cp, w);
          vstoren(cp, r, w);
        }
      }
    }
  }
}

template <typename E>
static void gemvPackedE(float* C, long ldc, const float* A, const E* Bp, long M, long npad, long depth, long KC,
                        long j0, long j1, int beta) {
  switch (M) {
    case 1: gemvPackedM<1>(C, ldc, A, Bp, npad, depth, KC, j0, j1, beta); break;
    case 2: gemvPackedM<2>(C, ldc, A, Bp, npad, depth, KC, j0, j1, beta); break;
    case 3: gemvPackedM<3>(C, ldc, A, Bp, npad, depth, KC, j0, j1, beta); break;
    default: gemvPackedM<4>(C, ldc, A, Bp, npad, depth, KC, j0, j1, beta); break;
  }
}

static void gemvPacked(float* C, long ldc, const float* A, const float* Bp, long M, long npad, long depth, long KC,
                       long j0, long j1, int beta) {
  gemvPackedE(C, ldc, A, Bp, M, npad, depth, KC, j0, j1, beta);
}

static void gemvPacked16(float* C, long ldc, const float* A, const uint16_t* Bp, long M, long npad, long depth,
                         long KC, long j0, long j1, int beta) {
  gemvPackedE(C, ldc, A, Bp, M, npad, depth, KC, j0, j1, beta);
}

// Portable packed micro-kernel: MR × (NV vectors) accumulators; edge tiles go through a local tile.
template <int MR, int NV>
static void ukrGeneric(long K, const float* Ap, const float* Bp, float* C, long ldc, int m, int n, int beta) {
  vf acc[MR][NV] = {};
  for (long k = 0; k < K; k++) {
    vf b[NV];
    for (int v = 0; v < NV; v++) b[v] = vload(Bp + v * W);
    for (int i = 0; i < MR; i++) {
      const float a = Ap[i];
      for (int v = 0; v < NV; v++) acc[i][v] += a * b[v];
    }
    Ap += MR; Bp += NV * W;
  }
  for (int i = 0; i < MR; i++) {
    if (i >= m) break;
    float* c = C + i * ldc;
    if (n == NV * W) {
      for (int v = 0; v < NV; v++) vstore(c + v * W, beta ? vload(c + v * W) + acc[i][v] : acc[i][v]);
    } else {
      float t[NV * W];
      for (int v = 0; v < NV; v++) vstore(t + v * W, acc[i][v]);
      for (int j = 0; j < n; j++) c[j] = beta ? c[j] + t[j] : t[j];
    }
  }
}
