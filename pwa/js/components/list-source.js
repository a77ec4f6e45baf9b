// Where the message list's rows come from: single messages (GET /search) or
// conversations (GET /conversations), as the Settings choose. A conversation row
// carries a summary shaped like a message's, keyed by its thread id, so that the
// list, its selection and its swipes work the same on both.
//
// The list's first page can be asked for before the list exists (prefetchFirstPage,
// app.js: alongside the session and the setup state, as soon as GET /status says
// there is a session), so that it is on its way while the app's screens are built.

import { api } from '../api.js';
import { DEFAULT_QUERY, PAGES, parseRoute } from '../router.js';
import { listGrouping } from '../settings.js';

/** Rows asked for at a time. */
export const PAGE_SIZE = 50;

/** How long a first page asked for in advance may wait for the list to take it. */
const EARLY_MS = 10000;

/** The first page asked for in advance: {key, at, page (a promise of the page or null)}. */
let early = null;

/**
 * A conversation as a list row's summary: keyed by thread, with its counts. Its
 * tags are those of its newest matching message (what the one-tap actions and
 * swipes decide by: one old message in Trash does not make the row "in Trash"),
 * and `read` as the whole thread is.
 */
export function conversationRow(c) {
  const t = c.thread;
  const tags = (c.latest.tags || []).filter((tag) => tag !== 'read');
  if (t.unread === 0) tags.push('read');
  return {
    id: t.thread_id,
    thread_id: t.thread_id,
    latest_id: c.latest.id,
    from: t.participants && t.participants.length ? t.participants : c.latest.from,
    subject: c.latest.subject,
    snippet: c.latest.snippet,
    date: c.latest.date,
    tags,
    unread: t.unread > 0,
    has_attachment: t.has_attachment,
    count: t.messages,
  };
}

/**
 * One page of rows for `query`: {total (messages), next, items}. `grouped` asks
 * for conversations (newest first only).
 */
export async function fetchRows({ query, grouped, sort, limit, cursor = null }, opts) {
  // The page asked for in advance is for the next request only: taken or dropped.
  const taken = early;
  early = null;
  if (taken && taken.key === pageKey({ query, grouped, sort, limit, cursor }) && Date.now() - taken.at < EARLY_MS) {
    const page = await taken.page;
    if (opts && opts.signal && opts.signal.aborted) throw new DOMException('The list went on to another search.', 'AbortError');
    if (page) return page;
    // It failed (the session ended meanwhile, say): ask again, and let that answer say why.
  }
  if (grouped) {
    const page = await api.conversations({ q: query, limit: Math.min(limit, 100), cursor }, opts);
    return {
      total: page.total_messages,
      next: page.next_cursor || null,
      items: (page.results || []).map(conversationRow),
    };
  }
  const page = await api.search({ q: query, limit, cursor, sort }, opts);
  return { total: page.total, next: page.next_cursor || null, items: page.results || [] };
}

/**
 * Drops the first page asked for in advance: the app shows something else first
 * (the wizard, the unlock screen), and by the time the mail opens it may be stale
 * (the wizard's account fetched mail meanwhile).
 */
export function forgetFirstPage() {
  early = null;
}

function pageKey({ query, grouped, sort, limit, cursor }) {
  return JSON.stringify([query, grouped, sort, limit, cursor]);
}

/**
 * Asks now for the first page the list will show once the mail opens on this
 * route: the search in the address (the Inbox for a message or thread opened
 * directly; nothing for a screen of its own, where the list waits), as the
 * Settings group it, newest first, as <hp-message-list> asks for it. The list's
 * first request takes it if it matches and comes within EARLY_MS.
 */
export function prefetchFirstPage() {
  const route = parseRoute();
  if (PAGES.has(route.name)) return;
  const query = route.name === 'search' ? route.q : DEFAULT_QUERY;
  const params = {
    query, grouped: listGrouping() === 'conversations', sort: 'newest', limit: PAGE_SIZE, cursor: null,
  };
  const page = fetchRows(params).catch(() => null);
  early = { key: pageKey(params), at: Date.now(), page };
}
