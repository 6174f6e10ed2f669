// Keys: the pool as a table (cards on a phone), bulk add from pasted text, and the per-key actions.

import { get, post, patch, del } from './http.js';
import {
  h, cell, fill, field, uid, modelName, fmtInt, fmtCompact, fmtPct, fmtMs, fmtTime, fmtRelative, badge, toast, showError,
  clearErrors, setFieldError, busy, confirmButton,
} from './ui.js';

const STATES = ['active', 'cooling', 'exhausted', 'invalid', 'disabled', 'removed'];
const REFRESH_MS = 15_000;
const POLL_MS = 1000;
const CHECK_TIMEOUT_MS = 60_000;

export default { title: 'Keys', mount };

function mount(root) {
  let keys = [];
  let editing = null;
  // The control to focus after the next redraw: [key id, data-action]. A pressed button is disabled while its
  // request runs, which takes focus away from it; the redraw gives it back.
  let refocus = null;
  let alive = true;
  let loading = false;

  // ------------------------------------------------------------------ the add panel
  const addToggle = h('button', { type: 'button', class: 'btn btn-primary', 'aria-expanded': 'false', 'aria-controls': 'add-panel' }, 'Add keys');
  const checkAll = h('button', { type: 'button', class: 'btn' }, 'Check all');
  const cleanupButton = h('button', { type: 'button', class: 'btn', title: 'Remove the keys bad for the set number of days in a row (never the last good key)' }, 'Run cleanup');
  const removeUnhealthy = confirmButton('Remove unhealthy', 'Confirm: remove unhealthy', () => removal('/keys/remove-unhealthy'),
    'invalid keys and keys with bad days; never the last good key', 'btn btn-danger');
  const refreshButton = h('button', { type: 'button', class: 'btn' }, 'Refresh');
  const text = h('textarea', { rows: 5, spellcheck: 'false', autocomplete: 'off', placeholder: 'AIza... one per line, or any text holding keys' });
  const project = h('input', { type: 'text', maxlength: 100, autocomplete: 'off' });
  const weight = h('input', { type: 'number', min: 1, max: 100, step: 1, inputmode: 'numeric', placeholder: '1' });
  const label = h('input', { type: 'text', maxlength: 200, autocomplete: 'off' });
  const tier = h('input', { type: 'number', min: 0, max: 9, step: 1, inputmode: 'numeric', placeholder: '0' });
  const groups = h('input', { type: 'text', maxlength: 1100, autocomplete: 'off' });
  const addSubmit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add');
  const addResult = h('div', { class: 'result', 'data-testid': 'add-result', role: 'status', hidden: true });
  const addForm = h('form', { novalidate: true },
    h('div', { class: 'form-grid' },
      field({ name: 'text', label: 'Keys', control: text, wide: true, hint: 'Paste anything that holds keys: one per line, comma separated, JSON, key= lines. Duplicates are skipped.' }),
      field({ name: 'project', label: 'Project (optional)', control: project, hint: 'Keys of one Google Cloud project share its quota.' }),
      field({ name: 'weight', label: 'Weight (optional)', control: weight, hint: '1 to 100; default 1.' }),
      field({ name: 'label', label: 'Label (optional)', control: label }),
      field({ name: 'tier', label: 'Tier (optional)', control: tier, hint: '0 to 9; default 0. Lower tiers serve first.' }),
      field({ name: 'groups', label: 'Groups (optional)', control: groups, hint: 'Comma separated model groups.' })),
    h('p', { class: 'form-error', 'data-error-for': '', hidden: true }),
    h('div', { class: 'form-actions' }, addSubmit,
      h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => togglePanel(false) }, 'Close')),
    addResult);
  const addPanel = h('section', { class: 'card', id: 'add-panel', hidden: true, 'aria-labelledby': 'add-title' },
    h('h2', { id: 'add-title' }, 'Add keys'), addForm);

  // ------------------------------------------------------------------ filters and table
  const statusFilter = h('select', null, h('option', { value: '' }, 'All'),
    STATES.map((s) => h('option', { value: s }, s)));
  const search = h('input', { type: 'search', placeholder: 'Key, label or project', autocomplete: 'off' });
  const summary = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const table = h('table', { class: 'data stack', id: 'keys-table' },
    h('caption', { class: 'sr-only' }, 'Upstream keys'),
    h('thead', null, h('tr', null, ['Key', 'Status', 'Health', 'Today', 'Weight', 'Actions']
      .map((c) => h('th', { scope: 'col', class: c === 'Weight' ? 'num' : null }, c)))),
    tbody);

  fill(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Keys'),
      h('div', { class: 'tools' }, addToggle, checkAll, cleanupButton, removeUnhealthy, refreshButton)),
    addPanel,
    h('section', { class: 'card', 'aria-label': 'Key list' },
      h('div', { class: 'filters' },
        field({ name: 'status-filter', label: 'Status', control: statusFilter, cls: 'narrow' }),
        field({ name: 'search', label: 'Search', control: search })),
      summary,
      h('div', { class: 'table-wrap' }, table)));

  function togglePanel(open) {
    addPanel.hidden = !open;
    addToggle.setAttribute('aria-expanded', String(open));
    if (open) text.focus();
    else addToggle.focus();
  }
  addToggle.addEventListener('click', () => togglePanel(addPanel.hidden));

  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(addForm);
    addResult.hidden = true;
    const body = { text: text.value };
    if (!text.value.trim()) {
      setFieldError(addForm, 'text', 'Paste at least one key.');
      return;
    }
    if (project.value.trim()) body.project = project.value.trim();
    if (label.value.trim()) body.label = label.value.trim();
    if (weight.value.trim()) {
      const w = Number(weight.value);
      if (!Number.isInteger(w) || w < 1 || w > 100) {
        setFieldError(addForm, 'weight', 'A whole number from 1 to 100.');
        return;
      }
      body.weight = w;
    }
    if (tier.value.trim()) {
      const t = Number(tier.value);
      if (!Number.isInteger(t) || t < 0 || t > 9) {
        setFieldError(addForm, 'tier', 'A whole number from 0 to 9.');
        return;
      }
      body.tier = t;
    }
    const groupList = groups.value.split(',').map((g) => g.trim()).filter((g) => g);
    if (groupList.length) body.groups = groupList;
    await busy(addSubmit, async () => {
      try {
        const r = await post('/keys', body);
        text.value = ''; // the secrets leave the page as soon as the gateway has them
        fill(addResult,
          h('strong', { 'data-testid': 'add-summary' },
            `${r.added.length} added · ${r.duplicates} duplicate${r.duplicates === 1 ? '' : 's'} · ${r.rejected.length} rejected`),
          r.keys.length ? h('ul', null, r.keys.map((k) => h('li', null, h('code', null, k.key)))) : null,
          r.rejected.length ? [h('p', { class: 'small' }, 'Rejected (not a valid key):'),
            h('ul', null, r.rejected.map((m) => h('li', null, h('code', null, m))))] : null);
        addResult.hidden = false;
        await load();
      } catch (err) {
        showError(addForm, err);
      }
    });
  });

  checkAll.addEventListener('click', () => busy(checkAll, async () => {
    try {
      const r = await post('/keys/check');
      toast(`Checking ${r.checking.length} key${r.checking.length === 1 ? '' : 's'}…`);
      await load();
      await pollUntil(() => !keys.some((k) => k.checking));
      toast('Checks finished.');
    } catch (err) {
      toast(err.message, 'error');
    }
  }));
  cleanupButton.addEventListener('click', () => busy(cleanupButton, () => removal('/keys/cleanup')));

  /** Runs a removal route and says what it did: {removed: [ids], keys: [{key, reason}], kept: [{key, reason}]}. */
  async function removal(path) {
    try {
      const r = await post(path);
      const n = r.removed.length;
      const kept = r.kept.length ? ` Kept ${r.kept.map((k) => `${k.key} (${k.reason})`).join(', ')}.` : '';
      const off = r.badDays === 0 ? ' Automatic removal is off (removeAfterBadDays 0).' : '';
      toast(`${n ? `Removed ${n} key${n === 1 ? '' : 's'}: ${r.keys.map((k) => k.key).join(', ')}.` : 'No key removed.'}${kept}${off}`);
      await load();
    } catch (err) {
      toast(err.message, 'error');
    }
  }
  refreshButton.addEventListener('click', () => busy(refreshButton, load));
  statusFilter.addEventListener('change', render);
  search.addEventListener('input', render);

  // ------------------------------------------------------------------ loading and drawing

  async function load() {
    if (loading) return;
    loading = true;
    try {
      const r = await get('/keys');
      if (!alive) return;
      keys = r.keys;
      summary.textContent = `${fmtInt(r.total)} keys: ${STATES.map((s) => `${r.counts[s] || 0} ${s}`).join(', ')}.`;
      render();
    } catch (err) {
      if (alive && err.status !== 401) toast(`Could not load the keys: ${err.message}`, 'error');
    } finally {
      loading = false;
    }
  }

  async function pollUntil(done) {
    const deadline = Date.now() + CHECK_TIMEOUT_MS;
    while (alive && !done() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      await load();
    }
  }

  function visible() {
    const s = statusFilter.value;
    const q = search.value.trim().toLowerCase();
    return keys.filter((k) => (!s || k.status === s)
      && (!q || [k.key, k.label, k.project, k.id].some((v) => v && v.toLowerCase().includes(q))));
  }

  /** Redraws the rows, keeping keyboard focus on the same action of the same key. */
  function render() {
    const active = document.activeElement;
    const row = active && active.closest ? active.closest('tr[data-key-id]') : null;
    let focusKey = row && tbody.contains(row) ? [row.dataset.keyId, active.dataset.action] : null;
    if (refocus && (!active || active === document.body || focusKey)) focusKey = refocus;
    refocus = null;
    const list = visible();
    fill(tbody, list.length ? list.map((k) => (editing === k.id ? editRow(k) : keyRow(k)))
      : h('tr', null, h('td', { colspan: 6, class: 'full empty-state' },
        keys.length ? 'No key matches the filter.' : 'No keys yet: add some with "Add keys".')));
    if (focusKey) {
      const again = tbody.querySelector(`tr[data-key-id="${CSS.escape(focusKey[0])}"] [data-action="${focusKey[1]}"]`);
      if (again) again.focus();
    }
  }

  function keyRow(k) {
    const todayModels = (k.models || []).filter((m) => m.requests > 0);
    return h('tr', { 'data-key-id': k.id, class: k.removed ? 'removed' : null },
      cell({ 'data-label': 'Key' }, h('code', { class: 'key-masked line' }, k.key),
        k.label ? h('span', { class: 'line key-label' }, k.label) : null,
        k.project ? h('span', { class: 'sub' }, `project ${k.project}`) : null,
        k.tier ? h('span', { class: 'sub', 'data-testid': 'key-tier' }, `tier ${k.tier}`) : null,
        (k.groups || []).length ? h('span', { class: 'sub', 'data-testid': 'key-groups' }, `groups ${k.groups.join(', ')}`) : null,
        // Files, cached contents, batches and stores this key holds (GET /admin/api/affinity lists them).
        k.resources ? h('span', { class: 'sub', 'data-stat': 'resources', 'data-value': k.resources },
          `holds ${fmtInt(k.resources)} resource${k.resources === 1 ? '' : 's'}`) : null),
      cell({ 'data-label': 'Status' }, statusCell(k)),
      cell({ 'data-label': 'Health' }, healthCell(k)),
      cell({ 'data-label': 'Today', class: 'today' }, todayModels.length
        ? h('ul', { class: 'models-use' }, todayModels.map((m) => h('li', null, h('span', { class: 'mono' }, modelName(m.model)), ` ${fmtInt(m.requests)} req · ${fmtCompact(m.tokens)} tok`,
          m.failures ? h('span', { class: 'muted' }, ` · ${fmtInt(m.failures)} failed`) : null,
          m.budget ? h('span', { class: 'line sub budget-use' }, budgetUse(m)) : null)))
        : h('span', { class: 'muted' }, 'no use')),
      cell({ 'data-label': 'Weight', class: 'num' }, String(k.weight)),
      cell({ 'data-label': 'Actions', class: 'actions' }, actions(k)));
  }

  /** Use against the per-key budget (settings keyBudgets): this minute's requests and tokens, today's requests. */
  function budgetUse(m) {
    const b = m.budget;
    const parts = [];
    if (b.rpm >= 0) parts.push(`${fmtInt(b.minuteRequests)}/${fmtInt(b.rpm)} req this minute`);
    if (b.tpm >= 0) parts.push(`${fmtCompact(b.minuteTokens)}/${fmtCompact(b.tpm)} tok this minute`);
    if (b.rpd >= 0) parts.push(`${fmtInt(m.requests)}/${fmtInt(b.rpd)} req today`);
    return parts.length ? `budget: ${parts.join(' · ')}` : '';
  }

  function statusCell(k) {
    const why = [k.reason && k.reason !== k.status ? k.reason : null, k.model ? modelName(k.model) : null].filter(Boolean);
    return [
      h('span', { class: 'line' }, badge(k.status)),
      why.length ? h('span', { class: 'sub' }, why.join(' · ')) : null,
      k.until ? h('span', { class: 'sub' }, `until ${fmtTime(k.until)} (${fmtRelative(k.until)})`) : null,
      k.invalidSince ? h('span', { class: 'sub' }, `since ${fmtTime(k.invalidSince)}`) : null,
      k.checking ? h('span', { class: 'sub' }, 'checking…') : null,
    ];
  }

  function healthCell(k) {
    const score = k.health ? k.health.score : 1;
    const cls = score >= 0.8 ? '' : score >= 0.5 ? 'mid' : 'low';
    const bar = h('span', { class: `health-bar ${cls}`, 'aria-hidden': 'true' }, h('span'));
    bar.firstChild.style.width = `${Math.round(Math.max(0, Math.min(1, score)) * 100)}%`;
    const check = k.lastCheck;
    return [
      h('span', { class: 'line' }, fmtPct(score)),
      bar,
      k.health ? h('span', { class: 'sub' }, `${fmtPct(k.health.successRate)} ok${k.health.latencyMillis > 0 ? ` · ${fmtMs(k.health.latencyMillis)}` : ''}`) : null,
      check ? h('span', { class: 'sub' }, `checked ${fmtTime(check.at)}: ${check.outcome}${check.reason ? ` (${check.reason})` : ''}`) : null,
      historyLine(k),
    ];
  }

  /** The daily history in one line: bad days in a row, and how many of the listed days were bad. */
  function historyLine(k) {
    const days = k.history || [];
    if (!days.length) return null;
    const bad = days.filter((d) => d.bad).length;
    const title = days.slice(0, 7).map((d) => `${d.day}: ${d.ok} ok, ${d.failed} failed, ${d.checks - d.checksFailed}/${d.checks} checks good`).join('\n');
    return h('span', { class: 'sub', title, 'data-testid': 'key-history' },
      k.badDays ? `${k.badDays} bad day${k.badDays === 1 ? '' : 's'} in a row` : `${days.length} day${days.length === 1 ? '' : 's'} of history, ${bad} bad`);
  }

  function actions(k) {
    const b = (name, text, fn, cls = 'btn btn-sm') => {
      const button = h('button', { type: 'button', class: cls, 'data-action': name, 'aria-label': `${text} ${k.key}` }, text);
      button.addEventListener('click', () => {
        refocus = [k.id, name];
        busy(button, fn);
      });
      return button;
    };
    const list = [b('edit', 'Edit', async () => {
      editing = k.id;
      render();
      const first = tbody.querySelector(`tr[data-key-id="${CSS.escape(k.id)}"] input`);
      if (first) first.focus();
    })];
    if (k.removed) {
      list.push(b('remove', 'Restore', () => act(() => post(`/keys/${k.id}/restore`), `${k.key} restored.`)));
    } else {
      list.push(k.enabled
        ? b('toggle', 'Disable', () => act(() => patch(`/keys/${k.id}`, { enabled: false }), `${k.key} disabled.`))
        : b('toggle', 'Enable', () => act(() => patch(`/keys/${k.id}`, { enabled: true }), `${k.key} enabled.`)));
      list.push(b('check', k.checking ? 'Checking…' : 'Check', () => checkOne(k)));
      list.push(b('remove', 'Remove', () => act(() => del(`/keys/${k.id}`), `${k.key} removed; Restore brings it back.`), 'btn btn-sm btn-danger'));
    }
    return h('div', { class: 'btn-row' }, list);
  }

  async function act(call, message) {
    try {
      await call();
      toast(message);
      await load();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  async function checkOne(k) {
    try {
      await post(`/keys/${k.id}/check`);
      toast(`Checking ${k.key}…`);
      await load();
      await pollUntil(() => !keys.some((x) => x.id === k.id && x.checking));
      const after = keys.find((x) => x.id === k.id);
      if (after && after.lastCheck) toast(`${k.key}: ${after.lastCheck.outcome}${after.lastCheck.reason ? ` (${after.lastCheck.reason})` : ''}.`);
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  function editRow(k) {
    const id = uid('edit');
    const inLabel = h('input', { type: 'text', maxlength: 200, value: k.label, autocomplete: 'off' });
    const inProject = h('input', { type: 'text', maxlength: 100, value: k.project, autocomplete: 'off' });
    const inWeight = h('input', { type: 'number', min: 1, max: 100, step: 1, inputmode: 'numeric', value: String(k.weight) });
    const inTier = h('input', { type: 'number', min: 0, max: 9, step: 1, inputmode: 'numeric', value: String(k.tier || 0) });
    const inGroups = h('input', { type: 'text', maxlength: 1100, value: (k.groups || []).join(', '), autocomplete: 'off' });
    const save = h('button', { type: 'submit', class: 'btn btn-sm btn-primary' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'btn btn-sm', 'data-action': 'edit' }, 'Cancel');
    const form = h('form', { novalidate: true, 'aria-labelledby': id },
      h('h3', { id }, 'Edit ', h('code', null, k.key)),
      h('div', { class: 'form-grid' },
        field({ name: 'label', label: 'Label', control: inLabel }),
        field({ name: 'project', label: 'Project', control: inProject }),
        field({ name: 'weight', label: 'Weight', control: inWeight, hint: '1 to 100: how often this key is picked.' }),
        field({ name: 'tier', label: 'Tier', control: inTier, hint: '0 to 9: lower tiers serve first (free keys at 0, paid behind them).' }),
        field({ name: 'groups', label: 'Groups', control: inGroups, hint: 'Comma separated; models are routed to groups in the settings.' })),
      h('p', { class: 'form-error', 'data-error-for': '', hidden: true }),
      h('div', { class: 'form-actions' }, save, cancel));
    const close = () => {
      editing = null;
      render();
      const again = tbody.querySelector(`tr[data-key-id="${CSS.escape(k.id)}"] [data-action="edit"]`);
      if (again) again.focus();
    };
    cancel.addEventListener('click', close);
    form.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') close();
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      clearErrors(form);
      const body = {};
      if (inLabel.value !== k.label) body.label = inLabel.value.trim();
      if (inProject.value !== k.project) body.project = inProject.value.trim();
      const w = Number(inWeight.value);
      if (!Number.isInteger(w) || w < 1 || w > 100) {
        setFieldError(form, 'weight', 'A whole number from 1 to 100.');
        return;
      }
      if (w !== k.weight) body.weight = w;
      const t = Number(inTier.value);
      if (!Number.isInteger(t) || t < 0 || t > 9) {
        setFieldError(form, 'tier', 'A whole number from 0 to 9.');
        return;
      }
      if (t !== (k.tier || 0)) body.tier = t;
      const groups = inGroups.value.split(',').map((g) => g.trim()).filter((g) => g);
      if (groups.join(',') !== (k.groups || []).join(',')) body.groups = groups;
      if (Object.keys(body).length === 0) {
        close();
        return;
      }
      busy(save, async () => {
        try {
          await patch(`/keys/${k.id}`, body);
          toast(`${k.key} saved.`);
          editing = null;
          await load();
          const again = tbody.querySelector(`tr[data-key-id="${CSS.escape(k.id)}"] [data-action="edit"]`);
          if (again) again.focus();
        } catch (err) {
          showError(form, err);
        }
      });
    });
    return h('tr', { 'data-key-id': k.id, class: 'edit-row' }, h('td', { colspan: 6, class: 'full' }, form));
  }

  // ------------------------------------------------------------------ refresh

  const timer = setInterval(() => {
    // Not while the user is editing, typing in the add panel or has focus in the table: a redraw would move it.
    const a = document.activeElement;
    const inside = a && a !== document.body && (table.contains(a) || addPanel.contains(a));
    if (!document.hidden && editing === null && !inside) load();
  }, REFRESH_MS);
  load();

  return {
    unmount() {
      alive = false;
      clearInterval(timer);
      text.value = '';
    },
  };
}
