// Shared declarations of the charlm native engine: the per-ISA kernel table that isa_avx512.cc, isa_avx2.cc and
// isa_portable.cc each fill in (same kernels, different instruction sets), picked once at load time.
// Sizes are `long`; every pointer already includes the JS view's byteOffset.
#pragma once
#include <cstdint>

namespace charlm {

// GEMM micro-kernel over packed panels: C(m,n) = Ap(MR,K)·Bp(K,NR) (+ C when beta != 0); m <= MR, n <= NR.
// Ap[k*MR + i], Bp[k*NR + j]; panels are zero-padded so only the stores need the m,n edges.
typedef void (*UkrFn)(long K, const float* Ap, const float* Bp, float* C, long ldc, int m, int n, int beta);
// bf16 variant (AVX512_BF16): K2 = ceil(K/2) k-pairs; Ap[p*MR + i] and Bp[p*NR + j] hold two bf16 (k even, k odd).
typedef void (*UkrBf16Fn)(long K2, const uint32_t* Ap, const uint32_t* Bp, float* C, long ldc, int m, int n,
                          int beta);

// Attention (attention_impl.h kernels, transformer.cc drivers). One kernel call handles one (batch, head) pair;
// queries go in blocks of kAttnBQ rows; per-thread scratch panels have rows of ldk = attnLdk(T) floats.
const long kAttnBQ = 64;
// T rounded up to 32 keys (the widest register tile), plus 16 when that makes the row stride a multiple of 128
// bytes: an odd number of cache lines keeps a panel's rows in different L1 sets (a 1 KiB stride maps 64 rows to 4).
inline long attnLdk(long T) {
  const long l = (T + 31) / 32 * 32;
  return (l / 16) % 2 == 0 ? l + 16 : l;
}
struct AttnArgs {
  float* y; float* lse; float* dqkv;           // forward writes y (B,T,C), lse (B,nh,T); backward writes dqkv
  const float* qkv; const float* dy; const float* yin;   // qkv (B,T,3C); backward: dy, forward's y (B,T,C)
  long B, T, nh, hd, ldk;
  float scale, keepScale;                      // 1/sqrt(hd); dropout 1/(1-p)
  uint32_t thr, seed;                          // dropout: keep when hash >= thr = floor(p*2^32)
  bool drop;
};
struct DecodeArgs {
  float* y; const float* q; const float* kc; const float* vc; const int32_t* pos;
  long qStride, B, T, nh, hd, S;
  float scale;
};

struct KernelTable {
  const char* name;
  int MR, NR;            // micro-tile
  int KC, MC, NC;        // cache blocking (floats)
  UkrFn ukr;
  UkrBf16Fn ukrBf16;     // null: bf16 rounds while packing and runs the fp32 micro-kernel (exact emulation)
  // Optional fast fp32 packing (null: gemm.cc's generic loop). Rows [0,cnt) × k [0,kc) of X(r,k) = src[r*rs + k*cs]
  // (rs or cs is 1) into R-row panels dst[panel*R*kc + k*R + r], zero-padded to R rows.
  void (*pack)(float* dst, const float* src, long rs, long cs, long cnt, long kc, int R);
  // Optional fast bf16 k-pair packing for ukrBf16 (null: gemm.cc's generic packBf16).
  void (*packBf16)(uint32_t* dst, const float* src, long rs, long cs, long cnt, long kc, int R);
  // Small-M GEMM (M <= 4) over columns [j0,j1): A contiguous (M,K). gemvNT: B stored (N,K) (dot products);
  // gemvNN: B stored (K,N) (axpy rows). beta as above. bf16: B rounded in registers (A must come rounded).
  void (*gemvNT)(float* C, long ldc, const float* A, const float* B, long M, long j0, long j1, long K, int beta,
                 bool bf16);
  void (*gemvNN)(float* C, long ldc, const float* A, const float* B, long M, long j0, long j1, long K, long N,
                 int beta, bool bf16);
  // Small-M GEMM over a pre-packed B (gemm.h's PackedB layout, NR == 2 vectors): C(M, j0..j1) (+)= A(M,depth)·B
  // for columns [j0,j1), j0 a multiple of NR; A contiguous (M,depth), already bf16-rounded for bf16 precision.
  void (*gemvPacked)(float* C, long ldc, const float* A, const float* Bp, long M, long npad, long depth, long KC,
                     long j0, long j1, int beta);
  // The same over native16 k-pair panels (tables with ukrBf16); A2 (M, ceil(depth/2)) k-pairs. Else null.
  void (*gemvPackedBf16)(float* C, long ldc, const uint32_t* A2, const uint32_t* Bp, long M, long npad, long depth,
                         long KC, long j0, long j1, int beta);
  // The same over half16 panels (bf16 precision on tables without ukrBf16): bf16 bits stored as 16-bit, panel
  // element (k, r) at halfword k*NR + r, widened in registers (exact: bf16 is fp32 with the low 16 bits zero).
  // Half the bytes of the fp32 panels: the weights of batch-1 sampling stream from memory at half the cost.
  void (*gemvPacked16)(float* C, long ldc, const float* A, const uint16_t* Bp, long M, long npad, long depth, long KC,
                       long j0, long j1, int beta);
  void (*addRowVector)(float* Y, const float* b, long M, long N);
  void (*sumRows)(float* db, const float* dY, long M, long N);
  void (*embeddingForward)(float* out, const float* table, const int32_t* ids, long N, long E);
  void (*embeddingBackward)(float* dTable, const float* dOut, const int32_t* ids, long N, long E);
  void (*lstmCellForward)(float* h, float* c, float* tanhC, float* gates, const float* cPrev, long B, long H);
  void (*lstmCellBackward)(float* dGates, float* dcPrev, const float* dh, const float* dc, const float* gates,
                           const float* cPrev, const float* tanhC, long B, long H);
  void (*gruCellForward)(float* h, float* act, const float* gi, const float* gh, const float* hPrev, long B, long H);
  void (*gruCellBackward)(float* dGi, float* dGh, float* dhPrev, const float* dh, const float* act,
                          const float* hPrev, long B, long H);
  void (*tanhForward)(float* h, const float* pre, long n);
  void (*tanhBackward)(float* dPre, const float* dh, const float* h, long n);
  double (*softmaxXent)(float* dLogits, const float* logits, const int32_t* targets, long N, long V, double scale);
  void (*adam)(float* p, const float* g, float* m, float* v, long n, double lr, double beta1, double beta2,
               double eps, double weightDecay, bool adamw, double step);
  double (*sumSquares)(const float* x, long n);
  void (*scale)(float* x, long n, float s);
  void (*mul)(float* out, const float* a, const float* b, long n);
  // Transformer kernels (transformer_impl.h, attention_impl.h); transformer.cc splits them over the thread pool.
  void (*lnForward)(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, long N,
                    long C, float eps);
  // Rows [0,N): dx += ...; dwPart(C), dbPart(C) are WRITTEN with this block's Σ dout·x̂ and Σ dout.
  void (*lnBackward)(float* dx, float* dwPart, float* dbPart, const float* dout, const float* x, const float* w,
                     const float* mean, const float* rstd, long N, long C);
  void (*geluForward)(float* out, const float* x, long n);
  void (*geluBackward)(float* dx, const float* dout, const float* x, long n);
  // Elements [0,n) of a dropout whose element 0 has global index i0 (the hash counter).
  void (*dropout)(float* out, const float* x, long n, long i0, uint32_t thr, double s, uint32_t seed);
  void (*add)(float* out, const float* a, const float* b, long n);
  void (*attnForward)(const AttnArgs& a, long bh, float* scratch);   // scratch: (hd + kAttnBQ)·ldk floats
  void (*attnBackward)(const AttnArgs& a, long bh, float* scratch);  // scratch: 2·(hd + kAttnBQ)·ldk floats
  void (*attnDecode)(const DecodeArgs& a, long bh, float* scratch);  // scratch: S floats
};

// Each returns null when this build or this CPU cannot run that path.
const KernelTable* tablePortable();
const KernelTable* tableAvx2();
const KernelTable* tableAvx512();

// float -> bf16 bits, round to nearest even (NaN stays NaN). Matches src/kernels/ref/bf16.ts. `static` on purpose:
// ISA translation units are compiled with -mavx2/-mavx512f and must not share inline copies with generic code.
static inline uint32_t bf16Bits(float x) {
  uint32_t u;
  __builtin_memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}
static inline float bf16Round(float x) {
  uint32_t u = bf16Bits(x) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

}  // namespace charlm

// Fills the table entries every ISA implements from the same source (pointwise_impl.h, gemv_impl.h); used inside
// each ISA namespace so the names resolve to that ISA's copies.
#define CHARLM_FILL_COMMON(t)                                                               \
  (t).gemvNT = gemvNT; (t).gemvNN = gemvNN; (t).gemvPacked = gemvPacked;                      \
  (t).gemvPacked16 = gemvPacked16;                                                          \
  (t).addRowVector = addRowVector;                                                          \
  (t).sumRows = sumRows; (t).embeddingForward = embeddingForward;                           \
  (t).embeddingBackward = embeddingBackward; (t).lstmCellForward = lstmCellForward;         \
  (t).lstmCellBackward = lstmCellBackward; (t).gruCellForward = gruCellForward;             \
  (t).gruCellBackward = gruCellBackward; (t).tanhForward = tanhForward;                     \
  (t).tanhBackward = tanhBackward; (t).softmaxXent = softmaxXent; (t).adam = adam;          \
  (t).sumSquares = sumSquares; (t).scale = scale; (t).mul = mul;                           \
  (t).lnForward = lnForward; (t).lnBackward = lnBackward; (t).geluForward = geluForward;    \
  (t).geluBackward = geluBackward; (t).dropout = dropoutRange; (t).add = addVec;            \
  (t).attnForward = attnForwardBH; (t).attnBackward = attnBackwardBH;                       \
  (t).attnDecode = attnDecodeBH
