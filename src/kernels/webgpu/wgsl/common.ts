// WGSL helpers shared by several kernels: saturating sigmoid/tanh (tanh(±large) must be ±1, not inf/inf = NaN, while
// NaN stays NaN as in ref), the dropout counter hash (bit-identical to ref/transformer.ts).
// NaN is tested on the bits: WGSL lets a compiler assume floats are never NaN, so x != x may fold to false.
export const MATH = `
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn sigm(x: f32) -> f32 { if (isNan(x)) { return x; } return 1.0 / (1.0 + exp(-x)); }
fn tanhs(x: f32) -> f32 { if (isNan(x)) { return x; } if (abs(x) > 15.0) { return sign(x); } return tanh(x); }
`;

export const HASH = `
fn fmix32(h0: u32) -> u32 {
  var h = h0;
  h ^= h >> 16u; h *= 0x85ebca6bu;
  h ^= h >> 13u; h *= 0xc2b2ae35u;
  h ^= h >> 16u;
  return h;
}
fn rowHash(seed: u32, bh: u32, i: u32) -> u32 {
  return fmix32(fmix32(seed ^ ((bh + 1u) * 0x9e3779b1u)) ^ ((i + 1u) * 0x85ebca77u));
}
fn keep(r: u32, j: u32, thr: u32) -> bool { return fmix32(r ^ ((j + 1u) * 0x27d4eb2fu)) >= thr; }
`;
