// Tag changes on messages, shared by the list, the message view and the keyboard.
// Every change is announced with a `hp:tags-changed` event on window so that each
// view (list rows, tag counts in the drawer, an open message) can update itself.

import { api } from './api.js';

export const ARCHIVE = { add: [], remove: ['inbox'] };
export const TRASH = { add: ['trash'], remove: ['inbox'] };
export const MARK_READ = { add: ['read'], remove: [] };
export const MARK_UNREAD = { add: [], remove: ['read'] };

/** Applies {add, remove} to the messages `ids`; resolves when the server agreed. */
export async function changeTags(ids, { add = [], remove = [] }) {
  await api.changeTags(ids, add, remove);
  window.dispatchEvent(new CustomEvent('hp:tags-changed', { detail: { ids, add, remove } }));
}

/**
 * An Undo button for `announce`: applies `change` to `ids`, says so, then runs
 * `after` (e.g. to put a row back in a list).
 */
export function undoAction(ids, change, after = () => {}) {
  return {
    label: 'Undo',
    run: async () => {
      try {
        await changeTags(ids, change);
        announce('Undone');
        after();
      } catch (err) {
        if (err.status !== 401) announce(err.message, 'error');
      }
    },
  };
}

/** Announces that tags themselves were created, renamed or deleted. */
export function tagsEdited() {
  window.dispatchEvent(new CustomEvent('hp:tags-edited'));
}

/**
 * Shows a short status message in the app's live region; `action` ({label, run})
 * adds a button to it, such as Undo.
 */
export function announce(message, kind = 'info', action = null) {
  window.dispatchEvent(new CustomEvent('hp:announce', { detail: { message, kind, action } }));
}

/**
 * The tags a query requires (`in:x`, `tag:x`, `is:flagged`), lowercased; used to
 * drop a row from the list once it no longer has one of them. Negated terms and
 * terms inside OR groups are ignored, so this only ever under-approximates.
 */
export function requiredTags(query) {
  if (/\bOR\b|[()]/.test(query)) return [];
  const tags = [];
  for (const m of query.matchAll(/(^|\s)(in|tag):("?)([^\s"]+)\3/gi)) tags.push(m[4].toLowerCase());
  for (const m of query.matchAll(/(^|\s)is:(\S+)/gi)) {
    const v = m[2].toLowerCase();
    if (v !== 'read' && v !== 'unread') tags.push(v);
  }
  return tags;
}

/**
 * True when a message with `tags` is left out of `query`'s results because it is
 * spam or trash and the query does not name that tag (docs/api.md, search).
 */
export function hiddenByDefault(tags, query) {
  return ['spam', 'trash'].some((t) => tags.includes(t)
    && !new RegExp(`(^|[\\s(-])(in|tag|is):"?${t}\\b`, 'i').test(query));
}
