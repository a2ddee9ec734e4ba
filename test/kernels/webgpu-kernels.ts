// Child process of webgpu.test.ts (it needs SwiftShader's Vulkan env from process start): every WGSL kernel that the
// webgpu backend has, on small shapes, against refBackend on identical inputs, through GpuRunner on this thread.
// Each buffer lives at a nonzero element offset inside its GPUBuffer, so the offset uniforms are exercised.
// Tolerances are suite.ts's: elementwise 1e-5·(1+|ref|), reductions 1e-5·Σ|terms|.
import { openNodeDevice } from '../../src/kernels/webgpu/node-gpu.js';
import { GpuRunner, type GpuArg, type KernelDef } from '../../src/kernels/webgpu/runner.js';
import { attentionKey, dispatchMatmul, gpuOps, MATMUL_KERNELS, type MatmulKernel } from '../../src/kernels/webgpu/ops.js';
import { refBackend as ref } from '../../src/kernels/ref/index.js';
import { MatmulTuner, shapeKey, type GpuTuneStore, type TunedEntry } from '../../src/kernels/webgpu/tuner.js';
import { copyView, exactEntries, expectClose, randView, rng } from './check.js';

const opened = await openNodeDevice({ unchecked: process.env.CHARLM_WEBGPU_ROBUSTNESS === 'off' });   // (as worker.ts reads it)
const { device, adapterName } = opened;
console.log(`# adapter: ${adapterName}`);
let gpuError = '';
device.addEventListener('uncapturederror', (e) => { gpuError ||= (e as GPUUncapturedErrorEvent).error.message; });
const r = new GpuRunner(device, opened.gpu, opened.adapter);
const ops = gpuOps(r);
const OFF = 3;   // elements before each view inside its GPUBuffer

const up3 = (x: Float32Array | Int32Array): GpuArg => up(x);
function up(x: Float32Array | Int32Array): GpuArg {
  const buf = r.createBuffer((x.length + OFF) * 4);
  r.upload(buf, OFF * 4, x);
  return { buf, off: OFF };
}
/** A view at an offset of 4 floats: aligned for the vec4 kernels (m128v, attention's vec4 form). */
function up4(x: Float32Array | Int32Array): GpuArg {
  const buf = r.createBuffer((x.length + 4) * 4);
  r.upload(buf, 16, x);
  return { buf, off: 4 };
}
async function down(a: GpuArg, n: number): Promise<Float32Array> {
  return new Float32Array(await r.download(a.buf, a.off * 4, n * 4));
}
const TOL = 1e-5;
/** The embedding scatter-add's per-entry tolerance scale: |result| plus the |terms| added into that entry. */
function scatterScale(dT: Float32Array, dOut: Float32Array, ids: Int32Array, N: number, E: number): Float64Array {
  const scale = Float64Array.from(dT, Math.abs);
  for (let n = 0; n < N; n++) for (let e = 0; e < E; e++) scale[ids[n] * E + e] += Math.abs(dOut[n * E + e]);
  return scale;
}

let rr = rng(11);
for (const [M, N, K] of [[1, 1, 1], [3, 17, 65], [17, 3, 29], [65, 33, 17], [2, 65, 17]]) {
  for (const tA of [false, true]) for (const tB of [false, true]) for (const acc of [false, true]) {
    const A = randView(M * K, rr), B = randView(K * N, rr), C0 = randView(M * N, rr), Cr = copyView(C0);
    const c = up(C0);
    ops.matmul(c, up(A), up(B), M, N, K, tA, tB, acc);
    ref.matmul(Cr, A, B, M, N, K, tA, tB, acc);
    const all = Array.from({ length: M * N }, (_, i) => i);
    const { scale } = exactEntries(A, B, acc ? C0 : null, M, N, K, tA, tB, all);
    expectClose(`webgpu matmul ${M}x${N}x${K} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}${acc ? ' acc' : ''}`,
      await down(c, M * N), Cr, TOL, scale);
  }
}
// Every SGEMM kernel directly, whichever ops.matmul would choose (the choice differs between a CPU adapter and a
// GPU): shapes around and across each tile's and K step's edges, and split K (64 tiles: K in slices summed by a
// second pass) on few-tile, long-K products.
/** Every layout and accumulate form of one SGEMM kernel on (M, N, K) in S K slices, views made by `mk`, against ref. */
async function checkKernel(kernel: MatmulKernel, M: number, N: number, K: number, S: number, mk: (x: Float32Array) => GpuArg): Promise<void> {
  for (const tA of [false, true]) for (const tB of [false, true]) for (const acc of [false, true]) {
    const A = randView(M * K, rr), B = randView(K * N, rr), C0 = randView(M * N, rr), Cr = copyView(C0);
    const c = mk(C0);
    dispatchMatmul(r, kernel, c, mk(A), mk(B), M, N, K, tA, tB, acc, S);
    ref.matmul(Cr, A, B, M, N, K, tA, tB, acc);
    const { scale } = exactEntries(A, B, acc ? C0 : null, M, N, K, tA, tB, Array.from({ length: M * N }, (_, i) => i));
    expectClose(`webgpu ${kernel}${S > 1 ? ` split K ${S}` : ''} ${M}x${N}x${K} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}${acc ? ' acc' : ''}`,
      await down(c, M * N), Cr, TOL, scale);
  }
}
rr = rng(12);
const MM_SHAPES: [number, number, number, number][] = [[1, 1, 1, 1], [3, 17, 9, 1], [65, 33, 17, 1], [130, 129, 17, 1],
  [129, 260, 8, 1], [17, 131, 33, 1], [1, 1, 513, 2], [3, 17, 600, 3], [65, 70, 1000, 8], [64, 130, 2048, 5], [64, 70, 2048, 16]];
