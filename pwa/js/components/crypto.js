// OpenPGP / Autocrypt in plain words (issue 5):
// - cryptoStatus(msg): the status line of a message in the reader (the `crypto`
//   object of GET /messages/{id}): encrypted or not, the signature, a changed key,
//   the sender's key (peer-key.js) and, for an unknown signing key, its lookup;
// - EncryptPanel: the Encrypt switch of compose and what GET /drafts/{id}/crypto says
//   about the recipients' keys, with a lookup of the missing ones; compose keeps the
//   draft's `encrypt` choice.
//
// Everything the server says here (problem, warning, addresses) is shown as text.

import { api } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { fingerprintGroups } from '../format.js';
import { LOOKUP_HINT, foundWords, lookupResult, openPeerSheet } from './peer-key.js';

// --- the reader ---------------------------------------------------------------

/** {kind, icon, text} of the signature state, or null when nothing is worth saying. */
function signatureItem(c) {
  switch (c.signature) {
    case 'good':
      return c.signer_is_sender
        ? { kind: 'ok', icon: ICONS.shieldCheck, text: 'Signed by the sender' }
        : { kind: 'warn', icon: ICONS.warning, text: 'Signed, but not with the sender\u2019s known key' };
    case 'bad':
      return { kind: 'danger', icon: ICONS.shieldBad, text: 'Bad signature: the message may have been changed' };
    case 'unknown_key':
      return { kind: 'plain', icon: ICONS.key, text: 'Signed with a key we do not have' };
    case 'expired_key':
      return { kind: 'warn', icon: ICONS.shield, text: 'Signed with a key that has expired' };
    case 'revoked_key':
      return { kind: 'danger', icon: ICONS.shieldBad, text: 'Signed with a key its owner has revoked' };
    case 'no_signature':
    case null:
    case undefined:
      // Encrypted but unsigned: anyone with the key could have written it.
      return c.encrypted && c.decrypted ? { kind: 'plain', icon: ICONS.shield, text: 'Not signed' } : null;
    default:
      return { kind: 'plain', icon: ICONS.shield, text: `Signature: ${c.signature_words || c.signature}` };
  }
}

function statusItem({ kind, icon: paths, text }) {
  return h('li', { class: `crypto-item crypto-${kind}` }, icon(paths, 'icon crypto-icon'), h('span', {}, text));
}

/** The sender's address (what keys are kept and looked up by), or null. */
function senderAddress(msg) {
  const from = (msg.from || []).find((a) => a && a.address);
  return from ? from.address : null;
}

/**
 * The encryption and signature status of a message, for the reader (near the
 * headers), or null when the message has no `crypto` (nothing is shown then).
 * It offers the sender's key and history (a sheet), and for a signature by a key
 * Homepost does not have, a lookup of the sender's key that checks the signature
 * again and updates the status in place.
 */
export function cryptoStatus(msg) {
  const c = msg && msg.crypto;
  if (!c || typeof c !== 'object') return null;
  const view = new ReaderCrypto(msg);
  return view.empty() ? null : view.el;
}

class ReaderCrypto {
  constructor(msg) {
    this.msg = msg;
    this.address = senderAddress(msg);
    /** The person accepted the sender's changed key in the sheet opened here. */
    this.accepted = false;
    this.busy = false;
    this.box = h('div', { class: 'crypto-box-reader' });
    // A live region that stays in place: lookup progress and results are read out.
    this.live = h('div', { class: 'crypto-live', role: 'status', tabindex: '-1' });
    this.el = h('section', { class: 'crypto', 'aria-label': 'Encryption and signature' }, this.box, this.live);
    this.render();
  }

  items() {
    const c = this.msg.crypto;
    const items = [];
    if (c.encrypted && c.decrypted) {
      items.push({ kind: 'ok', icon: ICONS.lock, text: 'Encrypted' });
    } else if (c.encrypted && !this.msg.setup_message) {
      // (A Setup Message is encrypted with its setup code: its card explains it.)
      items.push({
        kind: 'warn', icon: ICONS.lockOpen,
        text: c.problem ? `Could not decrypt: ${c.problem}` : 'Could not decrypt this message',
      });
    }
    const signature = signatureItem(c);
    if (signature) items.push(signature);
    return items;
  }

