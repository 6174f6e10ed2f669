// Requests: the request log (GET /admin/api/requests), newest first, with filters, live refresh that can be paused,
// pages by cursor, a CSV export, and a drawer with one request's attempts and Google's message (GET /requests/{id}).
// Filters also come from the hash (#/requests?status=error&verdict=rate_minute): the dashboard links here.

import { get, getText } from './http.js';
import { h, cell, fill, field, fmtInt, fmtCompact, fmtMs, fmtTime, badge, toast, modelName } from './ui.js';

const REFRESH_MS = 5000;
const FILTERS = ['status', 'model', 'token', 'key', 'verdict', 'route', 'q', 'from', 'to'];
const VERDICTS = ['success', 'client_error', 'rate_minute', 'quota_day', 'invalid_key', 'server_error',
  'connect_failure', 'timeout', 'empty_answer'];
const ROUTES = ['native', 'openai_chat', 'openai_responses', 'openai_models', 'openai_embeddings', 'anthropic_messages',
  'anthropic_count_tokens', 'admin', 'other'];

export default { title: 'Requests', mount };

/** The filters named in the hash's query (#/requests?status=5xx). */
export function hashFilters() {
  const q = location.hash.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : location.hash.slice(q + 1));
  const out = {};
  for (const k of FILTERS) if (params.get(k)) out[k] = params.get(k);
  return out;
}

function statusClass(status) {
  return status >= 500 ? 'invalid' : status >= 400 ? 'exhausted' : 'active';
}