for (const kernel of Object.keys(MATMUL_KERNELS) as MatmulKernel[]) {
  if (MATMUL_KERNELS[kernel].vec4) continue;   // below, on views aligned for it
  for (const [M, N, K, S] of MM_SHAPES) if (S === 1 || MATMUL_KERNELS[kernel].split) await checkKernel(kernel, M, N, K, S, up);
}

// The vec4 SGEMMs (m128v, m64vv) on views at an offset of 4 floats, with every contiguous dimension a multiple of 4:
// shapes around and across the tiles' and the K steps' edges (K 4 and 12 leave part of a step), and split K for the
// 64 tile. dispatchMatmul refuses views that are not aligned (ops.matmul gives way to the scalar twin first).
rr = rng(16);
const VEC4_SHAPES = [[4, 4, 4, 1], [128, 128, 8, 1], [132, 260, 12, 1], [260, 132, 36, 1], [4, 132, 20, 1], [256, 4, 64, 1],
  [64, 72, 1000, 8], [20, 68, 600, 3], [64, 132, 2048, 5]];
for (const kernel of ['m128v', 'm64vv'] as const) {
  for (const [M, N, K, S] of VEC4_SHAPES) if (S === 1 || MATMUL_KERNELS[kernel].split) await checkKernel(kernel, M, N, K, S, up4);
}
{
  let refused = false;
  try { dispatchMatmul(r, 'm64vv', up(new Float32Array(16)), up4(new Float32Array(16)), up4(new Float32Array(16)), 4, 4, 4, false, false, false); } catch { refused = true; }
  if (!refused) throw new Error('m64vv ran on a view at an offset of 3 floats');
}

rr = rng(2);
for (const [M, N] of [[1, 1], [3, 17], [17, 65], [65, 7], [1000, 65], [5000, 3]]) {   // over 64 rows: two passes
  const Y = randView(M * N, rr), b = randView(N, rr), Yr = copyView(Y), y = up(Y);
  ops.addRowVector(y, up(b), M, N); ref.addRowVector(Yr, b, M, N);
  expectClose(`webgpu addRowVector ${M}x${N}`, await down(y, M * N), Yr, TOL);
  const dY = randView(M * N, rr), db = randView(N, rr), dbr = copyView(db), g = up(db);
  ops.sumRows(g, up(dY), M, N); ref.sumRows(dbr, dY, M, N);
  const scale = Array.from(dbr, (_, j) => { let s = Math.abs(dbr[j]); for (let i = 0; i < M; i++) s += Math.abs(dY[i * N + j]); return s; });
  expectClose(`webgpu sumRows ${M}x${N}`, await down(g, N), dbr, TOL, scale);
}

rr = rng(3);
for (const [V, N, E] of [[1, 1, 1], [3, 17, 3], [65, 129, 17]]) {
  const table = randView(V * E, rr), ids = Int32Array.from({ length: N }, () => Math.floor(rr() * V));
  const out = up(new Float32Array(N * E)), outr = new Float32Array(N * E);
  ops.embeddingForward(out, up(table), up(ids), N, E); ref.embeddingForward(outr, table, ids, N, E);
  expectClose(`webgpu embeddingForward ${N}x${E}`, await down(out, N * E), outr, 0);
  const dOut = randView(N * E, rr), dT = randView(V * E, rr), dTr = copyView(dT), g = up(dT);
  ops.embeddingBackward(g, up(dOut), up(ids), N, E); ref.embeddingBackward(dTr, dOut, ids, N, E);
  const scale = scatterScale(dTr, dOut, ids, N, E);
  expectClose(`webgpu embeddingBackward ${N}x${E}`, await down(g, V * E), dTr, TOL, scale);
}

