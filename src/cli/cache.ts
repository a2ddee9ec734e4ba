// `charlm cache ls|clear`: the token cache (encoded corpora kept under <cache dir>/tokens so a second train or eval
// on a large corpus starts in seconds). Entries are named by a hash of their inputs and options.
import type { Command } from 'commander';
import { clearCache, listCache, tokenCacheDir } from '../data/tokencache.js';

const size = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`);

export function register(program: Command): void {
  const cache = program.command('cache').description(`manage the token cache (${tokenCacheDir()}; CHARLM_CACHE_DIR moves it)`);
  cache.command('ls')
    .description('list cached corpora: size, tokens, vocabulary, last use; "stale" when an input file changed since')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const dir = tokenCacheDir(), entries = listCache(dir);
      if (o.json) { console.log(JSON.stringify({ dir, entries }, null, 2)); return; }
      console.log(`token cache ${dir}: ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}, ${size(entries.reduce((a, e) => a + e.diskBytes, 0))}`);
      for (const e of entries) {
        console.log(`${e.key.slice(0, 12)}  ${size(e.diskBytes).padStart(9)}  ${e.tokens.toLocaleString('en-US').padStart(15)} tokens  ` +
                    `V ${String(e.vocabSize).padEnd(6)} ${e.lastUsed.slice(0, 16).replace('T', ' ')}  ${e.stale ? 'stale ' : ''}${e.description}`);
      }
    });
  cache.command('clear')
    .description('delete cached corpora (all, or only stale ones); downloaded datasets stay')
    .option('--stale', 'only entries whose input files changed or vanished')
    .action((o: { stale?: boolean }) => {
      const r = clearCache(tokenCacheDir(), { staleOnly: o.stale });
      console.log(`removed ${r.entries} ${r.entries === 1 ? 'entry' : 'entries'}, ${size(r.bytes)}`);
    });
}
