// The checks every *.test.mjs here prints: one "ok N - what" or "not ok N - what: detail" line per check (TAP's
// shape), a failed step does not stop the next, and done() exits 1 when any check failed. The Java test that starts
// the script reads these lines.
let n = 0;
let failed = 0;

/** One check: prints ok or not ok; returns the condition. */
export function check(condition, what, detail) {
  n++;
  if (condition) {
    console.log(`ok ${n} - ${what}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${what}: ${show(detail)}`);
  }
  return condition;
}

/** Runs one step of a script; an exception fails it (with the SDK's error class, status and message). */
export async function step(what, fn) {
  try {
    await fn();
  } catch (e) {
    check(false, `${what} threw`, describe(e));
  }
}

/** What the SDK raised, for an assertion or a failure line: class, status and message. */
export function describe(e) {
  return { name: e?.constructor?.name, status: e?.status, message: String(e?.message ?? e).slice(0, 500) };
}

/** The exception fn raises, or null when it raises none. */
export async function raised(fn) {
  try {
    await fn();
    return null;
  } catch (e) {
    return e;
  }
}

/** Ends the script: exit 1 when a check failed. */
export function done() {
  console.log(`# ${n} checks, ${failed} not ok`);
  process.exit(failed === 0 ? 0 : 1);
}

function show(detail) {
  try {
    return JSON.stringify(detail);
  } catch {
    return String(detail);
  }
}

export const BASE_URL = process.env.BASE_URL;
export const TOKEN = process.env.TOKEN;