/** Pre-activations in [-6,6] plus saturating extremes and one NaN (suite.ts's pre()). */
function pre(n: number, r: () => number): Float32Array {
  const v = randView(n, r, -6, 6);
  for (let i = 0; i < n; i += 37) v[i] = [50, -50, 100, -100, 9, -9, 0][i % 7];
  if (n > 40) v[40] = NaN;
  return v;
}

rr = rng(4);
for (const [B, H] of [[1, 1], [3, 17], [17, 65]]) {
  const g = pre(B * 4 * H, rr), gr = copyView(g), cPrev = randView(B * H, rr, -3, 3);
  const z = () => up(new Float32Array(B * H));
  const h = z(), c = z(), tc = z(), gg = up(g), cp = up(cPrev);
  const hr = new Float32Array(B * H), cr = new Float32Array(B * H), tcr = new Float32Array(B * H);
  ops.lstmCellForward(h, c, tc, gg, cp, B, H); ref.lstmCellForward(hr, cr, tcr, gr, cPrev, B, H);
  const tag = `webgpu lstmCellForward ${B}x${H}`;
  expectClose(`${tag} gates`, await down(gg, 4 * B * H), gr, TOL); expectClose(`${tag} c`, await down(c, B * H), cr, TOL);
  expectClose(`${tag} tanhC`, await down(tc, B * H), tcr, TOL); expectClose(`${tag} h`, await down(h, B * H), hr, TOL);
  const dh = randView(B * H, rr), dc = randView(B * H, rr);
  const dG = up(new Float32Array(4 * B * H)), dcp = z(), dGr = new Float32Array(4 * B * H), dcpr = new Float32Array(B * H);
  ops.lstmCellBackward(dG, dcp, up(dh), up(dc), up(gr), cp, up(tcr), B, H);
  ref.lstmCellBackward(dGr, dcpr, dh, dc, gr, cPrev, tcr, B, H);
  expectClose(`webgpu lstmCellBackward ${B}x${H} dGates`, await down(dG, 4 * B * H), dGr, TOL);
  expectClose(`webgpu lstmCellBackward ${B}x${H} dcPrev`, await down(dcp, B * H), dcpr, TOL);
}

rr = rng(5);
for (const [B, H] of [[1, 1], [3, 17], [17, 65]]) {
  const gi = pre(B * 3 * H, rr), gh = pre(B * 3 * H, rr), hPrev = randView(B * H, rr);
  const h = up(new Float32Array(B * H)), act = up(new Float32Array(4 * B * H));
  const hr = new Float32Array(B * H), actr = new Float32Array(4 * B * H);
  ops.gruCellForward(h, act, up(gi), up(gh), up(hPrev), B, H); ref.gruCellForward(hr, actr, gi, gh, hPrev, B, H);
  expectClose(`webgpu gruCellForward ${B}x${H} h`, await down(h, B * H), hr, TOL);
  expectClose(`webgpu gruCellForward ${B}x${H} act`, await down(act, 4 * B * H), actr, TOL);
  const dh = randView(B * H, rr), dhp0 = randView(B * H, rr);
  const dGi = up(new Float32Array(3 * B * H)), dGh = up(new Float32Array(3 * B * H)), dhp = up(dhp0);
  const dGir = new Float32Array(3 * B * H), dGhr = new Float32Array(3 * B * H), dhpr = copyView(dhp0);
  ops.gruCellBackward(dGi, dGh, dhp, up(dh), up(actr), up(hPrev), B, H);
  ref.gruCellBackward(dGir, dGhr, dhpr, dh, actr, hPrev, B, H);
  expectClose(`webgpu gruCellBackward ${B}x${H} dGi`, await down(dGi, 3 * B * H), dGir, TOL);
  expectClose(`webgpu gruCellBackward ${B}x${H} dGh`, await down(dGh, 3 * B * H), dGhr, TOL);
  expectClose(`webgpu gruCellBackward ${B}x${H} dhPrev (accumulated)`, await down(dhp, B * H), dhpr, TOL);
}

