// <hp-contacts>: the Address book page (#/contacts), reached from the drawer. The
// people Homepost knows from the mail and those the user added, most written-to
// first or by name, searched as one types; "Show more" pages on. From here: add a
// contact, import a .vcf file (the report says what was added, merged and not
// read), and export every contact as one vCard file. With an id
// (#/contacts/12, #/contacts/new) it shows the contact form instead
// (contact-form.js). docs/api-mail-accounts.md, the address book.

import { api, ApiError } from '../api.js';
import { h, icon, replace, titleRow } from '../dom.js';
import { ICONS } from '../icons.js';
import { contactHash } from '../router.js';
import { announce } from '../mail-actions.js';
import { ContactForm, contactLabel, contactSummary } from './contact-form.js';

const PAGE = 50;
const SEARCH_DELAY_MS = 250;

class HpContacts extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    const id = this.dataset.id;
    if (id) {
      this.form = new ContactForm(id === 'new' ? null : Number(id), {
        back: () => this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true, detail: { target: contactHash() } })),
      });
      replace(this, this.form.el);
      return;
    }
    this.buildList();
  }

  disconnectedCallback() {
    if (this.abort) this.abort.abort();
    clearTimeout(this.timer);
  }

  buildList() {
    this.heading = h('h1', { class: 'page-title', id: 'contacts-title', tabindex: '-1' }, 'Address book');
    this.search = h('input', {
      id: 'contacts-search', type: 'search', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
      enterkeyhint: 'search', placeholder: 'Name or address',
      oninput: () => { clearTimeout(this.timer); this.timer = setTimeout(() => this.load(), SEARCH_DELAY_MS); },
    });
    this.sort = h('select', { id: 'contacts-sort', class: 'select', onchange: () => this.load() },
      h('option', { value: 'frequent' }, 'Most used'),
      h('option', { value: 'name' }, 'By name'));
    this.fileInput = h('input', {
      id: 'contacts-file', type: 'file', accept: '.vcf,text/vcard,text/x-vcard', class: 'visually-hidden',
      onchange: () => this.importFile(),
    });
    this.report = h('div', { class: 'contacts-report', role: 'status', 'aria-live': 'polite' });
    this.errorLine = h('p', { class: 'form-error', role: 'alert', hidden: true });
    this.list = h('ul', { class: 'card-list contacts-list', 'aria-labelledby': 'contacts-title' });
    this.note = h('p', { class: 'list-empty' }, 'Loading…');
    this.more = h('button', { type: 'button', class: 'button contacts-more', hidden: true, onclick: () => this.load(true) },
      'Show more');
    replace(this, h('div', { class: 'page-body contacts-page' },
      titleRow(this.heading, () => this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true }))),
      h('p', { class: 'page-intro flush' },
        'The people you write with, from your mail. Change a name, add notes, put two entries for one person '
        + 'together, or delete someone so that they are no longer suggested when you write.'),
      h('div', { class: 'contacts-actions' },
        h('a', { class: 'button primary', href: contactHash('new') }, icon(ICONS.plus), 'Add a contact'),
        h('label', { class: 'button', for: 'contacts-file' }, icon(ICONS.upload), 'Import a vCard file'),
        this.fileInput,
        h('a', {
          class: 'button', href: '/api/v1/contacts/export.vcf', download: 'contacts.vcf',
        }, icon(ICONS.download), 'Export all (vCard)')),
      this.report,
      h('div', { class: 'contacts-filters' },
        h('div', { class: 'field' }, h('label', { for: 'contacts-search' }, 'Search contacts'), this.search),
        h('div', { class: 'field' }, h('label', { for: 'contacts-sort' }, 'Order'), this.sort)),
      this.errorLine, this.note, this.list, this.more));
    this.load();
  }

  /** The first page for what is typed, or (`more`) the next one. */
  async load(more = false) {
    if (this.abort) this.abort.abort();
    this.abort = new AbortController();
    const cursor = more ? this.cursor : null;
    let page;
    try {
      page = await api.contactList({
        q: this.search.value.trim(), sort: this.sort.value, cursor, limit: PAGE,
      }, { signal: this.abort.signal });
    } catch (err) {
      if (err.name === 'AbortError' || err.status === 401) return;
      this.errorLine.textContent = `The address book could not be loaded: ${err.message}`;
      this.errorLine.hidden = false;
      return;
    }
    this.errorLine.hidden = true;
    if (!more) this.list.replaceChildren();
    for (const c of page.contacts) this.list.append(this.row(c));
    this.cursor = page.next_cursor || null;
    this.more.hidden = !this.cursor;
    const empty = this.list.children.length === 0;
    this.note.hidden = !empty;
    this.note.textContent = this.search.value.trim()
      ? 'No contact has that name or address.'
      : 'No contacts yet. They appear as mail arrives, or import a vCard file.';
  }

  row(c) {
    const titleId = `contact-${c.id}`;
    const others = c.addresses.map((a) => a.address).filter((a) => a !== contactLabel(c));
    return h('li', { class: 'card contact-card' },
      h('a', { class: 'contact-link', href: contactHash(c.id), 'aria-describedby': `${titleId}-sub` },
        h('span', { class: 'card-title', id: titleId }, contactLabel(c))),
      h('p', { class: 'card-line card-sub', id: `${titleId}-sub` },
        others.length ? `${others.join(', ')} · ` : '', contactSummary(c, true)));
  }

  async importFile() {
    const file = this.fileInput.files && this.fileInput.files[0];
    this.fileInput.value = '';
    if (!file) return;
    replace(this.report, h('p', {}, `Importing ${file.name}…`));
    let r;
    try {
      r = await api.importContacts(file);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      replace(this.report, h('p', { class: 'form-error' }, `${file.name} was not imported: ${err.message}`));
      return;
    }
    const said = [`${file.name}: ${r.created} added, ${r.updated} merged with contacts you had.`];
    const lines = [];
    for (const p of r.problems) {
      lines.push(h('li', {}, p.card ? `Card ${p.card} (line ${p.line}) was not read: ${p.reason}` : `Line ${p.line}: ${p.reason}`));
    }
    for (const p of r.not_kept) lines.push(h('li', {}, `Card ${p.card}: ${p.reason}`));
    if (r.problems.length) said.push(`${r.problems.length} could not be read.`);
    replace(this.report,
      h('p', {}, said.join(' ')),
      lines.length ? h('ul', { class: 'contacts-problems' }, lines) : null);
    announce(said.join(' '));
    this.load();
  }
}

customElements.define('hp-contacts', HpContacts);
