// Renders a training run as one self-contained HTML page: headline numbers, loss / learning-rate / throughput
// charts (inline SVG), the resolved config and the samples taken at each evaluation. No scripts, fonts or images
// are fetched from anywhere, so the file can be mailed, archived or printed as is. Same input → same bytes.
import { familyConfig, type TrainConfig } from '../config.js';
import type { TrainingSummary } from '../model/io.js';
import type { MetricRecord } from '../train/metrics.js';
import { escapeXml as esc, lineChart, type Series } from './svg.js';
import { buildTimeline, keyNumbers } from './timeline.js';

export interface ModelInfo {
  /** e.g. "Embedding(65,64) → LSTM(128) × 2 → Linear(128,65)" */
  architecture: string;
  parameters: number;
  vocabSize: number;
}

export interface ReportInput {
  /** The run folder, shown in the title. */
  runDir: string;
  metrics: MetricRecord[];
  /** The training summary stored in the checkpoint, if one was found. */
  summary: TrainingSummary | null;
  /** The fully resolved training config, if known. */
  config: Record<string, unknown> | null;
  modelInfo: ModelInfo | null;
}

const TRAIN = '#1f6feb', VAL = '#d1495b', LR = '#2a9d8f', RATE = '#7a5195';

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1f2933;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 24px 48px}
header h1{font-size:22px;margin:0 0 2px;font-weight:650}
header p{margin:0;color:#52606d}
code,pre,td.v{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
h2{font-size:16px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid #d9dee3}
.cards{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:10px;margin-top:18px}
.card{background:#fff;border:1px solid #d9dee3;border-radius:6px;padding:10px 12px}
.card .k{font-size:11.5px;text-transform:uppercase;letter-spacing:.04em;color:#7b8794}
.card .n{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.card .u{font-size:13px;font-weight:400;color:#52606d;margin-left:4px}
.card .s{font-size:12px;color:#52606d}
.card.wide{grid-column:span 2}
.card.wide .n{font-size:14px;white-space:normal;padding-top:4px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-weight:500}
.charts{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:12px}
.chart-box{background:#fff;border:1px solid #d9dee3;border-radius:6px;padding:6px}
svg.chart{display:block;width:100%;height:auto}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d9dee3}
td{padding:4px 10px;border-bottom:1px solid #eef0f2;vertical-align:top}
td.k{color:#52606d;white-space:nowrap}
td.v{word-break:break-all}
.sample{background:#fff;border:1px solid #d9dee3;border-left:3px solid #9aa5b1;border-radius:4px;margin:0 0 10px;padding:8px 12px}
.sample.best{border-left-color:${VAL}}
.sample .meta{font-size:12.5px;color:#52606d;margin-bottom:4px;font-variant-numeric:tabular-nums}
.sample .meta b{color:#1f2933}
.tag{display:inline-block;font-size:11px;padding:0 6px;border-radius:8px;background:#fde8eb;color:#a61e35;margin-left:6px}
pre{margin:0;white-space:pre-wrap;word-break:break-word;color:#1f2933}
.note{color:#7b8794;font-style:italic}
footer{margin-top:32px;color:#9aa5b1;font-size:12px}
@media (max-width:760px){.charts{grid-template-columns:1fr}.cards{grid-template-columns:repeat(2,minmax(0,1fr))}}
@media print{
  body{background:#fff;font-size:11pt}
  main{max-width:none;padding:0}
  .card,.chart-box,.sample,table{border-color:#bbb}
  .chart-box,.sample,.cards,tr{break-inside:avoid}
  h2{break-after:avoid}
}
@page{margin:14mm}
`;

const fixed = (v: number | null | undefined, d: number): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
const int = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Math.round(v).toLocaleString('en-US'));
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** "42 s", "3 min 20 s", "2 h 05 min". */
export function formatDuration(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '—';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s - m * 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

function card(label: string, value: string, unit: string, sub = '', wide = false): string {
  const u = unit && /^[\d.,-]+$/.test(value) ? `<span class="u">${esc(unit)}</span>` : '';
  return `<div class="card${wide ? ' wide' : ''}"><div class="k">${esc(label)}</div><div class="n">${esc(value)}${u}</div>`
    + (sub ? `<div class="s">${esc(sub)}</div>` : '') + '</div>';
}

function configValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v) ?? String(v);
}

/** Key/value pairs laid out three to a row so a 30-key config stays compact on screen and paper. */
function configTable(config: Record<string, unknown>): string {
  const entries = Object.entries(config);
  const rows: string[] = [];
  for (let i = 0; i < entries.length; i += 3) {
    const cells = entries.slice(i, i + 3).map(([k, v]) => `<td class="k">${esc(k)}</td><td class="v">${esc(configValue(v))}</td>`);
    while (cells.length < 3) cells.push('<td class="k"></td><td class="v"></td>');
    rows.push(`<tr>${cells.join('')}</tr>`);
  }
  return `<table>${rows.join('')}</table>`;
}

/** Picks a wall-clock unit that keeps tick labels short. */
function timeAxis(totalS: number | null): { div: number; label: string } {
  const t = totalS ?? 0;
  if (t >= 3 * 3600) return { div: 3600, label: 'wall time (hours)' };
  if (t >= 180) return { div: 60, label: 'wall time (minutes)' };
  return { div: 1, label: 'wall time (seconds)' };
}

export function renderReport(input: ReportInput): string {
  const tl = buildTimeline(input.metrics);
  const k = keyNumbers(tl);
  const s = input.summary, mi = input.modelInfo;
  const folder = input.runDir.replace(/[\\/]+$/, '').split(/[\\/]/).pop() || input.runDir;
  const corpus = s?.corpus ?? (typeof input.config?.corpus === 'string' ? input.config.corpus : null);
  const bestVal = k.bestValLoss ?? num(s?.bestValLoss);
  const finalTrain = k.finalTrainLoss ?? num(s?.trainLoss);
  const steps = k.steps ?? num(s?.steps);
  const epochs = k.epochs ?? num(s?.epochs);
  const hasVal = tl.evals.some((e) => num(e.val_loss) !== null);

  // Runs from before protocols were named used the stream protocol.
  const protocol = String(tl.evals.find((e) => typeof e.protocol === 'string')?.protocol ?? 'stream');
  const cards = [
    card('best val loss', hasVal || bestVal !== null ? fixed(bestVal, 4) : 'no validation', 'nats/char',
         bestVal !== null ? `${fixed(bestVal / Math.LN2, 3)} bits/char${k.bestValStep !== null ? ` · step ${int(k.bestValStep)}` : ''} · ${esc(protocol)} protocol` : ''),
    card('final train loss', fixed(finalTrain, 4), 'nats/char', finalTrain !== null ? `${fixed(finalTrain / Math.LN2, 3)} bits/char` : ''),
    card('steps', int(steps), '', epochs !== null ? `${fixed(epochs, epochs < 10 ? 3 : 1)} epochs` : ''),
    card('total time', formatDuration(k.totalSeconds), '', tl.resumes ? `resumed ${tl.resumes}×` : ''),
    card('throughput', int(k.meanCharsPerS), 'chars/s', s?.backend ? `backend ${s.backend}` : 'mean over log intervals'),
    card('parameters', int(mi?.parameters), '', mi ? `vocabulary ${int(mi.vocabSize)} chars` : 'no checkpoint found'),
    card('architecture', mi?.architecture ?? '—', '', s ? `${int(s.charsSeen)} chars seen` : '', true),
  ].join('');

  const trainLossVs = (x: (r: (typeof tl.train)[number]) => number): Series =>
    ({ name: 'train', color: TRAIN, points: tl.train.map((r) => [x(r), num(r.loss)]) });
  const valLossVs = (x: (r: (typeof tl.evals)[number]) => number): Series =>
    ({ name: 'validation', color: VAL, markers: true, points: tl.evals.map((r) => [x(r), num(r.val_loss)]) });
  const ta = timeAxis(k.totalSeconds);
  const wall = (r: { elapsed_s: number }) => r.elapsed_s / ta.div;
  const lossY = 'loss (nats/char)';
  // Loss charts: the y range covers validation and the training curve after its first 5% of steps, so the
  // first steps' loss (ln V and above) does not flatten the part of the curve worth reading.
  const late = tl.train.slice(Math.floor(tl.train.length * 0.05)).map((r) => num(r.loss));
  const lossVals = [...late, ...tl.evals.map((r) => num(r.val_loss))].filter((v): v is number => v !== null && Number.isFinite(v));
  const lossMax = lossVals.length ? Math.max(...lossVals) * 1.05 : undefined;
  const charts = [
    lineChart({ title: 'Loss vs step', xLabel: 'step', yLabel: lossY, yMax: lossMax, series: [trainLossVs((r) => r.step), valLossVs((r) => r.step)] }),
    lineChart({ title: 'Loss vs wall time', xLabel: ta.label, yLabel: lossY, yMax: lossMax, series: [trainLossVs(wall), valLossVs(wall)] }),
    lineChart({ title: 'Learning rate', xLabel: 'step', yLabel: 'learning rate',
                series: [{ name: 'lr', color: LR, points: tl.train.map((r) => [r.step, num(r.lr)]) }] }),
    lineChart({ title: 'Throughput', xLabel: 'step', yLabel: 'chars / second',
                series: [{ name: 'chars/s', color: RATE, points: tl.train.map((r) => [r.step, num(r.chars_per_s)]) }] }),
  ].map((c) => `<div class="chart-box">${c}</div>`).join('');

  const samples = tl.evals.length === 0
    ? '<p class="note">No evaluations were recorded (no validation split or no eval interval), so there are no samples.</p>'
    : tl.evals.map((e) => {
      const text = typeof e.sample === 'string' && e.sample.length ? `<pre>${esc(e.sample)}</pre>` : '<p class="note">(no sample taken)</p>';
      return `<div class="sample${e.best ? ' best' : ''}"><div class="meta"><b>step ${int(e.step)}</b> · val loss ${fixed(num(e.val_loss), 4)} nats/char`
        + ` (${fixed(num(e.val_bpc), 3)} bits/char) · train loss ${fixed(num(e.train_loss), 4)}${e.best ? '<span class="tag">best so far</span>' : ''}</div>${text}</div>`;
    }).join('');

  const config = input.config && Object.keys(input.config).length
    ? configTable(familyConfig(input.config as unknown as TrainConfig) as Record<string, unknown>)
    : '<p class="note">The resolved config was not found (no checkpoint with a training summary in this folder).</p>';

  const subtitle = [`run folder <code>${esc(input.runDir)}</code>`, corpus ? `corpus <code>${esc(corpus)}</code>` : '',
                    tl.train.length + tl.evals.length === 0 ? 'metrics.jsonl holds no records' : ''].filter(Boolean).join(' · ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>charlm report — ${esc(folder)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header><h1>charlm training report — ${esc(folder)}</h1><p>${subtitle}</p></header>
<section class="cards">${cards}</section>
<h2>Curves</h2>
<section class="charts">${charts}</section>
<h2>Samples at each evaluation</h2>
<section>${samples}</section>
<h2>Resolved training config</h2>
<section>${config}</section>
<footer>Generated by <code>charlm report</code> from metrics.jsonl${mi ? ' and last.safetensors' : ''}. Losses are mean cross-entropy in nats per character; bits/char = nats/char ÷ ln 2.</footer>
</main>
</body>
</html>
`;
}
