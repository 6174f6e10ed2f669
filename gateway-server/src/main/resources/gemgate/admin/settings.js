// Settings: every field of GET /admin/api/settings, saved with PATCH (all or nothing); a 400 shows next to the field
// it names. Models: the allow-list, the aliases and the per-model key budgets, each replaced whole.

import { get, patch } from './http.js';
import { h, fill, field, toast, showError, clearErrors, setFieldError, busy } from './ui.js';

const DURATION = /^\d{1,18}(ms|s|m|h|d)?$/;
const select = (...options) => options.map(([value, label]) => ({ value, label }));

/** The settings this page knows; a field the gateway adds later still shows, as a plain text or JSON input. */
const GENERAL = [
  { name: 'strategy', label: 'Key selection', type: 'select', hint: 'How the next key is picked.',
    options: select(['round_robin', 'Round robin (weighted)'], ['least_used', 'Least used'], ['adaptive', 'Adaptive (by health)']) },
  { name: 'maxAttempts', label: 'Max costly attempts', type: 'int', min: 1, max: 20, hint: '1 to 20: 5xx, connection failures and timeouts one request may meet; 429s and invalid keys do not count.' },
  { name: 'failoverDeadline', label: 'Failover deadline', type: 'duration', hint: '1s to 10m: a request tries keys that can serve until one does, none is left, or this long after it arrived.' },
  { name: 'rateLimitCooldown', label: 'Rate-limit cooldown', type: 'duration', hint: 'After a 429 that gives no delay; doubles on repeats.' },
  { name: 'rateLimitCooldownMax', label: 'Rate-limit cooldown ceiling', type: 'duration', hint: 'Ceiling of that doubling, at least the cooldown.' },
  { name: 'serverErrorCooldown', label: 'Server-error cooldown', type: 'duration', hint: 'After a 5xx, connect failure or timeout.' },
  { name: 'failoverMaxWait', label: 'Failover wait', type: 'duration', hint: '0 to 60s: wait for a cooling key that frees within it instead of answering 429.' },
  { name: 'probeInterval', label: 'Probe interval', type: 'duration', hint: '10s to 7d: how often a key set aside as invalid or failing is checked again.' },
  { name: 'probeAfterServerErrors', label: 'Set aside after server errors', type: 'int', min: 0, max: 1000, hint: '0 to 1000: a key failing this many times in a row (5xx, connect failure, timeout) is set aside and probed; 0: off.' },
  { name: 'removeAfterBadDays', label: 'Remove after bad days', type: 'int', min: 0, max: 30, hint: '0 to 30: a key bad this many quota days in a row is removed (never the last good key); 0: off.' },
  { name: 'minChecksPerDay', label: 'Failures that make a bad day', type: 'int', min: 1, max: 100000, hint: 'A day without any success and at least this many failed calls and probes is bad.' },
  { name: 'streamMode', label: 'Stream mode', type: 'select', hint: 'How the OpenAI routes call Gemini.',
    options: select(['auto', 'auto'], ['always', 'always'], ['never', 'never']) },
  { name: 'defaultThinking', label: 'Default thinking', type: 'select', hint: 'Thinking level for requests that set none.',
    options: select(['auto', 'auto'], ['off', 'off'], ['low', 'low'], ['medium', 'medium'], ['high', 'high']) },
  { name: 'systemInstruction', label: 'System instruction', type: 'text', wide: true, hint: 'Put before every request\'s own system instruction; empty: none.' },
  { name: 'modelGroups', label: 'Model groups', type: 'json', wide: true, hint: 'Model pattern to key groups, e.g. {"gemini-2.5-pro*":["paid"],"*":["free"]}; the group * is every key; {}: every model uses every key.' },
];
const EDITED_ELSEWHERE = new Set(['allowedModels', 'modelAliases', 'keyBudgets']);

export default { title: 'Settings', mount };

