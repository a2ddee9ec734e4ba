// SGEMM: C(M,N) (+)= op(A)·op(B), a 4×4 block of C per thread, read straight from global memory (no workgroup
// memory, no barriers). Why not the classic shared-memory tile: SwiftShader (the CPU Vulkan that tests run on)
// crashes on workgroup barriers once a dispatch has more than a few workgroups (docs/performance.md), and a kernel
// that cannot be tested does not ship. The tiled kernel is the first speed step once a real GPU can check it.
import type { KernelDef } from '../runner.js';

export const matmul: KernelDef = {
  name: 'matmul',
  bufs: [['C', 'f32'], ['A', 'f32'], ['B', 'f32']],
  ints: ['M', 'N', 'K', 'tA', 'tB', 'acc'],
  body: `
fn la(i: u32, k: u32) -> f32 { if (d_tA() != 0u) { return ld_A(k * d_M() + i); } return ld_A(i * d_K() + k); }
fn lb(k: u32, j: u32) -> f32 { if (d_tB() != 0u) { return ld_B(j * d_K() + k); } return ld_B(k * d_N() + j); }
@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let M = d_M(); let N = d_N(); let K = d_K();
  // rows i0 + 16·x of the 64-row block, cols j0 + 16·y: neighbouring threads read neighbouring columns of B
  let i0 = (g.y / 16u) * 64u + g.y % 16u; let j0 = (g.x / 16u) * 64u + g.x % 16u;
  var c: array<f32, 16>;
  var av: array<f32, 4>; var bv: array<f32, 4>;
  for (var k = 0u; k < K; k++) {
    for (var x = 0u; x < 4u; x++) {
      let i = i0 + 16u * x; let j = j0 + 16u * x;
      av[x] = select(0.0, la(min(i, M - 1u), k), i < M);
      bv[x] = select(0.0, lb(k, min(j, N - 1u)), j < N);
    }
    for (var x = 0u; x < 4u; x++) { for (var y = 0u; y < 4u; y++) { c[x * 4u + y] += av[x] * bv[y]; } }
  }
  for (var x = 0u; x < 4u; x++) {
    let i = i0 + 16u * x;
    if (i >= M) { continue; }
    for (var y = 0u; y < 4u; y++) {
      let j = j0 + 16u * y;
      if (j >= N) { continue; }
      var v = c[x * 4u + y];
      if (d_acc() != 0u) { v += ld_C(i * N + j); }
      st_C(i * N + j, v);
    }
  }
}
`,
};
