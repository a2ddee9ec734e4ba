#!/usr/bin/env node
// Bigger data, measured (issue 13's targets): streaming encoding speed per pass on ASCII, Latin-1-ish, CJK and .gz
// text, the native kernels against their TypeScript twins; a multi-GB corpus in a folder trained with the `tiny`
// preset for a few steps: first run encodes and writes the token cache, then two runs from the cache and one more
// after dropping the entry from the page cache; each with the time from process start to the first training step
// and the peak resident memory (getrusage maxrss, printed by the child at exit). The generated corpus lives under
// --dir and is deleted afterwards (--keep keeps it).
// Usage (after `npm install`): node bench/bigdata.mjs [--gb 2] [--files 32] [--encode-mb 256] [--dir /tmp/charlm-bigdata]
//        [--reps 1] [--native-only] [--text tinyshakespeare.txt] [--skip-encode] [--skip-train] [--keep];  node bench/bigdata.mjs --small  (tiny Shakespeare only)
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { once } from 'node:events';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const REPS = Number(opt('--reps', '1')), GB = Number(opt('--gb', '2')), FILES = Number(opt('--files', '32')), ENCODE_MB = Number(opt('--encode-mb', '256'));
const DIR = resolve(opt('--dir', '/tmp/charlm-bigdata'));
const ROOT = resolve(new URL('..', import.meta.url).pathname);
const SHAKESPEARE = resolve(opt('--text', resolve(ROOT, '..', 'shared', 'data', 'tinyshakespeare.txt')));
const CJK = join(ROOT, 'test', 'fixtures', 'text', 'tang-poems.txt');
const CACHE = join(DIR, 'cache');
const env = { ...process.env, CHARLM_QUIET_NATIVE: '1', CHARLM_CACHE_DIR: CACHE };

if (args.includes('--child-encode')) { await childEncode(opt('--child-encode'), opt('--kernels', 'native')); process.exit(0); }
if (args.includes('--small')) { await small(); process.exit(0); }

