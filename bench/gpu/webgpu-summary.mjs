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
const wu = jsonl(join(out, 'gemm-wgsl-unchecked.jsonl'));   // the same kernels without WebGPU's index clamps
const peak = tg.find((r) => r.fp32_peak_gflops)?.fp32_peak_gflops;
lines.push(`### WGSL SGEMM (fp32 peak ${peak ? `${n(peak)} GFLOP/s` : 'unknown'})`, '',
  '| product | M×N×K | WGSL kernel / K slices | WGSL GFLOP/s | unclamped GFLOP/s | cuBLAS (TF32 off) GFLOP/s | WGSL share of fp32 peak | unclamped share | WGSL / cuBLAS |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const w of wg) {
  const t = tg.find((r) => r.what === w.what && r.M === w.M);
  const u = wu.find((r) => r.what === w.what && r.M === w.M && r.kernel === w.kernel && r.k_slices === w.k_slices);
  lines.push(`| ${w.what} | ${w.M}×${w.N}×${w.K} | ${w.kernel ?? w.tile} / ${w.k_slices}${w.in_use ? ' (rule)' : ''}${w.tuned ? ' (tuned)' : ''} | ${n(w.gflops)} | ${n(u?.gflops)} | ${n(t?.gflops)} | ` +
    `${pct(w.gflops / peak)} | ${pct(u?.gflops / peak)} | ${ratio(w.gflops / t?.gflops)} |`);
}

// Per product, the rule's kernel (chooseMatmul in ops.ts: what a GPU runs with CHARLM_WEBGPU_TUNE=0) and the tuner's
// (what a GPU runs by default) against the fastest one timed.
const shapes = [...new Set(wg.map((w) => `${w.what}|${w.M}`))];
if (shapes.length) {
  lines.push('', '#### Fastest SGEMM per product (against the rule\'s and the tuner\'s)', '',
    '| product | rule | GFLOP/s | tuned | GFLOP/s | share of fp32 peak | fastest | GFLOP/s | fastest / rule |', '|---|---|---:|---|---:|---:|---|---:|---:|');
  for (const key of shapes) {
    const rows = wg.filter((w) => `${w.what}|${w.M}` === key), use = rows.find((w) => w.in_use), tun = rows.find((w) => w.tuned);
    const best = rows.reduce((a, b) => (b.ms_per_product < a.ms_per_product ? b : a));   // ms: GFLOP/s is rounded
    lines.push(`| ${best.what} | ${use ? `${use.kernel} / ${use.k_slices}` : '–'} | ${n(use?.gflops)} | ` +
      `${tun ? `${tun.kernel} / ${tun.k_slices}` : '–'} | ${n(tun?.gflops)} | ${pct(tun?.gflops / peak)} | ${best.kernel} / ${best.k_slices} | ` +
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
/** A table of bench-webgpu.jsonl (the defaults, column `a`) against another run of the three presets (column `b`). */
function abTable(file, title, a, b) {
  const other = jsonl(join(out, file));
  if (!other.length) return;
  lines.push('', `### ${title}, chars/s`, '',
    `| preset | train, ${a} | train, ${b} | speed-up | sample b1, ${a} | sample b1, ${b} | sample b32, ${a} | sample b32, ${b} |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of other) {
    const d = bw.find((x) => x.config.preset === w.config.preset);
    lines.push(`| ${w.config.preset} | ${n(d?.train_chars_per_s)} | ${n(w.train_chars_per_s)} | ${ratio(d?.train_chars_per_s / w.train_chars_per_s)} | ` +
      `${n(d?.sample_chars_per_s_b1)} | ${n(w.sample_chars_per_s_b1)} | ${n(d?.sample_chars_per_s_b32)} | ${n(w.sample_chars_per_s_b32)} |`);
  }
}
abTable('bench-rule.jsonl', 'Kernels timed per shape (the default on GPUs, src/kernels/webgpu/tuner.ts) against ops.ts\'s rules (CHARLM_WEBGPU_TUNE=0)', 'timed', 'rule');
abTable('bench-unchecked.jsonl', 'WebGPU\'s index clamps (the default) against none (CHARLM_WEBGPU_ROBUSTNESS=off: a speed-up under 1× means dropping them pays)', 'clamped', 'unchecked');
const tuneFile = join(out, 'tuning.json');
if (existsSync(tuneFile)) {
  // SGEMM keys M×N×K with n/t per operand; attention keys att-fwd|bwd:rows×T×hd (flops: causal, about half of T keys
  // per row, 4 per key and head dimension forward, 8 backward)
  const flop = (key) => {
    const att = key.match(/^att-(fwd|bwd):(\d+)x(\d+)x(\d+)$/);
    if (att) return (att[1] === 'fwd' ? 2 : 4) * att[2] * att[3] * att[4];
    const [M, N, K] = key.split('x').map((x) => parseInt(x, 10)); return 2 * M * N * K;
  };
  lines.push('', '#### The tuner\'s choice per shape (SGEMM M×N×K, n/t: plain or transposed A and B; attention rows×T×head size)', '',
    '| adapter | shape | chosen | µs | GFLOP/s | the rule\'s µs | × |', '|---|---|---|---:|---:|---:|---:|');
  for (const [key, table] of Object.entries(JSON.parse(readFileSync(tuneFile, 'utf8')).tables ?? {})) {
    for (const [shape, e] of Object.entries(table)) {
      const what = e.P !== undefined ? `${e.P} range${e.P > 1 ? 's' : ''} of ${e.L}${e.vec ? ', vec4 loads' : ''}`
        : `${e.kernel} / ${e.slices} K slice${e.slices > 1 ? 's' : ''}`;
      lines.push(`| ${key.split('|')[0]}${key.split('|')[2] ? ` (${key.split('|')[2]})` : ''} | ${shape} | ${what} | ${e.us} | ${n(flop(shape) / e.us / 1e3)} | ${e.ruleUs} | ${ratio(e.ruleUs / e.us)} |`);
    }
  }
}
abTable('bench-attn-whole.jsonl', 'GPT attention: as chosen (timed ranges on a GPU, whole walks on a CPU adapter) against whole walks (CHARLM_WEBGPU_ATTN_PARTS=1)', 'chosen', 'whole');
for (const f of ['agreement.txt', 'dispatch.txt']) {
  if (existsSync(join(out, f))) lines.push('', `### ${f}`, '', '```', readFileSync(join(out, f), 'utf8').trim(), '```');
}
for (const p of ['seed', 'shakespeare-gpt']) {   // the profiles' headers and their 20 costliest kernels
  const f = join(out, `profile-${p}.md`);
  if (existsSync(f)) lines.push('', `### GPU time by kernel: ${p} (profile-${p}.md, top 20)`, '', ...readFileSync(f, 'utf8').trim().split('\n').slice(0, 23));
}
console.log(lines.join('\n'));
