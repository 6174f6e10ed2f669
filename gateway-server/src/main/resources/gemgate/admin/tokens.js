// User tokens: create (the secret is shown once, with ready-to-paste client settings), list with today's usage,
// disable, revoke.

import { get, post, patch, del } from './http.js';
import {
  h, cell, fill, field, fmtInt, fmtCompact, fmtTime, badge, toast, showError, clearErrors, setFieldError, busy,
  copyButton, confirmButton,
} from './ui.js';

const LIMITS = [
  ['requestsPerMinute', 'Requests per minute'],
  ['requestsPerDay', 'Requests per day'],
  ['tokensPerDay', 'Tokens per day'],
  ['maxConcurrency', 'Concurrent requests'],
];
const EXAMPLE_MODEL = 'gemini-2.5-flash';

export default { title: 'Tokens', mount };

function mount(root) {
  let alive = true;
  // The secret of the token just created: only in this variable, only until the view is left or dismissed.
  let secret = null;

  const name = h('input', { type: 'text', required: true, maxlength: 100, autocomplete: 'off' });
  const limitInputs = Object.fromEntries(LIMITS.map(([k]) => [k, h('input', { type: 'number', min: 1, step: 1, inputmode: 'numeric', placeholder: 'unlimited' })]));
  const models = h('input', { type: 'text', autocomplete: 'off', placeholder: 'every model' });
  const expires = h('input', { type: 'datetime-local' });
  const create = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token');
  const form = h('form', { novalidate: true },
    h('div', { class: 'form-grid' },
      field({ name: 'name', label: 'Name', control: name, hint: 'Who or what uses it, e.g. alice or ci-bot.' }),
      LIMITS.map(([k, text]) => field({ name: k, label: text, control: limitInputs[k], hint: 'Empty: unlimited.' })),
      field({ name: 'allowedModels', label: 'Allowed models', control: models, hint: 'Comma separated; empty: every model.' }),
      field({ name: 'expiresAt', label: 'Expires', control: expires, hint: 'Local time; empty: never.' })),
    h('p', { class: 'form-error', 'data-error-for': '', hidden: true }),
    h('div', { class: 'form-actions' }, create));

  const secretBox = h('div', { 'aria-live': 'polite' });
  const tbody = h('tbody');
  const summary = h('p', { class: 'muted small' });

  fill(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Tokens')),
    h('p', { class: 'muted' }, 'A user token is an API key for one person or program: it works like the gateway token, with its own limits and usage, and can be revoked alone.'),
    secretBox,
    h('section', { class: 'card', 'aria-labelledby': 'new-token-title' }, h('h2', { id: 'new-token-title' }, 'New token'), form),
    h('section', { class: 'card', 'aria-labelledby': 'tokens-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'tokens-title' }, 'Tokens'), summary),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data stack', id: 'tokens-table' },
        h('thead', null, h('tr', null, ['Name', 'Status', 'Limits', 'Today', 'Last 30 days', 'Last used', 'Actions']
          .map((c) => h('th', { scope: 'col' }, c)))),
        tbody))));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { name: name.value.trim() };
    if (!body.name) {
      setFieldError(form, 'name', 'Give the token a name.');
      return;
    }
    for (const [k] of LIMITS) {
      const v = limitInputs[k].value.trim();
      if (!v) continue;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        setFieldError(form, k, 'A whole number of at least 1, or empty for unlimited.');
        return;
      }
      body[k] = n;
    }
    const list = models.value.split(/[\s,]+/).filter(Boolean);
    if (list.length) body.allowedModels = list;
    if (expires.value) {
      const at = new Date(expires.value);
      if (Number.isNaN(at.getTime())) {
        setFieldError(form, 'expiresAt', 'Not a date and time.');
        return;
      }
      body.expiresAt = at.toISOString();
    }
    busy(create, async () => {
      try {
        const r = await post('/tokens', body);
        form.reset();
        secret = r.token;
        showSecret(r);
        await load();
      } catch (err) {
        showError(form, err);
      }
    });
  });

  function showSecret(created) {
    const origin = location.origin;
    const s = secret;
    const examples = [
      ['curl, native Gemini API', `curl ${origin}/v1beta/models/${EXAMPLE_MODEL}:generateContent \\
  -H 'x-goog-api-key: ${s}' -H 'Content-Type: application/json' \\
  -d '{"contents":[{"parts":[{"text":"Say hello."}]}]}'`],
      ['curl, OpenAI-compatible API', `curl ${origin}/v1/chat/completions \\
  -H 'Authorization: Bearer ${s}' -H 'Content-Type: application/json' \\
  -d '{"model":"${EXAMPLE_MODEL}","messages":[{"role":"user","content":"Say hello."}]}'`],
      ['OpenAI SDK (Python)', `from openai import OpenAI
client = OpenAI(base_url="${origin}/v1", api_key="${s}")
r = client.chat.completions.create(model="${EXAMPLE_MODEL}", messages=[{"role": "user", "content": "Say hello."}])
print(r.choices[0].message.content)`],
      ['Cline, Roo Code (OpenAI Compatible) · Cherry Studio (OpenAI)', `Cline / Roo Code   Base URL: ${origin}/v1
Cherry Studio      API address: ${origin}
API key:           ${s}
Model:             ${EXAMPLE_MODEL}`],
      ['Google Gen AI SDK (Python, JavaScript)', `export GOOGLE_GEMINI_BASE_URL=${origin}
export GEMINI_API_KEY=${s}
python -c 'from google import genai; print(genai.Client().models.generate_content(model="${EXAMPLE_MODEL}", contents="Say hello.").text)'`],
    ];
    const done = h('button', { type: 'button', class: 'btn' }, 'Done, I have copied it');
    done.addEventListener('click', () => {
      secret = null;
      secretBox.replaceChildren();
      name.focus();
    });
    const title = h('h2', { id: 'secret-title', tabindex: '-1' }, `Token "${created.name}" created`);
    fill(secretBox, h('section', { class: 'card secret', 'aria-labelledby': 'secret-title', 'data-testid': 'secret-panel' },
      title,
      h('p', { class: 'warning' }, 'Copy the secret now: the gateway keeps only its hash and shows it this once.'),
      h('div', { class: 'secret-value' },
        h('code', { 'data-testid': 'token-secret' }, s),
        copyButton(() => s, 'Copy secret')),
      h('h3', null, 'Use it'),
      h('div', { class: 'examples' }, examples.map(([label, code]) => h('div', { class: 'example' },
        h('div', { class: 'example-head' }, h('span', { class: 'small' }, label), copyButton(() => code)),
        h('pre', { class: 'code', tabindex: '0' }, code)))),
      h('div', { class: 'form-actions' }, done)));
    title.focus();
  }

  let history30 = new Map();

  async function load() {
    try {
      const [r, usage] = await Promise.all([get('/tokens'), get('/usage?by=token&period=day').catch(() => null)]);
      if (!alive) return;
      history30 = new Map(usage ? usage.totals.map((t) => [t.value, t]) : []);
      summary.textContent = `${fmtInt(r.total)} token${r.total === 1 ? '' : 's'}`;
      fill(tbody, r.tokens.length ? r.tokens.map(row)
        : h('tr', null, h('td', { colspan: 7, class: 'full empty-state' }, 'No user tokens yet.')));
    } catch (err) {
      if (alive && err.status !== 401) toast(`Could not load the tokens: ${err.message}`, 'error');
    }
  }

  function row(t) {
    const l = t.limits;
    const u = t.usage;
    const expired = l.expiresAt && new Date(l.expiresAt).getTime() <= Date.now();
    const status = !t.enabled ? 'disabled' : expired ? 'expired' : 'active';
    const limits = [
      l.requestsPerMinute > 0 ? `${fmtInt(l.requestsPerMinute)} per minute` : null,
      l.requestsPerDay > 0 ? `${fmtInt(l.requestsPerDay)} requests a day` : null,
      l.tokensPerDay > 0 ? `${fmtCompact(l.tokensPerDay)} tokens a day` : null,
      l.maxConcurrency > 0 ? `${fmtInt(l.maxConcurrency)} at once` : null,
      l.allowedModels.length ? `models: ${l.allowedModels.join(', ')}` : null,
      l.expiresAt ? `expires ${fmtTime(l.expiresAt)}` : null,
    ].filter(Boolean);
    const toggle = h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': `${t.enabled ? 'Disable' : 'Enable'} token ${t.name}` },
      t.enabled ? 'Disable' : 'Enable');
    toggle.addEventListener('click', () => busy(toggle, async () => {
      try {
        await patch(`/tokens/${encodeURIComponent(t.id)}`, { enabled: !t.enabled });
        toast(`Token ${t.name} ${t.enabled ? 'disabled' : 'enabled'}.`);
        await load();
      } catch (err) {
        toast(err.message, 'error');
      }
    }));
    const revoke = confirmButton('Revoke', 'Confirm revoke', async () => {
      try {
        await del(`/tokens/${encodeURIComponent(t.id)}`);
        toast(`Token ${t.name} revoked: it stops working now.`);
        await load();
      } catch (err) {
        toast(err.message, 'error');
      }
    }, `token ${t.name}`);
    return h('tr', { 'data-token-id': t.id },
      cell({ 'data-label': 'Name' }, h('strong', { class: 'line' }, t.name), h('span', { class: 'sub mono' }, t.id),
        h('span', { class: 'sub' }, `created ${fmtTime(t.createdAt)}`)),
      cell({ 'data-label': 'Status' }, status === 'expired' ? badge('exhausted', 'expired') : badge(status)),
      cell({ 'data-label': 'Limits' }, limits.length ? limits.map((x) => h('span', { class: 'line small' }, x)) : h('span', { class: 'muted' }, 'unlimited')),
      cell({ 'data-label': 'Today' },
        h('span', { class: 'line', 'data-stat': 'requestsToday' }, `${fmtInt(u.requestsToday)} request${u.requestsToday === 1 ? '' : 's'}`),
        h('span', { class: 'sub' }, `${fmtCompact(u.tokensToday)} tokens · ${fmtInt(u.requestsLastMinute)} last minute · ${fmtInt(u.inFlight)} in flight`)),
      usageCell(history30.get(t.id), t),
      cell({ 'data-label': 'Last used' }, t.lastUsedAt ? fmtTime(t.lastUsedAt) : h('span', { class: 'muted' }, 'never')),
      cell({ 'data-label': 'Actions', class: 'actions' }, h('div', { class: 'btn-row' }, toggle, revoke)));
  }

  // The request log's usage history (GET /usage?by=token): exact counts over the last 30 quota days, and a link to
  // the token's requests.
  function usageCell(u, t) {
    const link = h('a', { href: `#/requests?token=${encodeURIComponent(t.id)}`, class: 'sub' }, 'requests');
    if (!u) return cell({ 'data-label': 'Last 30 days' }, h('span', { class: 'line muted', 'data-stat': 'requests30d', 'data-value': 0 }, 'no requests'), link);
    return cell({ 'data-label': 'Last 30 days' },
      h('span', { class: 'line', 'data-stat': 'requests30d', 'data-value': u.requests }, `${fmtInt(u.requests)} request${u.requests === 1 ? '' : 's'}`),
      h('span', { class: 'sub' }, `${fmtCompact(u.promptTokens + u.outputTokens)} tokens · ${fmtInt(u.failures)} failed`), link);
  }

  load();

  return {
    unmount() {
      alive = false;
      secret = null;
    },
  };
}
