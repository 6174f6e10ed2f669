// The admin API client. The admin token lives in sessionStorage (this tab only, gone when it closes) and travels in
// the Authorization header, never in a URL.

const TOKEN_KEY = 'gemgate.adminToken';

/** An error answer: status, message and, for a 400, the field it names. */
export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.field = field || null;
  }
}

let onUnauthorized = () => {};

/** Called when a call with the stored token is answered 401 (the token was changed on the gateway). */
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
}

async function send(method, path, body, bearer) {
  const headers = { Authorization: `Bearer ${bearer}` };
  const init = { method, headers, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/admin/api${path}`, init);
  } catch (e) {
    throw new ApiError(0, `The gateway did not answer (${e.message}).`);
  }
  let json = null;
  try {
    json = await res.json();
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = json && json.error ? json.error : {};
    throw new ApiError(res.status, err.message || `${res.status} ${res.statusText}`, err.field);
  }
  return json;
}

/**
 * Checks a token with GET /admin/api/keys and keeps it when accepted.
 * @returns {Promise<void>} rejects with an ApiError (401: wrong token, 404: admin API off)
 */
export async function login(candidate) {
  await send('GET', '/keys', undefined, candidate);
  sessionStorage.setItem(TOKEN_KEY, candidate);
}

/** Calls the admin API with the stored token; a 401 logs out. */
export async function api(method, path, body) {
  const t = token();
  if (!t) {
    onUnauthorized();
    throw new ApiError(401, 'Not logged in.');
  }
  try {
    return await send(method, path, body, t);
  } catch (e) {
    if (e.status === 401) {
      forget();
      onUnauthorized('The gateway no longer accepts this admin token. Log in again.');
    }
    throw e;
  }
}

/** GET of a text answer (CSV), with the stored token. */
export async function getText(path) {
  const t = token();
  let res;
  try {
    res = await fetch(`/admin/api${path}`, { headers: { Authorization: `Bearer ${t}` }, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, `The gateway did not answer (${e.message}).`);
  }
  if (!res.ok) throw new ApiError(res.status, `${res.status} ${res.statusText}`);
  return res.text();
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);
