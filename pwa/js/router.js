// Hash routes, so the server never needs a fallback route:
//   #/search?q=in%3Ainbox    a search (the default route is the inbox)
//   #/message/12             one message
//   #/thread/10              one thread
//   #/compose, #/compose/7   a new message; draft 7
//   #/drafts, #/outbox       the drafts; the messages being sent
//   #/accounts               accounts (#/accounts/new: add one, account-add.js; #/accounts/3: edit it)
//   #/import                 import mail from files on this device
//   #/remote                 remote access: the relay, the onion service, paired devices
//   #/backup                 backups: their status, where they go, the recovery key shown once
//   #/health                 storage health: the last check and repair, a check now; the trash's retention
//   #/contacts               the address book (#/contacts/new: add one; #/contacts/3: edit it)
//   #/rules                  filter rules (#/rules/new: a new one, #/rules/new?name=…&query=… prefilled;
//                            #/rules/3: edit it)

export const DEFAULT_QUERY = 'in:inbox';

/** Routes of screens of their own, shown instead of the list and the reader. */
export const PAGES = new Set(['compose', 'drafts', 'outbox', 'accounts', 'import', 'remote', 'backup', 'health', 'contacts', 'rules']);

/** Parses location.hash into {name, q} or {name, id}. */
export function parseRoute(hash = window.location.hash) {
  const path = hash.replace(/^#/, '');
  const [pathname, query = ''] = path.split('?');
  const parts = pathname.split('/').filter(Boolean);
  if (parts[0] === 'message' && /^\d+$/.test(parts[1] || '')) {
    return { name: 'message', id: Number(parts[1]) };
  }
  if (parts[0] === 'thread' && /^\d+$/.test(parts[1] || '')) {
    return { name: 'thread', id: Number(parts[1]) };
  }
  if (parts[0] === 'rules') {
    const id = /^\d+$/.test(parts[1] || '') ? Number(parts[1]) : parts[1] === 'new' ? 'new' : null;
    return { name: 'rules', id, params: id === 'new' && query ? query : null };
  }
  if (parts[0] === 'compose' || parts[0] === 'accounts' || parts[0] === 'contacts') {
    let id = null;
    if (/^\d+$/.test(parts[1] || '')) id = Number(parts[1]);
    else if (parts[0] !== 'compose' && parts[1] === 'new') id = 'new';
    return { name: parts[0], id };
  }
  if (['drafts', 'outbox', 'import', 'remote', 'backup', 'health'].includes(parts[0])) return { name: parts[0], id: null };
  if (parts[0] === 'search') {
    const params = new URLSearchParams(query);
    return { name: 'search', q: params.has('q') ? params.get('q') : DEFAULT_QUERY };
  }
  return { name: 'search', q: DEFAULT_QUERY };
}

export function searchHash(q) {
  return `#/search?${new URLSearchParams({ q })}`;
}

export function messageHash(id) {
  return `#/message/${Number(id)}`;
}

export function threadHash(id) {
  return `#/thread/${Number(id)}`;
}

export function composeHash(draftId = null) {
  return draftId === null ? '#/compose' : `#/compose/${Number(draftId)}`;
}

export function accountHash(id = null) {
  return id === null ? '#/accounts' : `#/accounts/${id === 'new' ? 'new' : Number(id)}`;
}

export function contactHash(id = null) {
  return id === null ? '#/contacts' : `#/contacts/${id === 'new' ? 'new' : Number(id)}`;
}

export const RULES_HASH = '#/rules';

/** A rule's editor: `id` a rule's, or 'new' (with `prefill` {name, query}: a new rule filled in). */
export function ruleHash(id, prefill = null) {
  if (id !== 'new') return `#/rules/${Number(id)}`;
  return prefill ? `#/rules/new?${new URLSearchParams(prefill)}` : '#/rules/new';
}

/**
 * The editor of a new rule for mail from the first sender of `from` ([{name, address}]):
 * "Mail like this…" in the reader.
 */
export function mailLikeThisHash(from) {
  const sender = (from || []).find((a) => a && a.address);
  if (!sender) return ruleHash('new');
  const { address } = sender;
  const term = /^[^\s"()\\]+$/.test(address) ? address : `"${address.replace(/(["\\])/g, '\\$1')}"`;
  return ruleHash('new', { name: `Mail from ${sender.name || address}`, query: `from:${term}` });
}

export const IMPORT_HASH = '#/import';

export const REMOTE_HASH = '#/remote';

export const BACKUP_HASH = '#/backup';

export const HEALTH_HASH = '#/health';

/** Whether `query` is the Trash itself (in:trash, tag:trash), not a search within it. */
export function isTrashQuery(query) {
  return /^\s*(in|tag|is):"?trash"?\s*$/i.test(String(query || ''));
}

export function navigate(hash) {
  if (window.location.hash !== hash) window.location.hash = hash;
}
