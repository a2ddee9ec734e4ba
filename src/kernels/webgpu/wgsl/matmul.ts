// Tiled SGEMM: C(M,N) (+)= op(A)·op(B). A 64×64 tile of C per workgroup of 16×16 threads, 4×4 outputs per thread
// (rows ty + 16·x, columns tx + 16·y, so neighbouring threads touch neighbouring columns), K in steps of 16 staged
// through workgroup memory (stageTiles).
//
// Every workgroup tile's rows are padded (65 floats for 64, 33 vec4 for 32): staging a plain A (or a transposed B)
// has neighbouring threads write neighbouring k, one tile row apart. Unpadded, a row is a multiple of 32 floats and
// those writes all land in one or two of the 32 shared-memory banks (a 16-way conflict for the 64 tile, 8-way for the
// 128); padded, they spread over 16-32 banks. Added 2026-11-28, after the H200 measurements in docs/performance.md.
import { elementwise, type KernelDef } from '../runner.js';

/**
 * WGSL that stages one K step of both operands into workgroup memory: a `tile`-row slab of op(A) and a `tile`-column
 * slab of op(B), `kStep` deep (tile · kStep = 1,024 elements each: 4 per thread of 256). Each operand is read in
 * whichever order makes neighbouring threads read neighbouring addresses of its stored layout (plain or transposed);
 * out-of-range elements (past M, N or `kEnd`) are 0. `putA` / `putB` are the stores' left sides, in kk, ii / kb, jj.
 */
function stageTiles(tile: number, kStep: number, kEnd: string, putA: string, putB: string): string {
  return `    for (var r = 0u; r < 4u; r++) {
      let e = tid + r * 256u;
      var ii: u32; var kk: u32;
      if (tA) { ii = e % ${tile}u; kk = e / ${tile}u; } else { ii = e / ${kStep}u; kk = e % ${kStep}u; }
      let gi = row0 + ii; let gk = k0 + kk;
      var a = 0.0;
      if (gi < M && gk < ${kEnd}) { if (tA) { a = ld_A(gk * M + gi); } else { a = ld_A(gi * K + gk); } }
      ${putA} = a;
      var jj: u32; var kb: u32;
      if (tB) { jj = e / ${kStep}u; kb = e % ${kStep}u; } else { jj = e % ${tile}u; kb = e / ${tile}u; }
      let gj = col0 + jj; let gkb = k0 + kb;
      var b = 0.0;
      if (gj < N && gkb < ${kEnd}) { if (tB) { b = ld_B(gj * K + gkb); } else { b = ld_B(gkb * N + gj); } }
      ${putB} = b;
    }`;
}

// Split K: workgroup z takes k in [z·kLen, (z+1)·kLen) and writes its partial product at C + z·M·N (ops.ts then sums
// the slices with splitKFinish); unsplit, kLen = K and z = 0.
/** The 64-tile kernels' interface and workgroup tiles (matmul and its unrolled twin matmul64u). */
const TILE64 = { bufs: [['C', 'f32'], ['A', 'f32'], ['B', 'f32']] as KernelDef['bufs'], ints: ['M', 'N', 'K', 'tA', 'tB', 'acc', 'kLen'] };
const TILE64_SHARED = `
var<workgroup> As: array<f32, 1040>;   // [16 k][64 rows + 1 pad]
var<workgroup> Bs: array<f32, 1040>;   // [16 k][64 cols + 1 pad]`;

export const matmul: KernelDef = {
  name: 'matmul', ...TILE64,
  body: `${TILE64_SHARED}
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = d_M(); let N = d_N(); let K = d_K();
  let tA = d_tA() != 0u; let tB = d_tB() != 0u;
  let row0 = wg.y * 64u; let col0 = wg.x * 64u;
  let tid = lid.y * 16u + lid.x;
  let kBeg = wg.z * d_kLen(); let kEnd = min(K, kBeg + d_kLen()); let cOff = wg.z * M * N;
  var c: array<f32, 16>;
  var av: array<f32, 4>; var bv: array<f32, 4>;
  for (var k0 = kBeg; k0 < kEnd; k0 += 16u) {
${stageTiles(64, 16, 'kEnd', 'As[kk * 65u + ii]', 'Bs[kb * 65u + jj]')}
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      for (var x = 0u; x < 4u; x++) { av[x] = As[kk * 65u + lid.y + 16u * x]; bv[x] = Bs[kk * 65u + lid.x + 16u * x]; }
      for (var x = 0u; x < 4u; x++) { for (var y = 0u; y < 4u; y++) { c[x * 4u + y] += av[x] * bv[y]; } }
    }
    workgroupBarrier();
  }
  for (var x = 0u; x < 4u; x++) {
    let i = row0 + lid.y + 16u * x;
    if (i >= M) { continue; }
    for (var y = 0u; y < 4u; y++) {
      let j = col0 + lid.x + 16u * y;
      if (j >= N) { continue; }
      var v = c[x * 4u + y];
      if (d_acc() != 0u) { v += ld_C(cOff + i * N + j); }
      st_C(cOff + i * N + j, v);
    }
  }
}
`,
};

