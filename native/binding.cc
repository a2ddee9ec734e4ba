// Node-API surface of the native engine: one function per Backend kernel (packed weights included, Transformer
// kernels in the second half) plus setThreads/threads/isa/setIsa.
// Typed arrays cross without copies (napi_get_typedarray_info's pointer already includes the view's byteOffset);
// every call checks types and that each buffer is long enough for the given dimensions, then calls the kernel.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common.h"
#include "gemm.h"
#include "sample.h"
#include "threadpool.h"
#include "transformer.h"

namespace charlm {
namespace {

const KernelTable* gTab = nullptr;
int gThreads = 1;

// Picks the best table at or below `cap` ("avx512" > "avx2" > "portable") that this CPU runs; an empty or
// unknown cap means no cap.
const KernelTable* pickTable(const char* cap) {
  const std::string c = cap ? cap : "";
  const bool allow512 = c != "avx2" && c != "portable", allow2 = c != "portable";
  if (allow512) if (const KernelTable* t = tableAvx512()) return t;
  if (allow2) if (const KernelTable* t = tableAvx2()) return t;
  return tablePortable();
}

// Argument reader: records the first type/range error, throws it once at the end (C++ exceptions are off).
struct Args {
  const Napi::CallbackInfo& info;
  napi_env env;
  std::string err;
  explicit Args(const Napi::CallbackInfo& i) : info(i), env(i.Env()) {}

