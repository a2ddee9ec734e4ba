// UTF-8 decoding kernels of the two corpus-encoding passes (used by data.cc; no Node-API here, so a plain C++
// program can time them): decode() walks a chunk, CountSink counts code points, FillSink writes token ids.
// The TypeScript twins are in src/data/utf8kernels.ts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace charlm {
namespace utf8 {

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

// Length of the run of ASCII bytes at b[i, n): 8 bytes per step, the first high bit found with a bit scan.
inline size_t asciiRun(const uint8_t* b, size_t i, size_t n) {
  size_t j = i;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; j + 8 <= n; j += 8) {
    uint64_t w;
    std::memcpy(&w, b + j, 8);
    const uint64_t hi = w & 0x8080808080808080ull;
    if (hi) return j + (__builtin_ctzll(hi) >> 3) - i;
  }
#endif
  while (j < n && b[j] < 0x80) j++;
  return j - i;
}

// Decodes b[0,n), which starts at a sequence boundary: sink.ascii(p, len) for each run of ASCII bytes, sink.cp(cp)
// for every other code point. Returns the bytes consumed (less than n when the last sequence is cut by the end:
// the caller carries those bytes) or -1 - offset of the first ill-formed sequence. The common 2- and 3-byte forms
// (leads C2..DF, E1..EC, EE..EF: any continuation byte allowed) take a short path; the rest the full checks.
template <class Sink>
int64_t decode(const uint8_t* b, size_t n, Sink& s) {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = b[i];
    if (c < 0x80) {
      const size_t len = asciiRun(b, i, n);
      s.ascii(b + i, len);
      i += len;
      continue;
    }
    if (c >= 0xe1 && c != 0xed && c <= 0xef && i + 2 < n && cont(b[i + 1]) && cont(b[i + 2])) {
      s.cp(((c & 0x0fu) << 12) | ((b[i + 1] & 0x3fu) << 6) | (b[i + 2] & 0x3fu));
      i += 3;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf && i + 1 < n && cont(b[i + 1])) {
      s.cp(((c & 0x1fu) << 6) | (b[i + 1] & 0x3fu));
      i += 2;
      continue;
    }
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
// Fast path: while ids are kept and pos < lim (before the jump and the end of out) only pos moves; k = pos + delta.
template <class T>
struct FillSink {
  const int32_t* map;
  T* out;
  uint64_t outLen, pos, k, h, tailAt;
  bool noDrops, changed = false;
  uint64_t lim = 0;
  int64_t delta = 0;

  void begin() { delta = (int64_t)(k - pos); limit(); }
  void end() { k = pos + delta; }
  void limit() {
    uint64_t l = outLen;
    if (k <= h && pos + (h - k) < l) l = pos + (h - k);
    lim = l;
  }
  void slow(int32_t id) {
    k = pos + delta;
    if (id < 0) {
      if (!noDrops) return;
      changed = true;  // and stored like the ASCII run below stores it
    }
    if (k == h) pos = tailAt;
    if (pos < outLen) out[pos] = (T)id;
    pos++;
    k++;
    delta = (int64_t)(k - pos);
    limit();
  }
  inline void one(uint32_t cp) {
    const int32_t id = map[cp];
    if (id >= 0 && pos < lim) out[pos++] = (T)id;
    else slow(id);
  }
  inline void ascii(const uint8_t* p, size_t len) {
    if (noDrops && pos + len <= lim) {
      T* d = out + pos;
      int32_t neg = 0;
      for (size_t q = 0; q < len; q++) { const int32_t id = map[p[q]]; neg |= id; d[q] = (T)id; }
      if (neg < 0) changed = true;
      pos += len;
      return;
    }
    for (size_t q = 0; q < len; q++) one(p[q]);
  }
  inline void cp(uint32_t c) { one(c); }
};

}  // namespace utf8
}  // namespace charlm
