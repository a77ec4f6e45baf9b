// Saved searches (docs/rules.md): a search kept under a name. The drawer
// (tag-drawer.js) lists them, in the user's order, each with its unread count like a
// tag, and opens one as the search box would; its "Edit" turns the list into rows
// to change (name and search), delete (after a confirm) and move up or down.
// <hp-save-search>, under the list's heading, offers "Save search" for a search
// that is not a folder or a tag, and asks for a name (prefilled with the search).
// What the box warns about a saved search (say, it names a tag no message has)
// shows as a mark whose words a screen reader reads, and in full while editing.

import { api } from '../api.js';
import {
  field, formError, h, icon, replace, srOnly,
} from '../dom.js';
import { ICONS } from '../icons.js';
import { DEFAULT_QUERY, searchHash } from '../router.js';
import { announce } from '../mail-actions.js';
import { sentence } from '../format.js';
import { confirmSheet, openSheet } from './sheet.js';

/** The saved searches as last loaded (the drawer loads them), for <hp-save-search>. */
let known = [];

/**
 * After a redraw, the control with data-focus-key `key` ("12:up"), or when it is
 * disabled now (moved to the top) the other move button of its row, else any of it.
 */
export function sameOrNext(list, key) {
  const [row, what] = key.split(':');
  const other = { up: 'down', down: 'up' }[what];
  return list.querySelector(`[data-focus-key="${key}"]:not(:disabled)`)
    || (other && list.querySelector(`[data-focus-key="${row}:${other}"]:not(:disabled)`))
    || list.querySelector(`[data-focus-key^="${row}:"]:not(:disabled)`);
}

