// Sender avatars drawn here, from the sender's name and address: initials on a
// colour picked by a hash of the address. Nothing is fetched (no Gravatar, no
// remote images): a picture request would tell a third party who writes to you.

import { h } from './dom.js';

/** How many colours the stylesheet defines (.avatar-c0 … .avatar-c7). */
const COLOURS = 8;

/** Letters and digits of `text`, as whole characters (accents and other scripts kept). */
function letters(text) {
  return Array.from(String(text || '').normalize('NFC')).filter((ch) => /[\p{L}\p{N}]/u.test(ch));
}

/**
 * One or two capitals for an address ({name, address}): the first letters of the
 * first and last words of the name ("Bjarni Runar Einarsson" -> "BE"), else of the
 * first two parts of the address's local part ("jane.doe@x" -> "JD"), else "?".
 */
export function initials(addr) {
  const name = addr && addr.name ? String(addr.name) : '';
  const fromName = name.split(/[\s,]+/).map(letters).filter((w) => w.length > 0);
  if (fromName.length > 0) {
    const first = fromName[0][0];
    const last = fromName.length > 1 ? fromName[fromName.length - 1][0] : '';
    return (first + last).toLocaleUpperCase();
  }
  const local = String((addr && addr.address) || '').split('@')[0];
  const parts = local.split(/[._+-]+/).map(letters).filter((w) => w.length > 0);
  if (parts.length === 0) return '?';
  return (parts[0][0] + (parts.length > 1 ? parts[1][0] : '')).toLocaleUpperCase();
}

/** FNV-1a over the lowercased address (or name): the same sender, the same colour. */
export function colourIndex(addr) {
  const key = String((addr && (addr.address || addr.name)) || '').toLowerCase();
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % COLOURS;
}

/**
 * The avatar of the first sender of `from` (a list of addresses): a decorative
 * span (the name is said next to it), coloured by class, never by a style attribute.
 */
export function avatar(from, className = 'avatar') {
  const addr = (from || []).find((a) => a && (a.name || a.address)) || null;
  return h('span', {
    class: `${className} avatar-c${colourIndex(addr)}`, 'aria-hidden': 'true', dataset: { initials: initials(addr) },
  }, initials(addr));
}