  empty() {
    return this.items().length === 0 && !this.msg.crypto.key_changed;
  }

  render() {
    const c = this.msg.crypto;
    const items = this.items();
    const parts = [];
    if (items.length) parts.push(h('ul', { class: 'crypto-status' }, items.map(statusItem)));
    if (c.key_changed && !this.accepted) {
      const who = this.address || 'The sender';
      parts.push(h('div', { class: 'crypto-alert' },
        icon(ICONS.warning, 'icon crypto-alert-icon'),
        h('div', {},
          h('p', { class: 'crypto-alert-title' }, 'Encryption key changed'),
          h('p', {}, `${who}\u2019s encryption key changed since you last wrote. This can be normal `
            + '(a new phone or app) or a sign of someone impersonating them. Check with them another way '
            + 'before sending anything sensitive.'),
          this.address ? h('button', { type: 'button', class: 'button', onclick: () => this.showPeer() },
            'Compare and decide\u2026') : null)));
    }
    if (c.signature === 'unknown_key' && this.address) {
      parts.push(h('div', { class: 'crypto-lookup-ask' },
        h('button', {
          type: 'button', class: 'button', 'aria-describedby': 'crypto-lookup-hint', disabled: this.busy,
          onclick: () => this.lookup(),
        }, icon(ICONS.search), this.busy ? 'Looking up\u2026' : 'Look up the sender\u2019s key'),
        h('p', { class: 'field-hint', id: 'crypto-lookup-hint' }, LOOKUP_HINT)));
    }
    if (this.address) {
      parts.push(h('button', { type: 'button', class: 'link-button', onclick: () => this.showPeer() },
        'Sender\u2019s key'));
    }
    if (c.signer) {
      parts.push(h('details', { class: 'crypto-details' },
        h('summary', {}, 'Signing key'),
        h('p', { class: 'fingerprint' }, fingerprintGroups(c.signer)),
        h('p', { class: 'field-hint' },
          'To be sure who signed, compare this fingerprint with the one the sender gives you another way.')));
    }
    replace(this.box, parts);
  }

  /** Looks up the sender's key (on request only) and shows the signature checked again. */
  async lookup() {
    if (this.busy) return;
    this.busy = true;
    this.render();
    replace(this.live, h('p', {}, 'Looking up the sender\u2019s key: asking their mail domain, then keys.openpgp.org\u2026'));
    // The pressed button is now disabled: the progress line keeps the focus in place.
    this.live.focus();
    let result;
    try {
      const answer = await api.lookupSenderKey(this.msg.id);
      if (answer && answer.crypto) this.msg.crypto = answer.crypto;
      result = lookupResult(answer, { whose: 'the sender\u2019s', onReview: () => this.showPeer() });
    } catch (err) {
      result = err.status === 401 ? null : h('p', { class: 'form-error' }, `The lookup failed: ${err.message}`);
    } finally {
      this.busy = false;
    }
    this.render();
    replace(this.live, result);
    // The button pressed may be gone (the signature is now checked): the result takes the focus.
    if (this.el.isConnected) this.live.focus();
  }

  showPeer() {
    if (!this.address) return;
    openPeerSheet(this.address, {
      onChange: (peer) => {
        if (peer && !peer.changed) this.accepted = true;
        if (this.el.isConnected) this.render();
      },
    });
  }
}

// --- compose --------------------------------------------------------------------

const RECIPIENT_WORDS = {
  disable: 'No key: cannot encrypt to them',
  discourage: 'Has a key, but it may be out of date or second-hand',
  available: 'Has a key',
  encrypt: 'Has a key and asks for encryption',
};

const REASON = {
  disable: 'Not every recipient can read encrypted mail',
  discourage: 'Encryption is possible but the recipients may not read it everywhere',
};