rr = rng(6);
for (const n of [1, 17, 129, 4099]) {
  const x = pre(n, rr), h = up(new Float32Array(n)), hr = new Float32Array(n);
  ops.tanhForward(h, up(x), n); ref.tanhForward(hr, x, n);
  expectClose(`webgpu tanhForward ${n}`, await down(h, n), hr, TOL);
  const dh = randView(n, rr), d = up(new Float32Array(n)), dr = new Float32Array(n);
  ops.tanhBackward(d, up(dh), up(hr), n); ref.tanhBackward(dr, dh, hr, n);
  expectClose(`webgpu tanhBackward ${n}`, await down(d, n), dr, TOL);
  const s = up(dh), sr = copyView(dh);
  ops.scale(s, n, 0.37); ref.scale(sr, n, 0.37);
  expectClose(`webgpu scale ${n}`, await down(s, n), sr, TOL);
  const mask = randView(n, rr, 0, 2), m = up(new Float32Array(n)), mr = new Float32Array(n);
  ops.mul(m, up(dh), up(mask), n); ref.mul(mr, dh, mask, n);
  expectClose(`webgpu mul ${n}`, await down(m, n), mr, TOL);
  ops.mul(s, s, up(mask), n); ref.mul(sr, sr, mask, n);   // in place: out and a are one binding
  expectClose(`webgpu mul in place ${n}`, await down(s, n), sr, TOL);
  const a = up(dh); ops.add(a, a, up(mask), n);
  const ar = new Float32Array(n); ref.add(ar, dh, mask, n);
  expectClose(`webgpu add in place ${n}`, await down(a, n), ar, 0);
  const ss = await ops.sumSquares(up(x.map((v) => (Number.isNaN(v) ? 0 : v / 100))), n);
  const ssr = ref.sumSquares(x.map((v) => (Number.isNaN(v) ? 0 : v / 100)), n);
  expectClose(`webgpu sumSquares ${n}`, [ss], [ssr], TOL, [ssr]);
}

rr = rng(7);
for (const [N, V] of [[1, 1], [3, 3], [17, 65], [64, 129]]) {
  const logits = randView(N * V, rr, -8, 8), tg = new Int32Array(N);
  if (N * V > 200) logits[150] = NaN;
  for (let n = 0; n < N; n++) tg[n] = rr() < 0.1 ? -1 : Math.floor(rr() * V);
  const d0 = randView(N * V, rr), d = up(d0), dr = copyView(d0), lg = up(logits), t = up(tg);
  const loss = await ops.softmaxXent(d, lg, t, N, V, 1 / N), lossr = ref.softmaxXent(dr, logits, tg, N, V, 1 / N);
  const lossNo = await ops.softmaxXent(null, lg, t, N, V, 1);
  let terms = 0;
  for (let n = 0; n < N; n++) if (tg[n] >= 0) terms += 8 + Math.log(V) + Math.abs(logits[n * V + tg[n]]);
  expectClose(`webgpu softmaxXent ${N}x${V} loss`, [loss, lossNo], [lossr, lossr], TOL, [terms, terms]);
  expectClose(`webgpu softmaxXent ${N}x${V} dLogits`, await down(d, N * V), dr, TOL / N);
}

rr = rng(8);
for (const n of [1, 17, 1029]) for (const adamw of [false, true]) {
  const p0 = randView(n, rr), pr = copyView(p0), mr = new Float32Array(n), vr = new Float32Array(n);
  const p = up(p0), m = up(mr), v = up(vr);
  for (let step = 1; step <= 3; step++) {
    const g = randView(n, rr, -0.1, 0.1);
    ops.adam(p, up(g), m, v, n, 2e-3, 0.9, 0.999, 1e-8, 0.01, adamw, step);
    ref.adam(pr, g, mr, vr, n, 2e-3, 0.9, 0.999, 1e-8, 0.01, adamw, step);
  }
  const tag = `webgpu ${adamw ? 'adamw' : 'adam'} ${n}`;
  expectClose(`${tag} p`, await down(p, n), pr, TOL); expectClose(`${tag} m`, await down(m, n), mr, TOL);
  expectClose(`${tag} v`, await down(v, n), vr, TOL);
}

