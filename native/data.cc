// Corpus kernels of the native engine (src/data/utf8kernels.ts holds their TypeScript twins, the fallback without
// the addon): the two streaming-encoding passes straight from UTF-8 bytes (count code points; write token ids),
// and a read-only view of a token-cache file through mmap, so a warm start does not copy gigabytes.
// Hand-written because no npm library decodes UTF-8 into a histogram or an id array without a string in between.
#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#ifndef _WIN32
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "data.h"

namespace charlm {
namespace {

const double kCpLimit = 0x110000;

// Continuation bytes after lead byte c, or -1 when c cannot start a sequence (Unicode Table 3-7).
inline int trailing(uint8_t c) {
  if (c < 0x80) return 0;
  if (c >= 0xc2 && c <= 0xdf) return 1;
  if (c >= 0xe0 && c <= 0xef) return 2;
  if (c >= 0xf0 && c <= 0xf4) return 3;
  return -1;
}
// Allowed first continuation byte after lead c: no overlongs, surrogates or code points above U+10FFFF.
inline bool firstOk(uint8_t c, uint8_t b) {
  if (c == 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (c == 0xed) return b >= 0x80 && b <= 0x9f;
  if (c == 0xf0) return b >= 0x90 && b <= 0xbf;
  if (c == 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}
inline bool cont(uint8_t b) { return (b & 0xc0) == 0x80; }

// Decodes b[0,n), which starts at a sequence boundary: sink.ascii(p, len) for each run of ASCII bytes (found 8
// bytes at a time), sink.cp(cp) for every other code point. Returns the bytes consumed (less than n when the last
// sequence is cut by the end: the caller carries those bytes) or -1 - offset of the first ill-formed sequence.
template <class Sink>
int64_t decode(const uint8_t* b, size_t n, Sink& s) {
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    for (; j + 8 <= n; j += 8) {
      uint64_t w;
      std::memcpy(&w, b + j, 8);
      if (w & 0x8080808080808080ull) break;
    }
    while (j < n && b[j] < 0x80) j++;
    if (j > i) {
      s.ascii(b + i, j - i);
      i = j;
      if (i == n) break;
    }
    const uint8_t c = b[i];
    const int t = trailing(c);
    if (t < 0) return -1 - (int64_t)i;
    if (i + t >= n) return (int64_t)i;  // cut by the end
    if (!firstOk(c, b[i + 1])) return -1 - (int64_t)i;
    uint32_t cp;
    if (t == 1) {
      cp = ((c & 0x1fu) << 6) | (b[i + 1] & 0x3fu);
    } else if (t == 2) {
      if (!cont(b[i + 2])) return -1 - (int64_t)i;
      cp = ((c & 0x0fu) << 12) | ((b[i + 1] & 0x3fu) << 6) | (b[i + 2] & 0x3fu);
    } else {
      if (!cont(b[i + 2]) || !cont(b[i + 3])) return -1 - (int64_t)i;
      cp = ((c & 0x07u) << 18) | ((b[i + 1] & 0x3fu) << 12) | ((b[i + 2] & 0x3fu) << 6) | (b[i + 3] & 0x3fu);
    }
    s.cp(cp);
    i += t + 1;
  }
  return (int64_t)n;
}

// Pass 1: counts[cp] += occurrences. ASCII goes through four interleaved integer tables (no store-to-load stall
// on runs of one letter), folded into the float64 counts at the end.
struct CountSink {
  double* counts;
  uint64_t n = 0;
  uint64_t t[4][128] = {};
  inline void ascii(const uint8_t* p, size_t len) {
    n += len;
    size_t k = 0;
    for (; k + 4 <= len; k += 4) { t[0][p[k]]++; t[1][p[k + 1]]++; t[2][p[k + 2]]++; t[3][p[k + 3]]++; }
    for (; k < len; k++) t[0][p[k]]++;
  }
  inline void cp(uint32_t c) { counts[c] += 1; n++; }
  void fold() {
    for (int b = 0; b < 128; b++) counts[b] += (double)(t[0][b] + t[1][b] + t[2][b] + t[3][b]);
  }
};

// Pass 2: the k-th kept character of the source goes to out[pos++]; when k reaches h (the end of the source's
// training part) pos jumps to tailAt. map[cp] < 0 drops the character; with noDrops set no character may map
// below 0 (the source changed since pass 1): such a character sets `changed` and is stored anyway (as (T)-1).
// Writes past outLen are not made (a source that grew is caught by the caller's count check).
template <class T>
struct FillSink {
  const int32_t* map;
  T* out;
  uint64_t outLen, pos, k, h, tailAt;
  bool noDrops, changed = false;
  inline void one(uint32_t cp) {
    const int32_t id = map[cp];
    if (id < 0) {
      if (!noDrops) return;
      changed = true;  // and stored like the ASCII run below stores it
    }
    if (k == h) pos = tailAt;
    if (pos < outLen) out[pos] = (T)id;
    pos++;
    k++;
  }
  inline void ascii(const uint8_t* p, size_t len) {
    if (noDrops && !(k <= h && h < k + len) && pos + len <= outLen) {
      T* d = out + pos;
      int32_t neg = 0;
      for (size_t q = 0; q < len; q++) { const int32_t id = map[p[q]]; neg |= id; d[q] = (T)id; }
      if (neg < 0) changed = true;
      pos += len;
      k += len;
      return;
    }
    for (size_t q = 0; q < len; q++) one(p[q]);
  }
  inline void cp(uint32_t c) { one(c); }
};

bool typedArray(napi_env env, napi_value v, napi_typedarray_type* type, size_t* len, void** data) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return false;
  napi_get_typedarray_info(env, v, type, len, data, nullptr, nullptr);
  return true;
}

Napi::Value fail(const Napi::CallbackInfo& info, const std::string& m) {
  Napi::RangeError::New(info.Env(), "charlm native: " + m).ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

// utf8Count(bytes: Uint8Array, counts: Float64Array(0x110000), st: Float64Array) → consumed or -1-offset;
// st[0] += code points decoded.
Napi::Value Utf8Count(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  napi_typedarray_type tb, tc, ts;
  size_t nb, nc, ns;
  void *pb, *pc, *ps;
  if (info.Length() < 3 || !typedArray(env, info[0], &tb, &nb, &pb) || tb != napi_uint8_array ||
      !typedArray(env, info[1], &tc, &nc, &pc) || tc != napi_float64_array || (double)nc < kCpLimit ||
      !typedArray(env, info[2], &ts, &ns, &ps) || ts != napi_float64_array || ns < 1) {
    return fail(info, "utf8Count(bytes: Uint8Array, counts: Float64Array(0x110000), state: Float64Array(1))");
  }
  CountSink s;
  s.counts = (double*)pc;
  const int64_t r = decode((const uint8_t*)pb, nb, s);
  s.fold();
  ((double*)ps)[0] += (double)s.n;
  return Napi::Number::New(env, (double)r);
}

template <class T>
int64_t fillAs(const uint8_t* b, size_t n, const int32_t* map, void* out, size_t outLen, double* st) {
  FillSink<T> s;
  s.map = map;
  s.out = (T*)out;
  s.outLen = outLen;
  s.pos = (uint64_t)st[0];
  s.k = (uint64_t)st[1];
  s.h = (uint64_t)st[2];
  s.tailAt = (uint64_t)st[3];
  s.noDrops = st[4] != 0;
  const int64_t r = decode(b, n, s);
  st[0] = (double)s.pos;
  st[1] = (double)s.k;
  if (s.changed) st[5] = 1;
  return r;
}

// utf8Fill(bytes: Uint8Array, map: Int32Array(0x110000), out: Uint8Array|Uint16Array|Uint32Array,
//          st: Float64Array(6) = [pos, k, h, tailAt, noDrops, changed]) → consumed or -1-offset; updates st.
Napi::Value Utf8Fill(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  napi_typedarray_type tb, tm, to, ts;
  size_t nb, nm, no, ns;
  void *pb, *pm, *po, *ps;
  if (info.Length() < 4 || !typedArray(env, info[0], &tb, &nb, &pb) || tb != napi_uint8_array ||
      !typedArray(env, info[1], &tm, &nm, &pm) || tm != napi_int32_array || (double)nm < kCpLimit ||
      !typedArray(env, info[2], &to, &no, &po) ||
      (to != napi_uint8_array && to != napi_uint16_array && to != napi_uint32_array) ||
      !typedArray(env, info[3], &ts, &ns, &ps) || ts != napi_float64_array || ns < 6) {
    return fail(info, "utf8Fill(bytes: Uint8Array, map: Int32Array(0x110000), out: Uint8Array|Uint16Array|Uint32Array, "
                      "state: Float64Array(6))");
  }
  const uint8_t* b = (const uint8_t*)pb;
  const int32_t* map = (const int32_t*)pm;
  double* st = (double*)ps;
  int64_t r;
  if (to == napi_uint8_array) r = fillAs<uint8_t>(b, nb, map, po, no, st);
  else if (to == napi_uint16_array) r = fillAs<uint16_t>(b, nb, map, po, no, st);
  else r = fillAs<uint32_t>(b, nb, map, po, no, st);
  return Napi::Number::New(env, (double)r);
}

#ifndef _WIN32
struct Mapping { void* base; size_t size; };

void unmap(napi_env, void*, void* hint) {
  Mapping* m = (Mapping*)hint;
  munmap(m->base, m->size);
  delete m;
}

// mapFile(path: string, offset: number, length: number) → ArrayBuffer over bytes [offset, offset+length) of the
// file (a private copy-on-write mapping: writes never reach the file; unmapped when collected), or a string
// saying why not. The file must be exactly offset + length bytes long.
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) {
    return fail(info, "mapFile(path: string, offset: number, length: number)");
  }
  const std::string file = info[0].As<Napi::String>().Utf8Value();
  const double off = info[1].As<Napi::Number>().DoubleValue(), len = info[2].As<Napi::Number>().DoubleValue();
  if (!(off >= 0 && len >= 1 && off + len < 9.0e15)) return Napi::String::New(env, "bad offset or length");
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Napi::String::New(env, std::string("open: ") + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || (double)st.st_size != off + len) {
    close(fd);
    return Napi::String::New(env, "size differs");
  }
  const size_t size = (size_t)st.st_size;
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int err = errno;
  close(fd);
  if (base == MAP_FAILED) return Napi::String::New(env, std::string("mmap: ") + std::strerror(err));
  Mapping* m = new Mapping{base, size};
  napi_value ab;
  if (napi_create_external_arraybuffer(env, (uint8_t*)base + (size_t)off, (size_t)len, unmap, m, &ab) != napi_ok) {
    munmap(base, size);
    delete m;
    napi_value pending;
    bool has = false;
    napi_is_exception_pending(env, &has);
    if (has) napi_get_and_clear_last_exception(env, &pending);
    return Napi::String::New(env, "external ArrayBuffers are not allowed here");
  }
  return Napi::Value(env, ab);
}
#else
Napi::Value MapFile(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), "no mmap on Windows"); }
#endif

}  // namespace

void initData(Napi::Env env, Napi::Object exports) {
  exports.Set("utf8Count", Napi::Function::New(env, Utf8Count, "utf8Count"));
  exports.Set("utf8Fill", Napi::Function::New(env, Utf8Fill, "utf8Fill"));
  exports.Set("mapFile", Napi::Function::New(env, MapFile, "mapFile"));
}

}  // namespace charlm
