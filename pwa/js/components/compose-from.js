// Who a message is From, for <hp-compose>: the identities (docs/accounts.md,
// "Addresses and signatures") whose account can send. With several, a From picker
// (a labelled <select>); with one, a line that says it; with none, a notice with
// the way to add an account. Picking another identity swaps its signature for the
// old one's in the text, if the old one is still there as it was put.

import { h } from '../dom.js';
import { formatAddress } from '../format.js';
import { accountHash } from '../router.js';

/** The RFC 3676 signature separator and the signature, as the server puts it. */
export function signatureBlock(signature) {
  return `-- \n${String(signature).replace(/\s+$/, '')}\n`;
}

/** True when a signature has any text. */
const hasText = (signature) => Boolean(signature && signature.trim());

/**
 * `body` with `signature` added as the server adds it: under the text of a new
 * message, or (`answering`) right above the quoted or forwarded text.
 */
export function withSignature(body, signature, answering) {
  if (!hasText(signature)) return body;
  const block = signatureBlock(signature);
  if (!answering) return `${body.replace(/\n+$/, '')}\n\n${block}`;
  // Where the quote or the forwarded message starts (the server's prefill).
  const quote = /\n\n(On .* wrote:\n|---------- Forwarded message ----------\n)/.exec(body);
  if (quote) return `${body.slice(0, quote.index)}\n\n${block}${body.slice(quote.index + 1)}`;
  return `${body.replace(/\n+$/, '')}\n\n${block}`;
}

/**
 * `body` written from another identity: the old signature block, where it is
 * still as it was put, becomes the new one (or goes); a text without a signature
 * gets the new one, unless it has a `-- ` line of its own.
 */
export function swapSignature(body, from, to, answering) {
  if (hasText(from)) {
    const old = signatureBlock(from);
    const at = body.startsWith(old) ? 0 : body.indexOf(`\n${old}`) + 1;
    if (at > 0 || body.startsWith(old)) {
      if (hasText(to)) return body.slice(0, at) + signatureBlock(to) + body.slice(at + old.length);
      // Gone with the blank line above it.
      const start = body.slice(0, at).endsWith('\n\n') ? at - 2 : at;
      return body.slice(0, start) + body.slice(at + old.length);
    }
  }
  if (!hasText(to) || /(^|\n)-- \n/.test(body)) return body;
  return withSignature(body, to, answering);
}

/** The From of <hp-compose>; `onChange(previous, next)` when another is picked. */
export class FromPicker {
  constructor(onChange) {
    this.senders = [];
    this.current = null;
    this.select = h('select', { id: 'compose-from', name: 'from', class: 'select' });
    this.select.addEventListener('change', () => {
      const previous = this.current;
      this.current = this.senders.find((i) => String(i.id) === this.select.value) || null;
      onChange(previous, this.current);
    });
    this.picker = h('div', { class: 'field', hidden: true },
      h('label', { for: 'compose-from' }, 'From'), this.select);
    this.line = h('p', { class: 'from-line', hidden: true });
    this.note = h('p', { class: 'notice', hidden: true },
      'No account can send mail yet. ', h('a', { href: accountHash('new') }, 'Add an account'),
      ' with an outgoing server to send this message; it is kept as a draft meanwhile.');
    this.el = h('div', { class: 'compose-from' }, this.picker, this.line, this.note);
  }

  /**
   * Offers the identities of the accounts that can send, and picks the draft's
   * (or, for a draft from before identities, its account's own address), else
   * the default, else the first.
   */
  fill(identities, accounts, draft) {
    const sending = new Map(accounts.filter((a) => a.outgoing).map((a) => [a.id, a]));
    this.senders = identities.filter((i) => sending.has(i.account_id));
    const accountsUsed = new Set(this.senders.map((i) => i.account_id)).size;
    const label = (i) => {
      const address = formatAddress(i.display_name, i.address);
      return accountsUsed > 1 ? `${address} (${sending.get(i.account_id).name})` : address;
    };
    this.select.replaceChildren(...this.senders.map((i) => h('option', { value: String(i.id) }, label(i))));
    const wanted = draft && draft.identity_id != null
      ? this.senders.find((i) => i.id === draft.identity_id)
      : draft && draft.account_id != null && this.senders.find((i) => i.account_id === draft.account_id && i.is_primary);
    this.current = wanted || this.senders.find((i) => i.is_default) || this.senders[0] || null;
    if (this.current) this.select.value = String(this.current.id);
    this.picker.hidden = this.senders.length < 2;
    this.line.hidden = this.senders.length !== 1;
    this.line.textContent = this.senders.length === 1 ? `From ${label(this.senders[0])}` : '';
    this.note.hidden = this.senders.length > 0;
  }

  /** The identity picked (null: none can send). */
  identity() {
    return this.current;
  }

  /** Shows the notice and puts the focus on its link (Send without an account). */
  showNote() {
    this.note.hidden = false;
    this.note.querySelector('a').focus();
  }
}
