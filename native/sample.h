// The batched sampling kernel (Backend.sampleRows), native twin of src/kernels/ref/sample.ts: per row, softmax with
// temperature, top-k / top-p by selection, and the draw. Built in its own library with -ffp-contract=off and no
// -m flags: its float64 arithmetic (and exp, an fdlibm port identical to V8's Math.exp) matches the TypeScript bit
// for bit, so the same seed picks the same characters on either backend.
#pragma once
#include <cstdint>

namespace charlm {
// Rows [b0,b1) of sampleRows; see ref/sample.ts for the meaning of every argument. simd: use the AVX2 exp when the
// CPU has it (false on the "portable" path, so tests reach the scalar code too; both give the same bits).
void sampleRowsRange(int32_t* ids, double* probs, int32_t* order, const float* logits, const double* u,
                     const double* temperature, const int32_t* topK, const double* topP, const uint8_t* banned,
                     bool fullProbs, long b0, long b1, long V, bool simd);
// exp(x) exactly as V8's Math.exp (fdlibm e_exp.c as in v8/src/base/ieee754.cc).
double fdlibmExp(double x);
}  // namespace charlm
