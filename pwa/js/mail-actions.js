// Tag changes on messages, shared by the list, the message view and the keyboard.
// Every change is announced with a `hp:tags-changed` event on window so that each
// view (list rows, tag counts in the drawer, an open message) can update itself.

import { api } from './api.js';

export const ARCHIVE = { add: [], remove: ['inbox'] };
/** Most message ids one POST /messages/tags names. */
const MAX_IDS = 5000;
export const TRASH = { add: ['trash'], remove: ['inbox'] };
export const MARK_READ = { add: ['read'], remove: [] };
export const MARK_UNREAD = { add: [], remove: ['read'] };
export const FLAG = { add: ['flagged'], remove: [] };
export const UNFLAG = { add: [], remove: ['flagged'] };
/** Reporting spam takes it out of the Inbox; the filter learns from the tag (docs/spam.md). */
export const SPAM = { add: ['spam'], remove: ['inbox'] };
export const NOT_SPAM = { add: ['inbox'], remove: ['spam'] };

/**
 * What the one-tap action `kind` (archive, trash, read, flag, spam) does to a
 * message with `tags`: {change, done, label, icon} (an ICONS name), or null for
 * `none`. Each is a toggle: archiving what is not in the Inbox moves it back,
 * "spam" on spam is "Not spam". `quiet` ones (read state) offer no Undo.
 */
export function messageAction(kind, tags = []) {
  const has = (t) => tags.includes(t);
  switch (kind) {
    case 'archive':
      return has('inbox')
        ? { change: ARCHIVE, done: 'Archived', label: 'Archive', icon: 'archive' }
        : { change: { add: ['inbox'], remove: [] }, done: 'Moved to Inbox', label: 'Inbox', icon: 'inbox' };
    case 'trash':
      return has('trash')
        ? { change: { add: ['inbox'], remove: ['trash'] }, done: 'Moved to Inbox', label: 'Restore', icon: 'inbox' }
        : { change: TRASH, done: 'Moved to Trash', label: 'Trash', icon: 'trash' };
    case 'read':
      return has('read')
        ? { change: MARK_UNREAD, done: 'Marked as unread', label: 'Unread', icon: 'markUnread', quiet: true }
        : { change: MARK_READ, done: 'Marked as read', label: 'Read', icon: 'markRead', quiet: true };
    case 'flag':
      return has('flagged')
        ? { change: UNFLAG, done: 'Unflagged', label: 'Unflag', icon: 'starOutline' }
        : { change: FLAG, done: 'Flagged', label: 'Flag', icon: 'star' };
    case 'spam':
      return has('spam')
        ? { change: NOT_SPAM, done: 'Marked as not spam', label: 'Not spam', icon: 'inbox' }
        : { change: SPAM, done: 'Reported as spam', label: 'Spam', icon: 'spam' };
    default:
      return null;
  }
}

/**
 * The changes that undo `change` on messages whose tags were `before` (a Map of
 * id -> tags): only what the change really altered, per message (archiving gives
 * `inbox` back only to those that had it). Messages with the same undo share a
 * group, one request each.
 */
export function undoChanges(before, { add = [], remove = [] }) {
  const groups = new Map();
  for (const [id, tags] of before) {
    const had = new Set(tags);
    const back = { add: remove.filter((t) => had.has(t)), remove: add.filter((t) => !had.has(t)) };
    if (back.add.length === 0 && back.remove.length === 0) continue;
    const key = JSON.stringify(back);
    if (!groups.has(key)) groups.set(key, { ids: [], ...back });
    groups.get(key).ids.push(id);
  }
  return [...groups.values()];
}

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

/**
 * An Undo button that puts back exactly what `change` altered on the messages of
 * `before` (id -> tags before it), then runs `after`; null when nothing changed.
 */
export function undoExactly(before, change, after = () => {}) {
  return undoGroups(undoChanges(before, change), after);
}

/**
 * An Undo button that applies `groups` ({ids, add, remove}, one request each),
 * says so, then runs `after`; null when there is nothing to undo.
 */
function undoGroups(groups, after) {
  if (groups.length === 0) return null;
  return {
    label: 'Undo',
    run: async () => {
      try {
        for (const { ids, add, remove } of groups) await changeTags(ids, { add, remove });
        announce('Undone');
        after();
      } catch (err) {
        if (err.status !== 401) announce(err.message, 'error');
      }
    },
  };
}

/**
 * Applies {add, remove} to every message of the threads `threads`; resolves to
 * the server's answer ({updated, changes}: per tag, the ids that gained and lost it).
 */
export async function changeThreads(threads, { add = [], remove = [] }) {
  const result = await api.changeThreadTags(threads, add, remove);
  const ids = [...new Set((result.changes || []).flatMap((c) => [...c.added, ...c.removed]))];
  window.dispatchEvent(new CustomEvent('hp:tags-changed', { detail: { ids, add, remove, threads } }));
  return result;
}

/**
 * An Undo button that reverses `changes` (a tag change's answer: per tag, the
 * messages that gained and lost it) exactly; null when nothing changed.
 */
export function undoDeltas(changes, after = () => {}) {
  const groups = [];
  // One request names at most MAX_IDS messages (POST /messages/tags).
  const push = (ids, add, remove) => {
    for (let i = 0; i < ids.length; i += MAX_IDS) groups.push({ ids: ids.slice(i, i + MAX_IDS), add, remove });
  };
  for (const { tag, added, removed } of changes || []) {
    if (added.length) push(added, [], [tag]);
    if (removed.length) push(removed, [tag], []);
  }
  return undoGroups(groups, after);
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