function mount(root) {
  let alive = true;
  let paused = false;
  let running = false;
  let rows = [];
  let next = null;
  let filters = hashFilters();

  const select = (name, options, value) => h('select', { name },
    h('option', { value: '' }, 'any'), options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  const text = (name, value, placeholder) => h('input', { type: 'text', name, value: value || '', placeholder, spellcheck: 'false', autocomplete: 'off' });
  const time = (name, value) => h('input', { type: 'datetime-local', name, value: value ? toLocalInput(value) : '' });

  const form = h('form', { class: 'filters', 'aria-label': 'Filter requests', novalidate: true },
    field({ name: 'status', label: 'Status', cls: 'narrow', control: select('status', [['error', 'errors (4xx, 5xx)'], ['ok', 'answered (< 400)'], ['4xx', '4xx'], ['5xx', '5xx'], ['429', '429'], ['401', '401'], ['503', '503']], filters.status) }),
    field({ name: 'verdict', label: 'Met verdict', cls: 'narrow', control: select('verdict', VERDICTS.map((v) => [v, v.replace('_', ' ')]), filters.verdict) }),
    field({ name: 'route', label: 'Route', cls: 'narrow', control: select('route', ROUTES.map((r) => [r, r]), filters.route) }),
    field({ name: 'model', label: 'Model', control: text('model', filters.model, 'gemini-2.5-flash') }),
    field({ name: 'token', label: 'Token', control: text('token', filters.token, 'name or id') }),
    field({ name: 'key', label: 'Key', control: text('key', filters.key, 'id or AIza...wxyz') }),
    field({ name: 'q', label: 'Error text', control: text('q', filters.q, 'RESOURCE_EXHAUSTED') }),
    field({ name: 'from', label: 'From', cls: 'narrow', control: time('from', filters.from) }),
    field({ name: 'to', label: 'To', cls: 'narrow', control: time('to', filters.to) }),
    h('div', { class: 'btn-row' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'),
      h('button', { type: 'button', class: 'btn', onclick: () => { form.reset(); for (const el of form.elements) if (el.name) el.value = ''; apply(); } }, 'Clear')),
    h('p', { class: 'form-error', 'data-error-for': '', role: 'alert', hidden: true }));

  const pauseButton = h('button', { type: 'button', class: 'btn btn-sm', 'aria-pressed': 'false' }, 'Pause');
  const exportButton = h('button', { type: 'button', class: 'btn btn-sm' }, 'Export CSV');
  const updated = h('span', { class: 'muted small', 'aria-live': 'off' });
  const logState = h('p', { class: 'muted small wrap-any', 'data-stat': 'log' });
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'Older requests');
  const drawer = h('aside', { class: 'drawer', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'drawer-title', hidden: true, tabindex: '-1' });

  fill(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Requests'),
      h('div', { class: 'tools' }, updated, pauseButton, exportButton)),
    h('p', { class: 'muted' }, 'Every request, newest first: refused ones too, with the keys each tried and what Google answered. Bodies are never kept; Google\'s error body is, for failures.'),
    form,
    logState,
    h('section', { class: 'card', 'aria-labelledby': 'req-title' },
      h('h2', { id: 'req-title', class: 'sr-only' }, 'Requests'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data stack', id: 'requests-table' },
        h('thead', null, h('tr', null, ['Time', 'Status', 'Request', 'Model', 'Token', 'Key', 'Latency', 'Tokens', 'Error', '']
          .map((c) => h('th', { scope: 'col' }, c)))),
        tbody)),
      h('div', { class: 'btn-row' }, more)),
    drawer);

  function query(cursor, limit = 50) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v) p.set(k, v);
    p.set('limit', String(limit));
    if (cursor) p.set('cursor', cursor);
    return p.toString();
  }

  function readForm() {
    const out = {};
    for (const k of FILTERS) {
      const el = form.elements.namedItem(k);
      if (!el || !el.value.trim()) continue;
      out[k] = (k === 'from' || k === 'to') ? new Date(el.value).toISOString() : el.value.trim();
    }
    return out;
  }

  function apply() {
    filters = readForm();
    const qs = new URLSearchParams(filters).toString();
    history.replaceState(null, '', `#/requests${qs ? `?${qs}` : ''}`);
    load(true);
  }

  async function load(reset) {
    if (running || !alive) return;
    running = true;
    const slot = form.querySelector('[data-error-for=""]');
    try {
      const r = await get(`/requests?${query(null, reset || rows.length <= 50 ? 50 : Math.min(500, rows.length))}`);
      if (!alive) return;
      slot.hidden = true;
      rows = r.requests;
      next = r.next;
      draw(r.log);
      updated.textContent = `Updated ${fmtTime(new Date().toISOString(), true)}${paused ? ' · paused' : ` · every ${REFRESH_MS / 1000} s`}`;
    } catch (err) {
      if (alive && err.status !== 401) {
        slot.textContent = err.status === 400 ? err.message : `Could not load the requests: ${err.message}`;
        slot.hidden = false;
      }
    } finally {
      running = false;
    }
  }

  async function loadMore() {
    if (!next) return;
    try {
      const r = await get(`/requests?${query(next)}`);
      rows = rows.concat(r.requests);
      next = r.next;
      draw(r.log);
    } catch (err) {
      toast(`Could not load older requests: ${err.message}`, 'error');
    }
  }

  function draw(log) {
    fill(logState, `Kept in ${log.database} · ${fmtInt(log.written)} written · `,
      h('span', { 'data-stat': 'dropped.sampled', 'data-value': log.dropped.sampled }, `${fmtInt(log.dropped.sampled)} sampled out`), ' · ',
      h('span', { 'data-stat': 'dropped.full', 'data-value': log.dropped.full }, `${fmtInt(log.dropped.full)} dropped (queue full)`),
      log.lastError ? h('span', { class: 'form-error' }, ` · database error: ${log.lastError}`) : null);
    fill(tbody, rows.length ? rows.map(row)
      : h('tr', null, h('td', { colspan: 10, class: 'full empty-state' }, Object.keys(filters).length ? 'No request matches these filters.' : 'No requests yet.')));
    more.hidden = !next;
  }

  function row(r) {
    const open = h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': `Details of the ${r.method} ${r.path} request at ${fmtTime(r.time, true)}` }, 'Details');
    open.addEventListener('click', () => showDetail(r.id, open));
    return h('tr', { 'data-request-id': r.id, 'data-status': r.status },
      cell({ 'data-label': 'Time' }, h('span', { class: 'nowrap' }, fmtTime(r.time, true))),
      cell({ 'data-label': 'Status' }, badge(statusClass(r.status), String(r.status)), r.stream ? h('span', { class: 'sub' }, 'stream') : null),
      cell({ 'data-label': 'Request' }, h('span', { class: 'line mono small' }, `${r.method} ${r.path}`), h('span', { class: 'sub' }, `${r.route} · ${r.client}`)),
      cell({ 'data-label': 'Model' }, r.model ? modelName(r.model) : h('span', { class: 'muted' }, '—')),
      cell({ 'data-label': 'Token' }, r.token ? r.token.name : h('span', { class: 'muted' }, 'shared')),
      cell({ 'data-label': 'Key' }, r.key ? h('code', null, r.key.masked) : h('span', { class: 'muted' }, 'none'),
        r.attemptCount > 1 ? h('span', { class: 'sub', 'data-stat': 'attempts' }, `${r.attemptCount} attempts`) : null),
      cell({ 'data-label': 'Latency' }, fmtMs(r.latencyMs), r.firstByteMs !== null ? h('span', { class: 'sub' }, `first byte ${fmtMs(r.firstByteMs)}`) : null),
      cell({ 'data-label': 'Tokens' }, `${fmtCompact(r.tokens.prompt)} in · ${fmtCompact(r.tokens.output)} out`),
      cell({ 'data-label': 'Error' }, r.error ? [h('span', { class: 'line small' }, r.error.reason || ''), h('span', { class: 'sub' }, clip(r.error.message))] : h('span', { class: 'muted' }, '—')),
      cell({ 'data-label': '', class: 'actions' }, open));
  }

  async function showDetail(id, returnFocus) {
    let r;
    try {
      r = await get(`/requests/${encodeURIComponent(id)}`);
    } catch (err) {
      toast(`Could not load the request: ${err.message}`, 'error');
      return;
    }
    const close = h('button', { type: 'button', class: 'btn btn-sm' }, 'Close');
    const hide = () => {
      drawer.hidden = true;
      drawer.removeEventListener('keydown', onKey);
      if (returnFocus && returnFocus.isConnected) returnFocus.focus();
    };
    const onKey = (e) => {
      if (e.key === 'Escape') hide();
    };
    close.addEventListener('click', hide);
    drawer.addEventListener('keydown', onKey);
    fill(drawer,
      h('div', { class: 'card-head' }, h('h2', { id: 'drawer-title' }, `${r.method} ${r.status}`), close),
      h('p', { class: 'mono small' }, r.path),
      h('dl', { class: 'pairs' },
        h('dt', null, 'Time'), h('dd', null, new Date(r.time).toLocaleString()),
        h('dt', null, 'Route'), h('dd', null, `${r.route} (${r.protocol})`),
        h('dt', null, 'Model'), h('dd', null, r.model || '—'),
        h('dt', null, 'Token'), h('dd', null, r.token ? `${r.token.name} (${r.token.id})` : 'shared or none'),
        h('dt', null, 'Client'), h('dd', null, r.client || '—'),
        h('dt', null, 'Latency'), h('dd', null, `${fmtMs(r.latencyMs)}${r.firstByteMs !== null ? `, first byte ${fmtMs(r.firstByteMs)}` : ''}`),
        h('dt', null, 'Tokens'), h('dd', null, `${fmtInt(r.tokens.prompt)} prompt · ${fmtInt(r.tokens.output)} output (${fmtInt(r.tokens.reasoning)} thinking)`),
        h('dt', null, 'Bytes'), h('dd', null, fmtInt(r.bytes))),
      r.error ? h('div', { class: 'error-box' },
        h('h3', null, 'Error'),
        h('p', { 'data-stat': 'error.reason' }, r.error.reason || ''),
        h('p', { 'data-stat': 'error.message' }, r.error.message || ''),
        r.error.body ? h('details', null, h('summary', null, 'Google\'s answer'), h('pre', { class: 'mono small' }, r.error.body)) : null) : null,
      h('h3', null, `Attempts (${r.attempts.length})`),
      r.attempts.length ? h('ol', { class: 'attempts', 'data-stat': 'attempts', 'data-value': r.attempts.length }, r.attempts.map((a) => h('li', null,
        h('code', null, a.key.masked), ' ', badge(a.verdict === 'success' ? 'active' : a.verdict === 'client_error' ? 'exhausted' : 'invalid', a.verdict),
        h('span', { class: 'small' }, ` ${a.upstreamStatus === null ? 'no answer' : `HTTP ${a.upstreamStatus}`} · ${fmtMs(a.latencyMs)}${a.tier ? ` · tier ${a.tier}` : ''}${a.group ? ` · ${a.group}` : ''}`),
        a.reason ? h('span', { class: 'sub' }, a.reason) : null,
        a.message ? h('span', { class: 'sub' }, a.message) : null)))
        : h('p', { class: 'muted' }, 'None: the gateway answered itself.'));
    drawer.hidden = false;
    drawer.focus();
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  more.addEventListener('click', loadMore);
  pauseButton.addEventListener('click', () => {
    paused = !paused;
    pauseButton.textContent = paused ? 'Resume' : 'Pause';
    pauseButton.setAttribute('aria-pressed', String(paused));
    updated.textContent = paused ? 'Paused' : 'Resumed';
    if (!paused) load(false);
  });
  exportButton.addEventListener('click', async () => {
    try {
      const csv = await getText(`/requests?${query(null, 500)}&format=csv`);
      const a = h('a', { href: URL.createObjectURL(new Blob([csv], { type: 'text/csv' })), download: 'gemgate-requests.csv' });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (err) {
      toast(`Could not export: ${err.message}`, 'error');
    }
  });

  load(true);
  const timer = setInterval(() => {
    if (!paused && !document.hidden) load(false);
  }, REFRESH_MS);

  return {
    unmount() {
      alive = false;
      clearInterval(timer);
    },
  };
}

function clip(s) {
  if (!s) return '';
  return s.length > 140 ? `${s.slice(0, 140)}…` : s;
}

/** An ISO instant as a datetime-local input's value (local time, minutes). */
function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
