// OpenPGP / Autocrypt in the reader, in plain words (issue 5): cryptoStatus(msg),
// the status line of a message (the `crypto` object of GET /messages/{id}):
// encrypted or not, the signature, a changed key, the sender's key (peer-key.js)
// and, for an unknown signing key, its lookup (with "Only ask their own mail
// domain" where the box may ask keys.openpgp.org; none on a box with lookups off).
// Compose's Encrypt switch is compose-crypto.js.
//
// Everything the server says here (problem, addresses) is shown as text.

import { api } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { fingerprintGroups } from '../format.js';
import {
  LOOKUPS_OFF, domainAllowed, domainOnlyChoice, domainOnlyOffered, keyserverAllowed, lookupHint, lookupProblem,
  lookupResult, lookupsTurnedOff, openPeerSheet,
} from './peer-key.js';

/** {kind, icon, text} of the signature state, or null when nothing is worth saying. */
function signatureItem(c) {
  switch (c.signature) {
    case 'good':
      if (c.signer_is_sender) return { kind: 'ok', icon: ICONS.shieldCheck, text: 'Signed by the sender' };
      // Signed by a changed key still waiting for the person's decision: it does not vouch for them yet.
      return c.key_changed
        ? { kind: 'warn', icon: ICONS.warning, text: 'Signed with a key you have not accepted for the sender' }
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
    /** This view's live region already says that lookups are off. */
    this.offSaid = false;
    /** "Only ask their own mail domain": made once, so a new rendering keeps the tick. */
    this.domainOnly = domainOnlyOffered() ? domainOnlyChoice() : null;
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
    if (c.signature === 'unknown_key' && this.address && lookupsTurnedOff()) {
      if (!this.offSaid) parts.push(h('p', { class: 'field-hint' }, LOOKUPS_OFF));
    } else if (c.signature === 'unknown_key' && this.address) {
      // The choice comes before the button it applies to.
      const choice = this.domainOnly && !lookupsTurnedOff() ? this.domainOnly.el : null;
      parts.push(h('div', { class: 'crypto-lookup-ask' },
        choice,
        h('button', {
          type: 'button', class: 'button', 'aria-describedby': 'crypto-lookup-hint', disabled: this.busy,
          onclick: () => this.lookup(),
        }, icon(ICONS.search), this.busy ? 'Looking up\u2026' : 'Look up the sender\u2019s key'),
        h('p', { class: 'field-hint', id: 'crypto-lookup-hint' }, lookupHint())));
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
    const keyserver = this.domainOnly ? this.domainOnly.keyserver() : true;
    this.busy = true;
    this.render();
    const asked = [domainAllowed() ? 'their mail domain' : null, keyserver && keyserverAllowed() ? 'keys.openpgp.org' : null]
      .filter(Boolean);
    replace(this.live, h('p', {}, `Looking up the sender\u2019s key: asking ${asked.join(', then ') || 'the box'}\u2026`));
    // The pressed button is now disabled: the progress line keeps the focus in place.
    this.live.focus();
    let result;
    try {
      const answer = await api.lookupSenderKey(this.msg.id, { keyserver });
      if (answer && answer.crypto) this.msg.crypto = answer.crypto;
      result = lookupResult(answer, { whose: 'the sender\u2019s', onReview: () => this.showPeer() });
    } catch (err) {
      const words = err.status === 401 ? null : lookupProblem(err);
      this.offSaid = words === LOOKUPS_OFF;
      result = words ? h('p', { class: 'form-error' }, words) : null;
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
        this.refresh();
      },
    });
  }

  /**
   * Asks the server again for the message's status after a decision in the sheet:
   * once a changed key is accepted, a signature by it is the sender's.
   */
  async refresh() {
    try {
      const fresh = await api.message(this.msg.id);
      if (!fresh || !fresh.crypto || !this.el.isConnected) return;
      // The server's word replaces what the sheet's answer suggested.
      this.msg.crypto = fresh.crypto;
      this.accepted = false;
      this.render();
    } catch {
      // The status shown stays; the next opening of the message asks again.
    }
  }
}
