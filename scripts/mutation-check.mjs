#!/usr/bin/env node
// Proves the suite bites: plants each bug of MUTATIONS (one at a time, in a scratch copy of the working tree, so the
// tree itself is never modified), runs the tests that should catch it, and prints a table: caught (by which failing
// tests) / NOT CAUGHT / NOT APPLICABLE (its snippet is gone: the code moved; update the entry). Not part of CI.
//   node scripts/mutation-check.mjs [--only id,id] [--list] [--md docs-table.md]
// Exit status: 0 all caught, 1 some not caught, 2 some not applicable or a baseline failure.
// A mutation: { id, bug, patches: [[file, find, replace], …], tests: [files], native?: rebuild the addon,
// refOnly?: hide the native addon (shows what catches the bug on a machine without it) }.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const K = 'test/kernels/', T = 'test/train/';
const ORACLE = K + 'oracle.test.ts', GOLDEN = 'test/model/golden.test.ts', WIRING = T + 'wiring.test.ts';
const SAMPLE = ['test/sample/distribution.test.ts', 'test/sample/sample.test.ts'];
const NATIVE = [ORACLE, GOLDEN];   // both run on the native backend too

export const MUTATIONS = [
  // The list: behaviours that no test could fail.
  { id: 'loop-no-clip', bug: 'training loop no longer clips (clip ignored)', tests: [WIRING],
    patches: [['src/train/loop.ts', 'clipGradNorm(backend, model.params.grad, cfg.clip)', 'clipGradNorm(backend, model.params.grad, 0)']] },
  { id: 'clip-factor', bug: 'clip scales by max/norm² instead of max/norm', tests: [WIRING, ORACLE],
    patches: [['src/train/optimizer.ts', 'maxNorm / (norm + 1e-6)', 'maxNorm / (norm * norm + 1e-6)']] },
  { id: 'val-leak', bug: 'random training windows drawn from the whole corpus, validation tail included', tests: [WIRING],
    patches: [['src/train/loop.ts', 'new RandomWindows(trainTok, B, T, rng)', 'new RandomWindows(tokens, B, T, rng)']] },
  { id: 'stateful-drop', bug: 'stateful batches skip the last window of every stream', tests: [WIRING, 'test/data/batches.test.ts'],
    patches: [['src/data/batches.ts', 'if (this.pos + T > this.streamLen)', 'if (this.pos + 2 * T > this.streamLen)']] },
  { id: 'top-p-renorm', bug: 'top-k/top-p skip renormalisation', tests: SAMPLE,
    patches: [['src/sample/pick.ts', 'for (let v = 0; v < V; v++) p[v] /= kept;', '']] },
  { id: 'temperature', bug: 'sampling ignores the temperature', tests: SAMPLE,
    patches: [['src/sample/pick.ts', 'p[v] = Math.exp((logits[off + v] - mx) / t)', 'p[v] = Math.exp(logits[off + v] - mx)']] },
  { id: 'adam-l2-sign', bug: 'Adam L2 weight decay sign flipped (ref, no native addon)', tests: [GOLDEN, ORACLE], refOnly: true,
    patches: [['src/kernels/ref/loss-optim.ts', 'gi += l2 * p[i]', 'gi -= l2 * p[i]']] },
  { id: 'adamw-sign', bug: 'AdamW decoupled decay grows weights (ref, no native addon)', tests: [GOLDEN, ORACLE], refOnly: true,
    patches: [['src/kernels/ref/loss-optim.ts', 'adamw ? 1 - lr * weightDecay : 1', 'adamw ? 1 + lr * weightDecay : 1']] },
  { id: 'loop-no-wd', bug: 'training loop passes weight decay 0 to the optimizer', tests: [WIRING],
    patches: [['src/train/loop.ts', 'lr, cfg.weightDecay, cfg.optimizer', "lr, 0, cfg.optimizer"]] },
  { id: 'native-missing', bug: 'native addon missing (CI must fail; run with CHARLM_REQUIRE_NATIVE=1)', tests: [K + 'native-required.test.ts'],
    refOnly: true, env: { CHARLM_REQUIRE_NATIVE: '1' }, patches: [] },
  // Review-found kernel bugs (already caught before this change; kept so they stay caught).
  { id: 'lstm-forget-grad', bug: 'LSTM forget-gate gradient sign flipped (ref)', tests: [ORACLE, GOLDEN, 'test/nn/gradcheck.test.ts'], refOnly: true,
    patches: [['src/kernels/ref/cells.ts', 'dGates[g0 + H + j] = dcv * cPrev[s0 + j]', 'dGates[g0 + H + j] = -dcv * cPrev[s0 + j]']] },
  { id: 'adam-bias-sqrt', bug: "Adam's second-moment bias correction without the square root (ref)", tests: [ORACLE, GOLDEN], refOnly: true,
    patches: [['src/kernels/ref/loss-optim.ts', 'const bc2s = Math.sqrt(1 - Math.pow(beta2, step));', 'const bc2s = 1 - Math.pow(beta2, step);']] },
  { id: 'bptt-cut', bug: 'LSTM back-propagation through time stops at t = 1', tests: [GOLDEN, 'test/nn/gradcheck.test.ts'], refOnly: true,
    patches: [['src/nn/recurrent.ts', "be.lstmCellBackward(dG, this.dcPrev, dh, this.dc, ws.slot(ws.pre, t, G), ws.slot(ws.cs, t, H), ws.scratch, B, H);\n      if (t > 0)",
      "be.lstmCellBackward(dG, this.dcPrev, dh, this.dc, ws.slot(ws.pre, t, G), ws.slot(ws.cs, t, H), ws.scratch, B, H);\n      if (t > 1)"]] },
  { id: 'native-lstm-bwd', bug: 'native LSTM backward: forget-gate gradient sign flipped', tests: NATIVE, native: true,
    patches: [['native/pointwise_impl.h', 'vstoren(dg + H + j, dcv * vloadn(cPrev + s + j, n) * fg * (one - fg), n);',
      'vstoren(dg + H + j, -(dcv * vloadn(cPrev + s + j, n) * fg * (one - fg)), n);']] },
  // One per kernel family (ref unless marked native).
  { id: 'matmul-nt', bug: 'ref matmul NT: column j+1 gets column j\'s sum', tests: [K + 'backends.test.ts', GOLDEN], refOnly: true,
    patches: [['src/kernels/ref/matmul.ts', 'C[ci + 1] += s1;', 'C[ci + 1] += s0;']] },
  // packF32 serves the portable path (AVX2/AVX-512 pack with their own code): the per-ISA kernel suite catches it.
  { id: 'native-gemm', bug: 'native GEMM (portable path) packing drops the last k of every panel', tests: [K + 'backends.test.ts'], native: true,
    patches: [['native/gemm.cc', 'else for (long k = 0; k < kc; k++) d[k * R + r] = s[k];', 'else for (long k = 0; k + 1 < kc; k++) d[k * R + r] = s[k];']] },
  { id: 'row-vector', bug: 'sumRows overwrites instead of accumulating (ref)', tests: [ORACLE, GOLDEN], refOnly: true,
    patches: [['src/kernels/ref/pointwise.ts', 'for (let j = 0; j < N; j++) db[j] += dY[o + j];', 'for (let j = 0; j < N; j++) db[j] = dY[o + j];']] },
  { id: 'embedding-scatter', bug: 'embedding backward overwrites repeated ids (ref)', tests: [ORACLE, GOLDEN], refOnly: true,
    patches: [['src/kernels/ref/pointwise.ts', 'dTable[d + e] += dOut[s + e]', 'dTable[d + e] = dOut[s + e]']] },
  { id: 'lstm-fwd', bug: 'LSTM forward: h = o·c instead of o·tanh(c) (ref)', tests: [ORACLE, GOLDEN], refOnly: true,
    patches: [['src/kernels/ref/cells.ts', 'h[s0 + j] = og * tc;', 'h[s0 + j] = og * cv;']] },
  { id: 'gru-fwd', bug: 'GRU forward: z and 1−z swapped (ref)', tests: [ORACLE, GOLDEN], refOnly: true,
    patches: [['src/kernels/ref/cells.ts', 'h[s0 + j] = (1 - z) * n + z * hPrev[s0 + j];', 'h[s0 + j] = z * n + (1 - z) * hPrev[s0 + j];']] },
  { id: 'gru-bwd', bug: 'GRU backward: dGh_n misses the reset gate (ref)', tests: [ORACLE, GOLDEN], refOnly: true,
    patches: [['src/kernels/ref/cells.ts', 'dGh[g0 + 2 * H + j] = dn * r;', 'dGh[g0 + 2 * H + j] = dn;']] },
  { id: 'native-gru-fwd', bug: 'native GRU forward: z and 1−z swapped', tests: NATIVE, native: true,
    patches: [['native/pointwise_impl.h', 'vstoren(h + s + j, (one - z) * nn + z * hp, n);', 'vstoren(h + s + j, z * nn + (one - z) * hp, n);']] },
  { id: 'tanh-bwd', bug: "tanh backward uses 1 − h instead of 1 − h² (ref)", tests: [ORACLE, GOLDEN], refOnly: true,
    patches: [['src/kernels/ref/pointwise.ts', 'dPre[i] = dh[i] * (1 - h[i] * h[i]);', 'dPre[i] = dh[i] * (1 - h[i]);']] },
  { id: 'xent-scale', bug: 'softmax-cross-entropy gradient not scaled by 1/N (ref)', tests: [ORACLE, GOLDEN], refOnly: true,
    patches: [['src/kernels/ref/loss-optim.ts', 'dLogits[o + v] = Math.exp(logits[o + v] - logZ) * scale;', 'dLogits[o + v] = Math.exp(logits[o + v] - logZ);']] },
  { id: 'sum-squares', bug: 'sumSquares skips the first element (ref)', tests: [ORACLE, WIRING], refOnly: true,
    patches: [['src/kernels/ref/pointwise.ts', 'for (let i = 0; i < n; i++) s += x[i] * x[i];', 'for (let i = 1; i < n; i++) s += x[i] * x[i];']] },
  { id: 'scale', bug: 'scale leaves the last element unscaled (ref)', tests: [ORACLE, WIRING], refOnly: true,
    patches: [['src/kernels/ref/pointwise.ts', 'for (let i = 0; i < n; i++) x[i] *= s;', 'for (let i = 0; i + 1 < n; i++) x[i] *= s;']] },
  { id: 'mul', bug: 'dropout-mask multiply ignores the mask (ref)', tests: [ORACLE, 'test/nn/gradcheck.test.ts'], refOnly: true,
    patches: [['src/kernels/ref/pointwise.ts', 'for (let i = 0; i < n; i++) out[i] = a[i] * b[i];', 'for (let i = 0; i < n; i++) out[i] = a[i];']] },
  { id: 'gelu-bwd', bug: "Transformer GELU backward drops x from the density term (ref)", tests: ['test/model/gpt.test.ts'],
    patches: [['src/kernels/ref/transformer.ts', 'v * INV_SQRT_2PI * Math.exp(-0.5 * v * v)', 'INV_SQRT_2PI * Math.exp(-0.5 * v * v)']] },
  { id: 'attn-scale', bug: 'Transformer attention backward forgets the 1/√hd scale (ref)', tests: ['test/model/gpt.test.ts'],
    patches: [['src/kernels/ref/transformer.ts', 'hd: number, p: number, seed: number): void {\n  const C = nh * hd, C3 = 3 * C, scale = 1 / Math.sqrt(hd);',
      'hd: number, p: number, seed: number): void {\n  const C = nh * hd, C3 = 3 * C, scale = 1;']] },
  { id: 'native-adam', bug: 'native Adam: bias correction without the square root', tests: NATIVE, native: true,
    patches: [['native/pointwise_impl.h', 'bc2s = __builtin_sqrt(1 - __builtin_pow(beta2, step));', 'bc2s = (1 - __builtin_pow(beta2, step));']] },
  { id: 'native-bf16-trunc', bug: 'native bf16 rounding truncates instead of rounding to nearest even', tests: [K + 'bf16-rounding.test.ts', T + 'backends-train.test.ts'], native: true,
    patches: [['native/common.h', 'return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;', 'return u >> 16;'],
      ['native/simd.h', 'const vu r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;', 'const vu r = u & 0xffff0000u;']] },
  { id: 'ref-bf16-trunc', bug: 'ref bf16 twin truncates instead of rounding to nearest even', tests: [K + 'bf16-rounding.test.ts'],
    patches: [['src/kernels/ref/bf16.ts', 'u32[0] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 0) & 0xffff0000;', 'u32[0] = u & 0xffff0000;']] },
];
// ---- runner ----
const args = process.argv.slice(2);
const opt = (k) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
const only = opt('--only')?.split(',');
const list = MUTATIONS.filter((m) => !only || only.includes(m.id));
if (args.includes('--list')) { for (const m of list) console.log(`${m.id.padEnd(20)} ${m.bug}`); process.exit(0); }

