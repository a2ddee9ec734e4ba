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
#include "utf8_impl.h"

namespace charlm {
namespace {

const double kCpLimit = 0x110000;

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
  utf8::CountSink s;
  s.counts = (double*)pc;
  const int64_t r = utf8::decode((const uint8_t*)pb, nb, s);
  s.fold();
  ((double*)ps)[0] += (double)s.n;
  return Napi::Number::New(env, (double)r);
}

template <class T>
int64_t fillAs(const uint8_t* b, size_t n, const int32_t* map, void* out, size_t outLen, double* st) {
  utf8::FillSink<T> s;
  s.map = map;
  s.out = (T*)out;
  s.outLen = outLen;
  s.pos = (uint64_t)st[0];
  s.k = (uint64_t)st[1];
  s.h = (uint64_t)st[2];
  s.tailAt = (uint64_t)st[3];
  s.noDrops = st[4] != 0;
  s.begin();
  const int64_t r = utf8::decode(b, n, s);
  s.end();
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
  // Training reads windows at random places: a page fault should read that page, not the kernel's read-around
  // (often megabytes), or the first steps on an entry that is not in the page cache read hundreds of MB.
  madvise(base, size, MADV_RANDOM);
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
