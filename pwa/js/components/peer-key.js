// A correspondent's OpenPGP key (docs/pgp.md), for the reader and compose:
// - lookupResult(answer): what a key lookup (POST /keys/lookup, or the reader's
//   POST /messages/{id}/crypto/lookup) found, in words, with the sources asked;
// - openPeerSheet(address): their key and history (GET /peers/{address}) and, when
//   their key changed (trust on first use), both fingerprints and the way to accept
//   the new one after comparing it (POST /peers/{address}/accept).
//
// A lookup asks servers on the network, which learn whose key was asked for: it
// runs only when the person presses a button, and the button says so (LOOKUP_HINT).
// Everything the server says (addresses, outcomes, URLs) is shown as text.

import { api } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { fingerprintGroups, fullDate } from '../format.js';
import { openSheet, confirmSheet } from './sheet.js';

/** Shown beside every lookup button: who learns what. */
export const LOOKUP_HINT = 'Looking up asks the address\u2019s mail domain, then keys.openpgp.org; '
  + 'they learn whose key you looked for.';

/** Where a key came from (a PeerSummary's key_source), in words. */
const SOURCE_WORDS = {
  autocrypt: 'From their mail (Autocrypt)',
  gossip: 'Passed on by someone who wrote to you both (Autocrypt gossip)',
  attachment: 'From a key attached to their mail',
  announced: 'From the address their mail named for it',
  'wkd-advanced': 'From their mail domain (WKD)',
  'wkd-direct': 'From their mail domain (WKD)',
  'keys.openpgp.org': 'From keys.openpgp.org',
  imported: 'Imported by you',
};

/** The sources a lookup asks (an attempt's `source`), named shortly. */
const ATTEMPT_WORDS = {
  announced: 'Address their mail named',
  'wkd-advanced': 'Their domain, WKD advanced',
  'wkd-direct': 'Their domain, WKD direct',
  'keys.openpgp.org': 'keys.openpgp.org',
};

/** A PeerSummary's recommendation for mail to them, in words. */
const RECOMMENDATION_WORDS = {
  disable: 'Mail to them cannot be encrypted.',
  discourage: 'Mail to them can be encrypted, but their key may be out of date or second-hand.',
  available: 'Mail to them can be encrypted.',
  encrypt: 'Mail to them is encrypted: they asked for it.',
};

export function sourceWords(source) {
  return SOURCE_WORDS[source] || (source ? `From ${source}` : 'Unknown');
}

