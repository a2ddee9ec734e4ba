// Reading a corpus, for the terminal: a live bar while encoding (bytes/s, ETA) on a TTY, then one summary line
// (tokens, vocabulary, speed or cache hit, rare characters mapped to the unknown symbol, held-out files).
import cliProgress from 'cli-progress';
import type { DataEvent } from '../data/prepare.js';
import { describeChar } from '../data/vocab.js';

export function isDataEvent(e: { type: string }): e is DataEvent {
  return e.type.startsWith('data-');
}

const mb = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e5 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`);

export class DataProgress {
  private bar: cliProgress.SingleBar | null = null;
  private t0 = performance.now();
  private readonly tty = process.stderr.isTTY === true;
  constructor(private quiet: boolean) {}

  event(e: DataEvent): void {
    if (this.quiet) return;
    switch (e.type) {
      case 'data-sources':
        this.t0 = performance.now();
        if (e.files > 1 || e.gzip) this.line(`corpus: ${e.files.toLocaleString('en-US')} files${e.gzip ? ` (${e.gzip} gzipped)` : ''}, ${mb(e.bytes)}`);
        break;
      case 'data-progress': {
        if (!this.tty || e.bytesTotal < 4e6) break;
        const value = (e.pass - 1) * e.bytesTotal + e.bytesDone, s = (performance.now() - this.t0) / 1000;
        const payload = { pass: e.pass, rate: s > 0 ? `${mb(value / s)}/s` : '—', done: mb(e.bytesDone), all: mb(e.bytesTotal) };
        if (!this.bar) {
          this.bar = new cliProgress.SingleBar({
            format: 'encoding pass {pass}/2 |{bar}| {done} of {all} | {rate} | ETA {eta_formatted}',
            stream: process.stderr, hideCursor: true, etaBuffer: 20, fps: 5,
          }, cliProgress.Presets.shades_classic);
          this.bar.start(2 * e.bytesTotal, value, payload);
        } else this.bar.update(value, payload);
        break;
      }
      case 'data-ready': {
        this.stop();
        const how = e.fromCache ? `read from the token cache in ${e.seconds.toFixed(1)} s`
          : `encoded in ${e.seconds.toFixed(1)} s${e.bytes >= 1e6 ? ` (${mb(e.bytes / Math.max(e.seconds, 1e-9))}/s)` : ''}${e.cachePath ? ', cached' : ''}`;
        // A small single file says nothing here (the start line gives its size), as before streaming.
        if (e.sources > 1 || e.bytes >= 4e6 || e.fromCache || e.cachePath) {
          this.line(`tokens: ${e.tokens.toLocaleString('en-US')}, vocabulary ${e.vocabSize}; ${how}`);
        }
        if (e.unknown.distinct > 0) {
          this.line(`rare characters: ${e.unknown.distinct.toLocaleString('en-US')} distinct (${e.unknown.occurrences.toLocaleString('en-US')} occurrences) ` +
                    `map to the unknown symbol, e.g. ${e.unknown.chars.slice(0, 12).map(describeChar).join(' ')}`);
        }
        if (e.heldOut.length) {
          this.line(`validation files (${e.heldOut.length}): ${e.heldOut.slice(0, 8).join(', ')}${e.heldOut.length > 8 ? ', …' : ''}`);
        }
        break;
      }
      case 'data-notice':
        this.line(`charlm: ${e.message}`);
        break;
    }
  }

  private line(s: string): void {
    if (this.bar) process.stderr.write('\r\x1b[K');
    process.stderr.write(s + '\n');
  }

  stop(): void {
    if (this.bar) { this.bar.stop(); this.bar = null; }
  }
}