  void* arr(size_t i, napi_typedarray_type want, double need, const char* what, bool nullable = false) {
    napi_value v = info[i];
    napi_valuetype vt;
    napi_typeof(env, v, &vt);
    if (nullable && (vt == napi_null || vt == napi_undefined)) return nullptr;
    bool is = false;
    napi_is_typedarray(env, v, &is);
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    if (is) napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr);
    if (!is || type != want) {
      fail(std::string(what) + (want == napi_float32_array ? " must be a Float32Array"
                                : want == napi_float64_array ? " must be a Float64Array"
                                : want == napi_uint8_array   ? " must be a Uint8Array" : " must be an Int32Array"));
    } else if ((double)len < need) {
      fail(std::string(what) + " is too short: " + std::to_string(len) + " < " + std::to_string((long)need));
    }
    return data;
  }
  float* f32(size_t i, double need, const char* what, bool nullable = false) {
    return (float*)arr(i, napi_float32_array, need, what, nullable);
  }
  int32_t* i32(size_t i, double need, const char* what) { return (int32_t*)arr(i, napi_int32_array, need, what); }
  double* f64(size_t i, double need, const char* what) { return (double*)arr(i, napi_float64_array, need, what); }
  uint8_t* u8(size_t i, double need, const char* what, bool nullable = false) {
    return (uint8_t*)arr(i, napi_uint8_array, need, what, nullable);
  }
  double num(size_t i) {
    double d = 0;
    if (napi_get_value_double(env, info[i], &d) != napi_ok) fail("argument " + std::to_string(i) + " must be a number");
    return d;
  }
  long dim(size_t i) {
    const double d = num(i);
    if (!(d >= 0 && d <= 9.0e15) || d != (double)(long)d) fail("dimension " + std::to_string(i) + " must be an integer >= 0");
    return (long)d;
  }
  bool flag(size_t i) { return info[i].ToBoolean().Value(); }
  void fail(const std::string& m) { if (err.empty()) err = m; }
  bool ok() {
    if (err.empty()) return true;
    Napi::RangeError::New(env, "charlm native: " + err).ThrowAsJavaScriptException();
    return false;
  }
};

Napi::Value matmulImpl(const Napi::CallbackInfo& info, bool bf16) {
  Args a(info);
  const long M = a.dim(3), N = a.dim(4), K = a.dim(5);
  const bool tA = a.flag(6), tB = a.flag(7), acc = a.flag(8);
  float* C = a.f32(0, (double)M * N, "C");
  const float* A = a.f32(1, (double)M * K, "A");
  const float* B = a.f32(2, (double)K * N, "B");
  if (a.ok()) sgemm(*gTab, gThreads, bf16, C, A, B, M, N, K, tA, tB, acc);
  return info.Env().Undefined();
}
Napi::Value Matmul(const Napi::CallbackInfo& info) { return matmulImpl(info, false); }
Napi::Value MatmulBf16(const Napi::CallbackInfo& info) { return matmulImpl(info, true); }

// Pre-packed weights (Backend.packWeights / repack / matmulPacked). The handle is an External owning a PackedW; its
// bytes are reported to V8 as external memory so that dropped handles are collected promptly.
void adjustMemory(napi_env env, long delta) {
  int64_t now = 0;
  if (delta) napi_adjust_external_memory(env, delta, &now);
}
void finalizePacked(Napi::Env env, PackedW* pw) {
  adjustMemory(env, -(long)(pw->nt.bytes + pw->nn.bytes));
  freePacked(*pw);
  delete pw;
}
PackedW* packedArg(Args& a, size_t i) {
  if (!a.info[i].IsExternal()) { a.fail("the packed handle is not one made by packWeights"); return nullptr; }
  PackedW* pw = a.info[i].As<Napi::External<PackedW>>().Data();
  if (!pw || pw->magic != PackedW{}.magic) { a.fail("the packed handle is not one made by packWeights"); return nullptr; }
  return pw;
}

// packWeights(W, N, K, modes: 1 nt | 2 nn | 3 both, bf16) -> handle
Napi::Value PackWeights(const Napi::CallbackInfo& info) {
  Args a(info);
  const long N = a.dim(1), K = a.dim(2), modes = a.dim(3);
  const bool bf16 = a.flag(4);
  const float* W = a.f32(0, (double)N * K, "W");
  if (modes < 1 || modes > 3) a.fail("modes must be 1 (nt), 2 (nn) or 3 (both)");
  if (!a.ok()) return info.Env().Undefined();
  PackedW* pw = new PackedW;
  pw->N = N; pw->K = K; pw->bf16 = bf16; pw->hasNt = modes & 1; pw->hasNn = modes & 2;
  adjustMemory(info.Env(), packWeights(*gTab, gThreads, *pw, W));
  return Napi::External<PackedW>::New(info.Env(), pw, finalizePacked);
}

// repack(handle, W): refresh after W changed (or after setIsa changed the panel layout).
Napi::Value Repack(const Napi::CallbackInfo& info) {
  Args a(info);
  PackedW* pw = packedArg(a, 0);
  const float* W = a.f32(1, pw ? (double)pw->N * pw->K : 0, "W");
  if (a.ok()) adjustMemory(info.Env(), packWeights(*gTab, gThreads, *pw, W));
  return info.Env().Undefined();
}

// matmulPacked(C, A, handle, M, nn, acc, bf16)
Napi::Value MatmulPacked(const Napi::CallbackInfo& info) {
  Args a(info);
  PackedW* pw = packedArg(a, 2);
  const long M = a.dim(3);
  const bool nn = a.flag(4), acc = a.flag(5), bf16 = a.flag(6);
  const long n = pw ? (nn ? pw->K : pw->N) : 0, depth = pw ? (nn ? pw->N : pw->K) : 0;
  float* C = a.f32(0, (double)M * n, "C");
  const float* A = a.f32(1, (double)M * depth, "A");
  if (pw && a.err.empty()) {
    if (pw->bf16 != bf16) a.fail(std::string("the handle was packed for ") + (pw->bf16 ? "bf16" : "fp32") + " precision");
    else if (!(nn ? pw->hasNn : pw->hasNt)) a.fail(std::string("the handle was not packed for mode ") + (nn ? "nn" : "nt"));
    else if (pw->t != gTab) a.fail(std::string("the handle was packed for the ") + pw->t->name + " kernels but " +
                                   gTab->name + " is in use: repack it");
  }
  if (a.ok()) sgemmPacked(*gTab, gThreads, C, A, *pw, M, nn, acc);
  return info.Env().Undefined();
}

Napi::Value AddRowVector(const Napi::CallbackInfo& info) {
  Args a(info);
  const long M = a.dim(2), N = a.dim(3);
  float* Y = a.f32(0, (double)M * N, "Y");
  const float* b = a.f32(1, N, "b");
  if (a.ok()) gTab->addRowVector(Y, b, M, N);
  return info.Env().Undefined();
}

Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Args a(info);
  const long M = a.dim(2), N = a.dim(3);
  float* db = a.f32(0, N, "db");
  const float* dY = a.f32(1, (double)M * N, "dY");
  if (a.ok()) gTab->sumRows(db, dY, M, N);
  return info.Env().Undefined();
}