// LayerNorm in both forms: ops.ts takes the thread-per-row kernels on a CPU adapter (SwiftShader, which the shared
// suite runs here) and the workgroup-per-row ones on a GPU. A runner given no adapter counts as a GPU, so its ops
// are the GPU's choices, checked here against ref on the same device (its own command stream: flushed before reads).
const rg = new GpuRunner(device), gpuSide = gpuOps(rg);
rr = rng(9);
for (const [N, C] of [[1, 1], [3, 17], [5, 192], [70, 65], [2, 200]]) for (const bias of [true, false]) {
  for (const [side, o] of [['cpu-adapter', ops], ['gpu', gpuSide]] as const) {
    const x = randView(N * C, rr, -2, 2), w = randView(C, rr), b = bias ? randView(C, rr) : null;
    for (let i = 0; i < C; i++) x[i] += 50;   // a row with a large mean (the kernels' shifted sums)
    const out = up(new Float32Array(N * C)), mean = up(new Float32Array(N)), rstd = up(new Float32Array(N));
    const outR = new Float32Array(N * C), meanR = new Float32Array(N), rstdR = new Float32Array(N);
    o.layerNormForward(out, mean, rstd, up(x), up(w), b ? up(b) : null, N, C, 1e-5);
    ref.layerNormForward(outR, meanR, rstdR, x, w, b, N, C, 1e-5);
    rg.flush();
    const tag = `webgpu layerNorm (${side}) ${N}x${C}${bias ? '' : ' nobias'}`;
    expectClose(`${tag} out`, await down(out, N * C), outR, TOL);
    expectClose(`${tag} mean`, await down(mean, N), meanR, TOL);
    expectClose(`${tag} rstd`, await down(rstd, N), rstdR, TOL);
    const dout = randView(N * C, rr), dx0 = randView(N * C, rr), dw0 = randView(C, rr), db0 = randView(C, rr);
    const dx = up(dx0), dw = up(dw0), db = up(db0), dxR = copyView(dx0), dwR = copyView(dw0), dbR = copyView(db0);
    const args = [up(dout), up(x), up(w), up(meanR), up(rstdR)] as const;
    o.layerNormBackward(dx, dw, bias ? db : null, ...args, N, C);
    rg.flush();
    ref.layerNormBackward(dxR, dwR, bias ? dbR : null, dout, x, w, meanR, rstdR, N, C);
    // dx sums C terms per row, dw and db N per column: tolerance relative to the sums of |terms|
    const dxScale = Array.from(dxR, (v, i) => Math.abs(v) + 3 * C * Math.abs(dout[i]) * Math.abs(w[i % C]) * rstdR[Math.floor(i / C)]);
    const colScale = Array.from(dwR, (v, c) => { let t = Math.abs(v) + Math.abs(db0[c]); for (let n = 0; n < N; n++) t += 10 * Math.abs(dout[n * C + c]); return t; });
    expectClose(`${tag} dx`, await down(dx, N * C), dxR, TOL, dxScale);
    expectClose(`${tag} dw`, await down(dw, C), dwR, TOL, colScale);
    if (bias) expectClose(`${tag} db`, await down(db, C), dbR, TOL, colScale);
  }
}

// Attention in ranges (ops.ts attentionParts: a GPU cuts long walks into P ranges and merges them; a CPU adapter
// walks whole rows, which the shared suite covers): the GPU-side runner's rule, and forced range counts that do not
// divide T, ranges of one row, and more ranges than rows, against ref (dropout on, so the mask's indexing is checked).
// Each case twice: on views at an offset of 3 (scalar loads) and of 4 (the vec4 form, where the head size allows).
rr = rng(10);
const attParts: [number, number, number, number, number, number | undefined][] = [
  [2, 13, 2, 8, 0.1, 3], [1, 9, 1, 5, 0.3, 9], [1, 5, 1, 4, 0, 8], [1, 70, 3, 16, 0, undefined], [2, 64, 2, 32, 0.2, undefined]];
for (const [B, T, nh, hd, p, parts] of attParts) for (const [form, up] of [['scalar', up3], ['vec4', up4]] as const) {
  if (form === 'vec4' && hd % 4 !== 0) continue;
  rg.tuning = parts ? { attnParts: parts } : {};
  const C = nh * hd, qkv = randView(B * T * 3 * C, rr, -2, 2), dy = randView(B * T * C, rr), seed = 1234;
  const yR = new Float32Array(B * T * C), lseR = new Float32Array(B * nh * T), gR = new Float32Array(B * T * 3 * C);
  ref.attentionForward(yR, lseR, qkv, B, T, nh, hd, p, seed);
  ref.attentionBackward(gR, dy, yR, lseR, qkv, B, T, nh, hd, p, seed);
  const y = up(new Float32Array(B * T * C)), lse = up(new Float32Array(B * nh * T)), g = up(randView(B * T * 3 * C, rr));
  const q = up(qkv);
  gpuSide.attentionForward(y, lse, q, B, T, nh, hd, p, seed);
  gpuSide.attentionBackward(g, up(dy), up(yR), up(lseR), q, B, T, nh, hd, p, seed);
  rg.flush();
  const tag = `webgpu attention (${form}) in ranges (${parts ?? 'rule'}) B${B} T${T} nh${nh} hd${hd} p${p}`;
  expectClose(`${tag} y`, await down(y, B * T * C), yR, TOL);
  expectClose(`${tag} lse`, await down(lse, B * nh * T), lseR, TOL);
  expectClose(`${tag} dqkv`, await down(g, B * T * 3 * C), gR, TOL);
}
for (const [B, T, nh, hd, S, parts] of [[2, 3, 2, 8, 40, undefined], [1, 1, 6, 64, 256, undefined], [3, 1, 2, 8, 20, 3],
  [2, 4, 3, 12, 33, 33]] as const) for (const [form, up] of [['scalar', up3], ['vec4', up4]] as const) {
  rg.tuning = parts ? { attnParts: parts } : {};
  const C = nh * hd, qs = 3 * C, qv = randView(B * T * qs, rr, -2, 2), kc = randView(B * S * C, rr, -2, 2), vc = randView(B * S * C, rr);
  const pos = Int32Array.from({ length: B }, (_, b) => (S - T) - (b * 7) % (S - T + 1));   // b = 0 sees all S keys
  const yR = new Float32Array(B * T * C), y = up(new Float32Array(B * T * C));
  ref.attentionDecode(yR, qv, qs, kc, vc, pos, B, T, nh, hd, S);
  gpuSide.attentionDecode(y, up(qv), qs, up(kc), up(vc), up(pos), B, T, nh, hd, S);
  rg.flush();
  expectClose(`webgpu attentionDecode (${form}) in ranges (${parts ?? 'rule'}) B${B} T${T} nh${nh} hd${hd} S${S}`, await down(y, B * T * C), yR, TOL);
}
rg.tuning = {};

