// A correspondent's OpenPGP key (docs/pgp.md), for the reader and compose:
// - lookupResult(answer): what a key lookup (POST /keys/lookup, or the reader's
//   POST /messages/{id}/crypto/lookup) found, in words, with the sources asked;
// - openPeerSheet(address): their key and history (GET /peers/{address}) and, when
//   their key changed (trust on first use), both fingerprints and the way to accept
//   the new one after comparing it (POST /peers/{address}/accept).
//
// A lookup asks servers on the network, which learn whose key was asked for: it
// runs only when the person presses a button, and the hint beside it names who is
// asked (lookupHint). Which sources the box may ask comes from GET /status
// (`key_lookup`, api.js): with "off" no lookup button is shown; with "wkd"
// keys.openpgp.org is never named. Only "all" asks keys.openpgp.org and an address
// their mail named for their key (`announced_url`): there "Only ask their own mail
// domain" leaves both out (`keyserver: false`).
// The setting can change while the page is open: a `lookups_off` answer is said in
// words, and the lookup buttons give way to that sentence until the page is reloaded.
// Everything the server says (addresses, outcomes, URLs) is shown as text.

import { api, keyLookupMode } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { fingerprintGroups, fullDate } from '../format.js';
import { openSheet, confirmSheet } from './sheet.js';

/** Said (instead of a lookup button) when the box makes no lookups. */
export const LOOKUPS_OFF = 'Key lookups are turned off on this box: keys arrive only with their mail.';

/** The box answered `lookups_off` (a setting changed since the page loaded; forgotten on reload). */
let lookupsOff = false;

/** Whether the box makes no lookups (GET /status said "off", or a lookup was refused so). */
export function lookupsTurnedOff() {
  return lookupsOff || keyLookupMode() === 'off';
}

// (The server could also say "keys.openpgp.org": that source alone.)

/** Whether the box may ask their mail domain (WKD); also when not known. */
export function domainAllowed() {
  return !lookupsTurnedOff() && keyLookupMode() !== 'keys.openpgp.org';
}

/** Whether the box may ask keys.openpgp.org ("all", or not known). */
export function keyserverAllowed() {
  const mode = keyLookupMode();
  return !lookupsTurnedOff() && (mode === null || mode === 'all' || mode === 'keys.openpgp.org');
}

/** Whether the box asks the address their mail named for their key ("all", or not known). */
function announcedAllowed() {
  const mode = keyLookupMode();
  return !lookupsTurnedOff() && (mode === null || mode === 'all');
}

/** Whether "Only ask their own mail domain" means anything: both sources may be asked. */
export function domainOnlyOffered() {
  return domainAllowed() && keyserverAllowed();
}

/**
 * Shown beside every lookup button: who is asked, so who learns what. `announced`:
 * their mail named an address for their key (asked first where the box allows it).
 * Null when no one would be asked (no lookup button is shown then).
 */
export function lookupHint({ announced = false } = {}) {
  const asked = [];
  if (announced && announcedAllowed()) asked.push('the address their mail named for their key');
  if (domainAllowed()) asked.push('the address\u2019s mail domain');
  if (keyserverAllowed()) asked.push('keys.openpgp.org');
  if (!asked.length) return null;
  return `Looking up asks ${asked.join(', then ')}; ${asked.length === 1 ? 'it learns' : 'they learn'} `
    + 'whose key you looked for.';
}

/** A failed lookup (an ApiError) in words; remembers `lookups_off`. */
export function lookupProblem(err) {
  if (err && err.code === 'lookups_off') {
    lookupsOff = true;
    return LOOKUPS_OFF;
  }
  return `The lookup failed: ${err.message}`;
}

let choiceCount = 0;

/**
 * The "Only ask their own mail domain" checkbox (unticked: the domain, then
 * keys.openpgp.org). Returns {el, keyserver()}: keyserver() is false when ticked.
 */
export function domainOnlyChoice() {
  choiceCount += 1;
  const id = `lookup-domain-only-${choiceCount}`;
  const box = h('input', { id, type: 'checkbox', name: 'domain-only' });
  return {
    el: h('div', { class: 'check lookup-scope' }, box,
      h('label', { for: id }, 'Only ask their own mail domain, not keys.openpgp.org')),
    keyserver: () => !box.checked,
  };
}

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

/** Why a key cannot be encrypted to (a PeerSummary's key_status other than usable). */
const STATUS_WORDS = {
  expired: 'their key has expired',
  revoked: 'they revoked their key',
  no_encryption_key: 'their key cannot encrypt (it is only for signing)',
  invalid: 'their key is not valid',
};

/** The Encryption line of the sheet: the recommendation, and why when it is "disable". */
function encryptionWords(p) {
  if (p.recommendation !== 'disable') return RECOMMENDATION_WORDS[p.recommendation] || p.recommendation || 'Unknown';
  let why = STATUS_WORDS[p.key_status];
  if (!why && !p.key) why = 'Homepost has no key of theirs';
  else if (!why && !p.key_status) why = 'Homepost no longer has a copy of their key';
  return why ? `Mail to them cannot be encrypted: ${why}.` : RECOMMENDATION_WORDS.disable;
}

/** A key that Homepost has but cannot encrypt to: a lookup may find a newer one. */
function unusable(p) {
  return Boolean(p.key && p.key_status && p.key_status !== 'usable');
}

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