// ids must index rows of the table; checked here because a bad id would write outside the buffer.
bool checkIds(Args& a, const int32_t* ids, long N, long rows) {
  if (!a.err.empty()) return false;
  for (long n = 0; n < N; n++)
    if (ids[n] < 0 || ids[n] >= rows) { a.fail("ids[" + std::to_string(n) + "] out of range"); return false; }
  return true;
}

Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long N = a.dim(3), E = a.dim(4);
  float* out = a.f32(0, (double)N * E, "out");
  const float* table = a.f32(1, 0, "table");
  const int32_t* ids = a.i32(2, N, "ids");
  if (a.err.empty() && E > 0) checkIds(a, ids, N, (long)(info[1].As<Napi::TypedArray>().ElementLength() / E));
  if (a.ok()) gTab->embeddingForward(out, table, ids, N, E);
  return info.Env().Undefined();
}

Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long N = a.dim(3), E = a.dim(4);
  float* dTable = a.f32(0, 0, "dTable");
  const float* dOut = a.f32(1, (double)N * E, "dOut");
  const int32_t* ids = a.i32(2, N, "ids");
  if (a.err.empty() && E > 0) checkIds(a, ids, N, (long)(info[0].As<Napi::TypedArray>().ElementLength() / E));
  if (a.ok()) gTab->embeddingBackward(dTable, dOut, ids, N, E);
  return info.Env().Undefined();
}

// Runs f(b0, b1) over batch rows [0,B), split across the pool when the cell is big enough to pay for a wake-up
// (the workers are usually still spinning from the GEMM just before). Rows are independent: results don't change.
template <typename F>
void byRows(long B, long H, F f) {
  int nt = gThreads;
  if (nt <= 1 || B < 2 || B * H < 16384) { f(0, B); return; }
  if (nt > B) nt = (int)B;
  struct Ctx { F* f; long B; int nt; } ctx{&f, B, nt};
  poolRun(nt, [](void* p, int tid) {
    const Ctx& c = *(const Ctx*)p;
    const long b0 = c.B * tid / c.nt, b1 = c.B * (tid + 1) / c.nt;
    if (b1 > b0) (*c.f)(b0, b1);
  }, &ctx);
}

Napi::Value LstmCellForward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long B = a.dim(5), H = a.dim(6);
  const double s = (double)B * H;
  float* h = a.f32(0, s, "h"); float* c = a.f32(1, s, "c"); float* tc = a.f32(2, s, "tanhC");
  float* gates = a.f32(3, 4 * s, "gates"); const float* cPrev = a.f32(4, s, "cPrev");
  if (a.ok()) byRows(B, H, [&](long b0, long b1) {
    const long o = b0 * H;
    gTab->lstmCellForward(h + o, c + o, tc + o, gates + 4 * o, cPrev + o, b1 - b0, H);
  });
  return info.Env().Undefined();
}

Napi::Value LstmCellBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long B = a.dim(7), H = a.dim(8);
  const double s = (double)B * H;
  float* dG = a.f32(0, 4 * s, "dGates"); float* dcPrev = a.f32(1, s, "dcPrev"); const float* dh = a.f32(2, s, "dh");
  const float* dc = a.f32(3, s, "dc"); const float* gates = a.f32(4, 4 * s, "gates");
  const float* cPrev = a.f32(5, s, "cPrev"); const float* tc = a.f32(6, s, "tanhC");
  if (a.ok()) byRows(B, H, [&](long b0, long b1) {
    const long o = b0 * H;
    gTab->lstmCellBackward(dG + 4 * o, dcPrev + o, dh + o, dc + o, gates + 4 * o, cPrev + o, tc + o, b1 - b0, H);
  });
  return info.Env().Undefined();
}

Napi::Value GruCellForward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long B = a.dim(5), H = a.dim(6);
  const double s = (double)B * H;
  float* h = a.f32(0, s, "h"); float* act = a.f32(1, 4 * s, "act"); const float* gi = a.f32(2, 3 * s, "gi");
  const float* gh = a.f32(3, 3 * s, "gh"); const float* hPrev = a.f32(4, s, "hPrev");
  if (a.ok()) byRows(B, H, [&](long b0, long b1) {
    const long o = b0 * H;
    gTab->gruCellForward(h + o, act + 4 * o, gi + 3 * o, gh + 3 * o, hPrev + o, b1 - b0, H);
  });
  return info.Env().Undefined();
}

