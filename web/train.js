// The in-browser trainer's behaviour: picks a text (file, drop or the bundled sample), asks the compute worker to
// check it, train, sample, encode or load checkpoints, and draws what comes back (progress, ETA, loss chart,
// samples, the model card). It computes nothing itself. Plain browser JavaScript; text goes in through textContent.
import { drawLoss } from './chart.js';
import { startCompute } from './compute.js';
import { el, renderCard as renderFacts, sampleInto } from './views.js';

const $ = (id) => document.getElementById(id);
const compute = startCompute('worker.js', new URL(location.href).searchParams.get('backend') ?? undefined);
const state = { text: null, training: false, sampling: false, hasModel: false, trainedHere: false,
  losses: [], vals: [], limits: null, preset: null };

const mib = (n) => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 2 : 1)} MiB`;
const duration = (s) => (s < 60 ? `${Math.ceil(s)} s` : `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`);

function showError(message, hint) {
  $('error').hidden = !message;
  $('error').textContent = message ? `${message}${hint ? ` — ${hint}` : ''}` : '';
}

function refresh() {
  $('train').disabled = state.training || !state.text;
  $('stop-train').disabled = !state.training;
  $('generate').disabled = !state.hasModel || state.sampling;
  $('download').disabled = !state.trainedHere || state.training;
  $('use-sample').disabled = state.training;
  $('text-file').disabled = state.training;
  $('ckpt-file').disabled = state.training;
}

// ---- the text ---------------------------------------------------------------------------------------------
async function chooseText(name, bytes) {
  showError('');
  state.text = null;
  refresh();
  $('text-info').textContent = `checking ${name}…`;
  try {
    const r = await compute.request({ type: 'inspect', bytes: bytes.slice(0), name }, null);
    state.text = { name, bytes };
    $('text-info').textContent = `${name} · ${r.chars.toLocaleString()} characters · ${r.distinct.toLocaleString()} distinct`;
  } catch (e) {
    $('text-info').textContent = 'no text yet';
    showError(e.message, e.hint);
  }
  refresh();
}

async function chooseFile(file) {
  if (!file) return;
  const max = state.limits?.textBytes ?? 32 * 2 ** 20;
  if (file.size > max) { // refused before reading a byte of it
    showError(`${file.name} is ${mib(file.size)}; the page trains on at most ${mib(max)} of text`,
      'use a shorter excerpt here, or train on it with `charlm train` in Node');
    return;
  }
  await chooseText(file.name, await file.arrayBuffer());
}

$('text-file').addEventListener('change', (e) => { chooseFile(e.target.files[0]); e.target.value = ''; });
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (!state.training) chooseFile(e.dataTransfer.files[0]);
});
$('use-sample').addEventListener('click', async () => {
  showError('');
  try {
    const res = await fetch('sample.txt');
    if (!res.ok) throw new Error(`the sample text could not be fetched (HTTP ${res.status})`);
    await chooseText('sample.txt (Shakespeare)', await res.arrayBuffer());
  } catch (e) { showError(e.message); }
});

// ---- training ---------------------------------------------------------------------------------------------
function drawTraining() {
  const byStep = new Map(state.losses.map(([s, l]) => [s, [s, l, null]]));
  for (const [s, v] of state.vals) { const p = byStep.get(s); if (p) p[2] = v; }
  let points = [...byStep.values()];
  if (points.length > 600) { // thin for drawing, keeping the validation points and the last one
    const every = Math.ceil(points.length / 600);
    points = points.filter((p, i) => i % every === 0 || p[2] !== null || i === points.length - 1);
  }
  drawLoss($('train-chart'), points, { empty: 'the loss appears here as the model trains', width: 640, height: 220 });
  $('train-chart').dataset.losses = JSON.stringify(state.losses);
}

async function train() {
  showError('');
  const steps = Number($('steps').value), seed = Number($('train-seed').value);
  state.training = true; state.losses = []; state.vals = []; state.hasModel = false; state.trainedHere = false;
  refresh();
  drawTraining();
  $('progress').value = 0;
  $('train-status').textContent = 'starting…';
  delete $('train-status').dataset.state;
  $('eval-sample').replaceChildren(el('span', { class: 'placeholder' }, 'Appears at each evaluation.'));
  try {
    const done = await compute.request({ type: 'train', bytes: state.text.bytes.slice(0), name: state.text.name,
      preset: $('preset').value, steps, seed }, (m) => {
      if (m.type === 'started') {
        state.hasModel = true;
        refresh();
        $('progress').max = m.totalSteps;
        renderCard({ summary: m.summary, rows: [], params: m.params, vocab: { length: m.vocabSize }, training: null,
          source: `training on ${state.text.name}` });
        $('train-status').textContent = `${m.trainChars.toLocaleString()} training and ${m.valChars.toLocaleString()} held-out characters`;
      } else if (m.type === 'progress') {
        state.losses.push(...m.losses);
        $('progress').value = m.step;
        const loss = m.losses[m.losses.length - 1][1];
        $('train-status').textContent = `step ${m.step} / ${m.totalSteps} · loss ${loss.toFixed(3)} · `
          + `${Math.round(m.charsPerS).toLocaleString()} chars/s · ETA ${duration(m.etaS)}`;
        drawTraining();
      } else if (m.type === 'eval') {
        if (m.valLoss !== null) state.vals.push([m.step, m.valLoss]);
        $('eval-sample').textContent = `step ${m.step}${m.valLoss !== null ? ` · validation loss ${m.valLoss.toFixed(3)}` : ''}\n\n${m.sample}`;
        drawTraining();
      }
    });
    state.trainedHere = true;
    renderCard(done.card);
    const last = state.losses[state.losses.length - 1];
    $('train-status').textContent = `${done.stopped ? 'stopped' : 'done'} after ${done.card.training.steps} steps in `
      + `${duration(done.seconds)} · loss ${last ? last[1].toFixed(3) : '—'}`;
    $('train-status').dataset.state = done.stopped ? 'stopped' : 'done';
    $('train-status').dataset.seconds = String(done.seconds);
  } catch (e) {
    $('train-status').textContent = 'not trained';
    showError(e.message, e.hint);
  } finally {
    state.training = false;
    refresh();
  }
}

$('train').addEventListener('click', train);
$('stop-train').addEventListener('click', () => compute.stop());

// ---- sampling ---------------------------------------------------------------------------------------------
async function sample() {
  showError('');
  state.sampling = true;
  refresh();
  try {
    const r = await sampleInto(compute, $('output'), { prime: $('prompt').value, length: Number($('length').value),
      temperature: Number($('temperature').value), seed: Number($('seed').value) });
    $('sample-status').textContent = `${r.chars} characters · ${Math.round(r.chars / Math.max(r.seconds, 1e-3))} chars/s`;
  } catch (e) {
    $('sample-status').textContent = '';
    showError(e.message, e.hint);
  } finally {
    state.sampling = false;
    refresh();
  }
}
$('generate').addEventListener('click', sample);
$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); if (!$('generate').disabled) sample(); }
});

// ---- checkpoints ------------------------------------------------------------------------------------------
$('download').addEventListener('click', async () => {
  showError('');
  try {
    const r = await compute.request({ type: 'checkpoint' }, null);
    const url = URL.createObjectURL(new Blob([r.bytes], { type: 'application/octet-stream' }));
    const a = el('a', { href: url, download: `charlm-${$('preset').value}-${r.steps}steps.safetensors` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) { showError(e.message, e.hint); }
});

$('ckpt-file').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  e.target.value = '';
  if (!file) return;
  showError('');
  const max = state.limits?.checkpointBytes ?? 128 * 2 ** 20;
  if (file.size > max) {
    showError(`${file.name} is ${mib(file.size)}; the page loads checkpoints up to ${mib(max)}`,
      'sample from it with `charlm sample` or `charlm serve` instead');
    return;
  }
  try {
    const bytes = await file.arrayBuffer();
    const r = await compute.request({ type: 'load', bytes, name: file.name }, null, [bytes]);
    state.hasModel = true; state.trainedHere = false;
    renderCard(r.card);
    const h = r.card.training?.history ?? [];
    state.losses = h.map(([s, l]) => [s, l]); state.vals = h.filter((p) => p[2] !== null).map(([s, , v]) => [s, v]);
    drawTraining();
  } catch (err) { showError(err.message, err.hint); }
  refresh();
});

function renderCard(c) {
  $('card-source').textContent = c.source;
  renderFacts($('card-facts'), c);
}

// ---- start ------------------------------------------------------------------------------------------------
compute.ready.then((r) => {
  state.limits = r.limits;
  $('backend').textContent = `backend: ${r.note}`;
  $('max-text').textContent = mib(r.limits.textBytes);
  $('length').max = String(r.limits.sample);
  $('steps').max = String(r.limits.steps);
  for (const p of r.presets) $('preset').append(el('option', { value: p.name }, p.name));
  const pick = () => {
    const p = r.presets.find((x) => x.name === $('preset').value);
    $('preset-about').textContent = p.description;
    $('steps').value = String(p.steps);
  };
  $('preset').addEventListener('change', pick);
  pick();
  drawTraining();
  document.body.dataset.ready = '1';
}).catch((e) => showError(e.message));
refresh();