/** Sums split-K slices: C[i] = (acc ? C[i] : 0) + Σ_s part[s·n + i] over S slices, in order (n = M·N). */
export const splitKFinish: KernelDef = {
  name: 'splitKFinish',
  bufs: [['C', 'f32'], ['part', 'f32']],
  ints: ['n', 'S', 'acc'],
  body: elementwise('n', `
  var s = 0.0;
  for (var z = 0u; z < d_S(); z++) { s += ld_part(z * d_n() + i); }
  if (d_acc() != 0u) { s = ld_C(i) + s; }
  st_C(i, s);`),
};

/**
 * The larger-tile SGEMM, for products with at least 128 rows and columns (ops.ts chooses). A 128×128 tile of C
 * per workgroup of 16×16 threads, 8×8 outputs per thread (rows 8·ty…+7, columns 4·tx…+3 and 64 + 4·tx…+3), K in steps
 * of 8 staged through workgroup memory held as vec4s so each thread reads its 8 rows of A and 8 columns of B in four
 * vector loads per k. Each output still sums over k in order, as `matmul` does.
 */
/** The 128-tile kernels' interface and workgroup tiles (matmul128 and its unrolled twin matmul128u). */
const TILE128 = { bufs: TILE64.bufs, ints: ['M', 'N', 'K', 'tA', 'tB', 'acc'] };
const TILE128_SHARED = `
var<workgroup> As: array<vec4<f32>, 264>;   // [8 k][128 rows + 4 pad], 4 consecutive rows per vec4: kk * 33 + row / 4
var<workgroup> Bs: array<vec4<f32>, 264>;   // [8 k][128 cols + 4 pad], 4 consecutive cols per vec4: kk * 33 + col / 4`;

export const matmul128: KernelDef = {
  name: 'matmul128', ...TILE128,
  body: `${TILE128_SHARED}
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = d_M(); let N = d_N(); let K = d_K();
  let tA = d_tA() != 0u; let tB = d_tB() != 0u;
  let row0 = wg.y * 128u; let col0 = wg.x * 128u;
  let tid = lid.y * 16u + lid.x;
  var c: array<vec4<f32>, 16>;   // c[2 i + j]: row 8·ty + i, columns 64 j + 4 tx … + 3
  for (var k0 = 0u; k0 < K; k0 += 8u) {
${stageTiles(128, 8, 'K', 'As[kk * 33u + ii / 4u][ii % 4u]', 'Bs[kb * 33u + jj / 4u][jj % 4u]')}
    workgroupBarrier();
    for (var kk = 0u; kk < 8u; kk++) {
      let a0 = As[kk * 33u + lid.y * 2u]; let a1 = As[kk * 33u + lid.y * 2u + 1u];
      let b0 = Bs[kk * 33u + lid.x]; let b1 = Bs[kk * 33u + lid.x + 16u];
      for (var i = 0u; i < 4u; i++) {
        c[2u * i] += a0[i] * b0; c[2u * i + 1u] += a0[i] * b1;
        c[2u * (i + 4u)] += a1[i] * b0; c[2u * (i + 4u) + 1u] += a1[i] * b1;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 8u; i++) {
    let row = row0 + lid.y * 8u + i;
    if (row >= M) { continue; }
    for (var j = 0u; j < 2u; j++) {
      for (var q = 0u; q < 4u; q++) {
        let col = col0 + 64u * j + lid.x * 4u + q;
        if (col >= N) { continue; }
        var v = c[2u * i + j][q];
        if (d_acc() != 0u) { v += ld_C(row * N + col); }
        st_C(row * N + col, v);
      }
    }
  }
}
`,
};

