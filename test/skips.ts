// Every optional part of the suite (the native addon, PyTorch, ONNX Runtime, Chromium, the Shakespeare mirror)
// decides whether to skip here, so each skip is printed with its reason and tagged `[feature]`. Under CI
// (.ci/run sets CHARLM_STRICT_SKIPS=1 and CHARLM_REQUIRE_NATIVE=1) a missing feature that is not listed in
// CHARLM_ALLOW_SKIPS (comma-separated features) also registers a failing test, and scripts/check-skips.mjs fails
// the run on any skip whose tag is not allowed; so coverage cannot vanish quietly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadNative, setNativeIsa, type Isa } from '../src/kernels/native/index.js';
import { availableBackends } from '../src/kernels/registry.js';
import type { Backend } from '../src/kernels/backend.js';

export type Feature = 'native' | 'torch' | 'onnxruntime' | 'chromium' | 'shakespeare-mirror';

const on = (v: string | undefined) => v === '1' || v === 'true';
const allowed = new Set((process.env.CHARLM_ALLOW_SKIPS ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const reported = new Set<string>();

/** Whether a missing `feature` must fail this run (strict CI, or CHARLM_REQUIRE_NATIVE for the addon). */
export function required(feature: Feature): boolean {
  if (allowed.has(feature)) return false;
  return on(process.env.CHARLM_STRICT_SKIPS) || (feature === 'native' && on(process.env.CHARLM_REQUIRE_NATIVE));
}

/**
 * The skip reason for tests that need `feature` (`false` when it is available). `why` is why it is missing.
 * Prints the reason once per file and feature; when the feature is required, registers a failing test too.
 */
export function skipWithout(feature: Feature, why: string | false): string | false {
  if (!why) return false;
  const reason = `[${feature}] ${why}`;
  if (!reported.has(feature)) {
    reported.add(feature);
    console.log(`# SKIP ${reason}${required(feature) ? ' (REQUIRED here: failing)' : ''}`);
    if (required(feature)) {
      test(`required feature ${feature} is available`, () => {
        assert.fail(`${why}; this run requires ${feature} (unset CHARLM_STRICT_SKIPS/CHARLM_REQUIRE_NATIVE, or add ` +
          `${feature} to CHARLM_ALLOW_SKIPS)`);
      });
    }
  }
  return reason;
}

/** Why the native addon cannot be used here, or false. */
export function nativeMissing(): string | false {
  const r = loadNative();
  return 'error' in r ? `native addon unavailable: ${r.error}` : false;
}

/** A visible placeholder where a whole block of native tests is not registered (so its absence shows as a skip). */
export function skipNativeBlock(what: string): boolean {
  const why = skipWithout('native', nativeMissing());
  if (why) test(`native: ${what}`, { skip: why }, () => {});
  return !!why;
}

/** The native ISA paths this CPU can run, from /proc/cpuinfo (null where the flags cannot be read). */
export function cpuIsaPaths(): Isa[] | null {
  let flags: Set<string>;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => /^flags\s*:/.test(l));
    if (!line) return null;
    flags = new Set(line.split(':')[1].trim().split(/\s+/));
  } catch { return null; }
  const has = (...f: string[]) => f.every((x) => flags.has(x));
  const out: Isa[] = [];
  // The addon's own gates (native/isa_avx512.cc, isa_avx2.cc use __builtin_cpu_supports on the same features).
  if (has('avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'fma')) out.push('avx512');
  if (has('avx2', 'fma')) out.push('avx2');
  out.push('portable');
  return out;
}

/** The ISA paths the loaded addon can switch to (restores the default path). */
export function addonIsaPaths(): Isa[] {
  const r = loadNative();
  if ('error' in r) return [];
  const def = r.backend.isa as Isa;
  const out = (['avx512', 'avx2', 'portable'] as Isa[]).filter((i) => setNativeIsa(i) === i);
  setNativeIsa(def);
  return out;
}

/** availableBackends() for tests that run on each backend, with a visible skip where native is missing. */
export async function backendsUnderTest(what: string): Promise<{ label: string; backend: Backend }[]> {
  const out = await availableBackends();
  if (!out.some((b) => b.label === 'native')) skipNativeBlock(what);
  return out;
}
