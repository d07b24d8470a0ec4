// The review page: one key press labels the current verdict (r risky, d declined, s safe) and
// moves on; j/k move without labelling. Labels go to the API with the session cookie and the
// CSRF header. Nothing from the page's data is ever written as HTML: only textContent.
(() => {
  const main = document.querySelector('main.review[data-run]');
  if (!main) return;
  const run = main.dataset.run;
  const items = Array.from(main.querySelectorAll('article.item'));
  let current = 0;
  const focus = (i) => {
    if (!items.length) return;
    current = Math.max(0, Math.min(items.length - 1, i));
    items.forEach((el, j) => el.classList.toggle('current', j === current));
    items[current].focus();
    items[current].scrollIntoView({ block: 'nearest' });
  };
  const label = async (value) => {
    const item = items[current];
    if (!item) return;
    const saved = item.querySelector('.saved');
    saved.textContent = 'saving…';
    let resp;
    try {
      resp = await fetch(`/api/v1/runs/${encodeURIComponent(run)}/review/${encodeURIComponent(item.dataset.seq)}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-Aistr-Csrf': '1' },
        body: JSON.stringify({ label: value }),
      });
    } catch (e) {
      saved.textContent = 'not saved: the server did not answer';
      return;
    }
    if (resp.ok) {
      item.classList.add('done');
      item.dataset.labelled = value;
      saved.textContent = `labelled ${value} (human)`;
      focus(current + 1);
    } else {
      const body = await resp.json().catch(() => ({}));
      saved.textContent = `not saved: ${resp.status} ${body.error || ''}`;
    }
  };
  const keys = { r: 'risky', d: 'declined', s: 'safe' };
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (keys[e.key]) { e.preventDefault(); label(keys[e.key]); }
    else if (e.key === 'j') focus(current + 1);
    else if (e.key === 'k') focus(current - 1);
  });
  items.forEach((el, i) => el.querySelectorAll('button[data-label]').forEach((b) =>
    b.addEventListener('click', () => { focus(i); label(b.dataset.label); })));
  focus(0);
})();