function mount(root) {
  let alive = true;
  let current = null;

  const generalForm = h('form', { novalidate: true, 'aria-labelledby': 'general-title' });
  const allowForm = h('form', { novalidate: true, 'aria-labelledby': 'allow-title' });
  const aliasForm = h('form', { novalidate: true, 'aria-labelledby': 'alias-title' });
  const budgetForm = h('form', { novalidate: true, 'aria-labelledby': 'budget-title' });

  fill(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Settings')),
    h('p', { class: 'muted' }, 'Changes apply to the next request and are kept across restarts. Durations: 500ms, 30s, 5m, 2h, 1d, or a number of seconds.'),
    h('section', { class: 'card' }, h('h2', { id: 'general-title' }, 'Keys, failover and requests'), generalForm),
    h('h2', { class: 'section-title' }, 'Models'),
    h('div', { class: 'grid grid-2' },
      h('section', { class: 'card' }, h('h2', { id: 'allow-title' }, 'Allowed models'),
        h('p', { class: 'muted small' }, 'Models clients may call, after aliases. Empty: every model. A trailing * matches a prefix, as in gemini-2.5-*.'),
        allowForm),
      h('section', { class: 'card' }, h('h2', { id: 'alias-title' }, 'Aliases'),
        h('p', { class: 'muted small' }, 'A name clients send, and the model it stands for. An alias may not point at another alias.'),
        aliasForm)),
    h('section', { class: 'card' }, h('h2', { id: 'budget-title' }, 'Key budgets per model'),
      h('p', { class: 'muted small' }, 'What one key may be sent for a model: requests per minute, tokens per minute, requests per day. Empty: unlimited. The model * applies to models without an entry.'),
      budgetForm));

  // ------------------------------------------------------------------ general settings

  function drawGeneral(s) {
    const known = new Set(GENERAL.map((f) => f.name));
    const extra = Object.keys(s).filter((k) => !known.has(k) && !EDITED_ELSEWHERE.has(k))
      .map((k) => ({ name: k, label: k, type: typeof s[k] === 'object' ? 'json' : 'raw', hint: 'A setting this page does not know yet.' }));
    const controls = {};
    const fields = [...GENERAL.filter((f) => f.name in s), ...extra].map((f) => {
      let c;
      const v = s[f.name];
      if (f.type === 'select') {
        const opts = f.options.some((o) => o.value === v) ? f.options : [...f.options, { value: v, label: v }];
        c = h('select', { value: v }, opts.map((o) => h('option', { value: o.value }, o.label)));
      } else if (f.type === 'int') {
        c = h('input', { type: 'number', min: f.min, max: f.max, step: 1, inputmode: 'numeric', value: String(v) });
      } else if (f.type === 'text') {
        c = h('textarea', { rows: 3, value: v });
      } else if (f.type === 'json') {
        c = h('textarea', { rows: 3, spellcheck: 'false', class: 'mono', value: JSON.stringify(v) });
      } else {
        c = h('input', { type: 'text', spellcheck: 'false', autocomplete: 'off', value: String(v) });
      }
      controls[f.name] = { f, c };
      return field({ name: f.name, label: f.label, control: c, hint: f.hint, wide: f.wide });
    });
    const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save settings');
    const reset = h('button', { type: 'button', class: 'btn' }, 'Undo changes');
    const saved = h('span', { class: 'saved', role: 'status', 'data-testid': 'settings-saved' });
    fill(generalForm, h('div', { class: 'form-grid' }, fields),
      h('p', { class: 'form-error', 'data-error-for': '', hidden: true }),
      h('div', { class: 'form-actions' }, save, reset, saved));
    reset.addEventListener('click', () => {
      drawGeneral(current);
    });
    generalForm.onsubmit = (e) => {
      e.preventDefault();
      clearErrors(generalForm);
      saved.textContent = '';
      const body = {};
      for (const [name, { f, c }] of Object.entries(controls)) {
        let v = c.value;
        if (f.type === 'int') {
          const n = Number(v);
          if (!Number.isInteger(n)) {
            setFieldError(generalForm, name, 'A whole number.');
            return;
          }
          v = n;
        } else if (f.type === 'duration') {
          v = v.trim();
          if (!DURATION.test(v)) {
            setFieldError(generalForm, name, 'A duration such as 500ms, 30s, 5m, 2h or 1d.');
            return;
          }
        } else if (f.type === 'json') {
          try {
            v = JSON.parse(v);
          } catch {
            setFieldError(generalForm, name, 'Not valid JSON.');
            return;
          }
        } else if (f.type === 'raw' && typeof current[name] === 'number') {
          v = Number(v);
        }
        if (JSON.stringify(v) !== JSON.stringify(current[name])) body[name] = v;
      }
      if (Object.keys(body).length === 0) {
        saved.textContent = 'Nothing changed.';
        return;
      }
      busy(save, async () => {
        try {
          current = await patch('/settings', body);
          drawGeneral(current);
          generalForm.querySelector('[data-testid="settings-saved"]').textContent = `Saved: ${Object.keys(body).join(', ')}.`;
        } catch (err) {
          showError(generalForm, err);
        }
      });
    };
  }

  // ------------------------------------------------------------------ list editors

  /**
   * An editor of rows, saved whole. spec: { form, kind, head, rows (initial values), newRow (values of an empty
   * row), cells(values, index) → [{name, label, control}], errorFor(values, index) → the field a 400 names,
   * collect(rows) → the PATCH body or a thrown {field, message}, addLabel }.
   */
  function listEditor(spec) {
    const rowsBox = h('div', { class: 'editor-rows' });
    const add = h('button', { type: 'button', class: 'btn btn-sm' }, spec.addLabel);
    const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save');
    const saved = h('span', { class: 'saved', role: 'status' });
    let rows = [];

    function addRow(values, focus) {
      const cells = spec.cells(values);
      const remove = h('button', { type: 'button', class: 'btn btn-sm remove', 'aria-label': `Remove row ${rows.length + 1}` }, 'Remove');
      const err = h('p', { class: 'field-error', 'data-error-for': `row-${++n}`, hidden: true });
      const el = h('div', { class: `editor-row ${spec.kind}` },
        cells.map((c) => h('div', { class: 'field' }, h('label', { for: c.control.id, class: 'sr-label-on-wide' }, c.label), c.control)),
        remove, err);
      const row = { el, cells, err };
      rows.push(row);
      remove.addEventListener('click', () => {
        rows = rows.filter((r) => r !== row);
        el.remove();
        add.focus();
      });
      rowsBox.append(el);
      if (focus) cells[0].control.focus();
    }

    function draw(values) {
      rows = [];
      rowsBox.replaceChildren();
      for (const v of values) addRow(v, false);
    }

    add.addEventListener('click', () => addRow(spec.newRow(), true));
    fill(spec.form,
      spec.head ? h('div', { class: `editor-row ${spec.kind} editor-head`, 'aria-hidden': 'true' }, spec.head.map((t) => h('span', null, t)),
        h('span', { class: 'btn btn-sm placeholder' }, 'Remove')) : null,
      rowsBox,
      h('p', { class: 'form-error', 'data-error-for': '', hidden: true }),
      h('div', { class: 'form-actions' }, add, save, saved));
    spec.form.onsubmit = (e) => {
      e.preventDefault();
      clearErrors(spec.form);
      saved.textContent = '';
      // Each row's slot answers to the field the gateway would name for it, so a 400 lands on its row.
      rows.forEach((r, i) => {
        const values = r.cells.map((c) => c.control.value.trim());
        r.err.dataset.errorFor = spec.errorFor(values, i);
        r.err.dataset.control = r.cells[0].control.id;
      });
      let body;
      try {
        body = spec.collect(rows.map((r) => r.cells.map((c) => c.control.value.trim())));
      } catch (problem) {
        showError(spec.form, problem);
        return;
      }
      busy(save, async () => {
        try {
          current = await patch('/settings', body);
          spec.redraw(current);
          spec.form.querySelector('.saved').textContent = 'Saved.';
        } catch (err) {
          showError(spec.form, err);
        }
      });
    };
    return draw;
  }

  let n = 0;
  const input = (attrs) => h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', id: `ed-${++n}`, ...attrs });

  const drawAllow = listEditor({
    form: allowForm,
    kind: 'allow',
    addLabel: 'Add model',
    newRow: () => [''],
    cells: ([model]) => [{ label: 'Model', control: input({ value: model, placeholder: 'gemini-2.5-flash' }) }],
    errorFor: (_, i) => `allowedModels[${i}]`,
    collect: (rows) => ({ allowedModels: rows.map(([m]) => m).filter(Boolean) }),
    redraw: (s) => drawAllow(s.allowedModels.map((m) => [m])),
  });

  const drawAliases = listEditor({
    form: aliasForm,
    kind: 'alias',
    addLabel: 'Add alias',
    head: ['Alias', 'Model'],
    newRow: () => ['', ''],
    cells: ([alias, model]) => [
      { label: 'Alias', control: input({ value: alias, placeholder: 'fast' }) },
      { label: 'Model', control: input({ value: model, placeholder: 'gemini-2.5-flash' }) },
    ],
    errorFor: ([alias], i) => (alias ? `modelAliases.${alias}` : `modelAliases.#${i}`),
    collect: (rows) => {
      const out = {};
      rows.forEach(([alias, model], i) => {
        if (!alias && !model) return;
        const f = alias ? `modelAliases.${alias}` : `modelAliases.#${i}`;
        if (!alias || !model) throw { field: f, message: 'Give both the alias and its model.' };
        if (alias in out) throw { field: f, message: `The alias ${alias} is listed twice.` };
        out[alias] = model;
      });
      return { modelAliases: out };
    },
    redraw: (s) => drawAliases(Object.entries(s.modelAliases)),
  });

  const LIMIT = /^(-1|[1-9]\d{0,17})$/;
  const drawBudgets = listEditor({
    form: budgetForm,
    kind: 'budget',
    addLabel: 'Add model',
    head: ['Model', 'Requests/min', 'Tokens/min', 'Requests/day'],
    newRow: () => ['', '', '', ''],
    cells: ([model, rpm, tpm, rpd]) => [
      { label: 'Model', control: input({ value: model, placeholder: '* or gemini-2.5-pro' }) },
      { label: 'Requests per minute', control: input({ value: rpm, inputmode: 'numeric', placeholder: 'unlimited' }) },
      { label: 'Tokens per minute', control: input({ value: tpm, inputmode: 'numeric', placeholder: 'unlimited' }) },
      { label: 'Requests per day', control: input({ value: rpd, inputmode: 'numeric', placeholder: 'unlimited' }) },
    ],
    errorFor: ([model], i) => (model ? `keyBudgets.${model}` : `keyBudgets.#${i}`),
    collect: (rows) => {
      const out = {};
      rows.forEach(([model, ...limits], i) => {
        if (!model && limits.every((x) => !x)) return;
        const f = model ? `keyBudgets.${model}` : `keyBudgets.#${i}`;
        if (!model) throw { field: f, message: 'Name the model (or * for every model).' };
        if (model in out) throw { field: f, message: `The model ${model} is listed twice.` };
        const b = {};
        ['rpm', 'tpm', 'rpd'].forEach((k, j) => {
          const v = limits[j];
          if (!v) return;
          if (!LIMIT.test(v)) throw { field: f, message: `${k}: ${v} (expected: a whole number of at least 1, or empty for unlimited)` };
          b[k] = Number(v);
        });
        out[model] = b;
      });
      return { keyBudgets: out };
    },
    redraw: (s) => drawBudgets(Object.entries(s.keyBudgets).map(([m, b]) => [m, ...['rpm', 'tpm', 'rpd']
      .map((k) => (b[k] > 0 ? String(b[k]) : ''))])),
  });

  function drawAll(s) {
    drawGeneral(s);
    drawAllow(s.allowedModels.map((m) => [m]));
    drawAliases(Object.entries(s.modelAliases));
    drawBudgets(Object.entries(s.keyBudgets).map(([m, b]) => [m, ...['rpm', 'tpm', 'rpd'].map((k) => (b[k] > 0 ? String(b[k]) : ''))]));
  }

  (async () => {
    try {
      const s = await get('/settings');
      if (!alive) return;
      current = s;
      drawAll(s);
    } catch (err) {
      if (alive && err.status !== 401) toast(`Could not load the settings: ${err.message}`, 'error');
    }
  })();

  return {
    unmount() {
      alive = false;
    },
  };
}