// The embedding backward in chunks of ids (a GPU's form above 256 ids: ops.ts embeddingChunks), against ref. The
// V passed is the table's row count, as client.ts passes it.
rr = rng(13);
for (const [V, N, E] of [[3, 257, 5], [65, 1000, 17], [256, 4096, 8]]) {
  const ids = Int32Array.from({ length: N }, () => Math.floor(rr() * V));
  const dOut = randView(N * E, rr), dT = randView(V * E, rr), dTr = copyView(dT), g = up(dT);
  gpuSide.embeddingBackward(g, up(dOut), up(ids), N, E, V);
  rg.flush();
  ref.embeddingBackward(dTr, dOut, ids, N, E);
  const scale = scatterScale(dTr, dOut, ids, N, E);
  expectClose(`webgpu embeddingBackward in chunks ${V}x${N}x${E}`, await down(g, V * E), dTr, TOL, scale);
}

// The fused LSTM step in the GPU's form: the recurrent product split over K (ops.ts splitK: 4 slices for 64 × 512,
// 2 for 3 × 300) with the slices summed inside the cell kernel, against ref's matmul then cell.
rr = rng(14);
for (const [B, H] of [[64, 512], [3, 300], [2, 8]]) {
  const W = randView(4 * H * H, rr, -0.3, 0.3), hPrev = randView(B * H, rr), g0 = randView(B * 4 * H, rr, -3, 3);
  const cPrev = randView(B * H, rr, -3, 3), g1 = copyView(g0);
  const h = up(new Float32Array(B * H)), c = up(new Float32Array(B * H)), tc = up(new Float32Array(B * H)), g = up(g0);
  gpuSide.lstmStepForward(h, c, tc, g, up(cPrev), up(hPrev), up(W), B, H);
  rg.flush();
  const hr = new Float32Array(B * H), cr = new Float32Array(B * H), tcr = new Float32Array(B * H);
  ref.matmul(g1, hPrev, W, B, 4 * H, H, false, true, true); ref.lstmCellForward(hr, cr, tcr, g1, cPrev, B, H);
  // activations of sums of H terms: tolerance on Σ|terms| (times 4 for c and h, through the cell's products)
  let big = 1;
  for (let b = 0; b < B; b++) for (let o = 0; o < 4 * H; o++) {
    let s = 1 + Math.abs(g0[b * 4 * H + o]);
    for (let k = 0; k < H; k++) s += Math.abs(hPrev[b * H + k] * W[o * H + k]);
    big = Math.max(big, s);
  }
  const tag = `webgpu lstmStepForward (gpu, split K) ${B}x${H}`;
  expectClose(`${tag} gates`, await down(g, B * 4 * H), g1, TOL, new Float64Array(B * 4 * H).fill(big));
  expectClose(`${tag} c`, await down(c, B * H), cr, TOL, new Float64Array(B * H).fill(4 * big));
  expectClose(`${tag} h`, await down(h, B * H), hr, TOL, new Float64Array(B * H).fill(4 * big));
}