const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
const work = mkdtempSync(join(tmpdir(), 'charlm-mutation-'));
for (const f of files) { if (existsSync(join(ROOT, f))) { mkdirSync(dirname(join(work, f)), { recursive: true }); cpSync(join(ROOT, f), join(work, f)); } }
symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
const haveBuild = existsSync(join(ROOT, 'build', 'Release', 'charlm_native.node'));
if (haveBuild) cpSync(join(ROOT, 'build'), join(work, 'build'), { recursive: true });
const addon = join(work, 'build', 'Release', 'charlm_native.node');
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
console.log(`mutation-check: ${list.length} mutations in ${work}${haveBuild ? '' : ' (no native addon here: native mutations are not applicable)'}`);

const env0 = { ...process.env };
for (const k of ['CHARLM_STRICT_SKIPS', 'CHARLM_REQUIRE_NATIVE', 'CHARLM_ALLOW_SKIPS', 'CHARLM_ISA']) delete env0[k];
function runTests(tests, env = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...tests],
    { cwd: work, env: { ...env0, ...env }, encoding: 'utf8', maxBuffer: 1 << 28 });
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  const failed = [...new Set([...out.matchAll(/^\s*✖ (.+?) \([\d.]+m?s\)$/gmu)].map((m) => m[1]).filter((n) => !/\.test\.ts$/.test(n)))];
  return { ok: r.status === 0, failed };
}
function rebuild() {
  const r = spawnSync('make', ['-C', 'build', 'BUILDTYPE=Release', '-j2'], { cwd: work, encoding: 'utf8' });
  return r.status === 0 ? '' : (r.stdout + r.stderr).split('\n').slice(-5).join(' | ');
}