/** Addresses without a usable key, named when there are few. */
function withoutKey(recipients) {
  const without = recipients.filter((r) => r.recommendation === 'disable' || !r.key).map((r) => r.address);
  return without.length && without.length <= 3 ? `: no key for ${without.join(', ')}` : '';
}

/**
 * The sentence under the switch for an answer of GET /drafts/{id}/crypto. `stuck`:
 * the draft asks for encryption (`encrypt: true`) that is not possible; the server
 * refuses to send it so.
 */
export function describeCrypto(a, stuck = false) {
  const recipients = Array.isArray(a.recipients) ? a.recipients : [];
  const rec = a.recommendation;
  if (stuck) {
    return `Encrypt is on, but not every recipient can read encrypted mail${withoutKey(recipients)}. `
      + 'Remove them, or turn Encrypt off to send it unencrypted.';
  }
  if (a.will_encrypt) {
    if (rec === 'encrypt') return 'Encrypted: every recipient has a key.';
    if (rec === 'discourage') return `This message will be encrypted. ${REASON.discourage}.`;
    return 'This message will be encrypted: every recipient has a key.';
  }
  if (!recipients.length) return 'This message will not be encrypted. Add a recipient to see whether it can be.';
  if (rec === 'disable') return `This message will not be encrypted. ${REASON.disable}${withoutKey(recipients)}.`;
  if (rec === 'discourage') return `This message will not be encrypted. ${REASON.discourage}.`;
  if (rec === 'encrypt') return 'This message will not be encrypted: you turned encryption off, though every recipient has a key.';
  return 'This message will not be encrypted. Every recipient has a key: turn on Encrypt to encrypt it.';
}

/**
 * The Encrypt switch and its explanations. `onToggle(on)` is called when the person
 * flips it; `choice()` gives the draft's `encrypt` (true, false or null);
 * `load(draftId)` asks the server again and shows its answer (an answer that
 * arrives after a newer request or a flip is dropped).
 *
 * The switch shows `will_encrypt` and is disabled when the recommendation is
 * "disable", except when the draft asks for encryption that has become impossible
 * (a recipient without a key was added after Encrypt was turned on): then it stays
 * on and usable, since turning it off is the way to send the message unencrypted.
 */
export class EncryptPanel {
  constructor({ onToggle, choice = () => null }) {
    this.choice = choice;
    this.seq = 0;
    this.answer = null;
    this.abort = null;
    this.warningText = null;
    this.input = h('input', {
      type: 'checkbox', id: 'compose-encrypt', name: 'encrypt', role: 'switch', class: 'switch-input',
      disabled: true, 'aria-describedby': 'compose-crypto-state compose-crypto-note',
      onchange: () => {
        this.cancel(); // what is on its way describes the choice before this one
        onToggle(this.input.checked);
      },
    });
    this.stateIcon = h('span', { class: 'crypto-state-icon' });
    this.stateText = h('span', {});
    // A live region: the recommendation is read out when it changes.
    this.state = h('p', { id: 'compose-crypto-state', class: 'crypto-state', role: 'status', tabindex: '-1' },
      this.stateIcon, this.stateText);
    this.warningSlot = h('div', { class: 'crypto-warning-slot' });
    this.keys = h('ul', { class: 'crypto-keys' });
    this.keysBox = h('details', { class: 'crypto-details', hidden: true },
      h('summary', {}, 'Recipients and their keys'), this.keys);
    // Looking up the keys of recipients without one: only when asked (the servers
    // asked learn whose key was looked for), one address after the other.
    this.draftId = null;
    this.missing = [];
    this.lookups = new Map(); // address -> LookupView, or {address, error}
    this.looking = false;
    this.lookupAbort = null;
    this.lookupButton = h('button', {
      type: 'button', class: 'button', 'aria-describedby': 'compose-lookup-hint',
      onclick: () => this.lookupMissing(),
    }, icon(ICONS.search), 'Look up keys');
    this.lookupAsk = h('div', { class: 'crypto-lookup-ask', hidden: true }, this.lookupButton,
      h('p', { class: 'field-hint', id: 'compose-lookup-hint' }, LOOKUP_HINT));
    this.lookupLive = h('p', { class: 'lookup-progress', role: 'status', tabindex: '-1' });
    this.lookupList = h('ul', { class: 'lookup-results', 'aria-label': 'Key lookups' });
    this.lookupBox = h('div', { class: 'crypto-lookup', hidden: true },
      this.lookupAsk, this.lookupLive, this.lookupList);
    this.el = h('section', { class: 'crypto-box', 'aria-label': 'Encryption' },
      this.warningSlot,
      h('label', { class: 'switch', for: 'compose-encrypt' },
        this.input,
        h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
        icon(ICONS.lock, 'icon switch-icon'),
        h('span', { class: 'switch-label' }, 'Encrypt')),
      this.state,
      this.lookupBox,
      this.keysBox,
      h('p', { id: 'compose-crypto-note', class: 'field-hint' },
        'Every message is signed and carries your key (Autocrypt).'));
    this.showText('This message will not be encrypted. Add a recipient to see whether it can be.', false);
  }

