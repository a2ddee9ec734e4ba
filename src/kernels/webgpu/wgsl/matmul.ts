// Tiled SGEMM: C(M,N) (+)= op(A)·op(B). A 64×64 tile of C per workgroup of 16×16 threads, 4×4 outputs per thread
// (rows ty + 16·x, columns tx + 16·y, so neighbouring threads touch neighbouring columns), K in steps of 16 staged
// through workgroup memory. Each operand's tile is loaded in whichever order makes neighbouring threads read
// neighbouring addresses of its stored layout (plain or transposed).
import type { KernelDef } from '../runner.js';

export const matmul: KernelDef = {
  name: 'matmul',
  bufs: [['C', 'f32'], ['A', 'f32'], ['B', 'f32']],
  ints: ['M', 'N', 'K', 'tA', 'tB', 'acc'],
  body: `
var<workgroup> As: array<f32, 1024>;   // [16 k][64 rows]
var<workgroup> Bs: array<f32, 1024>;   // [16 k][64 cols]
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = d_M(); let N = d_N(); let K = d_K();
  let tA = d_tA() != 0u; let tB = d_tB() != 0u;
  let row0 = wg.y * 64u; let col0 = wg.x * 64u;
  let tid = lid.y * 16u + lid.x;
  var c: array<f32, 16>;
  var av: array<f32, 4>; var bv: array<f32, 4>;
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    for (var r = 0u; r < 4u; r++) {
      let e = tid + r * 256u;
      var ii: u32; var kk: u32;
      if (tA) { ii = e % 64u; kk = e / 64u; } else { ii = e / 16u; kk = e % 16u; }
      let gi = row0 + ii; let gk = k0 + kk;
      var a = 0.0;
      if (gi < M && gk < K) { if (tA) { a = ld_A(gk * M + gi); } else { a = ld_A(gi * K + gk); } }
      As[kk * 64u + ii] = a;
      var jj: u32; var kb: u32;
      if (tB) { jj = e / 16u; kb = e % 16u; } else { jj = e % 64u; kb = e / 64u; }
      let gj = col0 + jj; let gkb = k0 + kb;
      var b = 0.0;
      if (gj < N && gkb < K) { if (tB) { b = ld_B(gj * K + gkb); } else { b = ld_B(gkb * N + gj); } }
      Bs[kb * 64u + jj] = b;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      for (var x = 0u; x < 4u; x++) { av[x] = As[kk * 64u + lid.y + 16u * x]; bv[x] = Bs[kk * 64u + lid.x + 16u * x]; }
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
      if (d_acc() != 0u) { v += ld_C(i * N + j); }
      st_C(i * N + j, v);
    }
  }
}
`,
};
