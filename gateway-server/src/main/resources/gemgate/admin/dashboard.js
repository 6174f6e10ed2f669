// Dashboard: GET /admin/api/stats and GET /admin/api/keys, redrawn every 10 s while the tab is visible.

import { get } from './http.js';
import { h, fill, modelName, fmtInt, fmtCompact, fmtMs, fmtPct, fmtTime, fmtRelative, badge, toast } from './ui.js';

const REFRESH_MS = 10_000;
const STATES = ['active', 'cooling', 'exhausted', 'invalid', 'disabled', 'removed'];
const REASONS = {
  rate_minute: 'Rate limit (per minute)',
  quota_day: 'Daily quota',
  invalid_key: 'Invalid key',
  server_error: 'Server error',
  connect_failure: 'Connection failure',
  timeout: 'Timeout',
  empty_answer: 'Empty answer',
};
const MAX_SLICES = 8;
const LOW_HEALTH = 0.5;

export default { title: 'Dashboard', mount };

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function mount(root) {
  const refs = {};
  const stat = (id, label, cls = '') => h('div', { class: `card stat ${cls}` },
    h('div', { class: 'label', id: `stat-${id}-label` }, label),
    refs[id] = h('div', { class: 'value', 'data-stat': id, 'aria-labelledby': `stat-${id}-label` }, '—'),
    refs[`${id}Sub`] = h('div', { class: 'sub' }));

  const updated = h('span', { class: 'muted small', 'aria-live': 'off' });
  const refreshButton = h('button', { type: 'button', class: 'btn btn-sm' }, 'Refresh');
  refs.rpmCanvas = h('canvas', { role: 'img', 'aria-label': 'Requests per minute over the last hour' });
  refs.keysCanvas = h('canvas', { role: 'img', 'aria-label': 'Share of today\'s requests by key' });
  refs.keysEmpty = h('p', { class: 'empty-state', hidden: true }, 'No upstream calls today yet.');
  refs.keysChartBox = h('div', { class: 'chart-box short' }, refs.keysCanvas);

  fill(root,
    h('div', { class: 'page-head' },
      h('h1', null, 'Dashboard'),
      h('div', { class: 'tools' }, updated, refreshButton)),
    refs.alerts = h('div', { role: 'alert', 'data-stat': 'alerts', hidden: true }),
    refs.today = h('p', { class: 'muted small' }),
    h('div', { class: 'grid stats' },
      stat('requests', 'Requests today'),
      stat('successes', 'Successes', 'ok'),
      stat('failures', 'Failures', 'bad'),
      stat('tokens', 'Tokens today')),
    h('div', { class: 'grid grid-2' },
      h('section', { class: 'card', 'aria-labelledby': 'rpm-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'rpm-title' }, 'Requests per minute'),
          refs.lastHour = h('span', { class: 'muted small' })),
        h('div', { class: 'chart-box' }, refs.rpmCanvas)),
      h('section', { class: 'card', 'aria-labelledby': 'dist-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'dist-title' }, 'Usage by key today')),
        refs.keysChartBox, refs.keysEmpty)),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'status-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'status-title' }, 'Keys by status'),
          refs.keyTotal = h('span', { class: 'muted small' })),
        refs.statusList = h('ul', { class: 'chips' })),
      h('section', { class: 'card', 'aria-labelledby': 'cap-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'cap-title' }, 'Capacity')),
        refs.capacity = h('div')),
      h('section', { class: 'card', 'aria-labelledby': 'lat-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'lat-title' }, 'Latency'),
          refs.latCount = h('span', { class: 'muted small' })),
        refs.latency = h('div')),
      h('section', { class: 'card', 'aria-labelledby': 'fo-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'fo-title' }, 'Failovers'),
          refs.foTotal = h('span', { class: 'muted small' })),
        refs.failovers = h('dl', { class: 'pairs' }))),
    h('section', { class: 'card', 'aria-labelledby': 'risk-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'risk-title' }, 'Keys at risk'),
        h('a', { href: '#/keys', class: 'small' }, 'All keys')),
      refs.risk = h('div')));

  const charts = {};
  let alive = true;
  let running = false;

  async function refresh() {
    if (running || !alive) return;
    running = true;
    try {
      const [stats, keyList] = await Promise.all([get('/stats'), get('/keys')]);
      if (!alive) return;
      draw(stats, keyList);
      updated.textContent = `Updated ${fmtTime(stats.at, true)} · every ${REFRESH_MS / 1000} s`;
    } catch (e) {
      if (alive && e.status !== 401) toast(`Could not load the statistics: ${e.message}`, 'error');
    } finally {
      running = false;
    }
  }

  function draw(s, keyList) {
    const t = s.today;
    setStat('requests', t.requests, 'upstream calls, every key');
    setStat('successes', t.successes, t.successes + t.failures ? `${fmtPct(t.successes / (t.successes + t.failures))} success rate` : 'no answers yet');
    setStat('failures', t.failures, `${fmtInt(t.rateLimited)} rate limited`);
    fill(refs.failuresSub, `${fmtInt(t.rateLimited)} rate limited · `,
      h('a', { href: '#/requests?status=error', 'data-link': 'failed-requests' }, 'failed requests'));
    setStat('tokens', t.tokens, `${fmtCompact(t.promptTokens)} in · ${fmtCompact(t.outputTokens)} out`);
    refs.today.textContent = `Upstream calls over every key since ${fmtTime(t.dayStart)}; the quota day resets ${fmtTime(t.resetsAt)} (${fmtRelative(t.resetsAt)}).`;

    drawPerMinute(s.requestsPerMinute);
    drawByKey(s.keys);
    drawStatus(s.keysByStatus);
    drawCapacity(s.capacity);
    drawLatency(s.latencyMillis, s.firstByteMillis, s.sinceStart);
    drawFailovers(s.failovers);
    drawRisk(keyList.keys, s.atRisk || []);
    drawAlerts(s.alerts || []);
  }

  function drawAlerts(alerts) {
    // GET /stats alerts: the set-aside brake holds (more keys refused as invalid than a share of the pool).
    refs.alerts.hidden = alerts.length === 0;
    refs.alerts.dataset.value = String(alerts.length);
    fill(refs.alerts, alerts.map((a) => h('p', { class: 'form-error', 'data-alert': a.kind, 'data-reason': a.reason },
      `Set-aside brake engaged for ${a.reason} since ${fmtTime(a.since)}: ${a.message} (${fmtInt(a.refused)} refused)`)));
  }

  function setStat(id, value, sub) {
    refs[id].textContent = fmtInt(value);
    refs[id].dataset.value = String(value);
    refs[`${id}Sub`].textContent = sub;
  }

  function chartsReady() {
    if (typeof window.Chart !== 'function') return false;
    window.Chart.defaults.color = css('--muted');
    window.Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    return true;
  }

  function drawPerMinute(pm) {
    refs.lastHour.textContent = `${fmtInt(pm.lastHour)} in the last hour`;
    refs.lastHour.dataset.value = String(pm.lastHour);
    if (!chartsReady()) return;
    const from = new Date(pm.from).getTime();
    const labels = pm.requests.map((_, i) => new Date(from + i * 60_000)
      .toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
    const ok = pm.requests.map((n, i) => Math.max(0, n - (pm.errors[i] || 0)));
    if (!charts.rpm) {
      charts.rpm = new window.Chart(refs.rpmCanvas, {
        type: 'bar',
        data: {
          labels,
          datasets: [
            { label: 'Answered', data: ok, backgroundColor: css('--chart-ok'), stack: 'r' },
            { label: 'Errors (4xx/5xx)', data: pm.errors, backgroundColor: css('--chart-err'), stack: 'r' },
          ],
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
          scales: {
            x: { stacked: true, grid: { display: false }, ticks: { maxTicksLimit: 7, maxRotation: 0 } },
            y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, grid: { color: css('--chart-grid') } },
          },
        },
      });
    } else {
      charts.rpm.data.labels = labels;
      charts.rpm.data.datasets[0].data = ok;
      charts.rpm.data.datasets[1].data = pm.errors;
      charts.rpm.update('none');
    }
  }

  function drawByKey(keys) {
    const used = keys.filter((k) => k.requests > 0).sort((a, b) => b.requests - a.requests);
    refs.keysEmpty.hidden = used.length > 0;
    refs.keysChartBox.hidden = used.length === 0;
    if (!chartsReady() || used.length === 0) return;
    const shown = used.slice(0, MAX_SLICES);
    const rest = used.slice(MAX_SLICES);
    const labels = shown.map((k) => (k.label ? `${k.label} (${k.key})` : k.key));
    const data = shown.map((k) => k.requests);
    if (rest.length) {
      labels.push(`${rest.length} other keys`);
      data.push(rest.reduce((n, k) => n + k.requests, 0));
    }
    const palette = ['#2f6fdf', '#e0892a', '#2aa876', '#c2417a', '#7b61d1', '#c9a227', '#1f9bb8', '#d9452b', '#8a94a6'];
    if (!charts.keys) {
      charts.keys = new window.Chart(refs.keysCanvas, {
        type: 'doughnut',
        data: { labels, datasets: [{ data, backgroundColor: palette, borderColor: css('--surface'), borderWidth: 2 }] },
        options: {
          animation: false,
          maintainAspectRatio: false,
          cutout: '55%',
          plugins: {
            legend: { position: window.matchMedia('(max-width: 600px)').matches ? 'bottom' : 'right', labels: { boxWidth: 12 } },
            tooltip: {
              callbacks: {
                label: (ctx) => {
                  const total = ctx.dataset.data.reduce((a, b) => a + b, 0);
                  return ` ${fmtInt(ctx.parsed)} requests (${fmtPct(ctx.parsed / total)})`;
                },
              },
            },
          },
        },
      });
    } else {
      charts.keys.data.labels = labels;
      charts.keys.data.datasets[0].data = data;
      charts.keys.update('none');
    }
  }

  function drawStatus(byStatus) {
    let total = 0;
    fill(refs.statusList, STATES.map((s) => {
      const n = byStatus[s] || 0;
      total += n;
      return h('li', { class: `chip s-${s}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), s,
        h('strong', { 'data-stat': `keys.${s}`, 'data-value': n }, fmtInt(n)));
    }));
    refs.keyTotal.textContent = `${fmtInt(total)} keys`;
  }

  function drawCapacity(c) {
    const others = (c.models || []).filter((m) => m.keys > 0 && m.model !== '(other)');
    const tiers = c.tiers || [];
    fill(refs.capacity,
      h('div', { class: 'big', 'data-stat': 'multiplier', 'data-value': c.multiplier }, `×${fmtInt(c.multiplier)}`),
      h('p', { class: 'small' }, 'for ', h('code', null, c.model), `: ${fmtInt(c.usableKeys)} of ${fmtInt(c.keys)} keys usable now, in ${fmtInt(c.quotaGroups)} quota group${c.quotaGroups === 1 ? '' : 's'} (keys of one project share a quota).`),
      tiers.length > 1 ? h('ul', { class: 'plain small', 'data-testid': 'capacity-tiers' }, tiers.map((t) => h('li', null,
        `tier ${fmtInt(t.tier)}: `, h('strong', { 'data-stat': `tier.${t.tier}.usableKeys`, 'data-value': t.usableKeys }, fmtInt(t.usableKeys)),
        ` of ${fmtInt(t.keys)} keys usable, ${fmtInt(t.quotaGroups)} quota group${t.quotaGroups === 1 ? '' : 's'}`))) : null,
      others.length ? h('ul', { class: 'plain small' }, others.map((m) => h('li', null,
        h('code', null, modelName(m.model)), ` ×${fmtInt(m.multiplier)} · ${fmtInt(m.usableKeys)} usable`))) : null);
  }

  function drawLatency(lat, first, since) {
    refs.latCount.textContent = `${fmtInt(lat.count)} since ${fmtTime(since.startedAt)}`;
    const cell = (m, id, p) => h('td', { class: 'num nowrap', 'data-stat': `${id}.${p}`, 'data-value': m[p] }, m.count ? fmtMs(m[p]) : '—');
    fill(refs.latency, h('table', { class: 'data' },
      h('thead', null, h('tr', null, h('td'),
        h('th', { class: 'num', scope: 'col' }, 'Answer'), h('th', { class: 'num', scope: 'col' }, 'First byte'))),
      h('tbody', null, ['p50', 'p90', 'p99'].map((p) => h('tr', null, h('th', { scope: 'row' }, p),
        cell(lat, 'latency', p), cell(first, 'firstByte', p))))));
  }

  function drawFailovers(fo) {
    refs.foTotal.textContent = `${fmtInt(fo.total)} since start`;
    refs.foTotal.dataset.value = String(fo.total);
    const entries = Object.entries(fo.byReason).sort((a, b) => b[1] - a[1]);
    fill(refs.failovers, entries.map(([reason, n]) => [
      h('dt', { class: n ? '' : 'zero' }, REASONS[reason] || reason),
      h('dd', { class: n ? '' : 'zero', 'data-stat': `failovers.${reason}`, 'data-value': n },
        n ? h('a', { href: `#/requests?verdict=${encodeURIComponent(reason)}`, title: `Requests that met ${REASONS[reason] || reason}` }, fmtInt(n)) : fmtInt(n)),
    ]));
  }

  function drawRisk(keys, atRisk) {
    // Invalid or exhausted keys in rotation, low health, and keys with bad days (GET /stats atRisk) that the
    // clean-up would remove after removeAfterBadDays.
    const badDays = new Map(atRisk.map((r) => [r.id, r.badDays]));
    const order = { invalid: 0, exhausted: 1 };
    const risky = keys.filter((k) => !k.removed && (badDays.has(k.id) || (k.enabled && (k.status === 'invalid'
      || k.status === 'exhausted' || (k.health && k.health.score < LOW_HEALTH)))))
      .sort((a, b) => (badDays.get(b.id) || 0) - (badDays.get(a.id) || 0)
        || (order[a.status] ?? 2) - (order[b.status] ?? 2) || a.health.score - b.health.score);
    if (risky.length === 0) {
      fill(refs.risk, h('p', { class: 'empty-state', 'data-stat': 'risk.none' }, 'None: every key in rotation is healthy.'));
      return;
    }
    const days = (n) => (n ? `${n} bad day${n === 1 ? '' : 's'} in a row` : null);
    fill(refs.risk, h('ul', { class: 'plain risk', 'data-stat': 'risk', 'data-value': risky.length },
      risky.slice(0, 12).map((k) => h('li', { 'data-key-id': k.id },
        h('code', null, k.key), k.label ? h('span', null, k.label) : null, badge(k.status),
        h('span', { class: 'muted small' }, [days(badDays.get(k.id)), k.reason, k.until ? `until ${fmtTime(k.until)}` : null,
          `health ${fmtPct(k.health.score)}`].filter(Boolean).join(' · '))))),
    risky.length > 12 ? h('p', { class: 'small muted' }, `and ${risky.length - 12} more`) : null);
  }

  refreshButton.addEventListener('click', () => refresh());
  const timer = setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);
  const onVisible = () => {
    if (!document.hidden) refresh();
  };
  document.addEventListener('visibilitychange', onVisible);
  refresh();

  return {
    unmount() {
      alive = false;
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
      for (const c of Object.values(charts)) c.destroy();
    },
  };
}