// Unrolled twins of the two tiles, generated here: every loop over registers written out with constant indices and
// the accumulators as separate variables. gpu.cpp and other WGSL SGEMM write-ups found the shader compilers behind
// WebGPU leave such loops rolled, which spills an indexed accumulator array to memory; on an H200 the 128 tile with
// loops ran at an eighth of the 64 tile's speed (docs/performance.md). Same arithmetic order per output as the rolled
// kernels: each output sums over k in order.
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const COMP = ['x', 'y', 'z', 'w'];

/** The 64-tile kernels' entry point: tile origin, thread ids, and this workgroup's K slice (z) and output slice. */
const MAIN64 = `@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = d_M(); let N = d_N(); let K = d_K();
  let tA = d_tA() != 0u; let tB = d_tB() != 0u;
  let row0 = wg.y * 64u; let col0 = wg.x * 64u;
  let tid = lid.y * 16u + lid.x; let ly = lid.y; let lx = lid.x;
  let kBeg = wg.z * d_kLen(); let kEnd = min(K, kBeg + d_kLen()); let cOff = wg.z * M * N;`;

/** matmul (the 64 tile, split K included) with its k, row and column loops unrolled. */
export const matmul64u: KernelDef = {
  name: 'matmul64u', ...TILE64,
  body: `${TILE64_SHARED}
fn put(i: u32, j: u32, M: u32, N: u32, cOff: u32, v: f32) {
  if (i >= M || j >= N) { return; }
  var s = v;
  if (d_acc() != 0u) { s += ld_C(cOff + i * N + j); }
  st_C(cOff + i * N + j, s);
}
${MAIN64}
  ${range(16).map((q) => `var c${q} = 0.0;`).join(' ')}
  for (var k0 = kBeg; k0 < kEnd; k0 += 16u) {
${stageTiles(64, 16, 'kEnd', 'As[kk * 65u + ii]', 'Bs[kb * 65u + jj]')}
    workgroupBarrier();
${range(16).map((kk) => `    {
      ${range(4).map((x) => `let a${x} = As[${kk * 65 + 16 * x}u + ly];`).join(' ')}
      ${range(4).map((y) => `let b${y} = Bs[${kk * 65 + 16 * y}u + lx];`).join(' ')}
      ${range(16).map((q) => `c${q} += a${q >> 2} * b${q & 3};`).join(' ')}
    }`).join('\n')}
    workgroupBarrier();
  }
${range(16).map((q) => `  put(row0 + ly + ${16 * (q >> 2)}u, col0 + lx + ${16 * (q & 3)}u, M, N, cOff, c${q});`).join('\n')}
}
`,
};


/**
 * The 64 tile with vector reads of workgroup memory (`m64v`; `m64vp` also prefetches). Thread (tx, ty) owns rows
 * 4·ty … +3 and columns 4·tx … +3, so each k step reads one vec4 of A (4 rows) and one of B (4 columns): 2 reads
 * for 16 multiply-adds, where `matmul` makes 8 scalar reads. With `prefetch`, the next K step's elements are loaded
 * from global memory into registers before the current step's arithmetic, and stored to workgroup memory after it,
 * so their latency hides behind the arithmetic (register double buffering). K split and sum order as `matmul`.
 * Candidates timed by bench/gpu/webgpu-gemm.mjs; ops.ts chooses them only once a GPU has measured them.
 */
/**
 * Staging of one K step as separate load and store phases (for register prefetch): 4 elements of each operand per
 * thread (tile · kStep = 1,024), stageTiles' index math, into vec4 workgroup tiles with `stride` vec4 per k row.
 * `idx` declares each element's tile coordinates once; `load(k0)` reads them from global memory into pa/pb; `store`
 * writes pa/pb to the tiles.
 */
