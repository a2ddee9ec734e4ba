# Native kernel engine for charlm (optional; built by scripts/build-native.mjs). -O3 but no -march=native:
# the AVX2 and AVX-512 kernels are separate static libraries compiled with their own -m flags and chosen at load
# time with __builtin_cpu_supports; on other architectures those files compile to stubs and the portable path runs.
# C++17 comes from node-gyp's common.gypi (-std=gnu++17 for Node >= 20).
{
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
    "cflags_cc": ["-O3", "-fPIC", "-fno-math-errno", "-Wno-unused-function", "-Wno-psabi"],
    "cflags": ["-O3", "-fPIC"],
    "xcode_settings": {
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fno-math-errno"]
    },
    "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/std:c++17"]}}
  },
  "targets": [
    {
      "target_name": "charlm_native",
      "sources": [
        "native/binding.cc", "native/gemm.cc", "native/gemm_packed.cc", "native/threadpool.cc",
        "native/transformer.cc", "native/isa_portable.cc"
      ],
      "dependencies": ["charlm_isa_avx2", "charlm_isa_avx512", "charlm_sample"],
      "ldflags": ["-pthread"],
      "cflags_cc": ["-pthread"]
    },
    {
      "target_name": "charlm_sample",
      "type": "static_library",
      "sources": ["native/sample.cc"],
      "cflags_cc": ["-ffp-contract=off"],
      "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-O3", "-fno-math-errno", "-ffp-contract=off"]},
      "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/std:c++17", "/fp:precise"]}}
    },
    {
      "target_name": "charlm_isa_avx2",
      "type": "static_library",
      "sources": ["native/isa_avx2.cc"],
      "conditions": [["target_arch=='x64' and OS!='win'", {"cflags_cc": ["-mavx2", "-mfma"]}]]
    },
    {
      "target_name": "charlm_isa_avx512",
      "type": "static_library",
      "sources": ["native/isa_avx512.cc"],
      "conditions": [["target_arch=='x64' and OS!='win'", {
        "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma"]
      }]]
    }
  ]
}