/** A query as compared: lower case, spaces squeezed. */
export function normaliseQuery(query) {
  return String(query || '').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** Forgets the list (the mail view went: locked). */
export function forgetSavedSearches() {
  known = [];
}

/** Tells the drawer that the list changed here (it loads it again). */
function savedSearchesChanged() {
  window.dispatchEvent(new CustomEvent('hp:saved-searches-changed'));
}

/** The warnings (the box words them as "it names the tag …") as sentences, for a screen reader or a note. */
function warningText(warnings) {
  return (warnings || []).map(sentence).join(' ');
}

/**
 * The sheet that saves a search (`saved` null: a new one, for `query`) or changes
 * one (`saved`: its name and search). Resolves to the SavedSearch the box answered,
 * or null when nothing was saved. The box's refusal is shown in the sheet, on the
 * field it is about.
 */
export function editSavedSearch({ saved = null, query = '' } = {}) {
  return new Promise((resolve) => {
    let result = null;
    const nameInput = h('input', {
      id: 'saved-search-name', type: 'text', autocomplete: 'off', maxlength: '100', value: (saved ? saved.name : query).slice(0, 100),
    });
    const queryInput = h('input', {
      id: 'saved-search-query', type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false',
      maxlength: '1000', value: saved ? saved.query : query,
    });
    const errorLine = h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    const submit = h('button', { type: 'submit', class: 'button primary' }, icon(ICONS.bookmark),
      saved ? 'Save changes' : 'Save search');
    const save = async (event) => {
      event.preventDefault();
      const name = nameInput.value.trim();
      const q = queryInput.value.trim();
      errorLine.hidden = true;
      nameInput.removeAttribute('aria-invalid');
      queryInput.removeAttribute('aria-invalid');
      if (!name) { formError(errorLine, 'Give the search a name.', nameInput); return; }
      if (!q) { formError(errorLine, 'Type what the search finds.', queryInput); return; }
      const fields = {};
      if (!saved || name !== saved.name) fields.name = name;
      if (!saved || q !== saved.query) fields.query = q;
      if (saved && Object.keys(fields).length === 0) { dialog.close(); return; }
      submit.disabled = true;
      try {
        result = saved ? await api.updateSavedSearch(saved.id, fields) : await api.createSavedSearch(name, q);
        dialog.close();
      } catch (err) {
        if (err.status === 401) { dialog.close(); return; }
        const control = { bad_query: queryInput, bad_name: nameInput, conflict: nameInput }[err.code] || null;
        formError(errorLine, `Not saved: ${err.message}`, control);
      } finally {
        submit.disabled = false;
      }
    };
    const dialog = openSheet({
      title: saved ? `Change \u201c${saved.name}\u201d` : 'Save this search',
      className: 'saved-search-sheet',
      content: h('form', { novalidate: true, onsubmit: save },
        errorLine,
        field('Name', nameInput, 'As it shows in the menu, under Saved searches.'),
        field('Search', queryInput, 'What it finds, written as in the search box: from:, tag:, is:unread\u2026'),
        h('div', { class: 'sheet-actions' },
          h('button', { type: 'button', class: 'button', onclick: () => dialog.close() }, 'Cancel'),
          submit)),
    });
    dialog.addEventListener('close', () => resolve(result));
    nameInput.focus();
    nameInput.select();
  });
}

/**
 * The drawer's "Saved searches": `el` goes in the drawer, `load()` reads the list
 * (with the tags' counts), `isCurrent(query)` tells which entry the list shows.
 */
export class SavedSearchesSection {
  constructor({ isCurrent }) {
    this.isCurrent = isCurrent;
    this.saved = [];
    this.loaded = false;
    this.editing = false;
    this.editButton = h('button', {
      type: 'button', class: 'link-button nav-edit', 'aria-label': 'Edit saved searches', hidden: true,
      onclick: () => this.setEditing(!this.editing),
    }, 'Edit');
    this.list = h('ul', { class: 'nav-list saved-list', 'aria-labelledby': 'saved-heading' });
    this.error = h('p', { class: 'nav-error', role: 'alert', hidden: true });
    this.status = h('p', { class: 'visually-hidden', role: 'status' });
    this.el = h('div', { class: 'saved-searches' },
      h('div', { class: 'nav-heading-row' },
        h('h2', { id: 'saved-heading', class: 'nav-heading' }, 'Saved searches'),
        this.editButton),
      this.list, this.error, this.status);
  }

  async load() {
    try {
      const answer = await api.savedSearches();
      this.saved = (answer && answer.saved) || [];
      this.loaded = true;
      known = this.saved;
      window.dispatchEvent(new CustomEvent('hp:saved-searches'));
      this.error.hidden = true;
    } catch (err) {
      if (err.status === 401) return;
      this.error.textContent = `Saved searches could not be loaded: ${err.message}`;
      this.error.hidden = false;
    }
    this.render();
  }

  setEditing(on) {
    this.editing = on;
    this.render();
  }

  render() {
    // A redraw (the counts changed, a row moved) keeps the focus on the same control.
    const focused = this.list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    if (this.saved.length === 0) this.editing = false;
    this.editButton.hidden = this.saved.length === 0;
    this.editButton.textContent = this.editing ? 'Done' : 'Edit';
    this.editButton.setAttribute('aria-label', this.editing ? 'Done editing saved searches' : 'Edit saved searches');
    this.list.classList.toggle('editing', this.editing);
    if (this.saved.length === 0) {
      replace(this.list, this.loaded
        ? h('li', { class: 'nav-empty' }, 'None yet: search, then \u201cSave search\u201d.') : null);
      return;
    }
    replace(this.list, this.saved.map((s, i) => (this.editing ? this.editRow(s, i) : this.entry(s))));
    if (focused) {
      const again = sameOrNext(this.list, focused);
      if (again) again.focus();
    }
  }

  /** A saved search as a link, like a tag: its unread count, a mark for its warnings. */
  entry(s) {
    const warnings = warningText(s.warnings);
    const link = h('a', {
      class: 'nav-item', href: searchHash(s.query), dataset: { query: s.query, focusKey: `${s.id}:link` },
    },
    icon(ICONS.bookmark),
    h('span', { class: 'nav-label' }, s.name),
    warnings ? h('span', { class: 'nav-warn', title: warnings }, icon(ICONS.warning), srOnly(`, warning: ${warnings}`)) : null,
    s.unread > 0 ? h('span', { class: 'count' }, String(s.unread), srOnly(' unread')) : null);
    if (this.isCurrent(s.query)) link.setAttribute('aria-current', 'page');
    return h('li', {}, link);
  }

  /** While editing: the name, the search, the warnings; move up, move down, change, delete. */
  editRow(s, index) {
    const warnings = warningText(s.warnings);
    const button = (key, label, iconPath, run, disabled = false) => h('button', {
      type: 'button', class: 'icon-button', 'aria-label': `${label} ${s.name}`, title: label, disabled,
      dataset: { focusKey: `${s.id}:${key}` }, onclick: run,
    }, icon(iconPath));
    return h('li', { class: 'saved-edit-row' },
      h('span', { class: 'saved-edit-name' }, s.name),
      h('code', { class: 'saved-edit-query' }, s.query),
      warnings ? h('p', { class: 'saved-warning' }, icon(ICONS.warning), h('span', {}, warnings)) : null,
      h('div', { class: 'saved-edit-actions', role: 'group', 'aria-label': s.name },
        button('up', 'Move up', ICONS.arrowUp, () => this.move(index, -1), index === 0),
        button('down', 'Move down', ICONS.arrowDown, () => this.move(index, 1), index === this.saved.length - 1),
        button('edit', 'Change', ICONS.edit, () => this.change(s)),
        button('delete', 'Delete', ICONS.trash, () => this.remove(s))));
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  async move(index, delta) {
    const to = index + delta;
    if (to < 0 || to >= this.saved.length) return;
    const order = [...this.saved];
    const [moved] = order.splice(index, 1);
    order.splice(to, 0, moved);
    this.saved = order;
    this.render();
    try {
      await api.orderSavedSearches(order.map((s) => s.id));
      this.status.textContent = `${moved.name} moved ${delta < 0 ? 'up' : 'down'}: ${to + 1} of ${order.length}.`;
      this.showError(null);
    } catch (err) {
      if (err.status !== 401) this.showError(`The order was not saved: ${err.message}`);
    }
    await this.load();
  }

  async change(s) {
    const saved = await editSavedSearch({ saved: s });
    if (!saved) return;
    announce(`Saved \u201c${saved.name}\u201d.`);
    await this.load();
    savedSearchesChanged();
  }

  async remove(s) {
    const ok = await confirmSheet({
      title: `Delete the saved search \u201c${s.name}\u201d?`,
      message: 'Only the saved search goes: the mail it finds stays as it is.',
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteSavedSearch(s.id);
      announce(`Deleted the saved search \u201c${s.name}\u201d.`);
      this.showError(null);
    } catch (err) {
      if (err.status !== 401) this.showError(`Not deleted: ${err.message}`);
      return;
    }
    await this.load();
    savedSearchesChanged();
    // The row went: the focus goes to the heading's Edit button (or Done), else the heading.
    if (!this.editButton.hidden) this.editButton.focus();
  }
}

/** Searches worth saving: not the Inbox, everything, or one folder or tag (the drawer has those). */
function savable(query) {
  const q = normaliseQuery(query);
  return q !== '' && q !== '*' && q !== DEFAULT_QUERY && !/^(?:in|tag|is):[^\s"()]+$/.test(q);
}

// <hp-save-search>: under the list's heading, "Save search" for the search shown
// (the list tells it with update(query)), or the name it is saved under.
class HpSaveSearch extends HTMLElement {
  connectedCallback() {
    if (!this.built) {
      this.built = true;
      this.query = null;
      this.hidden = true;
      this.button = h('button', {
        type: 'button', class: 'button save-search-button', onclick: () => this.save(),
      }, icon(ICONS.bookmark), 'Save search');
      this.savedLine = h('p', { class: 'save-search-note', tabindex: '-1', hidden: true });
      replace(this, this.button, this.savedLine);
    }
    this.onKnown = () => this.show();
    window.addEventListener('hp:saved-searches', this.onKnown);
    this.show();
  }

  disconnectedCallback() {
    window.removeEventListener('hp:saved-searches', this.onKnown);
  }

  update(query) {
    this.query = query;
    if (this.built) this.show();
  }

  show() {
    const q = normaliseQuery(this.query);
    const same = known.find((s) => normaliseQuery(s.query) === q);
    this.hidden = this.query === null || !savable(this.query);
    const hadFocus = this.button.contains(document.activeElement);
    this.button.hidden = Boolean(same);
    this.savedLine.hidden = !same;
    if (same) {
      replace(this.savedLine, icon(ICONS.bookmark), h('span', {}, `Saved as \u201c${same.name}\u201d`));
      if (hadFocus) this.savedLine.focus();
    }
  }

  async save() {
    const saved = await editSavedSearch({ query: this.query });
    if (!saved) return;
    announce(`Saved \u201c${saved.name}\u201d: it is in the menu, under Saved searches.`);
    known = [...known, saved];
    this.show();
    savedSearchesChanged();
  }
}

customElements.define('hp-save-search', HpSaveSearch);