  /** Drops any answer on its way. */
  cancel() {
    this.seq += 1;
    if (this.abort) this.abort.abort();
    this.abort = null;
  }

  /** Stops everything on its way (compose is closing). */
  dispose() {
    this.cancel();
    if (this.lookupAbort) this.lookupAbort.abort();
  }

  /** Asks GET /drafts/{id}/crypto; resolves to the answer (or the last one known). */
  async load(draftId) {
    this.cancel();
    this.draftId = draftId;
    const seq = this.seq;
    const abort = new AbortController();
    this.abort = abort;
    this.el.setAttribute('aria-busy', 'true');
    try {
      const answer = await api.draftCrypto(draftId, { signal: abort.signal });
      if (seq !== this.seq) return this.answer;
      this.apply(answer || {});
      return this.answer;
    } catch (err) {
      if (err.name === 'AbortError' || seq !== this.seq) return this.answer;
      if (err.status !== 401) {
        this.setDisabled(true);
        this.showText(`Could not check whether this message can be encrypted: ${err.message}`, false);
      }
      return this.answer;
    } finally {
      if (seq === this.seq) {
        this.el.removeAttribute('aria-busy');
        this.abort = null;
      }
    }
  }

  apply(a) {
    this.answer = a;
    const stuck = this.choice() === true && !a.will_encrypt;
    this.el.dataset.recommendation = a.recommendation || '';
    this.input.checked = stuck || !!a.will_encrypt;
    this.setDisabled(a.recommendation === 'disable' && !stuck);
    this.showText(describeCrypto(a, stuck), !!a.will_encrypt);
    this.state.classList.toggle('stuck', stuck);
    this.renderKeys(Array.isArray(a.recipients) ? a.recipients : []);
    this.renderLookup(Array.isArray(a.recipients) ? a.recipients : []);
    this.renderWarning(a.warning || null);
  }

  /** Disables the switch; the keyboard focus, if it was there, goes to the explanation. */
  setDisabled(off) {
    const focused = document.activeElement === this.input;
    this.input.disabled = off;
    if (off && focused) this.state.focus();
  }

  showText(text, encrypted) {
    // Only real changes: the live region would read the same sentence again.
    if (this.stateText.textContent !== text) this.stateText.textContent = text;
    if (this.stateIcon.dataset.encrypted !== String(encrypted)) {
      this.stateIcon.dataset.encrypted = String(encrypted);
      replace(this.stateIcon, icon(encrypted ? ICONS.lock : ICONS.lockOpen, 'icon crypto-icon'));
    }
    this.state.classList.toggle('on', encrypted);
  }

  renderKeys(recipients) {
    this.keysBox.hidden = recipients.length === 0;
    replace(this.keys, recipients.map((r) => h('li', { class: `crypto-key crypto-rec-${r.recommendation}` },
      h('span', { class: 'crypto-key-address' }, r.address || ''),
      h('span', { class: 'crypto-key-words' }, RECIPIENT_WORDS[r.recommendation] || (r.key ? 'Has a key' : 'No key')),
      r.key ? h('span', { class: 'fingerprint' }, fingerprintGroups(r.key)) : null)));
  }

