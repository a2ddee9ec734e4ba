// Turns bench/gpu/webgpu-device.sh's output folder into markdown tables with the ratios the webgpu issue's targets
// are stated in: WGSL SGEMM as a share of the GPU's fp32 peak (and of cuBLAS), webgpu training against PyTorch eager
// on the same GPU and against charlm native on the 2-core CPU where the kit was built (.device-kit/native.jsonl,
// measured by scripts/device-kit.mjs --baseline on that machine: a cross-machine ratio, as the target is defined).
//   node bench/gpu/webgpu-summary.mjs OUT_DIR [KIT_DIR]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2], kit = process.argv[3] ?? '.device-kit';
const jsonl = (f) => existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)) : [];
const n = (x) => x === undefined || Number.isNaN(x) ? '–' : x < 100 ? String(+x.toFixed(2)) : Math.round(x).toLocaleString('en-US');
const pct = (x) => Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–';
const ratio = (x) => Number.isFinite(x) ? `${x.toFixed(2)}×` : '–';
const lines = [];
const env = existsSync(join(out, 'env.txt')) ? readFileSync(join(out, 'env.txt'), 'utf8') : '';
lines.push(`GPU: ${(env.match(/^GPU 0: .*/m) ?? ['(nvidia-smi: none)'])[0]}; ${(env.match(/^adapter: .*/m) ?? ['adapter: ?'])[0]}`, '');

const wg = jsonl(join(out, 'gemm-wgsl.jsonl')), tg = jsonl(join(out, 'gemm-torch.jsonl'));
const peak = tg.find((r) => r.fp32_peak_gflops)?.fp32_peak_gflops;
lines.push(`### WGSL SGEMM (fp32 peak ${peak ? `${n(peak)} GFLOP/s` : 'unknown'})`, '',
  '| product | M×N×K | WGSL kernel / K slices | WGSL GFLOP/s | cuBLAS (TF32 off) GFLOP/s | WGSL share of fp32 peak | WGSL / cuBLAS |',
  '|---|---|---:|---:|---:|---:|---:|');
for (const w of wg) {
  const t = tg.find((r) => r.what === w.what && r.M === w.M);
  lines.push(`| ${w.what} | ${w.M}×${w.N}×${w.K} | ${w.kernel ?? w.tile} / ${w.k_slices}${w.in_use ? ' (in use)' : ''} | ${n(w.gflops)} | ${n(t?.gflops)} | ` +
    `${pct(w.gflops / peak)} | ${ratio(w.gflops / t?.gflops)} |`);
}