function staging(tile: number, kStep: number, stride: number) {
  const idx = range(4).map((r) => `let e${r} = tid + ${r * 256}u; var iA${r}: u32; var kA${r}: u32; var jB${r}: u32; var kB${r}: u32;
  if (tA) { iA${r} = e${r} % ${tile}u; kA${r} = e${r} / ${tile}u; } else { iA${r} = e${r} / ${kStep}u; kA${r} = e${r} % ${kStep}u; }
  if (tB) { jB${r} = e${r} / ${kStep}u; kB${r} = e${r} % ${kStep}u; } else { jB${r} = e${r} % ${tile}u; kB${r} = e${r} / ${tile}u; }
  var pa${r} = 0.0; var pb${r} = 0.0;`).join('\n  ');
  const load = (k0: string) => range(4).map((r) => `{
      let gi = row0 + iA${r}; let gk = ${k0} + kA${r}; pa${r} = 0.0;
      if (gi < M && gk < kEnd) { if (tA) { pa${r} = ld_A(gk * M + gi); } else { pa${r} = ld_A(gi * K + gk); } }
      let gj = col0 + jB${r}; let gkb = ${k0} + kB${r}; pb${r} = 0.0;
      if (gj < N && gkb < kEnd) { if (tB) { pb${r} = ld_B(gj * K + gkb); } else { pb${r} = ld_B(gkb * N + gj); } }
    }`).join('\n    ');
  const store = range(4).map((r) => `As[kA${r} * ${stride}u + iA${r} / 4u][iA${r} % 4u] = pa${r}; ` +
    `Bs[kB${r} * ${stride}u + jB${r} / 4u][jB${r} % 4u] = pb${r};`).join('\n    ');
  return { idx, load, store };
}

/** The K loop around `compute` (one K step's arithmetic), with the next step prefetched into registers or not. */
function kLoop(kStep: number, st: ReturnType<typeof staging>, compute: string, prefetch: boolean): string {
  return `${prefetch ? st.load('kBeg') : ''}
  for (var k0 = kBeg; k0 < kEnd; k0 += ${kStep}u) {
    ${prefetch ? '' : st.load('k0')}
    ${st.store}
    workgroupBarrier();
    ${prefetch ? `if (k0 + ${kStep}u < kEnd) {\n    ${st.load(`(k0 + ${kStep}u)`)}\n    }` : ''}
    ${compute}
    workgroupBarrier();
  }`;
}

/** Writes (or adds, with acc) 4 neighbouring outputs of row `row` from column `col`, at slice offset cOff. */
const PUT4 = `fn put4(row: u32, col: u32, M: u32, N: u32, cOff: u32, v: vec4<f32>) {
  if (row >= M) { return; }
  for (var q = 0u; q < 4u; q++) {
    if (col + q >= N) { return; }
    var s = v[q];
    if (d_acc() != 0u) { s += ld_C(cOff + row * N + col + q); }
    st_C(cOff + row * N + col + q, s);
  }
}`;

/** One K step (16) of the vector-read 64 tile's arithmetic: thread (tx, ty) adds into c_x, row 4·ty + x, columns 4·tx…+3. */
const compute64v = (stride: number) => range(16).map((kk) => `{ let a = As[${kk * stride}u + ly]; let b = Bs[${kk * stride}u + lx]; ` +
  `c0 += a.x * b; c1 += a.y * b; c2 += a.z * b; c3 += a.w * b; }`).join('\n    ');

function tile64v(prefetch: boolean): KernelDef {
  const stride = 17;   // vec4 per k row: 16 + 1 pad (see the header)
  const st = staging(64, 16, stride), compute = compute64v(stride);
  return {
    name: prefetch ? 'matmul64vp' : 'matmul64v', ...TILE64,
    body: `
var<workgroup> As: array<vec4<f32>, ${16 * stride}>;   // [16 k][16 vec4 of 4 rows + 1 pad]
var<workgroup> Bs: array<vec4<f32>, ${16 * stride}>;   // [16 k][16 vec4 of 4 columns + 1 pad]
${PUT4}
${MAIN64}
  ${st.idx}
  var c0 = vec4<f32>(); var c1 = vec4<f32>(); var c2 = vec4<f32>(); var c3 = vec4<f32>();   // c_x: row 4·ty + x
  ${kLoop(16, st, compute, prefetch)}
${range(4).map((x) => `  put4(row0 + ly * 4u + ${x}u, col0 + lx * 4u, M, N, cOff, c${x});`).join('\n')}
}
`,
  };
}
export const matmul64v = tile64v(false);
export const matmul64vp = tile64v(true);

/**
 * matmul128 with its k and row loops unrolled and its 16 vec4 accumulators as separate variables (`m128u`); with
 * `prefetch`, the next K step is loaded into registers during the current one's arithmetic, as m64vp does (`m128up`).
 */
