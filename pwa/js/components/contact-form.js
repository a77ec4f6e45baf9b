// The contact form of the Address book (#/contacts/12, #/contacts/new): the name
// (empty: the one the mail gives), the addresses (the first is suggested first),
// numbers and notes; what the mail says of each address; merging another contact
// into this one (found by a search); deleting it (it is then no longer suggested,
// and new mail from it does not bring it back).

import { api } from '../api.js';
import { field, h, icon, replace, titleRow } from '../dom.js';
import { ICONS } from '../icons.js';
import { fullDate, shortDate } from '../format.js';
import { announce } from '../mail-actions.js';
import { confirmSheet } from './sheet.js';

let formCount = 0;

/**
 * "12 messages, the last on Tuesday, 5 March 2024" (`short`: "12 messages, the last
 * Mar 5"), or that there are none yet.
 */
export function contactSummary(c, short = false) {
  const n = (c.from_count || 0) + (c.to_count || 0);
  if (n === 0) return 'No messages yet';
  const words = `${n.toLocaleString()} ${n === 1 ? 'message' : 'messages'}`;
  if (!c.last_seen) return words;
  return short ? `${words}, the last ${shortDate(c.last_seen)}` : `${words}, the last on ${fullDate(c.last_seen)}`;
}

/** The name shown for a contact: its name, else its first address or number. */
export function contactLabel(c) {
  return c.name || (c.addresses[0] && c.addresses[0].address) || c.phones[0] || 'No name';
}

