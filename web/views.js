// Pieces the worker-backed pages share (the trainer, exported model sites): the model card and a sampling run
// that streams into an output element and marks it data-done="1" when the text is complete. Plain browser JS.

export function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** card: the worker's model card → label/value rows in a <dl>. */
export function renderCard(dl, c) {
  const facts = [['Model', c.summary], ['Parameters', c.params.toLocaleString()], ['Vocabulary', `${c.vocab.length} characters`]];
  const t = c.training;
  if (t) {
    facts.push(['Corpus', t.corpus], ['Steps', t.steps.toLocaleString()], ['Train loss', t.trainLoss?.toFixed(3) ?? '—'],
      ['Val loss', t.valLoss?.toFixed(3) ?? '—'], ['Backend', t.backend]);
  }
  dl.replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
}

/**
 * Asks the worker for a sample and streams it into `out` (prompt part, then generated part). Resolves with the
 * worker's answer; `out.dataset.done` is "1" once the whole text is in. Errors reject (the caller shows them).
 */
export async function sampleInto(compute, out, p) {
  const gen = el('span', { class: 'gen-part' });
  out.replaceChildren(el('span', { class: 'prompt-part' }, p.prime), gen);
  delete out.dataset.done;
  out.classList.add('running');
  try {
    const r = await compute.request({ type: 'sample', topK: 0, topP: 1, ...p },
      (m) => { if (m.type === 'chunk') gen.textContent += m.text; });
    gen.textContent = r.text;
    out.dataset.done = '1';
    return r;
  } finally {
    out.classList.remove('running');
  }
}