/** One K step (8) of the 128 tile's arithmetic, unrolled: thread (tx, ty) adds into c(2i + j), rows 8·ty + i. */
const compute128 = (stride: number) => range(8).map((kk) => `{
      let a0 = As[${kk * stride}u + ly2]; let a1 = As[${kk * stride + 1}u + ly2];
      let b0 = Bs[${kk * stride}u + lx]; let b1 = Bs[${kk * stride + 16}u + lx];
      ${range(4).map((i) => `c${2 * i} += a0.${COMP[i]} * b0; c${2 * i + 1} += a0.${COMP[i]} * b1; ` +
        `c${2 * (i + 4)} += a1.${COMP[i]} * b0; c${2 * (i + 4) + 1} += a1.${COMP[i]} * b1;`).join('\n      ')}
    }`).join('\n    ');

/**
 * The 128-tile kernels' entry point: tile origin and thread ids, 16 vec4 accumulators, the K loop (`st`'s staging
 * around `compute`), then `put(row, col, accumulator)` for each of the thread's 16 vec4 outputs.
 */
const main128 = (st: ReturnType<typeof staging>, compute: string, prefetch: boolean, put: (row: string, col: string, c: string) => string) => `
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = d_M(); let N = d_N(); let K = d_K();
  let tA = d_tA() != 0u; let tB = d_tB() != 0u;
  let row0 = wg.y * 128u; let col0 = wg.x * 128u;
  let tid = lid.y * 16u + lid.x; let ly2 = lid.y * 2u; let lx = lid.x;
  let kBeg = 0u; let kEnd = K;
  ${st.idx}
  ${range(16).map((q) => `var c${q} = vec4<f32>();`).join(' ')}   // c(2i + j): row 8·ty + i, columns 64 j + 4 tx … + 3
  ${kLoop(8, st, compute, prefetch)}
${range(8).map((i) => range(2).map((j) => `  ${put(`row0 + lid.y * 8u + ${i}u`, `col0 + ${64 * j}u + lx * 4u`, `c${2 * i + j}`)}`).join('\n')).join('\n')}
}
`;

function tile128u(prefetch: boolean): KernelDef {
  const stride = 33, st = staging(128, 8, stride), compute = compute128(stride);
  return {
    name: prefetch ? 'matmul128up' : 'matmul128u', ...TILE128,
    body: `${TILE128_SHARED}
${PUT4}
${main128(st, compute, prefetch, (row, col, c) => `put4(${row}, ${col}, M, N, 0u, ${c});`)}`,
  };
}
export const matmul128u = tile128u(false);
export const matmul128up = tile128u(true);

/**
 * The unrolled 128 tile with vector global memory access (`m128v`): each K step of 8 is one vec4 of A and one of B
 * per thread (4 floats along whichever side is contiguous in memory), the next step prefetched into registers as in
 * m128up, and C written 4 floats at a time. The operands are bound as vec4 arrays, so it needs every view's offset and
 * every contiguous dimension to be a multiple of 4 (ops.ts vec4Ok); a vec4 is then wholly inside or outside the
 * matrix, one bounds check each. Where A (or a transposed B) arrives with k contiguous, its 4 values go to 4 rows of
 * the k-major workgroup tile as scalars (conflict-free: the two k halves of a warp land 16 banks apart). Arithmetic and
 * order of summation as m128u.
 */
/**
 * Staging of one K step with one vec4 of each operand per thread (tile · kStep = 1,024 floats = 256 vec4), read
 * along whichever side is contiguous in memory, into vec4 workgroup tiles of `stride` vec4 per k row; elements past
 * M, N or kEnd are 0. A k-contiguous vec4 (plain A, transposed B) goes to 4 k rows of the tile as scalars.
 */
