// OpenPGP / Autocrypt in plain words (issue 5):
// - cryptoStatus(msg): the status line of a message in the reader (the `crypto`
//   object of GET /messages/{id}): encrypted or not, the signature, a changed key;
// - EncryptPanel: the Encrypt switch of compose and what GET /drafts/{id}/crypto says
//   about the recipients' keys; compose keeps the draft's `encrypt` choice.
//
// Everything the server says here (problem, warning, addresses) is shown as text.

import { api } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { fingerprintGroups } from '../format.js';

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

/** The sender as named in the changed-key warning: the address (it is what was checked). */
function senderName(msg) {
  const from = (msg.from || [])[0];
  return (from && (from.address || from.name)) || 'The sender';
}

/**
 * The encryption and signature status of a message, for the reader (near the
 * headers), or null when the message has no `crypto` (nothing is shown then).
 */
export function cryptoStatus(msg) {
  const c = msg && msg.crypto;
  if (!c || typeof c !== 'object') return null;
  const items = [];
  if (c.encrypted && c.decrypted) {
    items.push({ kind: 'ok', icon: ICONS.lock, text: 'Encrypted' });
  } else if (c.encrypted) {
    items.push({
      kind: 'warn', icon: ICONS.lockOpen,
      text: c.problem ? `Could not decrypt: ${c.problem}` : 'Could not decrypt this message',
    });
  }
  const signature = signatureItem(c);
  if (signature) items.push(signature);
  if (!items.length && !c.key_changed) return null;

  const parts = [];
  if (items.length) parts.push(h('ul', { class: 'crypto-status' }, items.map(statusItem)));
  if (c.key_changed) {
    parts.push(h('div', { class: 'crypto-alert' },
      icon(ICONS.warning, 'icon crypto-alert-icon'),
      h('div', {},
        h('p', { class: 'crypto-alert-title' }, 'Encryption key changed'),
        h('p', {}, `${senderName(msg)}\u2019s encryption key changed since you last wrote. This can be normal `
          + '(a new phone or app) or a sign of someone impersonating them. Check with them another way '
          + 'before sending anything sensitive.'))));
  }
  if (c.signer) {
    parts.push(h('details', { class: 'crypto-details' },
      h('summary', {}, 'Signing key'),
      h('p', { class: 'fingerprint' }, fingerprintGroups(c.signer)),
      h('p', { class: 'field-hint' },
        'To be sure who signed, compare this fingerprint with the one the sender gives you another way.')));
  }
  return h('section', { class: 'crypto', 'aria-label': 'Encryption and signature' }, parts);
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
    this.el = h('section', { class: 'crypto-box', 'aria-label': 'Encryption' },
      this.warningSlot,
      h('label', { class: 'switch', for: 'compose-encrypt' },
        this.input,
        h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
        icon(ICONS.lock, 'icon switch-icon'),
        h('span', { class: 'switch-label' }, 'Encrypt')),
      this.state,
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

  /** Asks GET /drafts/{id}/crypto; resolves to the answer (or the last one known). */
  async load(draftId) {
    this.cancel();
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
