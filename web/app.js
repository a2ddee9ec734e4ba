// The charlm page's behaviour: loads the model list and card, streams /v1/generate over fetch + SSE parsing,
// shows next-character candidates at the cursor (debounced /v1/next), and draws the loss curve as inline SVG.
// Plain browser JavaScript with no dependencies; all text from the server goes in through textContent.
import { drawLoss } from './chart.js';

const $ = (id) => document.getElementById(id);
const state = { model: null, controller: null, generated: '', nextTimer: 0, nextSeq: 0 };

const show = (ch) => (ch === ' ' ? '␣' : ch === '\n' ? '↵' : ch === '\t' ? '⇥' : ch);

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

async function api(path, init) {
  const res = await fetch(path, init);
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function showError(message) {
  $('error').hidden = !message;
  $('error').textContent = message || '';
}

// ---- sampling controls -------------------------------------------------------------------------------
const SLIDERS = { temperature: (v) => Number(v).toFixed(2), topK: (v) => (v === '0' ? 'off' : v),
  topP: (v) => Number(v).toFixed(2), length: (v) => v };
for (const [id, fmt] of Object.entries(SLIDERS)) {
  const update = () => { $(`${id}-v`).textContent = fmt($(id).value); };
  $(id).addEventListener('input', () => { update(); if (id !== 'length') scheduleNext(); });
  update();
}

function params() {
  const p = { model: state.model, prompt: $('prompt').value, length: Number($('length').value),
    temperature: Number($('temperature').value), topK: Number($('topK').value), topP: Number($('topP').value) };
  if ($('seed').value.trim() !== '') p.seed = Number($('seed').value);
  return p;
}

// ---- generation (POST /v1/generate with stream: true, parsed as Server-Sent Events) -------------------
function renderOutput(prompt, generated, running) {
  const out = $('output');
  out.replaceChildren(el('span', { class: 'prompt-part' }, prompt), el('span', { class: 'gen-part' }, generated));
  out.classList.toggle('running', running);
  out.scrollTop = out.scrollHeight;
}

async function generate() {
  showError('');
  const p = params(), controller = new AbortController();
  state.controller = controller;
  state.generated = '';
  setRunning(true);
  renderOutput(p.prompt, '', true);
  const t0 = performance.now();
  let first = 0;
  try {
    const res = await fetch('/v1/generate', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...p, stream: true }), signal: controller.signal });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
    }
    await readEvents(res, (event, data) => {
      if (event === 'chunk') {
        if (!first) first = performance.now() - t0;
        state.generated += data.text;
        renderOutput(p.prompt, state.generated, true);
        $('status').textContent = `${[...state.generated].length} characters`;
      } else if (event === 'done') {
        const s = data.samples[0], secs = (performance.now() - t0) / 1000;
        $('status').textContent = `${s.chars} characters · ${s.finishReason} · ${(s.chars / secs).toFixed(0)} chars/s`;
        $('meta').textContent = `seed ${data.seed} · first character after ${first.toFixed(0)} ms`;
      }
    });
  } catch (e) {
    if (e.name !== 'AbortError') showError(e.message);
    else $('status').textContent = 'stopped';
  } finally {
    state.controller = null;
    setRunning(false);
    renderOutput(p.prompt, state.generated, false);
  }
}

/** Calls onEvent(name, data) for each `event:`/`data:` block of an SSE response body. */
async function readEvents(res, onEvent) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = 'message', data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      onEvent(event, data ? JSON.parse(data) : null);
    }
  }
}

function setRunning(running) {
  $('generate').disabled = running;
  $('stop').disabled = !running;
  $('append').disabled = running || !state.generated;
  if (running) $('status').textContent = 'generating…';
}

$('generate').addEventListener('click', generate);
$('stop').addEventListener('click', () => state.controller?.abort());
$('append').addEventListener('click', () => {
  $('prompt').value += state.generated;
  state.generated = '';
  $('append').disabled = true;
  renderOutput($('prompt').value, '', false);
  scheduleNext();
});
$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); if (!state.controller) generate(); }
});

