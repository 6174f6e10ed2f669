// The admin page's Instances view in a real browser (README, "Several gateways"): Debian's Chromium driven by
// playwright-core against one of several gateways that InstancesBrowserTest started on one Redis.
//
//   BASE_URL        the gateway whose page is opened, e.g. http://127.0.0.1:41234
//   ADMIN_TOKEN     its admin token
//   INSTANCES       how many gateways share the state
//   SCREENSHOT_DIR  where the screenshots go (created)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//
// Prints one line per step and exits non-zero on the first failure, or on any console or page error.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BASE = process.env.BASE_URL.replace(/\/$/, '');
const TOKEN = process.env.ADMIN_TOKEN;
const COUNT = Number(process.env.INSTANCES);
const SHOTS = process.env.SCREENSHOT_DIR || path.resolve('screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

async function api(p) {
  const res = await fetch(`${BASE}/admin/api${p}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  const json = await res.json();
  assert.ok(res.ok, `GET ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

let stepNo = 0;
let failed = 0;
async function step(name, fn) {
  stepNo += 1;
  try {
    await fn();
    console.log(`ok ${stepNo} - ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`not ok ${stepNo} - ${name}`);
    console.log(String(e && e.stack ? e.stack : e).split('\n').map((l) => `    ${l}`).join('\n'));
    throw e;
  }
}

fs.mkdirSync(SHOTS, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(15_000);
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });

let exitCode = 0;
try {
  await step('log in and open the Instances view from the navigation', async () => {
    await page.goto(`${BASE}/admin/`);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector('h1:text-is("Dashboard")');
    await page.click('nav a[href="#/instances"]');
    await page.waitForSelector('h1:text-is("Instances")');
  });

  await step('every gateway is listed with the figures of GET /admin/api/instances', async () => {
    const r = await api('/instances');
    assert.equal(r.shared, true);
    assert.equal(r.instances.length, COUNT);
    await page.locator('#instances-table tbody tr[data-instance]').nth(COUNT - 1).waitFor();
    assert.equal(await page.locator('#instances-table tbody tr[data-instance]').count(), COUNT);
    assert.match(await page.locator('#instances-summary').textContent(), new RegExp(`^${COUNT} instances on Redis at `));
    for (const i of r.instances) {
      const row = page.locator(`tr[data-instance="${i.id}"]`);
      assert.equal(await row.locator('[data-stat="address"]').textContent(), i.address);
      assert.equal(await row.locator('[data-stat="version"]').textContent(), i.version);
      assert.match(await row.locator('[data-stat="lastSeen"]').textContent(), /^\d+s ago$|^in \d+s$/);
      assert.match(await row.locator('[data-stat="requestsPerSecond"]').textContent(), /^\d+\.\d$/);
    }
    const self = r.instances.find((i) => i.self);
    assert.ok(self, 'one instance is this gateway');
    await page.locator(`tr[data-instance="${self.id}"]`, { hasText: 'this gateway' }).waitFor();
    assert.equal(await page.locator('tr[data-instance]', { hasText: 'this gateway' }).count(), 1);
    await page.screenshot({ path: path.join(SHOTS, 'instances-desktop.png'), fullPage: true });
  });

  await step('at 375 px the view fits without sideways scrolling', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.locator('#instances-table tbody tr[data-instance]').first().waitFor();
    const m = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, inner: window.innerWidth }));
    assert.ok(m.doc <= m.inner, `the page scrolls sideways: ${JSON.stringify(m)}`);
    await page.screenshot({ path: path.join(SHOTS, 'instances-phone.png'), fullPage: true });
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
console.log(`instances page: ${stepNo - failed} steps ok, ${failed} failed`);
process.exit(exitCode);
