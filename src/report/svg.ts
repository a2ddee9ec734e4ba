// A small, dependency-free line chart rendered as an inline SVG string for the run report: "nice" axis ticks,
// gridlines, axis labels and a legend. Non-finite points (NaN, null, ±Infinity) break a line instead of
// distorting the scale; an empty chart says so instead of drawing axes around nothing.

export interface Series {
  name: string;
  color: string;
  /** [x, y] pairs; y may be null or non-finite (skipped, breaking the line). */
  points: [number, number | null][];
  /** Draw a dot at every point (for sparse series such as evaluations). */
  markers?: boolean;
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Tick label formatters; default: compact numbers. */
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
  /** Upper bound of the y range; points above it are clipped (keeps an early loss spike from flattening the rest). */
  yMax?: number;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Tick positions covering [lo, hi] with steps of 1, 2 or 5 × 10^k (about `count` of them). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

/** Compact tick label: 1.5k, 2M, 0.004, 3e-5. */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  if (a < 1e-3) return v.toExponential(1).replace('.0e', 'e');
  return trim(v);
}

function trim(v: number): string {
  return String(Number(v.toPrecision(4)));
}

/** Extends a degenerate or padded range so a flat or single-point series still gets a visible scale. */
function domain(values: number[], padFrac: number, zeroFloor: boolean): [number, number] {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi === lo) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d; hi += d;
  } else {
    const pad = (hi - lo) * padFrac;
    lo -= pad; hi += pad;
  }
  if (zeroFloor && lo < 0 && Math.min(...values) >= 0) lo = 0;
  return [lo, hi];
}

export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 520, H = o.height ?? 300;
  const m = { l: 62, r: 16, t: 34, b: 46 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const fx = o.xFormat ?? formatTick, fy = o.yFormat ?? formatTick;
  const finite = (p: [number, number | null]): p is [number, number] => Number.isFinite(p[0]) && p[1] !== null && Number.isFinite(p[1]);
  const pts = o.series.flatMap((s) => s.points.filter(finite));
  const head = `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(o.title)}" ${FONT}>`
    + `<text x="${m.l}" y="20" font-size="14" font-weight="600" fill="#1f2933">${escapeXml(o.title)}</text>`;
  if (pts.length === 0) {
    return `${head}<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="#f7f8fa" stroke="#d9dee3"/>`
      + `<text x="${m.l + pw / 2}" y="${m.t + ph / 2}" text-anchor="middle" font-size="13" fill="#7b8794">no data recorded</text></svg>`;
  }
  // Steps and seconds start at 0: anchor the x axis there so charts of one run line up with each other.
  const xs = pts.map((p) => p[0]);
  const [x0, x1] = domain(Math.min(...xs) >= 0 && Math.max(...xs) > 0 ? [0, ...xs] : xs, 0, true);
  const ys = pts.map((p) => p[1]), inRange = ys.filter((v) => o.yMax === undefined || v <= o.yMax);
  const [y0raw, y1raw] = domain(inRange.length ? inRange : ys, 0.05, true);
  const xt = niceTicks(x0, x1, 6), yt = niceTicks(y0raw, y1raw, 5);
  // Snap the y range outward to the ticks so gridlines frame the data.
  const ystep = yt.length > 1 ? yt[1] - yt[0] : 0;
  const y0 = ystep && yt[0] > y0raw ? yt[0] - ystep : Math.min(y0raw, yt[0]);
  const y1 = ystep && yt[yt.length - 1] < y1raw ? yt[yt.length - 1] + ystep : Math.max(y1raw, yt[yt.length - 1]);
  const yTicks = ystep ? niceTicks(y0, y1, 5) : yt;
  const sx = (v: number) => m.l + ((v - x0) / (x1 - x0)) * pw;
  const sy = (v: number) => m.t + ph - ((v - y0) / (y1 - y0)) * ph;
  const r = (v: number) => v.toFixed(1);

  const parts: string[] = [head];
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="#ffffff" stroke="#9aa5b1"/>`);
  for (const t of yTicks) {
    if (t < y0 - 1e-12 || t > y1 + 1e-12) continue;
    const y = r(sy(t));
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#e4e7eb"/>`,
               `<text x="${m.l - 6}" y="${y}" dy="0.32em" text-anchor="end" font-size="11" fill="#52606d">${escapeXml(fy(t))}</text>`);
  }
  for (const t of xt) {
    if (t < x0 - 1e-12 || t > x1 + 1e-12) continue;
    const x = r(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" stroke="#eef0f2"/>`,
               `<line x1="${x}" x2="${x}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="#9aa5b1"/>`,
               `<text x="${x}" y="${m.t + ph + 16}" text-anchor="middle" font-size="11" fill="#52606d">${escapeXml(fx(t))}</text>`);
  }
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="12" fill="#323f4b">${escapeXml(o.xLabel)}</text>`,
             `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="#323f4b">${escapeXml(o.yLabel)}</text>`);

  const clipId = `clip-${o.title.replace(/[^A-Za-z0-9]+/g, '-')}`;
  parts.push(`<clipPath id="${clipId}"><rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}"/></clipPath>`, `<g clip-path="url(#${clipId})">`);
  for (const s of o.series) {
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    let d = '', pen = false;
    for (const p of s.points) {
      if (!finite(p)) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${r(sx(p[0]))} ${r(sy(p[1]))}`;
      pen = true;
    }
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dash}/>`);
    const lone = s.points.filter(finite);
    if (s.markers || lone.length === 1) {
      for (const p of lone) parts.push(`<circle cx="${r(sx(p[0]))}" cy="${r(sy(p[1]))}" r="3" fill="#fff" stroke="${s.color}" stroke-width="2"/>`);
    }
  }
  parts.push('</g>');

  // Legend, top right inside the title row; only series that have data.
  const shown = o.series.filter((s) => s.points.some(finite));
  if (shown.length > 1 || (shown.length === 1 && o.series.length > 1)) {
    let x = W - m.r;
    const items: string[] = [];
    for (const s of [...shown].reverse()) {
      const w = 7 * s.name.length + 30;
      x -= w;
      const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
      items.push(`<line x1="${x}" x2="${x + 20}" y1="15" y2="15" stroke="${s.color}" stroke-width="2"${dash}/>`
        + (s.markers ? `<circle cx="${x + 10}" cy="15" r="3" fill="#fff" stroke="${s.color}" stroke-width="2"/>` : '')
        + `<text x="${x + 25}" y="15" dy="0.32em" font-size="11" fill="#323f4b">${escapeXml(s.name)}</text>`);
    }
    parts.push(...items.reverse());
  }
  parts.push('</svg>');
  return parts.join('');
}