  /** The "Look up keys" button (when a recipient has no key) and the lookups' results. */
  renderLookup(recipients) {
    this.recipients = recipients;
    this.missing = recipients.filter((r) => !r.key && r.address).map((r) => r.address);
    const hide = this.missing.length === 0;
    if (hide && document.activeElement === this.lookupButton) this.lookupLive.focus();
    this.lookupAsk.hidden = hide;
    this.lookupButton.disabled = this.looking;
    this.renderLookupRows();
    const nothing = hide && this.lookupList.childElementCount === 0 && !this.looking;
    if (nothing && this.lookupLive.textContent) this.lookupLive.textContent = '';
    this.lookupBox.hidden = nothing;
  }

  /** One line per current recipient that was looked up. */
  renderLookupRows() {
    const rows = (this.recipients || []).filter((r) => this.lookups.has(r.address))
      .map((r) => this.lookupRow(r.address, this.lookups.get(r.address)));
    replace(this.lookupList, rows);
  }

  lookupRow(address, res) {
    let words;
    let review = null;
    if (res.error) {
      words = `could not look up (${res.error})`;
    } else if (res.found && res.key_changed) {
      words = 'found a key that is not the one you trusted first: review it';
      review = h('button', {
        type: 'button', class: 'link-button', 'aria-label': `Review the new key of ${address}`,
        onclick: () => openPeerSheet(address, { onChange: () => { if (this.draftId !== null) this.load(this.draftId); } }),
      }, 'Review');
    } else if (res.found) {
      words = foundWords(res.source).replace(/^Found/, 'found');
    } else {
      words = 'no key found';
    }
    const kind = res.found ? (res.key_changed ? 'changed' : 'found') : 'none';
    return h('li', { class: `lookup-row lookup-${kind}` },
      h('span', { class: 'crypto-key-address' }, address),
      h('span', { class: 'lookup-words' }, words), review);
  }

  /** Looks up each recipient without a key, one after the other, then asks the server again. */
  async lookupMissing() {
    const todo = [...this.missing];
    if (this.looking || this.draftId === null || todo.length === 0) return;
    const draftId = this.draftId;
    this.looking = true;
    this.lookupAbort = new AbortController();
    const { signal } = this.lookupAbort;
    this.lookupButton.disabled = true;
    this.lookupBox.hidden = false;
    let found = 0;
    try {
      for (const [i, address] of todo.entries()) {
        this.lookupLive.textContent = `Looking up ${i + 1} of ${todo.length}: ${address}\u2026`;
        try {
          const answer = await api.lookupKey(address, { signal });
          this.lookups.set(address, answer || { address });
          if (answer && answer.found) found += 1;
        } catch (err) {
          if (err.name === 'AbortError' || err.status === 401) return;
          this.lookups.set(address, { address, error: err.message });
        }
        this.renderLookupRows();
      }
      this.lookupLive.textContent = todo.length === 1
        ? `Looked up 1 address: ${found ? 'a key was found' : 'no key was found'}.`
        : `Looked up ${todo.length} addresses: ${found} ${found === 1 ? 'key' : 'keys'} found.`;
    } finally {
      this.looking = false;
      this.lookupAbort = null;
      this.lookupButton.disabled = false;
    }
    // What can be encrypted now.
    if (this.draftId === draftId) await this.load(draftId);
  }

  /** The server's warning (an answer to encrypted mail that would go unencrypted). */
  renderWarning(text) {
    if (text === this.warningText) return;
    this.warningText = text;
    // A new alert element is read out when it appears; an unchanged one is left alone.
    replace(this.warningSlot, text ? h('div', { class: 'crypto-alert', role: 'alert' },
      icon(ICONS.warning, 'icon crypto-alert-icon'),
      h('div', {},
        h('p', { class: 'crypto-alert-title' }, 'This would be sent unencrypted'),
        h('p', {}, text))) : null);
  }
}
