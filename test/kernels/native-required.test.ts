// The native addon and every ISA path this CPU supports must be present where CHARLM_REQUIRE_NATIVE=1 (CI): an
// addon that failed to build, or a build that lost its AVX-512/AVX2 path, fails here instead of shrinking the suite.
// Elsewhere a missing addon is a printed skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addonIsaPaths, cpuIsaPaths, nativeMissing, required, skipWithout } from '../skips.js';

const skip = skipWithout('native', nativeMissing());

test('native addon loads and offers every ISA path this CPU supports', { skip }, () => {
  const cpu = cpuIsaPaths(), addon = addonIsaPaths();
  console.log(`  CPU supports: ${cpu ? cpu.join(', ') : 'unknown (no /proc/cpuinfo)'}; addon offers: ${addon.join(', ')}`);
  if (!cpu) return;
  const lost = cpu.filter((i) => !addon.includes(i));
  if (lost.length && !required('native')) { console.log(`# SKIP [native] ISA paths not built: ${lost.join(', ')}`); return; }
  assert.deepEqual(lost, [], `the addon lacks ISA paths this CPU runs: ${lost.join(', ')}`);
});
