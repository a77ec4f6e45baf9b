// OpenPGP / Autocrypt in compose, in plain words (issue 5): EncryptPanel, the
// Encrypt switch of compose and what GET /drafts/{id}/crypto says about the
// recipients' keys: "Review" (their key sheet) for a changed key that waits for the
// person's decision, a lookup of the missing ones; compose keeps the draft's
// `encrypt` choice. The reader's status line is crypto-status.js.
//
// Everything the server says here (warning, addresses) is shown as text.

import { api } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { fingerprintGroups } from '../format.js';
import {
  LOOKUPS_OFF, domainOnlyChoice, domainOnlyOffered, foundWords, lookupHint, lookupProblem, lookupsTurnedOff,
  openPeerSheet,
} from './peer-key.js';

const RECIPIENT_WORDS = {
  disable: 'No usable key: cannot encrypt to them',
  discourage: 'Has a key, but it may be out of date or second-hand',
  available: 'Has a key',
  encrypt: 'Has a key and asks for encryption',
};

const REASON = {
  disable: 'Not every recipient can read encrypted mail',
  discourage: 'Encryption is possible but the recipients may not read it everywhere',
};

/** Recipients whose changed key waits for the person's decision (nothing is encrypted to them). */
function changedKeys(recipients) {
  return recipients.filter((r) => r.key_changed).map((r) => r.address);
}

/** Addresses without a usable key (a changed key aside), named when there are few. */
function withoutKey(recipients) {
  const without = recipients.filter((r) => !r.key_changed && (r.recommendation === 'disable' || !r.key))
    .map((r) => r.address);
  const changed = changedKeys(recipients);
  const parts = [];
  if (without.length && without.length <= 3) parts.push(`no usable key for ${without.join(', ')}`);
  if (changed.length && changed.length <= 3) parts.push(`the changed key of ${changed.join(', ')} waits for your review`);
  return parts.length ? `: ${parts.join('; ')}` : '';
}

/** Only changed keys stand in the way: "the key of a@x changed: review it". */
function onlyChanged(recipients) {
  const changed = changedKeys(recipients);
  if (!changed.length || recipients.some((r) => !r.key_changed && (r.recommendation === 'disable' || !r.key))) return null;
  return changed.length <= 3
    ? `the key of ${changed.join(', ')} changed; review it to encrypt to them again`
    : 'some recipients\u2019 keys changed; review them to encrypt to them again';
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
  const changed = rec === 'disable' && !a.will_encrypt ? onlyChanged(recipients) : null;
  if (changed) return `This message will not be encrypted: ${changed}.`;
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
    // "Only ask their own mail domain" where the box may ask keys.openpgp.org too.
    this.domainOnly = domainOnlyOffered() ? domainOnlyChoice() : null;
    // The choice comes before the button it applies to.
    this.lookupAsk = h('div', { class: 'crypto-lookup-ask', hidden: true }, this.domainOnly && this.domainOnly.el,
      this.lookupButton, h('p', { class: 'field-hint', id: 'compose-lookup-hint' }, lookupHint()));
    // Recipients whose key changed: nothing is encrypted to them until the person
    // compares the new key and decides, in their key sheet.
    this.reviewKey = '';
    this.reviewList = h('ul', { class: 'crypto-review', 'aria-label': 'Changed keys', hidden: true });
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
      this.reviewList,
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
    this.renderReview(Array.isArray(a.recipients) ? a.recipients : []);
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
      h('span', { class: 'crypto-key-words' }, r.key_changed ? 'Their key changed: waiting for your review'
        : RECIPIENT_WORDS[r.recommendation] || (r.key ? 'Has a key' : 'No key')),
      r.key ? h('span', { class: 'fingerprint' }, fingerprintGroups(r.key)) : null)));
  }

  /** "Review" for each recipient whose changed key waits for a decision. */
  renderReview(recipients) {
    const changed = changedKeys(recipients).filter(Boolean);
    const key = JSON.stringify(changed);
    if (key === this.reviewKey) return; // unchanged: keep the buttons (and the focus on one)
    this.reviewKey = key;
    const focused = this.reviewList.contains(document.activeElement);
    replace(this.reviewList, changed.map((address) => h('li', { class: 'crypto-review-row' },
      h('span', { class: 'crypto-key-address' }, address),
      h('span', { class: 'lookup-words' }, 'Their key changed: compare it with them before anything is encrypted to them'),
      h('button', {
        type: 'button', class: 'button', 'aria-label': `Review the changed key of ${address}`,
        onclick: (event) => this.review(address, event.currentTarget),
      }, 'Review'))));
    this.reviewList.hidden = changed.length === 0;
    if (focused && !this.reviewList.contains(document.activeElement)) this.state.focus();
  }

  /** Opens the key sheet of `address`; a decision there asks the server again. */
  review(address, button) {
    const dialog = openPeerSheet(address, {
      onChange: () => { if (this.draftId !== null) this.load(this.draftId); },
    });
    // The button is gone once the change is accepted: the focus goes to the explanation.
    dialog.addEventListener('close', () => { if (!button.isConnected) this.state.focus(); });
  }

  /**
   * The "Look up keys" button (when a recipient has no key, and no changed key waits
   * for them) and the lookups' results. On a box with lookups off (GET /status, or a
   * refusal since), that sentence instead of the button.
   */
  renderLookup(recipients) {
    this.recipients = recipients;
    this.missing = recipients.filter((r) => !r.key && !r.key_changed && r.address).map((r) => r.address);
    const hide = this.missing.length === 0;
    const off = lookupsTurnedOff();
    if ((hide || off) && document.activeElement === this.lookupButton) this.lookupLive.focus();
    this.lookupAsk.hidden = hide || off;
    this.lookupButton.disabled = this.looking;
    this.renderLookupRows();
    if (off && !hide && !this.looking && this.lookupLive.textContent !== LOOKUPS_OFF) {
      this.lookupLive.textContent = LOOKUPS_OFF;
    }
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
    if (res.off) {
      words = 'not looked up: lookups are turned off on this box';
    } else if (res.error) {
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
    const keyserver = this.domainOnly ? this.domainOnly.keyserver() : true;
    this.lookupButton.disabled = true;
    this.lookupBox.hidden = false;
    let found = 0;
    let off = 0;
    try {
      for (const [i, address] of todo.entries()) {
        this.lookupLive.textContent = `Looking up ${i + 1} of ${todo.length}: ${address}\u2026`;
        try {
          const answer = await api.lookupKey(address, { signal, keyserver });
          this.lookups.set(address, answer || { address });
          if (answer && answer.found) found += 1;
        } catch (err) {
          if (err.name === 'AbortError' || err.status === 401) return;
          // Lookups off: the others are still asked (an address their mail named is).
          const words = lookupProblem(err);
          if (words === LOOKUPS_OFF) off += 1;
          this.lookups.set(address, words === LOOKUPS_OFF ? { address, off: true } : { address, error: err.message });
        }
        this.renderLookupRows();
      }
      if (off === todo.length) {
        // Nothing was asked: one sentence says why (the rows would each repeat it).
        todo.forEach((address) => this.lookups.delete(address));
        this.renderLookupRows();
        this.lookupLive.textContent = LOOKUPS_OFF;
      } else {
        this.lookupLive.textContent = todo.length === 1
          ? `Looked up 1 address: ${found ? 'a key was found' : 'no key was found'}.`
          : `Looked up ${todo.length} addresses: ${found} ${found === 1 ? 'key' : 'keys'} found.`;
      }
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
