// The merchandiser console's script: keeps the bearer token in
// sessionStorage, writes overrides (pin, exclude, restore, publish) through
// PUT /api/v1/collections/{slug}/overrides, on the condition that they are
// as it read them (If-Match), and previews tuples through
// POST /api/v1/preview. Plain JavaScript, no build step; the pages it runs
// on are server-rendered and readable without it.
(() => {
  'use strict';
  const KEY = 'lander.merchToken';
  const $ = (id) => document.getElementById(id);
  const status = $('status');

  function say(msg, isError) {
    if (!status) return;
    status.textContent = msg;
    status.className = isError ? 'err' : '';
  }

  const tokenInput = $('token');
  if (tokenInput) {
    tokenInput.value = sessionStorage.getItem(KEY) || '';
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      sessionStorage.setItem(KEY, tokenInput.value.trim());
      say('Token kept for this tab.');
    });
  }

  function token() {
    if (tokenInput && tokenInput.value.trim()) {
      sessionStorage.setItem(KEY, tokenInput.value.trim());
    }
    return sessionStorage.getItem(KEY) || '';
  }

  async function errorOf(resp) {
    try {
      const j = await resp.json();
      return (j.error && j.error.message) || resp.statusText;
    } catch (_) {
      return resp.statusText || String(resp.status);
    }
  }

  const overridesURL = (slug) => '/api/v1/collections/' + encodeURIComponent(slug) + '/overrides';

  // change edits the current override of slug and writes it back.
  async function change(slug, edit) {
    const tok = token();
    if (!tok) {
      say('Enter the merchandiser token first.', true);
      if (tokenInput) tokenInput.focus();
      return false;
    }
    const cur = await fetch(overridesURL(slug));
    if (!cur.ok) {
      say(await errorOf(cur), true);
      return false;
    }
    // The write names the version it edits (If-Match: the ETag read), so
    // that another merchandiser's change in between is not overwritten:
    // the server answers 412 and the page reloads to show it.
    const etag = cur.headers.get('ETag');
    const o = await cur.json();
    const next = edit({ pins: o.pins || [], excludes: o.excludes || [], published: o.published });
    const headers = { 'Content-Type': 'application/json', Authorization: 'Bearer ' + tok };
    if (etag) headers['If-Match'] = etag;
    const resp = await fetch(overridesURL(slug), {
      method: 'PUT',
      headers,
      body: JSON.stringify(next),
    });
    if (resp.status === 412) {
      say('Someone else changed this collection meanwhile; reloading to show their change. Try again after.', true);
      setTimeout(() => location.reload(), 1500);
      return false;
    }
    if (!resp.ok) {
      say(await errorOf(resp), true);
      return false;
    }
    return true;
  }

  const without = (list, id) => list.filter((x) => x !== id);
  const edits = {
    pin: (id) => (o) => ({ ...o, pins: [id, ...without(o.pins, id)], excludes: without(o.excludes, id) }),
    unpin: (id) => (o) => ({ ...o, pins: without(o.pins, id) }),
    exclude: (id) => (o) => ({ ...o, pins: without(o.pins, id), excludes: [...without(o.excludes, id), id] }),
    restore: (id) => (o) => ({ ...o, excludes: without(o.excludes, id) }),
    publish: () => (o) => ({ ...o, published: true }),
    unpublish: () => (o) => ({ ...o, published: false }),
    'follow-rule': () => (o) => ({ ...o, published: null }),
  };

  document.addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-action]');
    if (!b || !edits[b.dataset.action]) return;
    b.disabled = true;
    say('Saving…');
    try {
      if (await change(b.dataset.slug, edits[b.dataset.action](b.dataset.id))) {
        say('Saved.');
        location.reload();
        return;
      }
    } catch (err) {
      say(String(err), true);
    }
    b.disabled = false;
  });

  const preview = $('preview');
  if (preview) {
    preview.addEventListener('submit', async (e) => {
      e.preventDefault();
      const keys = preview.querySelectorAll('select[name=key]');
      const values = preview.querySelectorAll('input[name=value]');
      const attributes = [];
      keys.forEach((k, i) => {
        const v = values[i].value.trim();
        if (k.value && v) attributes.push({ key: k.value, value: v });
      });
      const out = $('preview-out');
      out.textContent = 'Loading…';
      const resp = await fetch('/api/v1/preview', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ attributes, limit: 24 }),
      });
      if (!resp.ok) {
        out.textContent = await errorOf(resp);
        return;
      }
      renderPreview(out, await resp.json());
    });
  }

  function el(tag, props, ...kids) {
    const n = document.createElement(tag);
    Object.assign(n, props || {});
    for (const k of kids) n.append(k);
    return n;
  }

  function renderPreview(out, p) {
    out.textContent = '';
    const head = el('p', { className: 'count' }, p.title + ': ' + p.total + ' products');
    if (p.collection) {
      head.append(' · ', el('a', { href: '/merch/c/' + encodeURIComponent(p.collection.slug) }, 'open collection'));
    }
    out.append(head);
    const grid = el('ul', { className: 'grid' });
    for (const r of p.products) {
      const img = el('img', { src: r.image_url, alt: r.title || 'Product ' + r.id, width: 240, height: 320, loading: 'lazy', decoding: 'async' });
      const ev = el('ul', { className: 'ev' });
      for (const a of r.evidence) ev.append(el('li', {}, a.key + ' = ' + a.value + ': ' + a.score.toFixed(2)));
      grid.append(el('li', { className: 'card' }, img, el('p', { className: 'name' }, r.title || r.id), ev));
    }
    out.append(grid);
  }
})();
