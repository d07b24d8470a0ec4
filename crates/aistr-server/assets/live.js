// Live progress on the run page, from the server-sent events of /api/v1/runs/{id}/events.
(() => {
  const el = document.querySelector('[data-live-run]');
  if (!el || !window.EventSource) return;
  const bar = el.querySelector('progress');
  const text = el.querySelector('.progress-text');
  const status = document.querySelector('.run-status');
  const events = new EventSource(`/api/v1/runs/${encodeURIComponent(el.dataset.run)}/events`);
  events.addEventListener('progress', (e) => {
    const p = JSON.parse(e.data);
    bar.max = Math.max(1, p.total);
    bar.value = p.recorded;
    text.textContent = `${p.recorded} of ${p.total} recorded`;
    if (status) status.textContent = p.status;
  });
  events.addEventListener('end', () => events.close());
})();