function staging4(tile: number, kStep: number, stride: number): ReturnType<typeof staging> {
  const q = kStep / 4, t4 = tile / 4;
  return {
    idx: `var aR: u32; var aK: u32; var bC: u32; var bK: u32;   // this thread's vec4 of each operand, tile coordinates
  if (tA) { aR = (tid % ${t4}u) * 4u; aK = tid / ${t4}u; } else { aR = tid / ${q}u; aK = (tid % ${q}u) * 4u; }
  if (tB) { bC = tid / ${q}u; bK = (tid % ${q}u) * 4u; } else { bC = (tid % ${t4}u) * 4u; bK = tid / ${t4}u; }
  var pa = vec4<f32>(); var pb = vec4<f32>();`,
    load: (k0: string) => `{
      let gi = row0 + aR; let gk = ${k0} + aK; pa = vec4<f32>();
      if (gi < M && gk < kEnd) { if (tA) { pa = ld4_A(gk * M + gi); } else { pa = ld4_A(gi * K + gk); } }
      let gj = col0 + bC; let gkb = ${k0} + bK; pb = vec4<f32>();
      if (gj < N && gkb < kEnd) { if (tB) { pb = ld4_B(gj * K + gkb); } else { pb = ld4_B(gkb * N + gj); } }
    }`,
    store: `if (tA) { As[aK * ${stride}u + aR / 4u] = pa; } else {
      ${range(4).map((c) => `As[(aK + ${c}u) * ${stride}u + aR / 4u][aR % 4u] = pa.${COMP[c]};`).join(' ')}
    }
    if (tB) {
      ${range(4).map((c) => `Bs[(bK + ${c}u) * ${stride}u + bC / 4u][bC % 4u] = pb.${COMP[c]};`).join(' ')}
    } else { Bs[bK * ${stride}u + bC / 4u] = pb; }`,
  };
}
/** The vec4 kernels' output: 4 neighbouring floats of row `row` from column `col` (a multiple of 4), at offset cOff. */
const PUT4V = `fn put4v(row: u32, col: u32, M: u32, N: u32, cOff: u32, v: vec4<f32>) {
  if (row >= M || col >= N) { return; }
  var s = v;
  if (d_acc() != 0u) { s += ld4_C(cOff + row * N + col); }
  st4_C(cOff + row * N + col, s);
}`;
const VEC4_BUFS: KernelDef['bufs'] = [['C', 'vec4f'], ['A', 'vec4f'], ['B', 'vec4f']];

export const matmul128v: KernelDef = {
  name: 'matmul128v', bufs: VEC4_BUFS, ints: TILE128.ints,
  body: `${TILE128_SHARED}
${PUT4V}
${main128(staging4(128, 8, 33), compute128(33), true, (row, col, c) => `put4v(${row}, ${col}, M, N, 0u, ${c});`)}`,
};

/**
 * m64vp with vector global memory access (`m64vv`): the 64 tile (4×4 outputs per thread, vec4 reads of the workgroup
 * tile, K split as `matmul`), one vec4 of A and one of B per thread per K step of 16, prefetched, and C written 4 floats
 * at a time. Alignment as m128v (ops.ts vec4Ok); a split's slices are M·N apart, which N % 4 = 0 keeps aligned.
 */
const ST64V = staging4(64, 16, 17);
export const matmul64vv: KernelDef = {
  name: 'matmul64vv', bufs: VEC4_BUFS, ints: TILE64.ints,
  body: `
var<workgroup> As: array<vec4<f32>, ${16 * 17}>;   // [16 k][16 vec4 of 4 rows + 1 pad]
var<workgroup> Bs: array<vec4<f32>, ${16 * 17}>;   // [16 k][16 vec4 of 4 columns + 1 pad]
${PUT4V}
${MAIN64}
  ${ST64V.idx}
  var c0 = vec4<f32>(); var c1 = vec4<f32>(); var c2 = vec4<f32>(); var c3 = vec4<f32>();   // c_x: row 4·ty + x
  ${kLoop(16, ST64V, compute64v(17), true)}
${range(4).map((x) => `  put4v(row0 + ly * 4u + ${x}u, col0 + lx * 4u, M, N, cOff, c${x});`).join('\n')}
}
`,
};

/**
 * A SGEMM kernel with its operands' layouts fixed when it compiles (`tA`, `tB` as constants instead of uniforms): the
 * staging loses the branches and index math of the layouts it does not use. One pipeline per kernel and layout; the
 * arithmetic and each output's order of summation are unchanged. ops.ts dispatches these.
 */
const LAYOUT_UNIFORMS = 'let tA = d_tA() != 0u; let tB = d_tB() != 0u;';
/** The four layouts of each kernel, made once and indexed 2·tA + tB (looked up at every dispatch: no string keys). */
const byLayout = new WeakMap<KernelDef, KernelDef[]>();
export function forLayout(def: KernelDef, tA: boolean, tB: boolean): KernelDef {
  let ks = byLayout.get(def);
  if (!ks) {
    if (!def.body.includes(LAYOUT_UNIFORMS)) throw new Error(`${def.name}: no layout uniforms to fix`);
    ks = [false, true].flatMap((a) => [false, true].map((b) => ({ ...def, name: `${def.name}${a ? 'T' : 'N'}${b ? 'T' : 'N'}`,
      body: def.body.replace(LAYOUT_UNIFORMS, `let tA = ${a}; let tB = ${b};`) })));
    byLayout.set(def, ks);
  }
  return ks[2 * +tA + +tB];
}
