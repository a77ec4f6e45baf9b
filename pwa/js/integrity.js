// The box's health as the app last read it (GET /integrity): read once when the
// mail view opens (after each unlock), and again whenever the Storage health page
// reads it (its answers come here, so a check or repair that ended there shows
// everywhere). Never polled in the background. A last check that found damage is
// shown outside Settings too: a mark on the drawer's Settings entry, a line in the
// Settings sheet and a banner over the list, which listen for `hp:integrity`.

import { api } from './api.js';

/** The last view of GET /integrity ({status, trash_days}), or null while not known. */
let last = null;

/** Remembers a view of GET /integrity (or of a change) and tells who shows it. */
export function setIntegrity(view) {
  last = view && view.status ? view : null;
  window.dispatchEvent(new CustomEvent('hp:integrity', { detail: last }));
}

/** The last view, or null. */
export function lastIntegrity() {
  return last;
}

/** Whether the last check found damage (a repair is then offered). */
export function needsAttention(view = last) {
  return Boolean(view && view.status && view.status.clean === false);
}

/** Reads GET /integrity once; a failure leaves things as they were (the page says why). */
export async function loadIntegrity() {
  try {
    setIntegrity(await api.integrity());
  } catch {
    // not known: nothing is shown outside Settings
  }
}

/** Locked: nothing about the box is kept. */
export function clearIntegrity() {
  last = null;
}
