// Selecting messages in <hp-message-list> and acting on all of them at once. A row
// is selected by its avatar (a checkbox), a long press (touch) or x (keyboard);
// while any is, a bar above the list says how many and offers Archive, Trash,
// Mark read / unread, Tag… and Spam (Not spam in the Spam folder), each one
// POST /messages/tags, with an Undo that restores exactly what it changed.
// Escape, the bar's Cancel and the browser's Back leave selecting.

import { h, icon } from '../dom.js';
import { ICONS } from '../icons.js';
import {
  announce, requiredTags,
  ARCHIVE, TRASH, MARK_READ, MARK_UNREAD, SPAM, NOT_SPAM,
} from '../mail-actions.js';
import { withModule } from './views.js';

export class ListSelection {
  /** `list`: the <hp-message-list> (rows, query, setQuery, selectionChanged). */
  constructor(list) {
    this.list = list;
    this.ids = new Set();
    /** Selecting added a history entry, so that Back leaves selecting. */
    this.pushed = false;
    this.count = h('span', { class: 'selection-count', role: 'status' });
    this.actions = h('div', { class: 'selection-actions' });
    this.bar = h('div', {
      class: 'selection-bar', role: 'group', 'aria-label': 'Selected messages', hidden: true,
    },
    h('button', {
      type: 'button', class: 'icon-button', 'aria-label': 'Cancel selection', title: 'Cancel selection (Escape)',
      onclick: () => this.clear({ focus: true }),
    }, icon(ICONS.close)),
    this.count, this.actions);
    this.onPopState = () => {
      if (this.ids.size > 0 && !(window.history.state && window.history.state.hpSelecting)) {
        this.pushed = false;
        this.clear({ viaHistory: true, focus: true });
      }
    };
    window.addEventListener('popstate', this.onPopState);
  }

  disconnect() {
    window.removeEventListener('popstate', this.onPopState);
  }

  get size() {
    return this.ids.size;
  }

  has(id) {
    return this.ids.has(id);
  }

  /** Selects or unselects the message `id` (a row of the list). */
  toggle(id, on = !this.ids.has(id)) {
    if (!this.list.rows.has(id)) return;
    const was = this.ids.size;
    if (on) this.ids.add(id);
    else this.ids.delete(id);
    this.markRow(id);
    if (was === 0 && this.ids.size > 0) this.enter();
    else if (was > 0 && this.ids.size === 0) this.leave();
    this.render();
  }

  /** Forgets a message that left the list. */
  drop(id) {
    if (!this.ids.delete(id)) return;
    if (this.ids.size === 0) this.leave();
    this.render();
  }

  /**
   * Leaves selecting. `viaHistory`: Back did it (or the list's search changed, so
   * the entry is no longer this list's); `focus`: put the focus back on the list.
   */
  clear({ viaHistory = false, focus = false } = {}) {
    const hadFocus = this.bar.contains(document.activeElement);
    const ids = [...this.ids];
    this.ids.clear();
    ids.forEach((id) => this.markRow(id));
    if (viaHistory) this.pushed = false;
    this.leave();
    this.render();
    if (focus || hadFocus) this.list.focusSelected();
  }

  enter() {
    const state = window.history.state || {};
    if (!state.hpSelecting) {
      window.history.pushState({ ...state, hpSelecting: true }, '');
      this.pushed = true;
    }
    this.list.classList.add('selecting');
  }

  leave() {
    this.list.classList.remove('selecting');
    if (this.pushed && window.history.state && window.history.state.hpSelecting) window.history.back();
    this.pushed = false;
  }

  markRow(id) {
    const row = this.list.rows.get(id);
    if (!row) return;
    const on = this.ids.has(id);
    row.li.classList.toggle('checked', on);
    const box = row.li.querySelector('.row-select');
    if (box) box.setAttribute('aria-checked', on ? 'true' : 'false');
  }

  summaries() {
    return [...this.ids].map((id) => this.list.rows.get(id)).filter(Boolean).map((r) => r.summary);
  }

