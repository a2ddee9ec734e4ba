// Corpus kernels (native/data.cc): UTF-8 → code-point counts and token ids, and mmap views of token-cache files.
#pragma once
#include <napi.h>

namespace charlm {
// Adds utf8Count, utf8Fill and mapFile to the addon's exports.
void initData(Napi::Env env, Napi::Object exports);
}  // namespace charlm