Napi::Value GruCellBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long B = a.dim(6), H = a.dim(7);
  const double s = (double)B * H;
  float* dGi = a.f32(0, 3 * s, "dGi"); float* dGh = a.f32(1, 3 * s, "dGh"); float* dhPrev = a.f32(2, s, "dhPrev");
  const float* dh = a.f32(3, s, "dh"); const float* act = a.f32(4, 4 * s, "act"); const float* hPrev = a.f32(5, s, "hPrev");
  if (a.ok()) byRows(B, H, [&](long b0, long b1) {
    const long o = b0 * H;
    gTab->gruCellBackward(dGi + 3 * o, dGh + 3 * o, dhPrev + o, dh + o, act + 4 * o, hPrev + o, b1 - b0, H);
  });
  return info.Env().Undefined();
}

Napi::Value TanhForward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long n = a.dim(2);
  float* h = a.f32(0, n, "h"); const float* pre = a.f32(1, n, "pre");
  if (a.ok()) gTab->tanhForward(h, pre, n);
  return info.Env().Undefined();
}

Napi::Value TanhBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long n = a.dim(3);
  float* dPre = a.f32(0, n, "dPre"); const float* dh = a.f32(1, n, "dh"); const float* h = a.f32(2, n, "h");
  if (a.ok()) gTab->tanhBackward(dPre, dh, h, n);
  return info.Env().Undefined();
}

Napi::Value SoftmaxXent(const Napi::CallbackInfo& info) {
  Args a(info);
  const long N = a.dim(3), V = a.dim(4);
  const double scale = a.num(5);
  float* d = a.f32(0, (double)N * V, "dLogits", true);
  const float* logits = a.f32(1, (double)N * V, "logits");
  const int32_t* t = a.i32(2, N, "targets");
  for (long n = 0; a.err.empty() && n < N; n++)
    if (t[n] >= V) a.fail("targets[" + std::to_string(n) + "] out of range");
  if (!a.ok()) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), gTab->softmaxXent(d, logits, t, N, V, scale));
}

Napi::Value Adam(const Napi::CallbackInfo& info) {
  Args a(info);
  const long n = a.dim(4);
  float* p = a.f32(0, n, "p"); const float* g = a.f32(1, n, "g"); float* m = a.f32(2, n, "m"); float* v = a.f32(3, n, "v");
  const double lr = a.num(5), b1 = a.num(6), b2 = a.num(7), eps = a.num(8), wd = a.num(9);
  const bool adamw = a.flag(10);
  const double step = a.num(11);
  if (a.ok()) gTab->adam(p, g, m, v, n, lr, b1, b2, eps, wd, adamw, step);
  return info.Env().Undefined();
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a(info);
  const long n = a.dim(1);
  const float* x = a.f32(0, n, "x");
  if (!a.ok()) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), gTab->sumSquares(x, n));
}

Napi::Value Scale(const Napi::CallbackInfo& info) {
  Args a(info);
  const long n = a.dim(1);
  const double s = a.num(2);
  float* x = a.f32(0, n, "x");
  if (a.ok()) gTab->scale(x, n, (float)s);
  return info.Env().Undefined();
}

Napi::Value Mul(const Napi::CallbackInfo& info) {
  Args a(info);
  const long n = a.dim(3);
  float* out = a.f32(0, n, "out"); const float* x = a.f32(1, n, "a"); const float* y = a.f32(2, n, "b");
  if (a.ok()) gTab->mul(out, x, y, n);
  return info.Env().Undefined();
}

// ---- Transformer kernels (transformer.h): fp32 on every precision. ----

// A JS dropout seed as ToUint32 does it (the ref's `seed ^ …` reads the same 32 bits).
uint32_t seedArg(Args& a, size_t i) {
  const double d = a.num(i);
  return std::isfinite(d) ? (uint32_t)(uint64_t)(int64_t)std::trunc(std::fmod(d, 4294967296.0)) : 0u;
}
double probArg(Args& a, size_t i) {
  const double p = a.num(i);
  if (!(p >= 0 && p < 1)) a.fail("dropout p must be in [0, 1)");
  return p;
}

Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long N = a.dim(6), C = a.dim(7);
  const double eps = a.num(8), s = (double)N * C;
  float* out = a.f32(0, s, "out"); float* mean = a.f32(1, N, "mean"); float* rstd = a.f32(2, N, "rstd");
  const float* x = a.f32(3, s, "x"); const float* w = a.f32(4, C, "w"); const float* b = a.f32(5, C, "b", true);
  if (a.ok()) layerNormForward(*gTab, gThreads, out, mean, rstd, x, w, b, N, C, eps);
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long N = a.dim(8), C = a.dim(9);
  const double s = (double)N * C;
  float* dx = a.f32(0, s, "dx"); float* dw = a.f32(1, C, "dw"); float* db = a.f32(2, C, "db", true);
  const float* dout = a.f32(3, s, "dout"); const float* x = a.f32(4, s, "x"); const float* w = a.f32(5, C, "w");
  const float* mean = a.f32(6, N, "mean"); const float* rstd = a.f32(7, N, "rstd");
  if (a.ok()) layerNormBackward(*gTab, gThreads, dx, dw, db, dout, x, w, mean, rstd, N, C);
  return info.Env().Undefined();
}

Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long n = a.dim(2);
  float* out = a.f32(0, n, "out"); const float* x = a.f32(1, n, "x");
  if (a.ok()) geluForward(*gTab, gThreads, out, x, n);
  return info.Env().Undefined();
}

Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long n = a.dim(3);
  float* dx = a.f32(0, n, "dx"); const float* dout = a.f32(1, n, "dout"); const float* x = a.f32(2, n, "x");
  if (a.ok()) geluBackward(*gTab, gThreads, dx, dout, x, n);
  return info.Env().Undefined();
}

