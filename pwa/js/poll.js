// Polling while someone is looking. A poller runs only while the page is visible and
// the person used it (pointer, keys, wheel) within the last half of the session's idle
// timeout, at most 10 minutes: every poll is a request, and requests keep the session
// alive, so a tab left open must not keep the box unlocked forever. A paused poller
// starts again, at once, on the next visibility change or input.
//
// The accounts poll (GET /api/v1/accounts) is shared: every 15 s in the background,
// every 3 s while a screen asks for it (the accounts screen). Each answer is
// announced as `hp:accounts` (detail: {accounts, mail_seq} or {error}); a change of
// `mail_seq` (new mail, an outbox change) as `hp:mail-changed`.

import { api, sessionIdleTimeout } from './api.js';

const MAX_IDLE_MS = 10 * 60 * 1000;
export const SLOW_MS = 15000;
export const FAST_MS = 3000;

let lastInput = Date.now();
const pollers = new Set();

function active() {
  const limit = Math.min(MAX_IDLE_MS, (sessionIdleTimeout() * 1000) / 2);
  return document.visibilityState === 'visible' && Date.now() - lastInput < limit;
}

/** Wakes the pollers that paused (hidden page, or nobody there). */
function wake() {
  for (const p of pollers) if (p.paused && active()) p.now();
}

function onInput() {
  const wasIdle = Date.now() - lastInput > 5000;
  lastInput = Date.now();
  if (wasIdle) wake();
}
for (const type of ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart']) {
  document.addEventListener(type, onInput, { capture: true, passive: true });
}
document.addEventListener('visibilitychange', wake);

/**
 * One round of a page that polls a view: reads it with `read(signal)` (the page's
 * `stop()` aborts `page.abort`), says a failure in the page's error line (`failed`:
 * what could not be read) and hands the answer to `show`, unless the page was left
 * meanwhile (no `page.poller`). A failure rethrows, for the poller to try again.
 */
export async function pollRound(page, read, failed, show) {
  page.abort = new AbortController();
  let view;
  try {
    view = await read(page.abort.signal);
  } catch (err) {
    if (err.name === 'AbortError' || err.status === 401) return;
    page.showError(`${failed}: ${err.message}`);
    throw err;
  }
  if (!page.poller) return; // left meanwhile
  page.showError(null);
  try {
    show(view);
  } catch (err) {
    // A bug here, not a failed poll: reported like any uncaught error (the poller would hide it).
    window.reportError(err);
  }
}

/**
 * Calls `fn` now and then `ms` after each call ends, while active(). Returns
 * {now(), stop(), setInterval(ms)}; `now()` polls at once (or right after a call that
 * is under way).
 */
export function poll(fn, ms) {
  let timer = null;
  let running = false;
  let again = false;
  let stopped = false;
  const p = {
    paused: false,
    async now() {
      clearTimeout(timer);
      timer = null;
      if (stopped) return;
      if (running) { again = true; return; }
      if (!active()) { p.paused = true; return; }
      p.paused = false;
      running = true;
      try {
        await fn();
      } catch {
        // fn reports its own errors; the next round tries again
      }
      running = false;
      if (stopped) return;
      if (again) { again = false; p.now(); return; }
      timer = setTimeout(() => p.now(), ms);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      pollers.delete(p);
    },
    setInterval(newMs) {
      const sooner = newMs < ms;
      ms = newMs;
      if (sooner) p.now();
    },
  };
  pollers.add(p);
  p.now();
  return p;
}

// --- the shared accounts poll ---------------------------------------------------

let accountsPoller = null;
let fastUsers = 0;
let mailSeq = null;
let lastAnswer = null;

async function pollAccounts() {
  let detail;
  try {
    detail = await api.accounts();
  } catch (err) {
    window.dispatchEvent(new CustomEvent('hp:accounts', { detail: { error: err } }));
    throw err;
  }
  lastAnswer = detail;
  window.dispatchEvent(new CustomEvent('hp:accounts', { detail }));
  const seq = detail && Number.isFinite(detail.mail_seq) ? detail.mail_seq : null;
  if (mailSeq !== null && seq !== null && seq !== mailSeq) {
    window.dispatchEvent(new CustomEvent('hp:mail-changed', { detail: { mail_seq: seq } }));
  }
  if (seq !== null) mailSeq = seq;
}

/** Starts the background accounts poll (the mail view does, once unlocked). */
export function startAccountsPoll() {
  if (!accountsPoller) accountsPoller = poll(pollAccounts, fastUsers > 0 ? FAST_MS : SLOW_MS);
}

export function stopAccountsPoll() {
  if (accountsPoller) accountsPoller.stop();
  accountsPoller = null;
  mailSeq = null;
  lastAnswer = null;
}

/** A screen that wants fresh account states (true) or no longer (false). */
export function wantFastAccounts(on) {
  fastUsers = Math.max(0, fastUsers + (on ? 1 : -1));
  if (accountsPoller) accountsPoller.setInterval(fastUsers > 0 ? FAST_MS : SLOW_MS);
}

/** Polls the accounts at once (after a change, or "Sync now"). */
export function refreshAccounts() {
  if (accountsPoller) accountsPoller.now();
}

/** The last answer of GET /accounts, or null. */
export function lastAccounts() {
  return lastAnswer;
}
