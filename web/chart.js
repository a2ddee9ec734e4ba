// The loss chart shared by the pages: [step, trainLoss, valLoss|null] points → an inline SVG line chart
// (train solid, validation dashed with dots). Plain browser JavaScript; text goes in through textContent.

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** history: [step, trainLoss, valLoss|null][] → an SVG line chart (train solid, validation dashed). */
export function drawLoss(box, history, { empty = 'no loss history in this checkpoint', width = 300, height = 170 } = {}) {
  if (!history.length) { box.replaceChildren(el('div', { class: 'empty' }, empty)); return; }
  const W = width, H = height, L = 36, R = 8, T = 22, B = 22;
  const steps = history.map((h) => h[0]), vals = history.flatMap((h) => [h[1], h[2]]).filter((v) => v !== null);
  const x0 = Math.min(...steps), x1 = Math.max(...steps, x0 + 1);
  let y0 = Math.min(...vals), y1 = Math.max(...vals);
  const pad = (y1 - y0) * 0.08 || 0.5; y0 -= pad; y1 += pad;
  const X = (s) => L + (W - L - R) * (s - x0) / (x1 - x0), Y = (v) => T + (H - T - B) * (1 - (v - y0) / (y1 - y0));
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'training loss curve' });
  for (let i = 0; i <= 4; i++) {
    const v = y0 + (y1 - y0) * i / 4;
    root.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: Y(v), y2: Y(v) }),
      svg('text', { class: 'tick', x: L - 5, y: Y(v) + 3, 'text-anchor': 'end' }, v.toFixed(2)));
  }
  for (const s of [x0, (x0 + x1) / 2, x1]) {
    root.append(svg('text', { class: 'tick', x: X(s), y: H - 6, 'text-anchor': s === x0 ? 'start' : s === x1 ? 'end' : 'middle' },
      Math.round(s).toLocaleString()));
  }
  const path = (pts) => pts.map(([s, v], i) => `${i ? 'L' : 'M'}${X(s).toFixed(1)},${Y(v).toFixed(1)}`).join('');
  root.append(svg('path', { class: 'train', d: path(history.filter((h) => h[1] !== null).map((h) => [h[0], h[1]])) }));
  const val = history.filter((h) => h[2] !== null).map((h) => [h[0], h[2]]);
  if (val.length > 1) root.append(svg('path', { class: 'val', d: path(val) }));
  for (const [s, v] of val) root.append(svg('circle', { class: 'val-dot', cx: X(s), cy: Y(v), r: 2.5 }));
  root.append(svg('line', { class: 'train', x1: L + 6, x2: L + 22, y1: 10, y2: 10 }),
    svg('text', { class: 'legend', x: L + 26, y: 13 }, 'train'));
  if (val.length) {
    root.append(svg('line', { class: 'val', x1: L + 70, x2: L + 86, y1: 10, y2: 10 }),
      svg('text', { class: 'legend', x: L + 90, y: 13 }, 'validation'));
  }
  box.replaceChildren(root);
}