// ---- next-character candidates at the cursor ------------------------------------------------------------
function scheduleNext() {
  clearTimeout(state.nextTimer);
  state.nextTimer = setTimeout(updateNext, 150);
}

async function updateNext() {
  const ta = $('prompt'), upto = ta.value.slice(0, ta.selectionStart ?? ta.value.length);
  const seq = ++state.nextSeq;
  const q = new URLSearchParams({ model: state.model, prompt: upto, temperature: $('temperature').value,
    topK: $('topK').value, topP: $('topP').value, top: '12', unknown: 'skip' });
  try {
    const r = await api(`/v1/next?${q}`);
    if (seq !== state.nextSeq) return; // a newer request has been sent
    const box = $('candidates');
    box.replaceChildren();
    const max = r.candidates[0]?.prob ?? 1;
    for (const c of r.candidates) {
      const b = el('button', { class: 'cand', title: `insert ${JSON.stringify(c.char)}` });
      const bar = el('span', { class: 'bar' }), fill = el('span');
      fill.style.width = `${(100 * c.prob / max).toFixed(1)}%`;
      bar.append(fill);
      b.append(el('span', { class: 'ch' }, show(c.char)), bar, el('span', { class: 'p' }, `${(100 * c.prob).toFixed(1)}%`));
      b.addEventListener('click', () => insertAtCursor(c.char));
      box.append(b);
    }
    if (!r.candidates.length) box.append(el('span', { class: 'empty' }, 'no candidates'));
    const tail = upto.slice(-16);
    $('next-where').textContent = upto ? `after “…${tail.replace(/\n/g, '↵')}”` : 'at the start of the text';
  } catch (e) {
    if (seq === state.nextSeq) $('candidates').replaceChildren(el('span', { class: 'empty' }, e.message));
  }
}

function insertAtCursor(ch) {
  const ta = $('prompt'), at = ta.selectionStart ?? ta.value.length;
  ta.value = ta.value.slice(0, at) + ch + ta.value.slice(ta.selectionEnd ?? at);
  ta.focus();
  ta.selectionStart = ta.selectionEnd = at + ch.length;
  scheduleNext();
}

for (const ev of ['input', 'click', 'keyup', 'select']) $('prompt').addEventListener(ev, scheduleNext);

// ---- models and the model card -------------------------------------------------------------------------
async function loadModels() {
  const { models } = await api('/v1/models');
  const sel = $('model');
  for (const m of models) sel.append(el('option', { value: m.name }, m.name));
  sel.addEventListener('change', () => selectModel(sel.value));
  await selectModel(models[0].name);
}

async function selectModel(name) {
  state.model = name;
  const card = await api(`/v1/models/${encodeURIComponent(name)}`);
  const a = card.architecture, t = card.training;
  $('card-file').textContent = card.file;
  // The model's own description rows (any family: rnn cell/layers/hidden, gpt layers/heads/width/context).
  const rows = card.description?.rows ?? [['cell', a.cell], ['layers', a.numLayers], ['hidden size', a.hiddenSize]];
  const facts = [['Model', card.description?.summary ?? a.family ?? 'rnn'],
    ...rows.filter(([k]) => k !== 'vocabulary').map(([k, v]) => [k[0].toUpperCase() + k.slice(1), v]),
    ['Parameters', card.parameters.toLocaleString()], ['Vocabulary', `${card.vocab.size} characters`]];
  if (t) {
    facts.push(['Corpus', t.corpus], ['Steps', t.steps.toLocaleString()],
      ['Epochs', Number(t.epochs).toFixed(2)], ['Train loss', t.trainLoss?.toFixed(3) ?? '—'],
      ['Val loss', t.valLoss?.toFixed(3) ?? '—'], ['Best val loss', t.bestValLoss?.toFixed(3) ?? '—'], ['Backend', t.backend]);
  } else facts.push(['Training', 'no record']);
  $('card-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
  $('card-vocab').textContent = card.vocab.chars.map(show).join(' ');
  drawLoss($('loss-chart'), t?.history ?? []);
  $('topK').max = String(card.vocab.size);
  scheduleNext();
}

loadModels().catch((e) => showError(`could not load the models: ${e.message}`));
