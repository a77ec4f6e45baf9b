// Formatting of dates, sizes and addresses for display (always as plain text).

/** "Alice" or "alice@example.org" or "(unknown sender)". */
export function addressLabel(addr) {
  if (!addr) return '(unknown)';
  return addr.name || addr.address || '(unknown)';
}

/** "Alice <alice@example.org>" for headers. */
export function addressFull(addr) {
  if (!addr) return '(unknown)';
  if (addr.name && addr.address) return `${addr.name} <${addr.address}>`;
  return addr.name || addr.address || '(unknown)';
}

export function addressList(list, full = false) {
  if (!list || list.length === 0) return '';
  return list.map(full ? addressFull : addressLabel).join(', ');
}

/** Sender(s) of a summary, short form. */
export function senders(summary) {
  return addressList(summary.from) || '(no sender)';
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const yearFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

/** A compact date for lists: time today, "Mar 5" this year, "Mar 5, 2021" before. */
export function shortDate(unixSeconds) {
  if (!unixSeconds && unixSeconds !== 0) return '';
  const d = new Date(unixSeconds * 1000);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return timeFmt.format(d);
  if (d.getFullYear() === now.getFullYear()) return dayFmt.format(d);
  return yearFmt.format(d);
}

export function fullDate(unixSeconds) {
  if (!unixSeconds && unixSeconds !== 0) return '';
  return fullFmt.format(new Date(unixSeconds * 1000));
}

export function isoDate(unixSeconds) {
  if (!unixSeconds && unixSeconds !== 0) return '';
  return new Date(unixSeconds * 1000).toISOString();
}

/** 1234 -> "1.2 KB". */
export function size(bytes) {
  if (!Number.isFinite(bytes)) return '';
  const units = ['bytes', 'KB', 'MB', 'GB'];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} ${units[0]}` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

const WELL_KNOWN = {
  inbox: 'Inbox', spam: 'Spam', trash: 'Trash', flagged: 'Flagged', sent: 'Sent', draft: 'Drafts',
  read: 'Read', unread: 'Unread',
};

/** Display name of a tag: the app's own tags get a capital ("Inbox"); others show as they are. */
export function tagLabel(name) {
  if (!name) return '';
  return WELL_KNOWN[name] || name;
}

/** "1 message" / "3 messages" (the number grouped as the reader's language does). */
export function count(n, one, many = `${one}s`) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/**
 * A moment in words for a sentence: "today at 14:05", "tomorrow at 03:00",
 * "yesterday at 14:05", else "Mar 5 at 14:05" (with the year when it is not this year's).
 */
export function dayAndTime(unixSeconds) {
  if (!unixSeconds && unixSeconds !== 0) return '';
  const d = new Date(unixSeconds * 1000);
  const time = timeFmt.format(d);
  const dayFromToday = (offset) => {
    const day = new Date();
    day.setDate(day.getDate() + offset);
    return day.toDateString();
  };
  const words = { [dayFromToday(0)]: 'today', [dayFromToday(1)]: 'tomorrow', [dayFromToday(-1)]: 'yesterday' };
  const day = words[d.toDateString()];
  if (day) return `${day} at ${time}`;
  return `${d.getFullYear() === new Date().getFullYear() ? dayFmt.format(d) : yearFmt.format(d)} at ${time}`;
}

const relativeFmt = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/**
 * How long ago, for a sentence: "just now", "5 minutes ago", "3 hours ago",
 * "yesterday", "3 days ago", "2 months ago" (English, as the app's sentences are).
 */
export function ago(unixSeconds, now = Date.now() / 1000) {
  const s = Math.max(0, now - unixSeconds);
  if (s < 60) return 'just now';
  if (s < 3600) return relativeFmt.format(-Math.floor(s / 60), 'minute');
  if (s < 86400) return relativeFmt.format(-Math.floor(s / 3600), 'hour');
  if (s < 60 * 86400) return relativeFmt.format(-Math.floor(s / 86400), 'day');
  return relativeFmt.format(-Math.floor(s / (30 * 86400)), 'month');
}

/** A time for status lines: "14:05" today, "Mar 5, 14:05" otherwise. */
export function shortDateTime(unixSeconds) {
  if (!unixSeconds && unixSeconds !== 0) return '';
  const d = new Date(unixSeconds * 1000);
  if (d.toDateString() === new Date().toDateString()) return timeFmt.format(d);
  return `${shortDate(unixSeconds)}, ${timeFmt.format(d)}`;
}

/**
 * Splits what was typed in an address field at the commas (and semicolons) that
 * are not inside quotes or angle brackets: 'Doe, J <j@x>' stays in one piece
 * only when quoted: '"Doe, J" <j@x>, bob@y' -> ['"Doe, J" <j@x>', 'bob@y'].
 */
export function splitAddresses(text) {
  const parts = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (const ch of String(text || '')) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') angle = true;
    else if (!quoted && ch === '>') angle = false;
    if ((ch === ',' || ch === ';') && !quoted && !angle) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** 'Alice <alice@example.org>', the name quoted when it holds a comma or the like. */
export function formatAddress(name, address) {
  if (!name || name === address) return address;
  const safe = /[(),.:;<>@[\]"\\]/.test(name) ? `"${name.replace(/(["\\])/g, '\\$1')}"` : name;
  return `${safe} <${address}>`;
}

/** An OpenPGP fingerprint for reading aloud or comparing: 'ABCD 1234 …' (groups of 4). */
export function fingerprintGroups(hex) {
  const bare = String(hex || '').replace(/[^0-9a-f]/gi, '').toUpperCase();
  return (bare.match(/.{1,4}/g) || []).join(' ');
}

/** The server's words as a sentence: a capital first, a full stop last. */
export function sentence(text) {
  const t = String(text || '').trim();
  if (!t) return '';
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}
