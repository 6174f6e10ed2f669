// Exits: the egress proxies (upstream.proxies and keys' own proxy=), their state, the keys pinned to each, and
// their failures by reason. Credentials are masked by the gateway; this view never sees them.

import { get } from './http.js';
import { h, cell, fill, fmtInt, fmtTime, badge, toast } from './ui.js';

const FAILURES = [
  ['refused', 'refused'],
  ['timeout', 'timed out'],
  ['tunnel_closed', 'tunnel closed'],
  ['location', 'location refused'],
  ['rate_limit', 'rate-limited'],
];
// Badge colours of the key states: healthy like an active key, cooling like a cooling one, failing like an invalid one.
const BADGE = { healthy: 'active', cooling: 'cooling', failing: 'invalid' };

export default { title: 'Exits', mount };

function mount(root) {
  let alive = true;
  const tbody = h('tbody');
  const summary = h('p', { class: 'muted small' });

  fill(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Exits')),
    h('p', { class: 'muted' }, 'Where requests leave for Google. Each key is pinned to one exit by a hash of its id, the same on every gateway; while its exit fails or cools, it uses the next one. An exit\'s failures and rate limits are never counted against its keys.'),
    h('section', { class: 'card', 'aria-labelledby': 'exits-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'exits-title' }, 'Exits'), summary),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data stack', id: 'exits-table' },
        h('thead', null, h('tr', null, ['Exit', 'State', 'Keys pinned', 'Requests', 'Failures']
          .map((c) => h('th', { scope: 'col' }, c)))),
        tbody))));

  async function load() {
    try {
      const r = await get('/exits');
      if (!alive) return;
      summary.textContent = r.directOnly ? 'direct: no proxy configured'
        : `${fmtInt(r.exits.length)} exit${r.exits.length === 1 ? '' : 's'} · keys of a cooling exit ${r.cooling === 'wait' ? 'wait' : 'move'}`;
      fill(tbody, r.exits.length ? r.exits.map(row)
        : h('tr', null, h('td', { colspan: 5, class: 'full empty-state' },
          'No proxy: requests go straight to Google. Set upstream.proxies (GEMGATE_UPSTREAM_PROXIES) or proxy= on a key.')));
    } catch (err) {
      if (alive && err.status !== 401) toast(`Could not load the exits: ${err.message}`, 'error');
    }
  }

  function row(e) {
    const failures = FAILURES.filter(([k]) => e.failures[k] > 0).map(([k, text]) => h('span', { class: 'line small' }, `${fmtInt(e.failures[k])} ${text}`));
    return h('tr', { 'data-exit': e.exit },
      cell({ 'data-label': 'Exit' }, h('strong', { class: 'line mono' }, e.exit),
        h('span', { class: 'sub mono' }, e.proxy),
        h('span', { class: 'sub' }, e.shared ? 'upstream.proxies' : 'a key\'s own proxy')),
      cell({ 'data-label': 'State' }, h('span', { class: 'line', 'data-stat': 'state' }, badge(BADGE[e.state] || e.state, e.state)),
        e.reason ? h('span', { class: 'sub' }, e.reason.replace('_', ' ')) : null,
        e.until ? h('span', { class: 'sub' }, `until ${fmtTime(e.until, true)}`) : null),
      cell({ 'data-label': 'Keys pinned' }, h('span', { 'data-stat': 'keysPinned' }, fmtInt(e.keysPinned))),
      cell({ 'data-label': 'Requests' }, h('span', { 'data-stat': 'requests' }, fmtInt(e.requests)),
        h('span', { class: 'sub' }, `${fmtInt(e.connections)} open connection${e.connections === 1 ? '' : 's'}`)),
      cell({ 'data-label': 'Failures' }, failures.length ? failures : h('span', { class: 'muted' }, 'none')));
  }

  load();
  const timer = setInterval(load, 5000);

  return {
    unmount() {
      alive = false;
      clearInterval(timer);
    },
  };
}
