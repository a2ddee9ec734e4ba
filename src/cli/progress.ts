// Training progress for the terminal: a live bar (cli-progress) on a TTY, one plain line per log interval
// otherwise. Evaluation results and notices go on their own lines.
import cliProgress from 'cli-progress';
import type { TrainEvent } from '../train/loop.js';
import { describeChar } from '../data/vocab.js';

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private tty = process.stderr.isTTY === true;
  constructor(private quiet: boolean) {}

  event(e: TrainEvent): void {
    if (e.type === 'notice') { this.line(`charlm: ${e.message}`); return; } // shown even with --quiet
    if (this.quiet) return;
    switch (e.type) {
      case 'start': {
        const u = e.unknownChars.length ? `; ${e.unknownChars.length} characters of the new text are not in the model's vocabulary and are skipped: ${e.unknownChars.slice(0, 20).map(describeChar).join(' ')}` : '';
        this.line(`model ${e.params.toLocaleString('en-US')} parameters, vocabulary ${e.vocabSize}; train ${e.trainChars.toLocaleString('en-US')} chars, ` +
                  `val ${e.valChars.toLocaleString('en-US')}; ${e.stepsPerEpoch} steps/epoch, ${e.totalSteps} steps; backend ${e.backend}${u}`);
        if (this.tty) {
          this.bar = new cliProgress.SingleBar({
            format: 'step {value}/{total} |{bar}| epoch {epoch} | loss {loss} | {cps} chars/s | ETA {eta_formatted}',
            stream: process.stderr, hideCursor: true, etaBuffer: 50, fps: 5,
          }, cliProgress.Presets.shades_classic);
          this.bar.start(e.totalSteps, e.startStep, { epoch: '0.00', loss: '—', cps: '—' });
        }
        break;
      }
      case 'step':
        if (this.bar) {
          this.bar.update(e.step, { epoch: e.epoch.toFixed(2), loss: e.loss.toFixed(4), cps: Math.round(e.charsPerS).toLocaleString('en-US') });
        } else {
          this.line(`step ${e.step}/${e.totalSteps} epoch ${e.epoch.toFixed(2)} loss ${e.loss.toFixed(4)} lr ${e.lr.toExponential(2)} ` +
                    `${Math.round(e.charsPerS)} chars/s elapsed ${e.elapsedS.toFixed(1)}s eta ${Math.round(e.etaS)}s`);
        }
        break;
      case 'eval':
        this.line(`eval step ${e.step}: val loss (${e.protocol}) ${e.valLoss.toFixed(4)} nats/char (${e.valBpc.toFixed(3)} bits/char)${e.best ? ' *best*' : ''}` +
                  (e.sample ? `\n  sample: ${JSON.stringify(e.sample.slice(0, 120))}` : ''));
        break;
      case 'saved': break;
    }
  }

  private line(s: string): void {
    if (this.bar) { process.stderr.write('\r\x1b[K'); }
    process.stderr.write(s + '\n');
  }

  stop(): void {
    if (this.bar) { this.bar.stop(); this.bar = null; }
  }
}