// Baseline: every test file used must pass unmutated (else a "caught" would mean nothing).
const allTests = [...new Set(list.flatMap((m) => m.tests))];
const base = runTests(allTests);
if (!base.ok) { console.log(`baseline FAILS before any mutation: ${base.failed.join('; ')}`); process.exit(2); }
console.log(`baseline: ${allTests.length} test files pass`);

const rows = [];
for (const m of list) {
  const t0 = Date.now();
  const saved = new Map();
  let result, detail = '';
  const missing = m.patches.filter(([f, find]) => !existsSync(join(work, f)) || !readFileSync(join(work, f), 'utf8').includes(find));
  if (missing.length || (m.native && !haveBuild)) {
    result = 'NOT APPLICABLE';
    detail = missing.length ? `snippet not found in ${missing.map(([f]) => f).join(', ')}` : 'no native build here';
  } else {
    for (const [f, find, repl] of m.patches) {
      const p = join(work, f);
      if (!saved.has(p)) saved.set(p, readFileSync(p, 'utf8'));
      writeFileSync(p, readFileSync(p, 'utf8').replace(find, repl));
    }
    const buildErr = m.native ? rebuild() : '';
    if (m.refOnly && existsSync(addon)) renameSync(addon, addon + '.hidden');
    if (buildErr) { result = 'NOT APPLICABLE'; detail = `native build failed: ${buildErr}`; }
    else {
      const r = runTests(m.tests, m.env);
      result = r.ok ? 'NOT CAUGHT' : 'caught';
      detail = r.ok ? `${m.tests.join(', ')} all pass` : r.failed.slice(0, 3).join('; ') + (r.failed.length > 3 ? `; +${r.failed.length - 3} more` : '');
    }
    if (existsSync(addon + '.hidden')) renameSync(addon + '.hidden', addon);
    for (const [p, s] of saved) writeFileSync(p, s);
    if (m.native && saved.size) { const e = rebuild(); if (e) { console.log(`cannot restore the native build: ${e}`); process.exit(2); } }
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  rows.push({ ...m, result, detail, secs });
  console.log(`${result.padEnd(15)} ${m.id.padEnd(20)} ${secs.padStart(4)} s  ${detail}`);
}

const md = ['| id | planted bug | tests run | result | caught by (first failing tests) |', '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.id} | ${r.bug} | ${r.tests.map((t) => t.replace(/^test\//, '')).join(', ')}${r.refOnly ? ' (addon hidden)' : ''} | ${r.result} | ${r.result === 'caught' ? r.detail : r.detail} |`)];
console.log('\n' + md.join('\n'));
if (opt('--md')) writeFileSync(opt('--md'), md.join('\n') + '\n');
const bad = rows.filter((r) => r.result === 'NOT CAUGHT').length, na = rows.filter((r) => r.result === 'NOT APPLICABLE').length;
console.log(`\nmutation-check: ${rows.length - bad - na} caught, ${bad} not caught, ${na} not applicable`);
process.exit(na ? 2 : bad ? 1 : 0);
