// AssemblyScript: float32x4 transcendentals shared by the wasm kernels (kernels.ts cells, transformer.ts GELU).

// float32x4 exp, sigmoid and tanh for the recurrent cells (Cephes' expf: range reduction by ln 2, degree-6
// polynomial, 2^n through the exponent bits; ~2 ulp). Inputs are clamped to ±88.38 (exp saturates to 0 or +∞, so
// sigmoid and tanh saturate exactly); NaN stays NaN (wasm's f32x4.min/max propagate it). tanh(x) = 1 − 2/(e^{2x}+1)
// has an absolute error of a few 1e-8, inside the suite's 1e-5·(1+|ref|) and the oracles' 2e-6·(1+|want|).
@inline export function exp4(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-88.3762626647949)), f32x4.splat(88.3762626647950));
  const fx = f32x4.floor(f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(0.5)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(fx, f32x4.splat(0.693359375))), f32x4.mul(fx, f32x4.splat(-2.12194440e-4)));
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(y, r), r), r), f32x4.splat(1));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(fx), i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2n);
}
@inline export function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}
@inline export function tanh4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(exp4(f32x4.add(x, x)), one)));
}

/**
 * erf(x) as float32x4 from Numerical Recipes' Chebyshev fit of erfc (fractional error < 1.2e-7) with exp4: about
 * 3e-7 absolute in all. NaN stays NaN.
 */
@inline export function erf4(x: v128): v128 {
  const z = f32x4.abs(x), one = f32x4.splat(1);
  const t = f32x4.div(one, f32x4.add(one, f32x4.mul(f32x4.splat(0.5), z)));
  let p = f32x4.splat(0.17087277);
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.82215223));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.48851587));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-1.13520398));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.27886807));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.18628806));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.09678418));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.37409196));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.00002368));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-1.26551223));
  const r = f32x4.mul(t, exp4(f32x4.sub(p, f32x4.mul(z, z))));
  const e = f32x4.sub(one, r); // erf(|x|) ≥ 0; the sign of x goes on top
  return v128.or(e, v128.and(x, f32x4.splat(-0.0)));
}
