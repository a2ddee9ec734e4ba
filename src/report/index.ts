// Reads a training run folder (metrics.jsonl, plus the metadata of last.safetensors or best.safetensors when
// present) and writes a self-contained HTML report beside it, atomically. Used by `charlm report`.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CharlmError } from '../errors.js';
import { refBackend } from '../kernels/ref/index.js';
import { architecture } from '../model/describe.js';
import { writeFileAtomic } from '../util/fs.js';
import { loadModelFile, type TrainingSummary } from '../model/io.js';
import type { MetricRecord } from '../train/metrics.js';
import { renderReport, type ModelInfo, type ReportInput } from './html.js';

export { renderReport, type ReportInput, type ModelInfo } from './html.js';

const HINT_RUN = 'pass the --out folder of a `charlm train` run (it holds metrics.jsonl)';

/** Parses metrics.jsonl; a line that is not a JSON object with a type and step is an error naming the line. */
export function parseMetrics(text: string, source: string): MetricRecord[] {
  const out: MetricRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let rec: unknown;
    try { rec = parseLine(line); } catch (e) {
      // A partial last line is what an interrupted write leaves: skip it rather than refuse the whole run.
      if (i === lines.length - 1 && !text.endsWith('\n')) continue;
      throw new CharlmError('METRICS_INVALID', `${source} line ${i + 1} is not valid JSON: ${(e as Error).message}`,
        `fix or delete line ${i + 1}; every line must be one JSON record written by \`charlm train\``);
    }
    const r = rec as Partial<MetricRecord> | null;
    if (!r || typeof r !== 'object' || (r.type !== 'train' && r.type !== 'eval') || typeof r.step !== 'number') {
      throw new CharlmError('METRICS_INVALID', `${source} line ${i + 1} is not a charlm metrics record`,
        'each line must be {"type":"train"|"eval","step":N,...} as written by `charlm train`');
    }
    out.push(r as MetricRecord);
  }
  return out;
}

/** JSON.stringify writes NaN as null, but other tools may write bare NaN/Infinity: read those as null. */
function parseLine(line: string): unknown {
  try { return JSON.parse(line); } catch (e) {
    try { return JSON.parse(line.replace(/(?<=[:,[]\s*)-?(NaN|Infinity)(?=\s*[,}\]])/g, 'null')); } catch { throw e; }
  }
}


/** Everything renderReport needs, read from a run folder. */
export function readRun(runDir: string): ReportInput {
  if (!existsSync(runDir)) throw new CharlmError('RUN_NOT_FOUND', `${runDir} does not exist`, HINT_RUN);
  if (!statSync(runDir).isDirectory()) {
    throw new CharlmError('RUN_NOT_FOUND', `${runDir} is not a folder`, `${HINT_RUN}, not a file inside it`);
  }
  const metricsPath = join(runDir, 'metrics.jsonl');
  if (!existsSync(metricsPath)) throw new CharlmError('METRICS_MISSING', `${runDir} has no metrics.jsonl`, HINT_RUN);
  let text: string;
  try { text = readFileSync(metricsPath, 'utf8'); } catch (e) {
    throw new CharlmError('METRICS_UNREADABLE', `cannot read ${metricsPath}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'check its permissions');
  }
  const metrics = parseMetrics(text, metricsPath);

  let summary: TrainingSummary | null = null, modelInfo: ModelInfo | null = null;
  for (const name of ['last.safetensors', 'best.safetensors']) {
    const p = join(runDir, name);
    if (!existsSync(p)) continue;
    try {
      const lm = loadModelFile(p, refBackend);
      summary = lm.training;
      modelInfo = { architecture: architecture(lm.config), parameters: lm.model.params.size, vocabSize: lm.vocab.size };
      break;
    } catch (e) {
      // A damaged checkpoint should not hide the curves: report without its metadata.
      if (!(e instanceof CharlmError)) throw e;
    }
  }
  return { runDir, metrics, summary, config: summary?.trainConfig ?? null, modelInfo };
}

/** Writes the report (default DIR/report.html) and returns its path. */
export function writeReport(runDir: string, outPath?: string): string {
  const html = renderReport(readRun(runDir));
  const out = outPath ?? join(runDir, 'report.html');
  writeFileAtomic(out, new TextEncoder().encode(html));
  return out;
}
