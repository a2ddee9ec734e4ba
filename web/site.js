// An exported model site's behaviour: loads model.safetensors into the compute worker, shows its card and loss
// curve, and samples on request. URL parameters prime, length, temperature and seed fill the controls and generate
// at load (for links and tests). Plain browser JavaScript; nothing is computed anywhere but in this tab.
import { drawLoss } from './chart.js';
import { startCompute } from './compute.js';
import { renderCard, sampleInto } from './views.js';

const $ = (id) => document.getElementById(id);
const url = new URL(location.href);
const compute = startCompute('worker.js', url.searchParams.get('backend') ?? undefined);
const PARAMS = ['prime', 'length', 'temperature', 'seed'];

function showError(message, hint) {
  $('error').hidden = !message;
  $('error').textContent = message ? `${message}${hint ? ` — ${hint}` : ''}` : '';
}

function current() {
  return { prime: $('prompt').value, length: Number($('length').value), temperature: Number($('temperature').value),
    seed: Number($('seed').value) };
}

async function generate() {
  showError('');
  $('generate').disabled = true;
  $('status').textContent = 'generating…';
  const p = current();
  const link = new URL(location.href);
  for (const k of PARAMS) link.searchParams.set(k, String(p[k]));
  $('link').href = link.href;
  try {
    const r = await sampleInto(compute, $('output'), p);
    $('status').textContent = `${r.chars} characters · ${Math.round(r.chars / Math.max(r.seconds, 1e-3))} chars/s`;
  } catch (e) {
    $('status').textContent = '';
    showError(e.message, e.hint);
  } finally {
    $('generate').disabled = false;
  }
}

async function start() {
  const ready = await compute.ready;
  $('backend').textContent = `backend: ${ready.note}`;
  const res = await fetch('model.safetensors');
  if (!res.ok) throw new Error(`model.safetensors could not be fetched (HTTP ${res.status})`);
  const bytes = await res.arrayBuffer();
  const { card } = await compute.request({ type: 'load', bytes, name: 'model.safetensors' }, null, [bytes]);
  renderCard($('card-facts'), card);
  drawLoss($('loss-chart'), card.training?.history ?? []);
  $('title').textContent = card.training ? `${card.summary} · ${card.training.corpus}` : card.summary;
  document.title = `charlm · ${$('title').textContent}`;
  $('status').textContent = 'ready';
  $('generate').disabled = false;
  $('generate').addEventListener('click', generate);
  $('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); if (!$('generate').disabled) generate(); }
  });
  const ids = { prime: 'prompt', length: 'length', temperature: 'temperature', seed: 'seed' };
  const asked = PARAMS.filter((k) => url.searchParams.has(k));
  for (const k of asked) $(ids[k]).value = url.searchParams.get(k);
  if (asked.length) await generate();
}

start().catch((e) => { $('status').textContent = ''; showError(e.message, e.hint); });
