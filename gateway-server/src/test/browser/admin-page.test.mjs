// The admin page in a real browser: Debian's Chromium driven by playwright-core, against a gateway that
// AdminPageBrowserTest started (with the fake upstream behind it) and already sent traffic through.
//
//   BASE_URL        the gateway, e.g. http://127.0.0.1:41234
//   ADMIN_TOKEN     its admin token
//   SCREENSHOT_DIR  where the screenshots go (created)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//
// Prints one line per step ("ok 3 - ...", "not ok 3 - ...") and exits non-zero on the first failure. Fails on any
// console error or page error the steps did not cause on purpose.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BASE = required('BASE_URL').replace(/\/$/, '');
const TOKEN = required('ADMIN_TOKEN');
const SHOTS = process.env.SCREENSHOT_DIR || path.resolve('screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return v;
}

// ------------------------------------------------------------------------------------------------ helpers

/** The admin API, called by the script itself to know what the page should show. */
async function api(method, p, body) {
  const res = await fetch(`${BASE}/admin/api${p}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A key shaped like a real one: AIza + 35 characters. */
function newKey() {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  let s = 'AIza';
  for (const b of crypto.randomBytes(35)) s += alphabet[b % alphabet.length];
  return s;
}

const masked = (k) => `${k.slice(0, 4)}...${k.slice(-4)}`;
const digits = (text) => text.replace(/[^\d.-]/g, '');

let stepNo = 0;
const failures = [];
async function step(name, fn) {
  stepNo += 1;
  const started = Date.now();
  try {
    await fn();
    console.log(`ok ${stepNo} - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    console.log(`not ok ${stepNo} - ${name}`);
    console.log(String(e && e.stack ? e.stack : e).split('\n').map((l) => `    ${l}`).join('\n'));
    failures.push(name);
    throw e;
  }
}

// Console errors and page errors. A failed request the script causes on purpose (a wrong token: 401, a bad setting:
// 400) makes Chromium log "Failed to load resource"; those are expected one by one, everything else fails the run.
const problems = [];
const expected = [];
function expectFailedLoad(status, urlPart) {
  expected.push({ status, urlPart });
}

async function shot(page, name) {
  await page.evaluate(async () => {
    await document.fonts.ready;
    window.scrollTo(0, 0);
  });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  console.log(`    screenshot ${name}.png`);
}