/** tiny Shakespeare: the in-memory encoder of earlier versions against the streaming one, CPU ms, alternating. */
async function small() {
  const { prepareCorpus, corpusFromPaths } = await import(join(ROOT, 'dist', 'node.js'));
  const { readTextFile, encodeCorpus, splitTrainVal } = await import(join(ROOT, 'dist', 'data', 'corpus.js'));
  const { Vocab } = await import(join(ROOT, 'dist', 'data', 'vocab.js'));
  const cpuMs = async (f) => { const c = process.cpuUsage(); await f(); const u = process.cpuUsage(c); return (u.user + u.system) / 1000; };
  const before = [], now = [];
  for (let r = 0; r < 7; r++) {
    before.push(await cpuMs(() => { const t = readTextFile(SHAKESPEARE); splitTrainVal(encodeCorpus(t, Vocab.fromText(t)), 0.1); }));
    now.push(await cpuMs(() => prepareCorpus(corpusFromPaths([SHAKESPEARE]), { separator: '\n', split: { valFraction: 0.1, valFiles: 0 }, unknown: 'skip', cache: false })));
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(`tiny Shakespeare (1.1 MB), median CPU ms of 7, first run included: in-memory encoder ${med(before).toFixed(0)} ms ` +
              `(first ${before[0].toFixed(0)}), streaming ${med(now).toFixed(0)} ms (first ${now[0].toFixed(0)})`);
}

/** Inside a child: encode one file (no cache) with the native or the TypeScript kernels; print wall and CPU rates per pass. */
async function childEncode(file, which) {
  const { prepareCorpus, corpusFromPaths } = await import(join(ROOT, 'dist', 'node.js'));
  const { createJsKernels, defaultUtf8Kernels } = await import(join(ROOT, 'dist', 'data', 'utf8kernels.js'));
  const kernels = which === 'js' ? createJsKernels() : defaultUtf8Kernels();
  if (kernels.name !== which) throw new Error(`asked for the ${which} kernels, got ${kernels.name} (is the addon built?)`);
  const cpuS = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  // Pass 1 ends (and pass 2 starts) at pass 2's first progress event: the vocabulary and id map are built in between
  // and counted in pass 1, as is reading pass 2's first 1 MiB.
  let c1 = null, t1 = null;
  const onEvent = (e) => { if (e.type === 'data-progress' && e.pass === 2 && c1 === null) { c1 = cpuS(); t1 = performance.now(); } };
  const c0 = cpuS(), t0 = performance.now();
  const d = await prepareCorpus(corpusFromPaths([file]), { separator: '\n', split: { valFraction: 0.1, valFiles: 0 }, unknown: 'skip', cache: false, kernels, onEvent });
  const t2 = performance.now(), c2 = cpuS();
  const mb = d.chars === 0 ? 0 : (file.endsWith('.gz') ? gunzipSync(readFileSync(file)).length : statSync(file).size) / 1e6; // MB of UTF-8 text
  // Calibration: the simplest loop over 64 MB of bytes (a sum), on this machine, now.
  const buf = readFileSync(file).subarray(0, 64e6);
  const k0 = process.cpuUsage();
  let sum = 0;
  for (let r = 0; r < 3; r++) for (let i = 0; i < buf.length; i++) sum += buf[i];
  const ku = process.cpuUsage(k0), sumRate = (3 * buf.length / 1e6) / ((ku.user + ku.system) / 1e6);
  console.log(JSON.stringify({ file, kernels: which, mb, tokens: d.tokens.length, vocab: d.vocab.size,
    wall_s: (t2 - t0) / 1000, cpu_s: c2 - c0, pass1_cpu_s: c1 - c0, pass2_cpu_s: c2 - c1,
    mb_per_s_wall: mb / ((t2 - t0) / 1000), mb_per_s_cpu: mb / (c2 - c0), pass1_mb_per_s_cpu: mb / (c1 - c0), pass2_mb_per_s_cpu: mb / (c2 - c1),
    pass1_mb_per_s_wall: mb / ((t1 - t0) / 1000), pass2_mb_per_s_wall: mb / ((t2 - t1) / 1000), byte_sum_loop_mb_per_s_cpu: sumRate, sum }));
}

/** Latin-1-ish text from English: accents on some letters (about 5% of characters become 2-byte UTF-8), like French or German prose. */
function accented(src) {
  return Buffer.from(src.toString('utf8').replace(/re/g, 'ré').replace(/ou/g, 'oü').replace(/wa/g, 'wä').replace(/ss/g, 'ß').replace(/ea/g, 'éa').replace(/ti/g, 'tï'), 'utf8');
}

/** Whole copies of src (never a cut character) until at least `bytes`. */
async function writeRepeated(file, src, bytes) {
  const out = createWriteStream(file);
  for (let n = 0; n < bytes; n += src.length) if (!out.write(src)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

// Printed by the child: its CPU seconds when it prints its first step line (on an idle machine the wall time to the
// first step is about this), and at exit its peak resident memory in kB (like /usr/bin/time -v's maximum RSS).
const PEAK_RSS = "data:text/javascript,const w=process.stderr.write.bind(process.stderr);let seen=false;" +
  "process.stderr.write=(s,...a)=>{if(!seen&&/^step \\d+\\//m.test(String(s))){seen=true;const u=process.cpuUsage();" +
  "w('cpu_first_step_s '+((u.user+u.system)/1e6)+'\\n')}return w(s,...a)};" +
  "process.on('exit',()=>w('peak_rss_kb '+process.resourceUsage().maxRSS+'\\n'))";

/** Runs the CLI; returns wall time from spawn to the first "step " line, total wall, peak RSS. */
async function timedTrain(argv) {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', PEAK_RSS, join(ROOT, 'bin', 'charlm.js'), ...argv], { env });
  let err = '', firstStep = null;
  child.stderr.on('data', (b) => {
    err += b;
    if (firstStep === null && /\nstep \d+\//.test(err)) firstStep = (performance.now() - t0) / 1000;
  });
  child.stdout.resume();
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`train failed (${code}):\n${err}`);
  const rss = Number(/peak_rss_kb (\d+)/.exec(err)?.[1]) * 1024;
  return { first_step_s: firstStep, cpu_first_step_s: Number(/cpu_first_step_s ([\d.]+)/.exec(err)?.[1]),
           total_s: (performance.now() - t0) / 1000, peak_rss_mb: rss / 1e6,
           lines: err.split('\n').filter((l) => /^(corpus|tokens|model|step|done)/.test(l)) };
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`# ${cpu}, ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at start`);
mkdirSync(DIR, { recursive: true });
const results = { cpu, cores: cpus().length, load_start: loadavg(), encode: [], train: [] };
try {
  // 1. Encoding speed (no cache), one core: ASCII, Latin-1-ish, CJK, gzip; the native kernels and their TypeScript
  //    twins side by side (alternating, --reps rounds; the run with the least CPU time of each is printed).
  if (!args.includes('--skip-encode')) await encodeSpeeds();

  // 2. A GB-sized folder corpus with the tiny preset: cold (encode + write cache), warm (cache) twice, warm with the
  //    entry out of the page cache; then the cache read alone, memory-mapped against copied.
  if (!args.includes('--skip-train')) await gbCorpus();
  results.load_end = loadavg();
  console.log(`# load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`);
  console.log(JSON.stringify(results));
} finally {
  if (!args.includes('--keep')) rmSync(DIR, { recursive: true, force: true });
}

async function encodeSpeeds() {
  const ascii = join(DIR, 'ascii.txt'), latin = join(DIR, 'latin.txt'), cjk = join(DIR, 'cjk.txt'), gz = join(DIR, 'ascii.txt.gz');
  await writeRepeated(ascii, readFileSync(SHAKESPEARE), ENCODE_MB * 1e6);
  const lat = accented(readFileSync(SHAKESPEARE));
  console.log(`# Latin-1-ish text: ${(100 * (lat.length - readFileSync(SHAKESPEARE).length) / lat.toString('utf8').length).toFixed(1)}% of its characters are 2-byte`);
  await writeRepeated(latin, lat, ENCODE_MB * 1e6);
  await writeRepeated(cjk, readFileSync(CJK), ENCODE_MB * 1e6);
  writeFileSync(gz, gzipSync(readFileSync(ascii), { level: 6 }));
  const kinds = args.includes('--native-only') ? ['native'] : ['native', 'js'];
  for (const f of [ascii, latin, cjk, gz]) {
    const best = {};
    for (let rep = 0; rep < REPS; rep++) {
      for (const which of kinds) {
        const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--child-encode', f, '--kernels', which], { encoding: 'utf8', env });
        if (r.status !== 0) throw new Error(r.stderr);
        const j = JSON.parse(r.stdout.trim().split('\n').pop());
        results.encode.push(j);
        if (!best[which] || j.cpu_s < best[which].cpu_s) best[which] = j;
      }
    }
    for (const which of kinds) {
      const j = best[which];
      console.log(`encode ${f.split('/').pop().padEnd(13)} ${which.padEnd(6)} ${j.mb.toFixed(0)} MB (${statSync(f).size / 1e6 | 0} MB on disk): ` +
                  `per CPU-second ${j.mb_per_s_cpu.toFixed(0)} MB/s overall (pass 1 ${j.pass1_mb_per_s_cpu.toFixed(0)}, pass 2 ${j.pass2_mb_per_s_cpu.toFixed(0)}); ` +
                  `wall ${j.mb_per_s_wall.toFixed(0)} MB/s (${j.pass1_mb_per_s_wall.toFixed(0)} / ${j.pass2_mb_per_s_wall.toFixed(0)}); vocab ${j.vocab}; byte-sum loop ${j.byte_sum_loop_mb_per_s_cpu.toFixed(0)} MB/s`);
    }
    rmSync(f);
  }
}

async function gbCorpus() {
  const corpus = join(DIR, 'corpus');
  mkdirSync(corpus, { recursive: true });
  const per = Math.ceil((GB * 1e9) / FILES), src = readFileSync(SHAKESPEARE);
  for (let i = 0; i < FILES; i++) await writeRepeated(join(corpus, `part-${String(i).padStart(3, '0')}.txt`), src, per);
  const argv = ['train', corpus, '--preset', 'tiny', '--steps', '3', '--log-interval', '1', '--eval-chars', '20000',
                '--sample-chars', '0', '--out', join(DIR, 'run'), '--force'];
  const entries = () => readdirSync(join(CACHE, 'tokens')).filter((n) => n.endsWith('.tok')).map((n) => join(CACHE, 'tokens', n));
  const labels = ['cold cache (encode + write cache)', 'warm cache', 'warm cache', 'warm cache, entry evicted from the page cache'];
  for (const label of labels) {
    // GNU dd's nocache flag asks the kernel to drop the file's pages (only this file's) from the page cache.
    if (label.includes('evicted')) for (const f of entries()) spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
    const r = await timedTrain(argv);
    results.train.push({ label, ...r });
    const tokens = Number(/tokens: ([\d,]+)/.exec(r.lines.join('\n'))?.[1].replace(/,/g, '')) / 1e6; // Uint8: 1 byte each
    // A warm run maps the entry: only the pages its batches touch are resident, so RSS is not token array + rest.
    const rss = r.lines.some((l) => l.includes('read from the token cache')) ? 'token array memory-mapped'
      : `token array ${tokens.toFixed(0)} MB + ${(r.peak_rss_mb - tokens).toFixed(0)} MB`;
    console.log(`train ${GB} GB, ${FILES} files, tiny preset, 3 steps, ${label}: first step after ${r.first_step_s?.toFixed(1)} s (${r.cpu_first_step_s.toFixed(1)} CPU-s), ` +
                `total ${r.total_s.toFixed(1)} s, peak RSS ${r.peak_rss_mb.toFixed(0)} MB (${rss})`);
    for (const l of r.lines) console.log(`    ${l}`);
  }
  // The cache read alone, in one process, side by side: the memory map against a copy into a fresh array (the
  // reader without the addon, and of earlier versions), alternating, page cache warm.
  const { readCacheEntry } = await import(join(ROOT, 'dist', 'data', 'tokencache.js'));
  const [entry] = entries(), key = entry.split('/').pop().slice(0, -4);
  for (let rep = 0; rep < 2; rep++) {
    for (const map of [true, false]) {
      const c0 = process.cpuUsage(), t0 = performance.now();
      const e = readCacheEntry(join(CACHE, 'tokens'), key, { map });
      const wall = (performance.now() - t0) / 1000, u = process.cpuUsage(c0), cpuS = (u.user + u.system) / 1e6;
      results.train.push({ label: `cache read, ${map ? 'mapped' : 'copied'}`, wall_s: wall, cpu_s: cpuS, tokens: e.tokens.length });
      console.log(`cache read in process, ${map ? 'memory-mapped' : 'copied into a fresh array'}: ${wall.toFixed(3)} s wall, ${cpuS.toFixed(3)} CPU-s (${e.tokens.length.toLocaleString('en-US')} tokens)`);
    }
  }
}
