// Instances: the gateways sharing this one's state through Redis (GET /admin/api/instances), as their heartbeats
// describe them: address, version, start, last heartbeat, upstream calls per second. Refreshed every 2 seconds.

import { get } from './http.js';
import { h, cell, fill, fmtTime, fmtRelative, badge, toast } from './ui.js';

export default { title: 'Instances', mount };

function mount(root) {
  let alive = true;
  const tbody = h('tbody');
  const summary = h('p', { class: 'muted small', id: 'instances-summary' });

  fill(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Instances')),
    h('p', { class: 'muted' }, 'The gateways that share keys, tokens, settings, counters and limits through the same Redis. Each writes a heartbeat every second; one not seen for 10 seconds is dropped from the list.'),
    h('section', { class: 'card', 'aria-labelledby': 'instances-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'instances-title' }, 'Instances'), summary),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data stack', id: 'instances-table' },
        h('thead', null, h('tr', null, ['Instance', 'Address', 'Version', 'Started', 'Last seen', 'Requests/s']
          .map((c) => h('th', { scope: 'col' }, c)))),
        tbody))));

  async function load() {
    try {
      const r = await get('/instances');
      if (!alive) return;
      if (!r.shared) {
        summary.textContent = 'not shared';
        fill(tbody, h('tr', null, h('td', { colspan: 6, class: 'full empty-state' },
          'This gateway shares nothing: set state.redisUrl (GEMGATE_REDIS_URL) on every gateway to share keys, tokens, settings and limits.')));
        return;
      }
      summary.textContent = `${r.instances.length} instance${r.instances.length === 1 ? '' : 's'} on Redis at ${r.redis}${r.connected ? '' : ' (unreachable now)'}`;
      fill(tbody, r.instances.length ? r.instances.map((i) => row(i))
        : h('tr', null, h('td', { colspan: 6, class: 'full empty-state' }, 'No heartbeat read yet.')));
    } catch (err) {
      if (alive && err.status !== 401) toast(`Could not load the instances: ${err.message}`, 'error');
    }
  }

  function row(i) {
    return h('tr', { 'data-instance': i.id },
      cell({ 'data-label': 'Instance' }, h('strong', { class: 'line mono' }, i.id),
        i.self ? h('span', { class: 'sub' }, badge('active', 'this gateway')) : null),
      cell({ 'data-label': 'Address' }, h('span', { class: 'mono', 'data-stat': 'address' }, i.address || '?')),
      cell({ 'data-label': 'Version' }, h('span', { 'data-stat': 'version' }, i.version)),
      cell({ 'data-label': 'Started' }, h('span', null, i.started ? fmtTime(i.started, true) : '?')),
      cell({ 'data-label': 'Last seen' }, h('span', { 'data-stat': 'lastSeen' }, i.lastSeen ? fmtRelative(i.lastSeen) : '?')),
      cell({ 'data-label': 'Requests/s' }, h('span', { 'data-stat': 'requestsPerSecond' }, i.requestsPerSecond.toFixed(1))));
  }

  load();
  const timer = setInterval(load, 2000);

  return {
    unmount() {
      alive = false;
      clearInterval(timer);
    },
  };
}