/** Lines of a textarea, trimmed, without empty ones. */
function lines(textarea) {
  return textarea.value.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** The form; `back()` leaves it for the list. */
export class ContactForm {
  constructor(id, { back }) {
    formCount += 1;
    this.id = id;
    this.back = back;
    const p = `contact-form-${formCount}`;
    this.heading = h('h1', { class: 'page-title', tabindex: '-1' }, id === null ? 'New contact' : 'Contact');
    this.name = h('input', { id: `${p}-name`, type: 'text', autocomplete: 'off', maxlength: '200' });
    this.addresses = h('textarea', {
      id: `${p}-addresses`, rows: '3', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false',
    });
    this.phones = h('textarea', { id: `${p}-phones`, rows: '2', autocomplete: 'off', spellcheck: 'false' });
    this.notes = h('textarea', { id: `${p}-notes`, rows: '4', maxlength: '10000' });
    this.nameHint = h('p', { class: 'field-hint', id: `${p}-name-hint` });
    this.name.setAttribute('aria-describedby', this.nameHint.id);
    this.errorLine = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.seen = h('div', { class: 'contact-seen' });
    this.submit = h('button', { type: 'submit', class: 'button primary' }, id === null ? 'Add contact' : 'Save');
    this.form = h('form', { class: 'contact-form', novalidate: true, onsubmit: (e) => this.save(e) },
      this.errorLine,
      h('div', { class: 'field' }, h('label', { for: this.name.id }, 'Name'), this.name, this.nameHint),
      field('E-mail addresses', this.addresses, 'One per line. The first is the one suggested first when you write.'),
      field('Telephone numbers', this.phones, 'One per line.'),
      field('Notes', this.notes),
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', class: 'button', onclick: () => this.back() }, 'Cancel'),
        this.submit));
    this.extras = h('div', { class: 'contact-extras' });
    this.el = h('div', { class: 'page-body contact-page' },
      titleRow(this.heading, () => this.back(), 'Back to the address book'),
      this.seen, this.form, this.extras);
    if (id === null) {
      this.nameHint.textContent = 'As you want it shown.';
      queueMicrotask(() => this.name.focus());
    } else {
      this.load();
    }
  }

  async load() {
    let c;
    try {
      c = await api.contact(this.id);
    } catch (err) {
      if (err.status === 401) return;
      this.showError(err.status === 404 ? 'This contact is no longer in the address book.' : err.message);
      this.submit.disabled = true;
      return;
    }
    this.fill(c);
  }

  fill(c) {
    this.contact = c;
    this.heading.textContent = contactLabel(c);
    this.name.value = c.own_name;
    this.name.placeholder = c.mail_name;
    this.nameHint.textContent = c.mail_name
      ? `Leave it empty to use the name from the mail: “${c.mail_name}”.`
      : 'The mail gives no name for this contact.';
    this.addresses.value = c.addresses.map((a) => a.address).join('\n');
    this.phones.value = c.phones.join('\n');
    this.notes.value = c.notes;
    replace(this.seen, h('p', { class: 'card-line muted' }, `${contactSummary(c)}.`),
      c.addresses.length > 1 ? h('ul', { class: 'contact-address-counts' }, c.addresses.map((a) => h('li', {},
        `${a.address}: ${a.from_count} from, ${a.to_count} to`))) : null);
    replace(this.extras, this.mergeSection(), this.deleteSection());
  }

  showError(message) {
    this.errorLine.textContent = message;
    this.errorLine.hidden = false;
    this.errorLine.focus();
  }

  async save(event) {
    event.preventDefault();
    const body = {
      name: this.name.value.trim(),
      addresses: lines(this.addresses),
      phones: lines(this.phones),
      notes: this.notes.value,
    };
    if (!body.name && !body.addresses.length && !body.phones.length) {
      this.showError('Give a name, an address or a number.');
      return;
    }
    this.submit.disabled = true;
    try {
      const saved = this.id === null ? await api.createContact(body) : await api.updateContact(this.id, body);
      announce(this.id === null ? `Added ${contactLabel(saved)}.` : `Saved ${contactLabel(saved)}.`);
      this.back();
    } catch (err) {
      if (err.status !== 401) this.showError(err.message);
    } finally {
      this.submit.disabled = false;
    }
  }

  /** "Same person as…": a search among the other contacts, each with a Merge button. */
  mergeSection() {
    const p = `merge-${formCount}`;
    const results = h('ul', { class: 'merge-results', 'aria-live': 'polite' });
    const input = h('input', {
      id: `${p}-q`, type: 'search', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
      placeholder: 'Name or address of the other entry',
    });
    let timer = null;
    const search = async () => {
      const q = input.value.trim();
      if (!q) { results.replaceChildren(); return; }
      let page;
      try {
        page = await api.contactList({ q, limit: 10 });
      } catch (err) {
        if (err.status !== 401) replace(results, h('li', {}, err.message));
        return;
      }
      const others = page.contacts.filter((o) => o.id !== this.id);
      replace(results, others.length ? others.map((o) => h('li', {},
        h('span', {}, `${contactLabel(o)} (${o.addresses.map((a) => a.address).join(', ') || 'no address'})`),
        h('button', {
          type: 'button', class: 'button', onclick: () => this.merge(o),
        }, `Merge ${contactLabel(o)} into this contact`))) : h('li', {}, 'No other contact matches.'));
    };
    input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(search, 250); });
    return h('section', { class: 'form-section contact-merge', 'aria-labelledby': `${p}-title` },
      h('h2', { id: `${p}-title` }, 'Same person as another entry?'),
      h('p', { class: 'field-hint' }, 'Merging keeps the addresses, numbers and notes of both in this contact.'),
      h('div', { class: 'field' }, h('label', { for: input.id }, 'Find the other entry'), input),
      results);
  }

  async merge(other) {
    const ok = await confirmSheet({
      title: `Merge ${contactLabel(other)} into ${contactLabel(this.contact)}?`,
      message: 'They become one contact, with the addresses, numbers and notes of both.',
      confirmLabel: 'Merge',
    });
    if (!ok) return;
    try {
      const merged = await api.mergeContacts(this.id, other.id);
      announce(`Merged ${contactLabel(other)} into ${contactLabel(merged)}.`);
      this.fill(merged);
      this.heading.focus();
    } catch (err) {
      if (err.status !== 401) this.showError(err.message);
    }
  }

  deleteSection() {
    return h('section', { class: 'form-section contact-delete' },
      h('h2', {}, 'Delete'),
      h('p', { class: 'field-hint' },
        'A deleted contact is no longer suggested when you write, and new mail from it does not bring it back. '
        + 'Your mail is not touched.'),
      h('button', { type: 'button', class: 'button danger', onclick: () => this.remove() },
        icon(ICONS.trash), 'Delete this contact'));
  }

  async remove() {
    const label = contactLabel(this.contact);
    const ok = await confirmSheet({
      title: `Delete ${label}?`,
      message: 'Its name, numbers and notes are deleted, and it is no longer suggested when you write.',
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteContact(this.id);
      announce(`Deleted ${label}.`);
      this.back();
    } catch (err) {
      if (err.status !== 401) this.showError(err.message);
    }
  }
}