// Per product, the kernel in use against the fastest one timed: what to change chooseMatmul (ops.ts) to.
const shapes = [...new Set(wg.map((w) => `${w.what}|${w.M}`))];
if (shapes.length) {
  lines.push('', '#### Fastest SGEMM per product (against the one in use)', '', '| product | in use | GFLOP/s | fastest | GFLOP/s | × |', '|---|---|---:|---|---:|---:|');
  for (const key of shapes) {
    const rows = wg.filter((w) => `${w.what}|${w.M}` === key), use = rows.find((w) => w.in_use);
    const best = rows.reduce((a, b) => (b.ms_per_product < a.ms_per_product ? b : a));   // ms: GFLOP/s is rounded
    lines.push(`| ${best.what} | ${use ? `${use.kernel} / ${use.k_slices}` : '–'} | ${n(use?.gflops)} | ${best.kernel} / ${best.k_slices} | ` +
      `${n(best.gflops)} | ${ratio(use?.ms_per_product / best.ms_per_product)} |`);
  }
}
const cs = jsonl(join(out, 'colsum.jsonl'));
if (cs.length) {
  lines.push('', '### Column sums (ms): one pass against two (in use above 64 rows)', '', '| sum | rows × columns | one pass | two passes | speed-up |', '|---|---|---:|---:|---:|');
  for (const c of cs) lines.push(`| ${c.what} | ${c.M} × ${c.N} | ${c.ms_one_pass} | ${c.ms_two_pass} | ${ratio(c.speedup)} |`);
}
const bw = jsonl(join(out, 'bench-webgpu.jsonl')), tr = jsonl(join(out, 'torch-rate.jsonl')), nat = jsonl(join(kit, 'native.jsonl'));
const cpu = nat[0]?.cpu ?? 'not measured';
lines.push('', `### Training (chars/s); native: charlm native on ${cpu}`, '',
  '| preset | batch × seq | webgpu | PyTorch eager fp32 | PyTorch eager TF32 | webgpu / PyTorch fp32 | webgpu / PyTorch TF32 | native (CPU) | webgpu / native |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const b of bw) {
  const p = b.config.preset, tf = tr.filter((r) => r.config === `${p}.json`);
  const f32 = tf.find((r) => r.matmul === 'fp32')?.train_chars_per_s, t32 = tf.find((r) => r.matmul === 'tf32')?.train_chars_per_s;
  const nv = nat.find((r) => r.config?.preset === p)?.train_chars_per_s;
  lines.push(`| ${p} | ${b.config.batch} × ${b.config.seq} | ${n(b.train_chars_per_s)} | ${n(f32)} | ${n(t32)} | ${pct(b.train_chars_per_s / f32)} | ` +
    `${pct(b.train_chars_per_s / t32)} | ${n(nv)} | ${ratio(b.train_chars_per_s / nv)} |`);
}
lines.push('', '### Sampling on webgpu (chars/s)', '', '| preset | batch 1 | batch 32 |', '|---|---:|---:|');
for (const b of bw) lines.push(`| ${b.config.preset} | ${n(b.sample_chars_per_s_b1)} | ${n(b.sample_chars_per_s_b32)} |`);
const rule = jsonl(join(out, 'bench-rule.jsonl'));
if (rule.length) {
  lines.push('', '### SGEMM kernels timed per shape (the default on GPUs, src/kernels/webgpu/tuner.ts) against ops.ts\'s rule (CHARLM_WEBGPU_TUNE=0), chars/s', '',
    '| preset | train, timed | train, rule | speed-up | sample b1, timed | sample b1, rule | sample b32, timed | sample b32, rule |',
    '|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of rule) {
    const b = bw.find((x) => x.config.preset === w.config.preset);
    lines.push(`| ${w.config.preset} | ${n(b?.train_chars_per_s)} | ${n(w.train_chars_per_s)} | ${ratio(b?.train_chars_per_s / w.train_chars_per_s)} | ` +
      `${n(b?.sample_chars_per_s_b1)} | ${n(w.sample_chars_per_s_b1)} | ${n(b?.sample_chars_per_s_b32)} | ${n(w.sample_chars_per_s_b32)} |`);
  }
}
const tuneFile = join(out, 'tuning.json');
if (existsSync(tuneFile)) {
  const flop = (key) => { const [M, N, K] = key.split('x').map((x) => parseInt(x, 10)); return 2 * M * N * K; };
  lines.push('', '#### The tuner\'s choice per SGEMM shape (M×N×K, n/t: plain or transposed A and B)', '',
    '| adapter | shape | chosen / K slices | µs | GFLOP/s | the rule\'s µs | × |', '|---|---|---|---:|---:|---:|---:|');
  for (const [key, table] of Object.entries(JSON.parse(readFileSync(tuneFile, 'utf8')).tables ?? {})) {
    for (const [shape, e] of Object.entries(table)) {
      lines.push(`| ${key.split('|')[0]} | ${shape} | ${e.kernel} / ${e.slices} | ${e.us} | ${n(flop(shape) / e.us / 1e3)} | ${e.ruleUs} | ${ratio(e.ruleUs / e.us)} |`);
    }
  }
}
const whole = jsonl(join(out, 'bench-attn-whole.jsonl'));
if (whole.length) {
  lines.push('', '### GPT attention: the rule in ops.ts (walks in ranges on a GPU, whole on a CPU adapter) against whole walks (CHARLM_WEBGPU_ATTN_PARTS=1), chars/s', '',
    '| preset | train, rule | train, whole | speed-up | sample b1, rule | sample b1, whole | sample b32, rule | sample b32, whole |',
    '|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of whole) {
    const b = bw.find((x) => x.config.preset === w.config.preset);
    lines.push(`| ${w.config.preset} | ${n(b?.train_chars_per_s)} | ${n(w.train_chars_per_s)} | ${ratio(b?.train_chars_per_s / w.train_chars_per_s)} | ` +
      `${n(b?.sample_chars_per_s_b1)} | ${n(w.sample_chars_per_s_b1)} | ${n(b?.sample_chars_per_s_b32)} | ${n(w.sample_chars_per_s_b32)} |`);
  }
}
for (const f of ['agreement.txt', 'dispatch.txt']) {
  if (existsSync(join(out, f))) lines.push('', `### ${f}`, '', '```', readFileSync(join(out, f), 'utf8').trim(), '```');
}
for (const p of ['seed', 'shakespeare-gpt']) {   // the profiles' headers and their 20 costliest kernels
  const f = join(out, `profile-${p}.md`);
  if (existsSync(f)) lines.push('', `### GPU time by kernel: ${p} (profile-${p}.md, top 20)`, '', ...readFileSync(f, 'utf8').trim().split('\n').slice(0, 23));
}
console.log(lines.join('\n'));