Napi::Value Dropout(const Napi::CallbackInfo& info) {
  Args a(info);
  const long n = a.dim(2);
  const double p = probArg(a, 3);
  const uint32_t seed = seedArg(a, 4);
  float* out = a.f32(0, n, "out"); const float* x = a.f32(1, n, "x");
  if (a.ok()) dropout(*gTab, gThreads, out, x, n, p, seed);
  return info.Env().Undefined();
}

Napi::Value Add(const Napi::CallbackInfo& info) {
  Args a(info);
  const long n = a.dim(3);
  float* out = a.f32(0, n, "out"); const float* x = a.f32(1, n, "a"); const float* y = a.f32(2, n, "b");
  if (a.ok()) add(*gTab, gThreads, out, x, y, n);
  return info.Env().Undefined();
}

// attentionForward(y, lse, qkv, B, T, nh, hd, p, seed)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long B = a.dim(3), T = a.dim(4), nh = a.dim(5), hd = a.dim(6);
  const double p = probArg(a, 7), rows = (double)B * T, C = (double)nh * hd;
  const uint32_t seed = seedArg(a, 8);
  float* y = a.f32(0, rows * C, "y"); float* lse = a.f32(1, rows * nh, "lse");
  const float* qkv = a.f32(2, rows * 3 * C, "qkv");
  if (a.ok()) attentionForward(*gTab, gThreads, y, lse, qkv, B, T, nh, hd, p, seed);
  return info.Env().Undefined();
}

// attentionBackward(dqkv, dy, y, lse, qkv, B, T, nh, hd, p, seed)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const long B = a.dim(5), T = a.dim(6), nh = a.dim(7), hd = a.dim(8);
  const double p = probArg(a, 9), rows = (double)B * T, C = (double)nh * hd;
  const uint32_t seed = seedArg(a, 10);
  float* dqkv = a.f32(0, rows * 3 * C, "dqkv"); const float* dy = a.f32(1, rows * C, "dy");
  const float* y = a.f32(2, rows * C, "y"); const float* lse = a.f32(3, rows * nh, "lse");
  const float* qkv = a.f32(4, rows * 3 * C, "qkv");
  if (a.ok()) attentionBackward(*gTab, gThreads, dqkv, dy, y, lse, qkv, B, T, nh, hd, p, seed);
  return info.Env().Undefined();
}

// attentionDecode(y, q, qStride, kc, vc, pos, B, T, nh, hd, S): every pos[b] + T must fit in the cache's S.
Napi::Value AttentionDecode(const Napi::CallbackInfo& info) {
  Args a(info);
  const long qStride = a.dim(2), B = a.dim(6), T = a.dim(7), nh = a.dim(8), hd = a.dim(9), S = a.dim(10);
  const double C = (double)nh * hd, rows = (double)B * T;
  float* y = a.f32(0, rows * C, "y");
  const float* q = a.f32(1, rows > 0 ? (rows - 1) * qStride + C : 0, "q");
  const float* kc = a.f32(3, B * S * C, "kc"); const float* vc = a.f32(4, B * S * C, "vc");
  const int32_t* pos = a.i32(5, B, "pos");
  for (long b = 0; a.err.empty() && b < B; b++)
    if (pos[b] < 0 || (double)pos[b] + T > (double)S) a.fail("pos[" + std::to_string(b) + "] + T exceeds the cache size S");
  if (a.ok()) attentionDecode(*gTab, gThreads, y, q, qStride, kc, vc, pos, B, T, nh, hd, S);
  return info.Env().Undefined();
}