/** A key_status other than usable, said of the key trusted first. */
const PINNED_STATUS_WORDS = {
  expired: 'It has expired',
  revoked: 'Its owner revoked it',
  no_encryption_key: 'It can only sign, not encrypt',
  invalid: 'It is not valid',
};

/**
 * What is known of the key trusted first while a change waits: where it came from
 * (key_source, when recorded) and whether it still works (key_status; null: the
 * box holds no copy of it). Null when there is nothing to say.
 */
function pinnedNote(p) {
  const parts = [];
  if (p.key_source) parts.push(sourceWords(p.key_source));
  if (!p.key_status) parts.push('Homepost no longer has a copy of it');
  else if (PINNED_STATUS_WORDS[p.key_status]) parts.push(PINNED_STATUS_WORDS[p.key_status]);
  return parts.length ? `${parts.join('. ')}.` : null;
}

/** One labelled fingerprint of the key-change warning, and what is known of that key. */
function fingerprintLine(label, fingerprint, className, note) {
  return h('div', { class: `key-compare ${className}` },
    h('p', { class: 'key-compare-label' }, label),
    h('p', { class: 'fingerprint' }, fingerprintGroups(fingerprint)),
    note ? h('p', { class: 'key-compare-source' }, note) : null);
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

  /**
   * Shows the peer (asked again); `notice` is a node or sentence to show first.
   * `offSaid`: the notice says lookups are off (the facts need not say it again).
   */
  const load = async (notice = null, { offSaid = false } = {}) => {
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
      replace(body, note, unknownPeer(offSaid));
    } else {
      replace(body, note, peerFacts(peer, offSaid));
    }
    if (note) note.focus();
  };

  /**
   * The lookup button, the "Only ask their own mail domain" choice (when the box may
   * ask more) and who learns what; on a box without lookups, that sentence instead
   * (an address their mail named is not asked either).
   */
  const lookupAsk = (label, p, offSaid) => {
    if (lookupsTurnedOff()) {
      return offSaid ? null : h('p', { class: 'field-hint' }, LOOKUPS_OFF);
    }
    const announced = Boolean(p && p.announced_url);
    const choice = domainOnlyOffered() ? domainOnlyChoice() : null;
    const button = h('button', {
      type: 'button', class: 'button', onclick: () => lookup(button, choice ? choice.keyserver() : true),
    }, icon(ICONS.search), label);
    // The choice comes before the button it applies to.
    return [
      choice ? choice.el : null,
      h('div', { class: 'peer-actions' }, button),
      h('p', { class: 'field-hint' }, lookupHint({ announced })),
    ];
  };

  /** Nothing known yet: say so, and offer a lookup. */
  const unknownPeer = (offSaid) => [
    h('p', {}, `Homepost has no key of ${address} yet. Their key usually arrives with their mail (Autocrypt).`),
    lookupAsk('Look up their key', null, offSaid),
  ];

  const lookup = async (button, keyserver) => {
    button.disabled = true;
    button.textContent = 'Looking up\u2026';
    try {
      const answer = await api.lookupKey(address, { signal: abort.signal, keyserver });
      await load(lookupResult(answer));
      if (answer && answer.found) onChange(answer.peer || null);
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 401) return;
      const words = lookupProblem(err);
      await load(h('p', { class: 'form-error' }, words), { offSaid: words === LOOKUPS_OFF });
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
      // Whether mail to them can be encrypted now: the facts below say why not.
      await load(after && after.recommendation !== 'disable'
        ? 'You accepted the new key. Mail to them can be encrypted again.' : 'You accepted the new key.');
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
  const peerFacts = (p, offSaid) => {
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
          p.pinned ? fingerprintLine('Trusted first', p.pinned, 'key-pinned', pinnedNote(p)) : null,
          fingerprintLine('New key', p.changed, 'key-new', p.changed_source ? `${sourceWords(p.changed_source)}.` : null),
          h('p', {}, 'Ask them for their fingerprint another way (in person or by phone, not by mail) '
            + 'and compare it group by group.'),
          acceptButton)));
    }
    // While a change waits, both keys and where they came from are in the warning above.
    const facts = [
      p.changed ? ['Key', 'Waiting for your decision'] : ['Key', p.key ? h('span', { class: 'fingerprint' }, fingerprintGroups(p.key)) : 'None'],
      p.key && !p.changed ? ['Came', sourceWords(p.key_source)] : null,
      p.pinned && p.pinned !== p.key && !p.changed
        ? ['Trusted first', h('span', { class: 'fingerprint' }, fingerprintGroups(p.pinned))] : null,
      ['Their mail', historyWords(p)],
      ['Last mail', p.last_seen ? fullDate(p.last_seen) : 'None yet'],
      ['Encryption', p.changed ? 'Not until you decide about the new key.' : encryptionWords(p)],
    ].filter(Boolean);
    parts.push(h('dl', { class: 'peer-facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
    if (p.prefer_encrypt) parts.push(h('p', {}, 'They ask for encrypted mail (Autocrypt).'));
    if (p.announced_url) {
      parts.push(h('p', { class: 'peer-announced' }, 'Their mail says their key is at ',
        h('span', { class: 'peer-url' }, p.announced_url), '.'));
    }
    if (!p.changed && (!p.key || unusable(p))) {
      parts.push(lookupAsk(p.key ? 'Look up a newer key' : 'Look up their key', p, offSaid));
    }
    parts.push(h('p', { class: 'field-hint' }, 'To be sure a key is theirs, compare its fingerprint with the one '
      + 'they give you another way.'));
    return parts;
  };

  load();
  return dialog;
}