/** "Found on the sender's domain (WKD)": where a lookup found a key; `whose` names them. */
export function foundWords(source, whose = 'their') {
  switch (source) {
    case 'wkd-advanced':
    case 'wkd-direct':
      return `Found on ${whose} domain (WKD)`;
    case 'keys.openpgp.org':
      return 'Found on keys.openpgp.org';
    case 'announced':
      return `Found at the address ${whose} mail named`;
    default:
      return source ? `Found (${source})` : 'Found';
  }
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** The sources a lookup asked, one short line each. */
export function attemptsList(attempts) {
  if (!Array.isArray(attempts) || attempts.length === 0) return null;
  return h('ul', { class: 'lookup-attempts', 'aria-label': 'Where Homepost looked' },
    attempts.map((a) => {
      const host = hostOf(a.url);
      const name = ATTEMPT_WORDS[a.source] || a.source || 'Source';
      return h('li', {}, h('span', { class: 'lookup-source' }, name),
        host && host !== a.source ? h('span', { class: 'lookup-host' }, ` (${host})`) : null,
        `: ${a.outcome || 'no answer'}`);
    }));
}

/**
 * What a lookup answer (LookupView) means, as a node: found and where, a key that
 * differs from the trusted one (with a Review button when `onReview` is given), or
 * nothing found with the sources asked. `whose`: "the sender's" or "their".
 */
export function lookupResult(answer, { whose = 'their', onReview = null } = {}) {
  const a = answer || {};
  if (a.found && a.key_changed) {
    return h('div', { class: 'lookup-result lookup-changed' },
      h('p', {}, icon(ICONS.warning, 'icon lookup-icon'),
        `${foundWords(a.source, whose)}, but it is not the key you trusted first. `
        + 'Nothing is encrypted to them until you compare it and decide.'),
      onReview ? h('button', { type: 'button', class: 'button', onclick: onReview }, 'Review the new key') : null);
  }
  if (a.found) {
    return h('div', { class: 'lookup-result lookup-found' },
      h('p', {}, icon(ICONS.key, 'icon lookup-icon'), `${foundWords(a.source, whose)}.`),
      a.fingerprint ? h('p', { class: 'fingerprint' }, fingerprintGroups(a.fingerprint)) : null);
  }
  return h('div', { class: 'lookup-result lookup-none' },
    h('p', {}, `No key found for ${a.address || 'this address'}.`),
    attemptsList(a.attempts));
}

// --- the sheet --------------------------------------------------------------------

/** "3 signed, 1 encrypted, 2 with Autocrypt". */
function historyWords(p) {
  return `${p.signed_count || 0} signed, ${p.encrypted_count || 0} encrypted, `
    + `${p.autocrypt_count || 0} with Autocrypt`;
}

/** One labelled fingerprint line of the key-change warning. */
function fingerprintLine(label, fingerprint, className) {
  return h('div', { class: `key-compare ${className}` },
    h('p', { class: 'key-compare-label' }, label),
    h('p', { class: 'fingerprint' }, fingerprintGroups(fingerprint)));
}

/**
 * Opens the sheet of `address`'s key and history. `onChange(peer)` is called after
 * the person accepted a changed key or a lookup found one (the caller asks the
 * server again for what depends on it). Returns the <dialog>.
 */
export function openPeerSheet(address, { onChange = () => {} } = {}) {
  const body = h('div', { class: 'peer' }, h('p', { role: 'status' }, 'Loading\u2026'));
  const dialog = openSheet({ title: `Key of ${address}`, content: body, className: 'peer-sheet' });
  const abort = new AbortController();
  dialog.addEventListener('close', () => abort.abort());

  /** Shows the peer (asked again); `notice` is a node or sentence to show first. */
  const load = async (notice = null) => {
    body.setAttribute('aria-busy', 'true');
    let peer = null;
    let problem = null;
    try {
      peer = await api.peer(address, { signal: abort.signal });
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status !== 404) problem = err.message;
    }
    body.removeAttribute('aria-busy');
    const note = notice ? h('div', { class: 'peer-notice', role: 'status', tabindex: '-1' }, notice) : null;
    if (problem) {
      replace(body, note, h('p', { class: 'form-error', role: 'alert' }, `Could not load their key: ${problem}`));
    } else if (!peer) {
      replace(body, note, unknownPeer());
    } else {
      replace(body, note, peerFacts(peer));
    }
    if (note) note.focus();
  };

  /** Nothing known yet: say so, and offer a lookup. */
  const unknownPeer = () => {
    const button = h('button', { type: 'button', class: 'button', onclick: () => lookup(button) },
      icon(ICONS.search), 'Look up their key');
    return [
      h('p', {}, `Homepost has no key of ${address} yet. Their key usually arrives with their mail (Autocrypt).`),
      h('div', { class: 'peer-actions' }, button),
      h('p', { class: 'field-hint' }, LOOKUP_HINT),
    ];
  };

  const lookup = async (button) => {
    button.disabled = true;
    button.textContent = 'Looking up\u2026';
    try {
      const answer = await api.lookupKey(address, { signal: abort.signal });
      await load(lookupResult(answer));
      if (answer && answer.found) onChange(answer.peer || null);
    } catch (err) {
      if (err.name === 'AbortError') return;
      await load(err.status === 401 ? null : h('p', { class: 'form-error' }, `The lookup failed: ${err.message}`));
    }
  };

  const accept = async (peer) => {
    const ok = await confirmSheet({
      title: 'Accept the new key?',
      message: `Accept it only if ${address} gave you this same fingerprint another way (in person or by phone). `
        + 'Mail to them is then encrypted to the new key.',
      details: [fingerprintGroups(peer.changed)],
      detailsClass: 'fingerprint-list',
      confirmLabel: 'Accept the new key',
      danger: true,
    });
    if (!ok || !dialog.open) return;
    try {
      const after = await api.acceptPeerKey(address, peer.changed);
      await load('You accepted the new key. Mail to them can be encrypted again.');
      onChange(after);
    } catch (err) {
      if (err.status === 401) return;
      let words = err.message;
      if (err.code === 'other_key') words = 'Their key changed again while you were looking. Compare the new fingerprint below before you decide.';
      else if (err.code === 'no_key_change') words = 'No key change is waiting any more, so there is nothing to accept.';
      await load(h('p', { class: 'form-error' }, words));
    }
  };

  /** Everything known of them; the key-change warning first. */
  const peerFacts = (p) => {
    const parts = [];
    if (p.changed) {
      const acceptButton = h('button', { type: 'button', class: 'button danger', onclick: () => accept(p) },
        'I compared it: accept the new key');
      parts.push(h('div', { class: 'crypto-alert key-change' },
        icon(ICONS.warning, 'icon crypto-alert-icon'),
        h('div', {},
          h('p', { class: 'crypto-alert-title' }, 'Their key changed'),
          h('p', {}, `A different key arrived${p.changed_at ? ` on ${fullDate(p.changed_at)}` : ''}. `
            + 'This can be normal (a new phone or mail app) or a sign that someone is impersonating them. '
            + 'Until you decide, nothing is encrypted to them.'),
          p.pinned ? fingerprintLine('Trusted first', p.pinned, 'key-pinned') : null,
          fingerprintLine('New key', p.changed, 'key-new'),
          h('p', {}, 'Ask them for their fingerprint another way (in person or by phone, not by mail) '
            + 'and compare it group by group.'),
          acceptButton)));
    }
    // While a change waits, their newest key is the one shown above as "New key".
    const facts = [
      p.changed ? ['Key', 'Waiting for your decision'] : ['Key', p.key ? h('span', { class: 'fingerprint' }, fingerprintGroups(p.key)) : 'None'],
      p.key ? [p.changed ? 'New key came' : 'Came', sourceWords(p.key_source)] : null,
      p.pinned && p.pinned !== p.key && !p.changed
        ? ['Trusted first', h('span', { class: 'fingerprint' }, fingerprintGroups(p.pinned))] : null,
      ['Their mail', historyWords(p)],
      ['Last mail', p.last_seen ? fullDate(p.last_seen) : 'None yet'],
      ['Encryption', p.changed
        ? 'Not until you decide about the new key.'
        : RECOMMENDATION_WORDS[p.recommendation] || p.recommendation || 'Unknown'],
    ].filter(Boolean);
    parts.push(h('dl', { class: 'peer-facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
    if (p.prefer_encrypt) parts.push(h('p', {}, 'They ask for encrypted mail (Autocrypt).'));
    if (p.announced_url) {
      parts.push(h('p', { class: 'peer-announced' }, 'Their mail says their key is at ',
        h('span', { class: 'peer-url' }, p.announced_url), '.'));
    }
    if (!p.key && !p.changed) {
      const button = h('button', { type: 'button', class: 'button', onclick: () => lookup(button) },
        icon(ICONS.search), 'Look up their key');
      parts.push(h('div', { class: 'peer-actions' }, button), h('p', { class: 'field-hint' }, LOOKUP_HINT));
    }
    parts.push(h('p', { class: 'field-hint' }, 'To be sure a key is theirs, compare its fingerprint with the one '
      + 'they give you another way.'));
    return parts;
  };

  load();
  return dialog;
}
