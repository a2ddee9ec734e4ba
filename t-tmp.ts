import { prepareCorpus, corpusFromPaths } from './src/data/prepare.js';
const opt = { separator: '\n', split: { valFraction: 0.1, valFiles: 0 }, unknown: 'skip' as const, cache: false };
for (const f of process.argv.slice(2)) for (let r = 0; r < 2; r++) {
  const t0 = performance.now();
  const d = await prepareCorpus(corpusFromPaths([f]), opt);
  const s = (performance.now() - t0) / 1000;
  console.log(f, d.bytes, (d.bytes / 1e6 / s).toFixed(0), 'MB/s (both passes)', d.vocab.size);
}