// sampleRows(ids, probs, order, logits, u, temperature, topK, topP, banned|null, fullProbs, B, V): rows are
// independent, so large steps split them over the pool (each row's arithmetic is the same on any thread).
Napi::Value SampleRows(const Napi::CallbackInfo& info) {
  Args a(info);
  const long B = a.dim(10), V = a.dim(11);
  const bool fullProbs = a.flag(9);
  struct Job {
    int32_t* ids; double* probs; int32_t* order; const float* logits; const double *u, *temp; const int32_t* topK;
    const double* topP; const uint8_t* banned; bool full, simd; long B, V, chunk;
  } j{a.i32(0, B, "ids"), a.f64(1, (double)B * V, "probs"), a.i32(2, (double)B * V, "order"),
      a.f32(3, (double)B * V, "logits"), a.f64(4, B, "u"), a.f64(5, B, "temperature"), a.i32(6, B, "topK"),
      a.f64(7, B, "topP"), a.u8(8, V, "banned", true), fullProbs, std::strcmp(gTab->name, "portable") != 0, B, V, 0};
  if (!a.ok()) return info.Env().Undefined();
  // Below ~64k logits a second thread costs more to wake than it saves.
  const int nt = (int)std::min<long>(gThreads, std::max<long>(1, B * V / 65536));
  j.chunk = (B + nt - 1) / std::max(nt, 1);
  if (nt <= 1) {
    sampleRowsRange(j.ids, j.probs, j.order, j.logits, j.u, j.temp, j.topK, j.topP, j.banned, j.full, 0, B, V, j.simd);
  } else {
    poolRun(nt, [](void* p, int tid) {
      const Job& j = *(const Job*)p;
      const long b0 = tid * j.chunk, b1 = std::min(j.B, b0 + j.chunk);
      if (b0 < b1) sampleRowsRange(j.ids, j.probs, j.order, j.logits, j.u, j.temp, j.topK, j.topP, j.banned, j.full, b0, b1, j.V, j.simd);
    }, &j);
  }
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a(info);
  const long n = a.dim(0);
  if (a.ok()) gThreads = n < 1 ? 1 : n > 255 ? 255 : (int)n;
  return info.Env().Undefined();
}
Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), gThreads); }
Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), gTab->name); }
Napi::Value HasBf16Native(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), gTab->ukrBf16 != nullptr);
}
// setIsa("avx512"|"avx2"|"portable"): best path at or below that level; returns the name now in use.
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  const std::string want = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  gTab = pickTable(want.c_str());
  return Napi::String::New(info.Env(), gTab->name);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (!gTab) {
    const char* cap = std::getenv("CHARLM_ISA");
    gTab = pickTable(cap);
    gThreads = hardwareThreads();
  }
  const struct { const char* name; Napi::Value (*fn)(const Napi::CallbackInfo&); } fns[] = {
      {"matmul", Matmul}, {"matmulBf16", MatmulBf16}, {"packWeights", PackWeights}, {"repack", Repack},
      {"matmulPacked", MatmulPacked}, {"addRowVector", AddRowVector}, {"sumRows", SumRows},
      {"embeddingForward", EmbeddingForward}, {"embeddingBackward", EmbeddingBackward},
      {"lstmCellForward", LstmCellForward}, {"lstmCellBackward", LstmCellBackward},
      {"gruCellForward", GruCellForward}, {"gruCellBackward", GruCellBackward}, {"tanhForward", TanhForward},
      {"tanhBackward", TanhBackward}, {"softmaxXent", SoftmaxXent}, {"adam", Adam}, {"sumSquares", SumSquares},
      {"scale", Scale}, {"mul", Mul}, {"layerNormForward", LayerNormForward},
      {"layerNormBackward", LayerNormBackward}, {"geluForward", GeluForward}, {"geluBackward", GeluBackward},
      {"dropout", Dropout}, {"add", Add}, {"attentionForward", AttentionForward},
      {"attentionBackward", AttentionBackward}, {"attentionDecode", AttentionDecode}, {"sampleRows", SampleRows}, {"setThreads", SetThreads}, {"getThreads", GetThreads}, {"isa", Isa},
      {"setIsa", SetIsa}, {"hasBf16Native", HasBf16Native}};
  for (const auto& f : fns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
  return exports;
}
}  // namespace
}  // namespace charlm

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return charlm::Init(env, exports); }
NODE_API_MODULE(charlm_native, InitModule)
