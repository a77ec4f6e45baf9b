// Where the message list's rows come from: single messages (GET /search) or
// conversations (GET /conversations), as the Settings choose. A conversation row
// carries a summary shaped like a message's, keyed by its thread id, so that the
// list, its selection and its swipes work the same on both.

import { api } from '../api.js';

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
