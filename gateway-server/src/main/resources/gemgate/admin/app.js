// Gemgate admin page: a hash router over eight views, behind a login with the admin token.
// Plain ES modules, no build step; Chart.js (a global, loaded before this module) draws the charts.

import * as http from './http.js';
import { h, fill, field, showError, clearErrors, clearToast } from './ui.js';
import dashboard from './dashboard.js';
import keys from './keys.js';
import tokens from './tokens.js';
import settings from './settings.js';
import exits from './exits.js';
import requests from './requests.js';
import usage from './usage.js';
import instances from './instances.js';

const VIEWS = { '': dashboard, keys, tokens, requests, usage, settings, exits, instances };
const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
let current = null;
let firstRender = true;

function routeName() {
  const m = /^#\/?([a-z]*)/.exec(location.hash);
  return m && VIEWS[m[1]] ? m[1] : '';
}

function unmount() {
  if (current && current.unmount) current.unmount();
  current = null;
}

/** Shows the view of the current hash, or the login form when there is no token. */
function render(message) {
  unmount();
  if (!http.token()) {
    showLogin(message);
    return;
  }
  topbar.hidden = false;
  const name = routeName();
  const view = VIEWS[name];
  for (const a of topbar.querySelectorAll('nav a')) {
    if (a.dataset.route === (name || 'dashboard')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${view.title} · Gemgate admin`;
  main.replaceChildren();
  current = view.mount(main);
  if (!firstRender) {
    // Moving between views: put focus on the new view's heading, as a page load would.
    const h1 = main.querySelector('h1');
    if (h1) {
      h1.tabIndex = -1;
      h1.focus();
    }
  }
  firstRender = false;
}

function showLogin(message) {
  topbar.hidden = true;
  document.title = 'Log in · Gemgate admin';
  const input = h('input', { type: 'password', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Log in');
  const form = h('form', { novalidate: true, 'aria-describedby': 'login-intro' },
    field({ name: 'token', label: 'Admin token', control: input, hint: 'The value of GEMGATE_ADMIN_TOKEN. Kept in this tab only.' }),
    submit,
    h('p', { class: 'form-error', 'data-error-for': '', role: 'alert', hidden: true }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const value = input.value.trim();
    if (!value) {
      showError(form, { field: 'token', message: 'Enter the admin token.' });
      return;
    }
    submit.disabled = true;
    try {
      await http.login(value);
      input.value = '';
      render();
    } catch (err) {
      const text = err.status === 401 ? 'Wrong admin token: the gateway refused it.'
        : err.status === 404 ? 'The admin API is off on this gateway: start it with GEMGATE_ADMIN_TOKEN set.'
          : err.message;
      showError(form, { field: err.status === 401 ? 'token' : '', message: text });
      input.select();
    } finally {
      submit.disabled = false;
    }
  });
  fill(main, h('section', { class: 'card login', 'aria-labelledby': 'login-title' },
    h('div', { class: 'brand' }, h('img', { src: 'favicon.svg', alt: '', width: 28, height: 28 }), 'Gemgate'),
    h('h1', { id: 'login-title' }, 'Admin login'),
    h('p', { id: 'login-intro', class: 'muted' }, 'Manage keys, tokens and settings of this gateway.'),
    message ? h('p', { class: 'warning', role: 'status' }, message) : null,
    form));
  input.focus();
}

http.whenUnauthorized((message) => render(message));

document.getElementById('logout').addEventListener('click', () => {
  http.forget();
  render('Logged out.');
});
document.getElementById('skip').addEventListener('click', () => {
  const target = main.querySelector('h1') || main;
  target.tabIndex = -1;
  target.focus();
});
window.addEventListener('hashchange', () => {
  clearToast();
  render();
});

render();