  /** The bar's buttons, named for what they would do to this selection. */
  render() {
    const n = this.ids.size;
    this.bar.hidden = n === 0;
    this.count.textContent = n === 0 ? '' : `${n} selected`;
    if (n === 0) {
      this.actions.replaceChildren();
      return;
    }
    const list = this.summaries();
    const some = (t) => list.some((s) => (s.tags || []).includes(t));
    const all = (t) => list.every((s) => (s.tags || []).includes(t));
    const inSpamFolder = requiredTags(this.list.query || '').includes('spam');
    const actions = [
      some('inbox')
        ? { key: 'archive', change: ARCHIVE, label: 'Archive', done: 'Archived', icon: ICONS.archive }
        : { key: 'archive', change: { add: ['inbox'], remove: ['trash', 'spam'] }, label: 'Move to Inbox', done: 'Moved to Inbox', icon: ICONS.inbox },
      all('trash')
        ? { key: 'trash', change: { add: ['inbox'], remove: ['trash'] }, label: 'Restore', done: 'Moved to Inbox', icon: ICONS.inbox }
        : { key: 'trash', change: TRASH, label: 'Trash', done: 'Moved to Trash', icon: ICONS.trash },
      list.some((s) => s.unread)
        ? { key: 'read', change: MARK_READ, label: 'Mark read', done: 'Marked as read', icon: ICONS.markRead }
        : { key: 'read', change: MARK_UNREAD, label: 'Mark unread', done: 'Marked as unread', icon: ICONS.markUnread },
      { key: 'tag', label: 'Tag\u2026', icon: ICONS.tag },
      inSpamFolder || all('spam')
        ? { key: 'spam', change: NOT_SPAM, label: 'Not spam', done: 'Marked as not spam', icon: ICONS.inbox }
        : { key: 'spam', change: SPAM, label: 'Spam', done: 'Reported as spam', icon: ICONS.spam },
    ];
    const focusedKey = this.actions.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    this.actions.replaceChildren(...actions.map((a) => h('button', {
      type: 'button', class: 'tool-button selection-button', title: a.label, dataset: { key: a.key },
      onclick: () => (a.key === 'tag' ? this.tag() : this.apply(a)),
    }, icon(a.icon), h('span', { class: 'selection-label' }, a.label))));
    if (focusedKey) {
      const again = this.actions.querySelector(`[data-key="${focusedKey}"]`);
      if (again) again.focus();
    }
  }

  /** Runs `key` (archive, trash, read, spam) on the selection: the keyboard's e, # and u. */
  run(key) {
    const button = this.actions.querySelector(`[data-key="${key}"]`);
    if (button) button.click();
  }

  async tag() {
    const n = this.ids.size;
    const name = await withModule(() => import('./tag-picker.js'), ({ pickTag }) => pickTag({
      title: `Tag ${n} ${this.list.grouped ? 'conversation' : 'message'}${n === 1 ? '' : 's'}`,
      fieldLabel: `Tag the selected ${this.list.grouped ? 'conversations' : 'messages'}`,
    }));
    if (name) this.apply({ change: { add: [name], remove: [] }, done: `Tagged ${name}` });
  }

  /** One request for every selected row; the notice offers an exact Undo. */
  async apply({ change, done }) {
    const ids = [...this.ids].filter((id) => this.list.rows.has(id));
    if (ids.length === 0) return;
    let undo;
    try {
      undo = await this.list.changeRows(ids, change, () => {
        // Rows that left the list come back in their places with a reload.
        if (ids.some((id) => !this.list.rows.has(id))) this.list.setQuery(this.list.query, true);
      });
    } catch (err) {
      if (err.status !== 401) announce(err.message, 'error');
      return;
    }
    this.clear({ focus: true });
    const what = this.list.grouped ? 'conversation' : 'message';
    announce(`${done}: ${ids.length} ${what}${ids.length === 1 ? '' : 's'}`, 'info', undo);
  }
}
