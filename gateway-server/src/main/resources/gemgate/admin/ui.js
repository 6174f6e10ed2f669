// DOM and formatting helpers. Text goes in as text nodes, never as HTML: labels, names and reasons come from users
// and from the upstream.

/**
 * Creates an element. props: attributes, plus `class`, `text`, `value` (set after the children, so a select's
 * options exist), `dataset`, and `on<event>` listeners. A null, undefined or false prop is left out.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') value = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  if (value !== undefined) el.value = value;
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/**
 * A table cell whose content sits in one box: on a phone the row becomes a card and the cell a two-column grid of
 * its data-label and that box.
 */
export function cell(props, ...children) {
  return h('td', props, h('div', { class: 'cell' }, ...children));
}

/** Replaces the children of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
/** A unique id for label/input pairs. */
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

// ---------------------------------------------------------------------------------------------------- formatting

const intFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 12345 → "12,345". */
export function fmtInt(n) {
  return n === null || n === undefined ? '—' : intFormat.format(n);
}

/** 12345 → "12.3k", 2500000 → "2.5M". */
export function fmtCompact(n) {
  if (n === null || n === undefined) return '—';
  const a = Math.abs(n);
  if (a < 1000) return String(n);
  if (a < 1e6) return `${trim(n / 1e3)}k`;
  if (a < 1e9) return `${trim(n / 1e6)}M`;
  return `${trim(n / 1e9)}G`;
}

function trim(x) {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1).replace(/\.0$/, '');
}

/** 0.9167 → "91.7%". */
export function fmtPct(ratio) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '—';
  return `${(ratio * 100).toFixed(ratio >= 0.9995 || ratio === 0 ? 0 : 1)}%`;
}

/** 412.5 → "413 ms", 1830 → "1.83 s". */
export function fmtMs(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms === 0) return '0 ms';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/** An ISO instant as local time: "14:05:09" today (seconds only when asked), else "Mar 3, 14:05". */
export function fmtTime(iso, seconds = false) {
  if (!iso) return '—';
  const d = new Date(iso);
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: seconds ? '2-digit' : undefined })
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** An ISO instant relative to now: "in 4m", "3h ago". */
export function fmtRelative(iso) {
  if (!iso) return '';
  const s = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  const a = Math.abs(s);
  const text = a < 60 ? `${a}s` : a < 3600 ? `${Math.round(a / 60)}m` : a < 86400 * 2 ? `${Math.round(a / 3600)}h`
    : `${Math.round(a / 86400)}d`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

/** A model name as the pool reports it: "*" counts calls that name no model, "(other)" what is past its bound. */
export function modelName(m) {
  return m === '*' ? 'other calls' : m === '(other)' ? 'other models' : m;
}

/** Clears the message area (on moving to another view). */
export function clearToast() {
  clearTimeout(toastTimer);
  const box = document.getElementById('toast');
  if (box) box.replaceChildren();
}

/** A status label as a coloured badge. */
export function badge(status, text = status) {
  return h('span', { class: `badge s-${status}` }, text);
}

// ---------------------------------------------------------------------------------------------------- messages

let toastTimer;
/** A short message in the polite live region at the bottom of the page. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toast');
  clearTimeout(toastTimer);
  fill(box, h('div', { class: `msg ${kind}` }, message));
  toastTimer = setTimeout(() => box.replaceChildren(), kind === 'error' ? 8000 : 4000);
}

/** Copies text to the clipboard; falls back to a selected textarea where the Clipboard API is missing (plain HTTP). */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the old way
  }
  const ta = h('textarea', { class: 'sr-only', readonly: true, 'aria-hidden': 'true' }, text);
  document.body.append(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

/** A button that copies what get() returns, saying so. */
export function copyButton(get, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'btn btn-sm' }, label);
  b.addEventListener('click', async () => {
    const ok = await copyText(get());
    b.textContent = ok ? 'Copied' : 'Copy failed: select and copy by hand';
    setTimeout(() => { b.textContent = label; }, 2000);
  });
  return b;
}

/**
 * A labelled form field: label, control, hint and an error slot. The error slot answers to `data-error-for` =
 * name, which is how a 400's `field` finds it (see showError).
 */
export function field({ name, label, control, hint, wide = false, cls = '' }) {
  const id = control.id || uid(`f-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  control.id = id;
  if (!control.name) control.name = name;
  const hintId = hint ? `${id}-hint` : null;
  const errId = `${id}-err`;
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  return h('div', { class: `field ${wide ? 'wide' : ''} ${cls}`.trim() },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('p', { class: 'field-error', id: errId, 'data-error-for': name, 'data-control': id, hidden: true }));
}

/** Clears every error message inside root. */
export function clearErrors(root) {
  for (const el of root.querySelectorAll('[data-error-for]')) {
    el.textContent = '';
    el.hidden = true;
  }
  for (const el of root.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
}

/**
 * Shows an API error next to the field it names (`keyBudgets.gemini-2.5-pro.rpm` falls back to
 * `keyBudgets.gemini-2.5-pro`, then `keyBudgets`), or in the form's general slot (`data-error-for=""`), and moves
 * focus to the field.
 */
export function showError(root, err) {
  const message = err && err.message ? err.message : String(err);
  let name = err && err.field ? err.field : '';
  let slot = null;
  while (name) {
    slot = root.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (slot) break;
    const cut = Math.max(name.lastIndexOf('.'), name.lastIndexOf('['));
    name = cut > 0 ? name.slice(0, cut) : '';
  }
  if (!slot) slot = root.querySelector('[data-error-for=""]');
  if (!slot) {
    toast(message, 'error');
    return;
  }
  const prefix = `${err && err.field ? err.field : ''}: `;
  slot.textContent = name && message.startsWith(prefix) && name === err.field ? message.slice(prefix.length) : message;
  slot.hidden = false;
  const control = slot.dataset.control ? document.getElementById(slot.dataset.control) : null;
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    control.focus();
  }
}

/** Shows a message in a slot found by data-error-for (client-side checks). */
export function setFieldError(root, name, message) {
  showError(root, { field: name, message });
}

/**
 * A button that asks for a second press before doing something destructive ("Revoke" → "Confirm revoke"), instead
 * of a modal dialog; it disarms itself after 4 s.
 */
export function confirmButton(label, confirmLabel, action, context = '', cls = 'btn btn-sm btn-danger') {
  const text = h('span', null, label);
  const b = h('button', { type: 'button', class: cls }, text, context ? h('span', { class: 'sr-only' }, ` ${context}`) : null);
  let timer;
  const disarm = () => {
    b.classList.remove('armed');
    text.textContent = label;
  };
  b.addEventListener('click', async () => {
    if (!b.classList.contains('armed')) {
      b.classList.add('armed');
      text.textContent = confirmLabel;
      timer = setTimeout(disarm, 4000);
      return;
    }
    clearTimeout(timer);
    b.disabled = true;
    try {
      await action();
    } finally {
      b.disabled = false;
      disarm();
    }
  });
  b.addEventListener('blur', () => {
    clearTimeout(timer);
    disarm();
  });
  return b;
}

/** Runs fn with the button disabled, so a double click sends one request. */
export async function busy(button, fn) {
  if (button.disabled) return undefined;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}