async function noHorizontalScroll(page, where) {
  const m = await page.evaluate(() => ({
    doc: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    inner: window.innerWidth,
    wide: [...document.querySelectorAll('body *')]
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.right > window.innerWidth + 1 && !el.closest('.table-wrap, pre, .chart-box');
      })
      .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className} right=${Math.round(el.getBoundingClientRect().right)}`),
  }));
  assert.ok(m.doc <= m.inner && m.body <= m.inner,
    `${where}: the page scrolls sideways at ${m.inner} px (document ${m.doc}, body ${m.body}); too wide: ${m.wide.join(', ')}`);
}

/** Every visible control has a label and every button a name; the focused element shows an outline. */
async function keyboardReady(page, where) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden' || el.offsetParent === null) continue;
      const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      if (!named) out.push(`unlabelled ${el.tagName.toLowerCase()} ${el.name || el.id}`);
    }
    for (const el of document.querySelectorAll('button, a[href]')) {
      if (el.offsetParent === null) continue;
      if (!(el.getAttribute('aria-label') || el.textContent.trim())) out.push(`nameless ${el.tagName.toLowerCase()}`);
    }
    for (const el of document.querySelectorAll('[onclick], div[tabindex], span[tabindex]')) {
      if (el.getAttribute('tabindex') !== '-1') out.push(`clickable non-button ${el.tagName.toLowerCase()}`);
    }
    return out;
  });
  assert.deepEqual(bad, [], `${where}: ${bad.join('; ')}`);
}

async function go(page, hash, heading) {
  await page.click(`nav a[href="${hash}"]`);
  await page.waitForSelector(`h1:text-is("${heading}")`);
}

// ------------------------------------------------------------------------------------------------ the run

fs.mkdirSync(SHOTS, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: DESKTOP,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(10_000);
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (msg) => {
  if (msg.type() !== 'error') return;
  const text = msg.text();
  const url = msg.location() ? msg.location().url || '' : '';
  const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
  if (m) {
    const i = expected.findIndex((x) => x.status === Number(m[1]) && url.includes(x.urlPart));
    if (i >= 0) {
      expected.splice(i, 1);
      return;
    }
  }
  problems.push(`console error: ${text} ${url}`);
});

const newKeys = [newKey(), newKey()];
let exitCode = 0;
try {
  await step('the login form asks for the admin token', async () => {
    await page.goto(`${BASE}/admin/`);
    await page.waitForSelector('h1:text-is("Admin login")');
    assert.equal(await page.locator('#topbar').isVisible(), false);
    await keyboardReady(page, 'login');
    await shot(page, 'login-desktop');
  });

  await step('a wrong token is refused with a message', async () => {
    expectFailedLoad(401, '/admin/api/keys');
    await page.getByLabel('Admin token').fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForSelector('text=Wrong admin token');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.equal(await page.getByLabel('Admin token').getAttribute('aria-invalid'), 'true');
  });

  await step('the right token logs in, kept in sessionStorage and never in the URL', async () => {
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector('h1:text-is("Dashboard")');
    assert.ok(!page.url().includes(TOKEN), page.url());
    const stored = await page.evaluate(() => Object.values(sessionStorage));
    assert.deepEqual(stored, [TOKEN]);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
  });

  await step('the dashboard shows the numbers of GET /admin/api/stats', async () => {
    await page.waitForSelector('[data-stat="requests"][data-value]');
    const s = await api('GET', '/stats');
    assert.ok(s.today.requests > 0, 'the test sent traffic first');
    for (const id of ['requests', 'successes', 'failures', 'tokens']) {
      const el = page.locator(`[data-stat="${id}"]`);
      assert.equal(digits(await el.textContent()), String(s.today[id]), `today.${id}`);
    }
    for (const [state, n] of Object.entries(s.keysByStatus)) {
      assert.equal(digits(await page.locator(`[data-stat="keys.${state}"]`).textContent()), String(n), `keys ${state}`);
    }
    for (const [reason, n] of Object.entries(s.failovers.byReason)) {
      assert.equal(digits(await page.locator(`[data-stat="failovers.${reason}"]`).textContent()), String(n), reason);
    }
    assert.ok(s.failovers.total > 0, 'the traffic caused failovers');
    assert.equal(digits(await page.locator('[data-stat="multiplier"]').textContent()), String(s.capacity.multiplier));
    for (const p of ['p50', 'p90', 'p99']) {
      assert.equal(Number(await page.locator(`[data-stat="latency.${p}"]`).getAttribute('data-value')), s.latencyMillis[p], p);
      assert.match(await page.locator(`[data-stat="latency.${p}"]`).textContent(), /\d+(\.\d+)? (ms|s)$/);
    }
    // The charts hold the same numbers.
    const charted = await page.evaluate(() => {
      const sum = (c) => c.data.datasets.reduce((n, d) => n + d.data.reduce((a, b) => a + b, 0), 0);
      const perMinute = window.Chart.getChart(document.querySelector('canvas[aria-label^="Requests per minute"]'));
      const byKey = window.Chart.getChart(document.querySelector('canvas[aria-label^="Share"]'));
      return { perMinute: sum(perMinute), byKey: sum(byKey), type: byKey.config.type };
    });
    assert.equal(charted.perMinute, s.requestsPerMinute.lastHour, 'requests per minute chart');
    assert.equal(charted.byKey, s.keys.reduce((n, k) => n + k.requests, 0), 'usage by key chart');
    // Keys at risk: every invalid or exhausted key in rotation.
    const list = await api('GET', '/keys');
    const risky = list.keys.filter((k) => k.enabled && !k.removed && ['invalid', 'exhausted'].includes(k.status));
    assert.ok(risky.length > 0, 'the traffic left a key invalid or exhausted');
    for (const k of risky) {
      await page.locator(`ul.risk li[data-key-id="${k.id}"]`).waitFor();
    }
    await keyboardReady(page, 'dashboard');
    await shot(page, 'dashboard-desktop');
  });

  await step('pasted keys are added and listed', async () => {
    await go(page, '#/keys', 'Keys');
    const before = await api('GET', '/keys');
    await page.locator('#keys-table tbody tr[data-key-id]').first().waitFor();
    assert.equal(await page.locator('#keys-table tbody tr[data-key-id]').count(), before.total);
    await page.getByRole('button', { name: 'Add keys' }).click();
    await page.getByLabel('Keys', { exact: true }).fill(`new keys from the console:\n  ${newKeys[0]},\n"${newKeys[1]}"\nthanks`);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.waitForSelector('[data-testid="add-summary"]');
    assert.equal(await page.locator('[data-testid="add-summary"]').textContent(), '2 added · 0 duplicates · 0 rejected');
    assert.equal(await page.getByLabel('Keys', { exact: true }).inputValue(), '', 'the pasted secrets are cleared');
    for (const k of newKeys) {
      await page.locator('#keys-table tbody tr', { hasText: masked(k) }).waitFor();
    }
    const after = await api('GET', '/keys');
    assert.equal(after.total, before.total + 2);
    const html = await page.content();
    for (const k of newKeys) assert.ok(!html.includes(k), 'a whole key is on the page');
  });

  const rowOf = (k) => page.locator('#keys-table tbody tr', { hasText: masked(k) });

  await step('pasting a known key again counts it as a duplicate', async () => {
    await page.getByLabel('Keys', { exact: true }).fill(newKeys[0]);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.waitForSelector('[data-testid="add-summary"]:text-is("0 added · 1 duplicate · 0 rejected")');
    await page.getByRole('button', { name: 'Close' }).click();
  });

  await step('a key is disabled and shows it', async () => {
    await rowOf(newKeys[0]).getByRole('button', { name: 'Disable' }).click();
    await rowOf(newKeys[0]).locator('.badge:text-is("disabled")').waitFor();
    const k = (await api('GET', '/keys')).keys.find((x) => x.key === masked(newKeys[0]));
    assert.equal(k.enabled, false);
    assert.equal(k.status, 'disabled');
    // keyboard focus stays on the same control after the redraw
    assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'toggle');
  });

  await step('label, project and weight are edited inline', async () => {
    await rowOf(newKeys[1]).getByRole('button', { name: 'Edit' }).click();
    const form = page.locator('tr.edit-row form');
    await form.getByLabel('Weight').fill('0');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.locator('.field-error:not([hidden])').waitFor();
    await form.getByLabel('Weight').fill('5');
    await form.getByLabel('Label').fill('from the browser');
    await form.getByLabel('Project').fill('team-b');
    await form.getByRole('button', { name: 'Save' }).click();
    await rowOf(newKeys[1]).locator('td', { hasText: 'from the browser' }).waitFor();
    const k = (await api('GET', '/keys')).keys.find((x) => x.key === masked(newKeys[1]));
    assert.deepEqual([k.weight, k.label, k.project], [5, 'from the browser', 'team-b']);
  });

  await step('check now probes a key and shows the outcome', async () => {
    await rowOf(newKeys[1]).getByRole('button', { name: 'Check' }).click();
    await rowOf(newKeys[1]).locator('text=/checked .*: good/').waitFor({ timeout: 20_000 });
  });

  await step('remove and restore', async () => {
    await rowOf(newKeys[1]).getByRole('button', { name: 'Remove' }).click();
    await rowOf(newKeys[1]).locator('.badge:text-is("removed")').waitFor();
    await rowOf(newKeys[1]).getByRole('button', { name: 'Restore' }).click();
    await rowOf(newKeys[1]).locator('.badge:text-is("active")').waitFor();
    await keyboardReady(page, 'keys');
    await shot(page, 'keys-desktop');
  });

  await step('check all probes every key in rotation', async () => {
    await page.getByRole('button', { name: 'Check all' }).click();
    await page.locator('#toast :text("Checks finished.")').waitFor({ timeout: 30_000 });
    const list = await api('GET', '/keys');
    assert.ok(list.keys.filter((k) => !k.removed).every((k) => k.lastCheck && !k.checking), 'every key has a check');
  });

  await step('run cleanup and remove unhealthy (after a second press) report what they did', async () => {
    await page.getByRole('button', { name: 'Run cleanup' }).click();
    await page.locator('#toast', { hasText: /No key removed|Removed \d/ }).waitFor();
    await page.getByRole('button', { name: /^Remove unhealthy/ }).click();
    await page.getByRole('button', { name: /^Confirm: remove unhealthy/ }).click();
    await page.locator('#toast', { hasText: /No key removed|Removed \d/ }).waitFor();
    const list = await api('GET', '/keys');
    assert.ok(list.keys.some((k) => !k.removed && !k.invalid), 'a good key is left');
  });

  let secret;
  await step('a token is created and its secret shown once with examples', async () => {
    await go(page, '#/tokens', 'Tokens');
    await page.getByLabel('Name').fill('browser-test');
    await page.getByLabel('Requests per minute').fill('60');
    await page.getByLabel('Allowed models').fill('gemini-2.5-flash, gemini-2.5-pro');
    await page.getByRole('button', { name: 'Create token' }).click();
    const code = page.locator('[data-testid="token-secret"]');
    await code.waitFor();
    secret = (await code.textContent()).trim();
    assert.match(secret, /^sk-[A-Za-z0-9]{48}$/);
    const panel = await page.locator('[data-testid="secret-panel"]').textContent();
    const origin = new URL(BASE).origin;
    for (const want of [`${origin}/v1beta/models/`, `${origin}/v1/chat/completions`, `base_url="${origin}/v1"`,
      `Base URL: ${origin}/v1`, `GOOGLE_GEMINI_BASE_URL=${origin}`]) {
      assert.ok(panel.includes(want), `the examples hold ${want}`);
    }
    await page.locator('#tokens-table tr', { hasText: 'browser-test' }).waitFor();
    const listed = (await api('GET', '/tokens')).tokens.find((t) => t.name === 'browser-test');
    assert.equal(listed.limits.requestsPerMinute, 60);
    assert.deepEqual(listed.limits.allowedModels, ['gemini-2.5-flash', 'gemini-2.5-pro']);
    // The secret works at once.
    const r = await fetch(`${BASE}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': secret, 'Content-Type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    assert.equal(r.status, 200);
    await keyboardReady(page, 'tokens');
    await shot(page, 'tokens-desktop');
  });

  await step('the secret is gone after leaving the page and coming back', async () => {
    await go(page, '#/', 'Dashboard');
    await go(page, '#/tokens', 'Tokens');
    const row = page.locator('#tokens-table tr', { hasText: 'browser-test' });
    await row.locator('[data-stat="requestsToday"]:text-is("1 request")').waitFor();
    assert.equal(await page.locator('[data-testid="secret-panel"]').count(), 0);
    assert.ok(!(await page.content()).includes(secret), 'the secret is still on the page');
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
    assert.ok(!stored.includes(secret), 'the secret was stored');
  });

  await step('the dashboard refreshes by itself', async () => {
    await go(page, '#/', 'Dashboard');
    const stat = page.locator('[data-stat="requests"]');
    await page.waitForSelector('[data-stat="requests"][data-value]');
    const before = Number(await stat.getAttribute('data-value'));
    const r = await fetch(`${BASE}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': secret, 'Content-Type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'again' }] }] }),
    });
    assert.equal(r.status, 200);
    const now = (await api('GET', '/stats')).today.requests;
    assert.ok(now > before);
    await page.waitForFunction((n) => document.querySelector('[data-stat="requests"]').dataset.value === String(n), now,
      { timeout: 15_000 });
    await go(page, '#/tokens', 'Tokens');
  });

  await step('a token is revoked after a second press', async () => {
    await page.getByLabel('Name').fill('to-revoke');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.locator('[data-testid="token-secret"]').waitFor();
    await page.getByRole('button', { name: 'Done, I have copied it' }).click();
    const row = page.locator('#tokens-table tr', { hasText: 'to-revoke' });
    await row.getByRole('button', { name: 'Revoke token to-revoke' }).click();
    await row.getByRole('button', { name: 'Confirm revoke token to-revoke' }).click();
    await row.waitFor({ state: 'detached' });
    assert.ok(!(await api('GET', '/tokens')).tokens.some((t) => t.name === 'to-revoke'));
  });

  await step('the strategy changes and stays after a reload', async () => {
    await go(page, '#/settings', 'Settings');
    const strategy = page.getByLabel('Key selection');
    const before = (await api('GET', '/settings')).strategy;
    assert.equal(await strategy.inputValue(), before);
    const next = before === 'least_used' ? 'adaptive' : 'least_used';
    await strategy.selectOption(next);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.waitForSelector('[data-testid="settings-saved"]:text("Saved")');
    await page.reload();
    await page.waitForSelector('h1:text-is("Settings")');
    await page.waitForFunction((v) => document.querySelector('select[name="strategy"]')?.value === v, next);
    assert.equal((await api('GET', '/settings')).strategy, next);
  });

  await step('a bad setting shows the gateway\'s message at the field', async () => {
    // Client-side: not a duration.
    await page.getByLabel('Rate-limit cooldown', { exact: true }).fill('soon');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.locator('[data-error-for="rateLimitCooldown"]:not([hidden])').waitFor();
    await page.getByRole('button', { name: 'Undo changes' }).click();
    // Server-side: out of range, answered 400 with the field.
    expectFailedLoad(400, '/admin/api/settings');
    await page.getByLabel('Probe interval').fill('5s');
    await page.getByRole('button', { name: 'Save settings' }).click();
    const err = page.locator('[data-error-for="probeInterval"]:not([hidden])');
    await err.waitFor();
    assert.match(await err.textContent(), /expected/);
    assert.equal(await page.getByLabel('Probe interval').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.name), 'probeInterval');
    assert.notEqual((await api('GET', '/settings')).probeInterval, '5s');
  });

  await step('models: allow-list, aliases and budgets are saved', async () => {
    await page.locator('#allow-title ~ form').getByRole('button', { name: 'Add model' }).click();
    await page.locator('#allow-title ~ form input').last().fill('gemini-2.5-*');
    await page.locator('#allow-title ~ form').getByRole('button', { name: 'Save' }).click();
    await page.locator('#allow-title ~ form .saved:text("Saved")').waitFor();

    const aliases = page.locator('#alias-title ~ form');
    await aliases.getByRole('button', { name: 'Add alias' }).click();
    await aliases.getByLabel('Alias').last().fill('fast');
    await aliases.getByLabel('Model').last().fill('gemini-2.5-flash');
    await aliases.getByRole('button', { name: 'Save' }).click();
    await aliases.locator('.saved:text("Saved")').waitFor();

    const budgets = page.locator('#budget-title ~ form');
    await budgets.getByRole('button', { name: 'Add model' }).click();
    await budgets.getByLabel('Model').last().fill('*');
    await budgets.getByLabel('Requests per minute').last().fill('10');
    await budgets.getByLabel('Requests per day').last().fill('250');
    await budgets.getByRole('button', { name: 'Save' }).click();
    await budgets.locator('.saved:text("Saved")').waitFor();

    const s = await api('GET', '/settings');
    assert.deepEqual(s.allowedModels, ['gemini-2.5-*']);
    assert.deepEqual(s.modelAliases, { fast: 'gemini-2.5-flash' });
    assert.deepEqual(s.keyBudgets, { '*': { rpm: 10, tpm: -1, rpd: 250 } });
    await keyboardReady(page, 'settings');
    await shot(page, 'settings-desktop');
  });

  await step('the keys page shows each key\'s use against its budget', async () => {
    const t = await api('POST', '/tokens', { name: 'budget-check' });
    const r = await fetch(`${BASE}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': t.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    assert.equal(r.status, 200);
    const used = (await api('GET', '/keys')).keys.flatMap((k) => (k.models || [])
      .filter((m) => m.budget && m.budget.minuteRequests > 0));
    assert.ok(used.length > 0, 'a key shows a budget with this minute\'s request');
    await go(page, '#/keys', 'Keys');
    const line = page.locator('.budget-use', { hasText: '/10 req this minute' }).first();
    await line.waitFor();
    assert.match(await line.textContent(), /^budget: \d+\/10 req this minute · \d+\/250 req today$/);
    await api('DELETE', `/tokens/${t.id}`);
  });

  await step('the exits page says requests go direct when no proxy is set', async () => {
    const r = await api('GET', '/exits');
    assert.equal(r.directOnly, true);
    assert.deepEqual(r.exits, []);
    await go(page, '#/exits', 'Exits');
    await page.locator('#exits-table td.empty-state', { hasText: 'No proxy: requests go straight to Google' }).waitFor();
    assert.match(await page.locator('.card-head p').textContent(), /direct: no proxy configured/);
    await keyboardReady(page, 'exits');
    await shot(page, 'exits-desktop');
  });

  await step('the requests view lists the request log, and a failover\'s attempts open in the drawer', async () => {
    await go(page, '#/requests', 'Requests');
    await page.locator('#requests-table tbody tr[data-request-id]').first().waitFor();
    const newest = (await api('GET', '/requests?limit=1')).requests[0];
    assert.equal(await page.locator('#requests-table tbody tr[data-request-id]').first().getAttribute('data-request-id'), newest.id);
    const failedOver = (await api('GET', '/requests?verdict=rate_minute')).requests[0];
    assert.ok(failedOver, 'the test sent a request that met a 429 first');
    const detail = await api('GET', `/requests/${failedOver.id}`);
    const row = page.locator(`#requests-table tr[data-request-id="${failedOver.id}"]`);
    await row.getByRole('button', { name: /^Details of the POST/ }).click();
    const drawer = page.locator('aside.drawer');
    await drawer.waitFor();
    assert.equal(await drawer.locator('[data-stat="attempts"]').getAttribute('data-value'), String(detail.attempts.length));
    const text = await drawer.textContent();
    assert.ok(text.includes('rate_minute') && text.includes('HTTP 429'), text);
    assert.ok(text.includes(detail.attempts[0].message), 'Google\'s message is shown');
    await keyboardReady(page, 'requests');
    await shot(page, 'requests-drawer-desktop');
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'hidden' });
    await shot(page, 'requests-desktop');
  });

  await step('the dashboard\'s failure count links to the failed requests, filtered', async () => {
    await go(page, '#/', 'Dashboard');
    await page.locator('[data-link="failed-requests"]').click();
    await page.waitForSelector('h1:text-is("Requests")');
    assert.ok(page.url().includes('status=error'), page.url());
    assert.equal(await page.locator('select[name="status"]').inputValue(), 'error');
    const want = (await api('GET', '/requests?status=error')).requests;
    assert.ok(want.length > 0, 'some requests failed');
    await page.waitForFunction((n) => document.querySelectorAll('#requests-table tbody tr[data-request-id]').length === n, want.length);
    const statuses = await page.locator('#requests-table tbody tr[data-request-id]').evaluateAll((rows) => rows.map((r) => Number(r.dataset.status)));
    assert.ok(statuses.every((st) => st >= 400), statuses.join(','));
    // Another filter from the form: only 200s.
    await page.locator('select[name="status"]').selectOption('ok');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction(() => [...document.querySelectorAll('#requests-table tbody tr[data-request-id]')].every((r) => Number(r.dataset.status) < 400));
  });

  await step('the live table refreshes by itself, and not while paused', async () => {
    await page.getByRole('button', { name: 'Clear' }).click();
    const count = () => page.locator('#requests-table tbody tr[data-request-id]').count();
    const send = () => fetch(`${BASE}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': secret, 'Content-Type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'live' }] }] }),
    });
    await page.waitForFunction((n) => document.querySelectorAll('#requests-table tbody tr[data-request-id]').length > 0, 0);
    let before = await count();
    assert.equal((await send()).status, 200);
    await page.waitForFunction((n) => document.querySelectorAll('#requests-table tbody tr[data-request-id]').length > n, before, { timeout: 15_000 });
    await page.getByRole('button', { name: 'Pause' }).click();
    assert.equal(await page.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed'), 'true');
    before = await count();
    assert.equal((await send()).status, 200);
    await page.waitForTimeout(6500); // longer than the refresh interval: nothing may change while paused
    assert.equal(await count(), before);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('#requests-table tbody tr[data-request-id]').length > n, before, { timeout: 15_000 });
  });

  await step('the usage view shows the usage history by model and by token', async () => {
    await go(page, '#/usage', 'Usage');
    const models = await api('GET', '/usage?by=model');
    const flash = models.totals.find((t) => t.value === 'gemini-2.5-flash');
    await page.locator('#usage-table tr[data-value="gemini-2.5-flash"] [data-stat="requests"]').waitFor();
    assert.equal(await page.locator('#usage-table tr[data-value="gemini-2.5-flash"] [data-stat="requests"]').getAttribute('data-value'), String(flash.requests));
    assert.ok(await page.locator('.chart-box canvas').isVisible());
    await page.locator('select[name="by"]').selectOption('token');
    const tokens = await api('GET', '/usage?by=token');
    const mine = (await api('GET', '/tokens')).tokens.find((t) => t.name === 'browser-test');
    const used = tokens.totals.find((t) => t.value === mine.id);
    const cellSel = `#usage-table tr[data-value="${mine.id}"] [data-stat="requests"]`;
    await page.locator(cellSel).waitFor();
    assert.equal(await page.locator(cellSel).getAttribute('data-value'), String(used.requests));
    assert.ok((await page.locator(`#usage-table tr[data-value="${mine.id}"]`).textContent()).includes('browser-test'));
    await keyboardReady(page, 'usage');
    await shot(page, 'usage-desktop');
    // Each token's row in Tokens shows its use over the last 30 days.
    await go(page, '#/tokens', 'Tokens');
    const row = page.locator('#tokens-table tr', { hasText: 'browser-test' });
    await row.locator(`[data-stat="requests30d"][data-value="${used.requests}"]`).waitFor();
  });

  await step('the keyboard reaches the navigation and shows where focus is', async () => {
    await page.goto(`${BASE}/admin/#/keys`);
    await page.reload(); // a fresh load: focus starts at the top of the document
    await page.waitForSelector('h1:text-is("Keys")');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'skip');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      return { text: el.textContent, outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    });
    assert.equal(focused.text, 'Keys');
    assert.ok(focused.outline !== 'none' && focused.width >= 2, `focus outline: ${JSON.stringify(focused)}`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('h1:text-is("Keys")');
  });

  await step('at 375 px every page fits without sideways scrolling', async () => {
    await page.setViewportSize(PHONE);
    for (const [hash, heading, name] of [['#/', 'Dashboard', 'dashboard'], ['#/keys', 'Keys', 'keys'],
      ['#/tokens', 'Tokens', 'tokens'], ['#/requests', 'Requests', 'requests'], ['#/usage', 'Usage', 'usage'],
      ['#/settings', 'Settings', 'settings'], ['#/exits', 'Exits', 'exits']]) {
      await go(page, hash, heading);
      await page.waitForLoadState('networkidle');
      if (name === 'keys') {
        await page.locator('#keys-table tbody tr[data-key-id]').first().waitFor();
        await page.getByRole('button', { name: 'Add keys' }).click();
      }
      if (name === 'tokens') {
        await page.getByLabel('Name').fill('phone');
        await page.getByRole('button', { name: 'Create token' }).click();
        await page.locator('[data-testid="token-secret"]').waitFor();
      }
      if (name === 'settings') await page.locator('select[name="strategy"]').waitFor();
      if (name === 'requests') await page.locator('#requests-table tbody tr[data-request-id]').first().waitFor();
      if (name === 'usage') await page.locator('#usage-table tbody tr[data-value]').first().waitFor();
      await noHorizontalScroll(page, name);
      await shot(page, `${name}-phone`);
    }
  });

  await step('logging out forgets the token', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForSelector('h1:text-is("Admin login")');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await noHorizontalScroll(page, 'login');
    await shot(page, 'login-phone');
  });

  await step('no console errors, no page errors', async () => {
    assert.deepEqual(problems, []);
  });
} catch {
  exitCode = 1;
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
if (exitCode === 0 && problems.length) {
  console.log(`not ok - console errors: ${problems.join(' | ')}`);
  exitCode = 1;
}
console.log(`admin page: ${stepNo - failures.length} steps ok, ${failures.length} failed`);
process.exit(exitCode);