// The SGEMM tuner (tuner.ts): a product of a new shape times every candidate on its operands (into scratch where it
// adds into C, into C itself where it overwrites C), then runs the fastest; the result matches ref whichever wins, the choice is stored, and a second tuner on the same store
// answers from it without timing. The shapes are small (SwiftShader) but include split-K candidates (few tiles, long K).
{
  const saved: Record<string, Record<string, TunedEntry>> = {};
  const store: GpuTuneStore = { load: (k) => saved[k] ?? {}, save: (k, t) => { saved[k] = { ...t }; } };
  const rt = new GpuRunner(device, opened.gpu, opened.adapter);
  rt.tuner = new MatmulTuner(rt, adapterName, store);
  const tops = gpuOps(rt);
  rr = rng(15);
  // (products under 2^24 flops are left to the rule: the first shape is just at it)
  const shapes: [number, number, number, boolean, boolean, boolean][] =
    [[64, 256, 512, false, true, true], [256, 130, 300, true, false, true], [128, 256, 520, false, false, false]];
  for (const [M, N, K, tA, tB, acc] of shapes) {
    const A = randView(M * K, rr), B = randView(K * N, rr), C0 = randView(M * N, rr), Cr = copyView(C0);
    const c = up(C0), a = up(A), b = up(B);
    const pending = tops.matmul(c, a, b, M, N, K, tA, tB, acc);
    if (!(pending instanceof Promise)) throw new Error(`tuner: a new shape ${M}x${N}x${K} did not time its candidates`);
    await pending;
    rt.flush();
    ref.matmul(Cr, A, B, M, N, K, tA, tB, acc);
    const { scale } = exactEntries(A, B, acc ? C0 : null, M, N, K, tA, tB, Array.from({ length: M * N }, (_, i) => i));
    const entry = rt.tuner.entries()[shapeKey(M, N, K, tA, tB)] as TunedEntry & { kernel: string; slices: number };
    expectClose(`webgpu tuned matmul (${entry.kernel}/${entry.slices}${acc ? ', C +=' : ', timed into C'}) ${M}x${N}x${K}`, await down(c, M * N), Cr, TOL, scale);
    if (tops.matmul(c, a, b, M, N, K, tA, tB, false) instanceof Promise) throw new Error('tuner: a timed shape was timed again');
  }
  if (tops.matmul(up(new Float32Array(64)), up(new Float32Array(64 * 8)), up(new Float32Array(8)), 64, 1, 8, false, false, false) instanceof Promise) {
    throw new Error('tuner: a product under 2^24 flops was timed');
  }
  const counts = rt.tuner.counts;
  if (counts.tuned !== 3 || counts.loaded !== 0 || !(counts.tuneMs > 0)) throw new Error(`tuner counts ${JSON.stringify(counts)}`);
  // attention's ranges, forward and backward: timed on the first call of a shape (dropout on: the mask is the same
  // whichever ranges win), against ref. This shape is under the floor: a tuner that times every shape (=all).
  rt.tuner = new MatmulTuner(rt, adapterName, store, 0);
  const [AB, AT, anh, ahd, ap] = [2, 40, 2, 8, 0.1], AC = anh * ahd, seed = 99;
  const qkv = randView(AB * AT * 3 * AC, rr, -2, 2), dy = randView(AB * AT * AC, rr);
  const yR = new Float32Array(AB * AT * AC), lseR = new Float32Array(AB * anh * AT), gR = new Float32Array(AB * AT * 3 * AC);
  ref.attentionForward(yR, lseR, qkv, AB, AT, anh, ahd, ap, seed);
  ref.attentionBackward(gR, dy, yR, lseR, qkv, AB, AT, anh, ahd, ap, seed);
  // (views at an offset of 4: the vec4 form is among the candidates)
  const y = up4(new Float32Array(AB * AT * AC)), lse = up4(new Float32Array(AB * anh * AT)), g = up4(randView(AB * AT * 3 * AC, rr)), q = up4(qkv);
  const fwd = tops.attentionForward(y, lse, q, AB, AT, anh, ahd, ap, seed);
  const bwd = fwd instanceof Promise ? null : tops.attentionBackward(g, up4(dy), up4(yR), up4(lseR), q, AB, AT, anh, ahd, ap, seed);
  if (!(fwd instanceof Promise)) throw new Error('tuner: a new attention shape did not time its ranges');
  await fwd;
  const bwd2 = tops.attentionBackward(g, up4(dy), up4(yR), up4(lseR), q, AB, AT, anh, ahd, ap, seed);
  if (bwd !== null || !(bwd2 instanceof Promise)) throw new Error('tuner: the attention backward did not time its ranges');
  await bwd2;
  rt.flush();
  const rows = AB * anh * AT, tf = rt.tuner.entries()[attentionKey('fwd', rows, AT, ahd)], tb = rt.tuner.entries()[attentionKey('bwd', rows, AT, ahd)];
  const form = (e: unknown) => { const x = e as { P: number; vec: boolean }; return `${x.P} ranges${x.vec ? ', vec4' : ''}`; };
  const tag = `webgpu tuned attention (forward ${form(tf)}, backward ${form(tb)})`;
  expectClose(`${tag} y`, await down(y, AB * AT * AC), yR, TOL);
  expectClose(`${tag} lse`, await down(lse, rows), lseR, TOL);
  expectClose(`${tag} dqkv`, await down(g, AB * AT * 3 * AC), gR, TOL);
  const counts2 = rt.tuner.counts;
  if (counts2.tuned !== 2 || counts2.loaded !== 3) throw new Error(`tuner counts ${JSON.stringify(counts2)}`);
  // a candidate that the device refuses (WGSL that does not compile) drops out of the timing; the run goes on
  const broken: KernelDef = { name: 'brokenCandidate', bufs: [['x', 'f32']], body: '@compute @workgroup_size(1) fn main() { let = ; }' };
  const fine: KernelDef = { name: 'fineCandidate', bufs: [['x', 'f32']], body: '@compute @workgroup_size(1) fn main() { st_x(0u, 1.0); }' };
  const scratchX = up(new Float32Array(4));
  const picked = await rt.tuner.chooseParts('att-fwd:8x2x4', [{ P: 1, L: 2, vec: false }, { P: 2, L: 1, vec: false }],
    (c) => rt.dispatch(c.P === 2 ? broken : fine, [scratchX], [], [], [1]));
  if (picked.P !== 1) throw new Error('tuner: a candidate that does not compile was chosen');
  await down(scratchX, 1);
  if (gpuError) throw new Error(`tuner: a refused candidate leaked an error: ${gpuError}`);
  const again = new MatmulTuner(rt, adapterName, store);
  if (again.counts.loaded !== 6) throw new Error(`tuner: ${again.counts.loaded} of 6 choices reloaded from the store`);
  const [M, N, K, tA, tB] = shapes[0], reused = again.choose(up(new Float32Array(M * N)), up(new Float32Array(M * K)), up(new Float32Array(K * N)), M, N, K, tA, tB, true);
  if (reused instanceof Promise) throw new Error('tuner: a stored shape was timed again');
  // stored vec4 choices for shapes whose views this time are not aligned: the scalar twins run instead (same slices)
  const tableKey = Object.keys(saved)[0];
  const vec4Choices: [number, number, number, TunedEntry][] = [[128, 132, 8, { kernel: 'm128v', slices: 1, us: 1, ruleUs: 2 }],
    [64, 68, 600, { kernel: 'm64vv', slices: 4, us: 1, ruleUs: 2 }]];
  for (const [vM, vN, vK, e] of vec4Choices) saved[tableKey][shapeKey(vM, vN, vK, false, false)] = e;
  rt.tuner = new MatmulTuner(rt, adapterName, store);
  for (const [vM, vN, vK, e] of vec4Choices) {
    const A = randView(vM * vK, rr), B = randView(vK * vN, rr), Cr = new Float32Array(vM * vN), c = up(new Float32Array(vM * vN));
    if (tops.matmul(c, up(A), up(B), vM, vN, vK, false, false, false) instanceof Promise) throw new Error('tuner: a stored shape was timed');
    rt.flush();
    ref.matmul(Cr, A, B, vM, vN, vK, false, false, false);
    const { scale } = exactEntries(A, B, null, vM, vN, vK, false, false, Array.from({ length: vM * vN }, (_, i) => i));
    expectClose(`webgpu tuned matmul, a stored ${(e as { kernel: string }).kernel} choice on views at an offset of 3`, await down(c, vM * vN), Cr, TOL, scale);
  }
  console.log(`# tuner: ${Object.entries(again.entries()).map(([k, e]) => `${k} → ${'P' in e ? `${e.P} ranges${e.vec ? ', vec4' : ''}` : `${e.kernel}/${e.slices}`} ` +
    `(${e.us} µs, the rule ${e.ruleUs})`).join('; ')}`);
}

