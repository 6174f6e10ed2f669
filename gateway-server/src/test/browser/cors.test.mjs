// Cross-origin calls from a web page, as browser chat apps make them: Debian's Chromium driven by playwright-core
// opens a page served on another origin (another port of 127.0.0.1) than the gateway that CorsBrowserTest started,
// and calls the gateway from it with fetch, so the browser itself enforces CORS (preflights included).
//
//   PAGE_URL     the page on the other origin
//   BASE_URL     the gateway, e.g. http://127.0.0.1:41234
//   TOKEN        the client token
//   ADMIN_TOKEN  the admin token
//   CHROMIUM     the browser (default /usr/bin/chromium)
//
// Prints one line per step ("ok 3 - ...", "not ok 3 - ...") and exits non-zero on the first failure.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PAGE = required('PAGE_URL');
const BASE = required('BASE_URL').replace(/\/$/, '');
const TOKEN = required('TOKEN');
const ADMIN = required('ADMIN_TOKEN');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return v;
}

let stepNo = 0;
async function step(name, fn) {
  stepNo += 1;
  try {
    await fn();
    console.log(`ok ${stepNo} - ${name}`);
  } catch (e) {
    console.log(`not ok ${stepNo} - ${name}`);
    console.log(String(e && e.stack ? e.stack : e).split('\n').map((l) => `    ${l}`).join('\n'));
    throw e;
  }
}

/** Runs fetch in the page (cross-origin to the gateway) and reports what the page could see. */
async function call(page, url, init, stream) {
  return page.evaluate(async ({ url, init, stream }) => {
    try {
      const res = await fetch(url, init);
      let text = '';
      if (stream) {
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
        }
      } else {
        text = await res.text();
      }
      return { status: res.status, text };
    } catch (e) {
      return { error: String(e) };
    }
  }, { url, init, stream: !!stream });
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-chromium-cors-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(10_000);
const chat = JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] });
const chatStream = JSON.stringify({ model: 'gemini-2.5-flash', stream: true,
  messages: [{ role: 'user', content: 'hi' }] });
let exitCode = 0;
try {
  await step('the page is on another origin than the gateway', async () => {
    await page.goto(PAGE);
    const origin = await page.evaluate(() => location.origin);
    assert.notEqual(origin, new URL(BASE).origin);
  });

  await step('an OpenAI chat completion from the page (preflighted: Authorization, JSON)', async () => {
    const r = await call(page, `${BASE}/v1/chat/completions`, {
      method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: chat,
    });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(r.text).choices[0].message.content, 'ok');
  });

  await step('a streamed chat completion from the page, read event by event', async () => {
    const r = await call(page, `${BASE}/v1/chat/completions`, {
      method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: chatStream,
    }, true);
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.status, 200);
    assert.match(r.text, /data: \[DONE\]/);
  });

  await step('a native generateContent from the page with x-goog-api-key', async () => {
    const r = await call(page, `${BASE}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST', headers: { 'x-goog-api-key': TOKEN, 'Content-Type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.status, 200, r.text);
    assert.ok(JSON.parse(r.text).candidates.length > 0);
  });

  await step('a wrong token is a 401 the page can read, not a network error', async () => {
    const r = await call(page, `${BASE}/v1/models`, { headers: { Authorization: 'Bearer wrong-token-from-page' } });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.status, 401);
    assert.match(r.text, /invalid client token/);
  });

  await step('the admin API is not callable from another origin', async () => {
    const r = await call(page, `${BASE}/admin/api/keys`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    assert.ok(r.error, `the page read the admin API: ${JSON.stringify(r)}`);
    assert.match(r.error, /TypeError/);
  });
} catch {
  exitCode = 1;
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(`cors: ${exitCode === 0 ? 'all steps ok' : 'a step failed'}`);
process.exit(exitCode);
