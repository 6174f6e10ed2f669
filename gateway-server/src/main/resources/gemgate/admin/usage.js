// Usage: GET /admin/api/usage by token, key, model or group, per day over the last 30 days or per minute over the
// last day: a stacked chart of the top values and a table of totals. Counts are exact (not drawn from sampled
// request records) and cover every gateway that writes to the same database.

import { get, getText } from './http.js';
import { h, cell, fill, field, fmtInt, fmtCompact, toast, modelName } from './ui.js';

const BY = [['model', 'Model'], ['token', 'User token'], ['key', 'Key'], ['group', 'Key group']];
const METRICS = [['requests', 'Requests'], ['failures', 'Failures'], ['tokens', 'Tokens (prompt + output)']];
const TOP = 8;
const PALETTE = ['#2f6fdf', '#e0892a', '#2aa876', '#c2417a', '#7b61d1', '#c9a227', '#1f9bb8', '#d9452b', '#8a94a6'];

export default { title: 'Usage', mount };

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function mount(root) {
  let alive = true;
  let chart = null;
  let last = null;
  const by = h('select', { name: 'by' }, BY.map(([v, t]) => h('option', { value: v }, t)));
  const period = h('select', { name: 'period' }, h('option', { value: 'day' }, 'Per day, last 30 days'), h('option', { value: 'minute' }, 'Per minute, last day'));
  const metric = h('select', { name: 'metric' }, METRICS.map(([v, t]) => h('option', { value: v }, t)));
  const canvas = h('canvas', { role: 'img', 'aria-label': 'Usage over time' });
  const empty = h('p', { class: 'empty-state', hidden: true }, 'No usage in this period yet.');
  const tbody = h('tbody');
  const exportButton = h('button', { type: 'button', class: 'btn btn-sm' }, 'Export CSV');

  fill(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Usage'), h('div', { class: 'tools' }, exportButton)),
    h('p', { class: 'muted' }, 'Requests, failures and tokens per quota day or per minute, exact, by who and what used them.'),
    h('form', { class: 'filters', 'aria-label': 'Usage view', onsubmit: (e) => e.preventDefault() },
      field({ name: 'by', label: 'By', cls: 'narrow', control: by }),
      field({ name: 'period', label: 'Period', cls: 'narrow', control: period }),
      field({ name: 'metric', label: 'Chart', cls: 'narrow', control: metric })),
    h('section', { class: 'card', 'aria-labelledby': 'usage-chart-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'usage-chart-title' }, 'Over time')),
      h('div', { class: 'chart-box' }, canvas), empty),
    h('section', { class: 'card', 'aria-labelledby': 'usage-totals-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'usage-totals-title' }, 'Totals')),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data stack', id: 'usage-table' },
        h('thead', null, h('tr', null, ['Name', 'Requests', 'Failures', 'Prompt tokens', 'Output tokens', 'Thinking tokens']
          .map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null }, c)))),
        tbody))));

  const value = (r) => (metric.value === 'tokens' ? r.promptTokens + r.outputTokens : r[metric.value]);
  const label = (r) => (by.value === 'model' ? modelName(r.name) : r.name);

  async function load() {
    try {
      const r = await get(`/usage?by=${by.value}&period=${period.value}`);
      if (!alive) return;
      last = r;
      draw();
    } catch (err) {
      if (alive && err.status !== 401) toast(`Could not load the usage: ${err.message}`, 'error');
    }
  }

  function draw() {
    const r = last;
    const totals = [...r.totals].sort((a, b) => b.requests - a.requests);
    fill(tbody, totals.length ? totals.map((t) => h('tr', { 'data-value': t.value },
      cell({ 'data-label': 'Name' }, h('strong', { class: 'line' }, label(t)), t.name !== t.value ? h('span', { class: 'sub mono' }, t.value) : null),
      cell({ 'data-label': 'Requests', class: 'num' }, h('span', { 'data-stat': 'requests', 'data-value': t.requests }, fmtInt(t.requests))),
      cell({ 'data-label': 'Failures', class: 'num' }, h('span', { 'data-stat': 'failures', 'data-value': t.failures }, fmtInt(t.failures))),
      cell({ 'data-label': 'Prompt tokens', class: 'num' }, fmtCompact(t.promptTokens)),
      cell({ 'data-label': 'Output tokens', class: 'num' }, fmtCompact(t.outputTokens)),
      cell({ 'data-label': 'Thinking tokens', class: 'num' }, fmtCompact(t.reasoningTokens))))
      : h('tr', null, h('td', { colspan: 6, class: 'full empty-state' }, 'No usage in this period yet.')));
    empty.hidden = totals.length > 0;
    canvas.parentElement.hidden = totals.length === 0;
    if (typeof window.Chart !== 'function' || totals.length === 0) return;
    const buckets = [...new Set(r.rows.map((x) => x.bucket))].sort();
    const top = totals.slice(0, TOP).map((t) => t.value);
    const series = top.map((v, i) => {
      const name = label(totals.find((t) => t.value === v));
      const per = new Map(r.rows.filter((x) => x.value === v).map((x) => [x.bucket, value(x)]));
      return { label: name, data: buckets.map((b) => per.get(b) || 0), backgroundColor: PALETTE[i], stack: 's' };
    });
    if (totals.length > TOP) {
      const rest = new Map();
      for (const x of r.rows) if (!top.includes(x.value)) rest.set(x.bucket, (rest.get(x.bucket) || 0) + value(x));
      series.push({ label: `${totals.length - TOP} others`, data: buckets.map((b) => rest.get(b) || 0), backgroundColor: PALETTE[TOP], stack: 's' });
    }
    const labels = buckets.map((b) => (r.period === 'day' ? b.slice(5)
      : new Date(b).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
    if (chart) chart.destroy();
    window.Chart.defaults.color = css('--muted');
    chart = new window.Chart(canvas, {
      type: 'bar',
      data: { labels, datasets: series },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { maxTicksLimit: 10, maxRotation: 0 } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, grid: { color: css('--chart-grid') } },
        },
      },
    });
  }

  by.addEventListener('change', load);
  period.addEventListener('change', load);
  metric.addEventListener('change', () => last && draw());
  exportButton.addEventListener('click', async () => {
    try {
      const csv = await getText(`/usage?by=${by.value}&period=${period.value}&format=csv`);
      const a = h('a', { href: URL.createObjectURL(new Blob([csv], { type: 'text/csv' })), download: `gemgate-usage-${by.value}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (err) {
      toast(`Could not export: ${err.message}`, 'error');
    }
  });
  load();
  const timer = setInterval(() => {
    if (!document.hidden) load();
  }, 30_000);

  return {
    unmount() {
      alive = false;
      clearInterval(timer);
      if (chart) chart.destroy();
    },
  };
}