// The GPU clock the tuner times by (GpuRunner.gpuTime, where the device has exact timestamps: Node's do): a positive
// time for the kernels it ran, and those kernels stay out of a profile running meanwhile, while the others are in it.
{
  const rt = new GpuRunner(device, opened.gpu, opened.adapter);
  if (!rt.hasGpuClock) console.log('# gpu clock: this adapter has no timestamp-query (the tuner times by the wall clock)');
  else {
    const probe = (name: string): KernelDef => ({ name, bufs: [['x', 'f32']], ints: ['n'],
      body: '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < d_n()) { st_x(g.x, f32(g.x)); } }' });
    const x = up(new Float32Array(1 << 16)), timedK = probe('clockProbeTimed'), plainK = probe('clockProbePlain');
    if (!rt.startProfile()) throw new Error('gpu clock: a device with timestamps could not start a profile');
    const ms = await rt.gpuTime(() => { for (let i = 0; i < 4; i++) rt.dispatch(timedK, [x], [1 << 16], [], [1 << 10]); });
    rt.dispatch(plainK, [x], [1 << 16], [], [1 << 10]);
    const report = (await rt.profileReport())!;
    if (!(ms > 0 && ms < 1e4)) throw new Error(`gpu clock: 4 small kernels took ${ms} ms`);
    if (report.includes('clockProbeTimed') || !report.includes('clockProbePlain')) throw new Error(`gpu clock: the profile holds the wrong kernels:\n${report}`);
    console.log(`  gpu clock: 4 kernels timed at ${(ms * 1e3).toFixed(1)} µs, kept out of the profile`);
  }
}

if (gpuError) throw new Error(`GPU validation error: ${gpuError}`);
console.log('# webgpu kernels: all checks passed');
process.exit(0);
