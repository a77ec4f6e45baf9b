// <hp-message-list>: the results of one search, loaded page by page as the end of
// the list scrolls into view (IntersectionObserver + next_cursor). Each row has the
// sender's avatar (it selects the row), a star and, on wider screens, Archive and
// Read buttons; keys j/k/o/e/#/u/x (see mail-view.js). Touch gestures (swipes as
// chosen in the settings, long press to select, pull to refresh) are in
// list-gestures.js, selecting many rows and acting on them in list-selection.js;
// the Trash's "Empty trash" in trash-bar.js, "Save search" in saved-searches.js.

import { api } from '../api.js';
import { h, icon, replace, srOnly } from '../dom.js';
import { ICONS } from '../icons.js';
import { avatar } from '../avatar.js';
import { senders, shortDate, isoDate, fullDate, tagLabel } from '../format.js';
import {
  messageHash, threadHash, composeHash, navigate,
} from '../router.js';
import { lastAccounts, refreshAccounts } from '../poll.js';
import { swipeSettings, listGrouping } from '../settings.js';
import {
  changeTags, changeThreads, announce, undoExactly, undoDeltas, requiredTags, hiddenByDefault, messageAction,
} from '../mail-actions.js';
import { setupGestures } from './list-gestures.js';
import { ListSelection } from './list-selection.js';
import { fetchRows, PAGE_SIZE } from './list-source.js';
import { emptyText } from './list-empty.js';
import './trash-bar.js';
import './saved-searches.js';

/** A heading for well-known queries; anything else is "Search results". */
function titleFor(query) {
  const q = query.trim().toLowerCase();
  if (q === '' || q === '*') return 'All mail';
  const m = /^(?:in|tag|is):([^\s"()]+)$/.exec(q);
  if (m) return tagLabel(m[1]);
  return 'Search results';
}

class HpMessageList extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.query = null;
    this.rows = new Map(); // id -> {summary, li}
    this.order = []; // ids in list order
    this.selected = -1;
    this.openId = null;
    this.generation = 0;

    this.heading = h('h1', { class: 'list-title', id: 'list-title', tabindex: '-1' }, 'Inbox');
    this.summaryLine = h('p', { class: 'list-summary', 'aria-live': 'polite' });
    this.sort = 'newest';
    this.sortSelect = h('select', {
      id: 'list-sort', class: 'list-sort',
      onchange: () => { this.sort = this.sortSelect.value; this.setQuery(this.query, true); },
    },
    h('option', { value: 'newest' }, 'Newest first'),
    h('option', { value: 'oldest' }, 'Oldest first'),
    h('option', { value: 'relevance' }, 'Best match'));
    this.ul = h('ul', { class: 'msg-list', 'aria-labelledby': 'list-title' });
    this.empty = h('div', { class: 'list-empty', hidden: true });
    this.errorLine = h('p', { class: 'form-error', role: 'alert', hidden: true });
    this.more = h('button', {
      type: 'button', class: 'button list-more', hidden: true, onclick: () => this.loadMore(),
    }, 'Load more');
    this.selection = new ListSelection(this);
    const pullIndicator = setupGestures(this);
    this.trashBar = h('hp-trash-bar');
    this.saveBar = h('hp-save-search');
    this.append(
      this.selection.bar,
      pullIndicator,
      h('div', { class: 'list-head' },
        h('div', { class: 'list-head-text' }, this.heading, this.summaryLine),
        h('div', { class: 'list-sort-wrap' },
          h('label', { for: 'list-sort', class: 'visually-hidden' }, 'Order of messages'),
          this.sortSelect),
        // On a phone this floats at the bottom right, within reach of the thumb.
        h('a', { class: 'button primary compose-button', href: composeHash(), title: 'New message (c)' },
          icon(ICONS.edit), 'New message')),
      this.trashBar, this.saveBar,
      this.errorLine, this.ul, this.empty, this.more);

    // Infinite scroll: when the "Load more" button comes within 400px of the bottom of
    // the scrolling pane, press it. (The pane is the root: a margin on the viewport
    // would not reach past the pane's clipping.)
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadMore();
    }, { root: this.closest('.list-pane'), rootMargin: '0px 0px 400px 0px' });
    this.observer.observe(this.more);

    this.onTagsChanged = (event) => this.applyTagChange(event.detail);
    window.addEventListener('hp:tags-changed', this.onTagsChanged);
    // Whether the box has accounts decides what the empty inbox suggests.
    // (Only once a list was loaded: before, there is no query to describe.)
    this.onAccounts = () => {
      if (this.query !== null && !this.loading && this.order.length === 0) this.updateSummary();
    };
    window.addEventListener('hp:accounts', this.onAccounts);
    this.onSettings = (event) => {
      if (event.detail && event.detail.grouping && this.query !== null) this.setQuery(this.query, true);
    };
    window.addEventListener('hp:settings-changed', this.onSettings);
    // Tabbing onto a row selects it, so the shortcuts act on what has the focus.
    this.ul.addEventListener('focusin', (event) => {
      const li = event.target instanceof Element ? event.target.closest('li.msg-row') : null;
      if (!li) return;
      const index = this.order.indexOf(Number(li.dataset.id));
      if (index >= 0 && index !== this.selected) this.select(index, false);
    });
    // In selecting, a tap on a row selects it instead of opening it.
    this.ul.addEventListener('click', (event) => {
      if (this.selection.size === 0 || !(event.target instanceof Element)) return;
      const link = event.target.closest('.msg-link');
      if (!link) return;
      event.preventDefault();
      this.selection.toggle(Number(link.closest('li.msg-row').dataset.id));
    });
  }

  disconnectedCallback() {
    window.removeEventListener('hp:tags-changed', this.onTagsChanged);
    window.removeEventListener('hp:accounts', this.onAccounts);
    window.removeEventListener('hp:settings-changed', this.onSettings);
    clearTimeout(this.refreshTimer);
    this.selection.disconnect();
    this.observer.disconnect();
    if (this.abort) this.abort.abort();
  }

  /**
   * Whether rows are conversations (threads): the Settings' choice, for the
   * newest-first order only (the others sort single messages).
   */
  get grouped() {
    return listGrouping() === 'conversations' && this.sort === 'newest';
  }

  /** Where a row leads: its conversation, or its message. */
  rowHash(id) {
    return this.grouped ? threadHash(id) : messageHash(id);
  }

  /** Shows the results of `query`; reloads when `force` even if it is the same. */
  setQuery(query, force = false) {
    if (!force && query === this.query) return;
    if (this.selection.size > 0) this.selection.clear({ viaHistory: query !== this.query });
    this.query = query;
    this.nextCursor = null;
    this.total = 0;
    this.rows.clear();
    this.order = [];
    this.selected = -1;
    this.ul.replaceChildren();
    this.empty.hidden = true;
    this.more.hidden = true;
    this.heading.textContent = titleFor(query);
    this.summaryLine.textContent = 'Loading…';
    this.trashBar.update(query, null);
    this.saveBar.update(query);
    this.dataset.grouped = this.grouped ? 'true' : 'false';
    this.load(null);
  }

  async load(cursor) {
    if (this.abort) this.abort.abort();
    this.abort = new AbortController();
    const generation = ++this.generation;
    this.loading = true;
    this.more.disabled = true;
    this.more.textContent = 'Loading…';
    try {
      const page = await fetchRows({
        query: this.query, grouped: this.grouped, sort: this.sort, limit: PAGE_SIZE, cursor,
      }, { signal: this.abort.signal });
      if (generation !== this.generation) return;
      this.errorLine.hidden = true;
      this.total = page.total;
      this.nextCursor = page.next;
      for (const summary of page.items) {
        if (this.rows.has(summary.id)) continue;
        const li = this.renderRow(summary);
        this.rows.set(summary.id, { summary, li });
        this.order.push(summary.id);
        this.ul.append(li);
      }
      this.updateSummary();
      this.dispatchEvent(new CustomEvent('hp-list-loaded', { bubbles: true })); // mail-view.js: the reader may load now
    } catch (err) {
      if (err.name === 'AbortError' || generation !== this.generation) return;
      if (err.status === 401) return; // the app shows the unlock screen
      this.errorLine.textContent = err.code === 'invalid_query'
        ? `This search cannot be run: ${err.message}`
        : `Messages could not be loaded: ${err.message}`;
      this.errorLine.hidden = false;
      this.summaryLine.textContent = '';
      this.nextCursor = null;
    } finally {
      if (generation === this.generation) {
        this.loading = false;
        this.more.disabled = false;
        this.more.textContent = 'Load more';
        this.more.hidden = !this.nextCursor;
        // Still in view after a short page: the observer fires again on re-observe.
        if (this.nextCursor) {
          this.observer.unobserve(this.more);
          this.observer.observe(this.more);
        }
      }
    }
  }

  /**
   * Reloads the rows already shown (new mail arrived, say) without losing the place:
   * rows that stay keep their element (and focus), new ones are put in, gone ones
   * taken out, the selection follows its message, and the row at the top of the pane
   * stays where it was on screen.
   */
  async refresh() {
    if (this.loading || this.query === null) return;
    const generation = this.generation;
    const shown = this.order.length;
    // A little more than is shown, so new mail does not push shown rows out.
    // (Conversations come at most 100 a page.)
    const limit = Math.min(this.grouped ? 100 : 200, Math.max(PAGE_SIZE, shown + 20));
    let page;
    try {
      page = await fetchRows({ query: this.query, grouped: this.grouped, sort: this.sort, limit });
    } catch {
      return; // the next change tries again
    }
    if (generation !== this.generation || this.loading) return; // another search started meanwhile
    const pane = this.closest('.list-pane');
    const anchor = this.order.map((id) => this.rows.get(id).li)
      .find((li) => li.getBoundingClientRect().bottom > pane.getBoundingClientRect().top);
    const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    const selectedId = this.selectedId();

    const fresh = page.items.map((s) => s.id);
    const freshSet = new Set(fresh);
    // Rows beyond the window that was reloaded stay as they are.
    const order = [...fresh, ...this.order.slice(limit).filter((id) => !freshSet.has(id))];
    const keep = new Set(order);
    for (const id of this.order) {
      if (!keep.has(id)) {
        this.rows.get(id).li.remove();
        this.rows.delete(id);
        this.selection.drop(id);
      }
    }
    for (const s of page.items) {
      const row = this.rows.get(s.id);
      if (!row) this.rows.set(s.id, { summary: s, li: this.renderRow(s) });
      else if (JSON.stringify(row.summary) !== JSON.stringify(s)) {
        row.summary = s;
        this.fillRow(row.li, s);
      }
    }
    let at = this.ul.firstElementChild;
    for (const id of order) {
      const { li } = this.rows.get(id);
      if (li === at) at = at.nextElementSibling;
      else this.ul.insertBefore(li, at);
    }
    this.order = order;
    this.selected = selectedId === null ? -1 : order.indexOf(selectedId);
    if (shown <= limit) this.nextCursor = page.next;
    else if (this.nextCursor) this.nextCursor = String(Number(this.nextCursor) + (page.total - this.total));
    this.total = page.total;
    this.more.hidden = !this.nextCursor;
    this.updateSummary();
    // Keep the row that was at the top of the pane in the same place (unless at the very top).
    if (anchor && anchor.isConnected && pane.scrollTop > 0) {
      pane.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
    }
  }

  loadMore() {
    if (this.loading || !this.nextCursor) return;
    this.load(this.nextCursor);
  }

  updateSummary() {
    const n = this.total;
    const shown = this.order.length;
    this.empty.hidden = shown > 0;
    if (shown === 0) replace(this.empty, emptyText(this.query));
    let text = `${n} ${n === 1 ? 'message' : 'messages'}`;
    if (titleFor(this.query) === 'Search results') text += ` for ${this.query}`;
    this.summaryLine.textContent = text;
    this.trashBar.update(this.query, n);
  }

  renderRow(summary) {
    const li = h('li', { class: 'msg-row', dataset: { id: String(summary.id) } });
    this.fillRow(li, summary);
    return li;
  }

  /** (Re)draws a row from its summary. Mail text goes in only as text nodes. */
  fillRow(li, s) {
    // Redrawing replaces the row's controls: keep the keyboard focus on the same one.
    const focused = li.contains(document.activeElement)
      ? document.activeElement.dataset.focusKey || null : null;
    const unread = Boolean(s.unread);
    const tags = s.tags || [];
    const inInbox = tags.includes('inbox');
    const flagged = tags.includes('flagged');
    const checked = this.selection.has(s.id);
    const subject = s.subject || '(no subject)';
    li.classList.toggle('unread', unread);
    li.classList.toggle('checked', checked);
    li.classList.toggle('open', s.id === this.openId);
    const link = h('a', {
      class: 'msg-link', href: this.rowHash(s.id), id: `msg-${s.id}`, dataset: { focusKey: 'link' },
      'aria-current': s.id === this.openId ? 'true' : null,
    },
    h('span', { class: 'msg-line' },
      h('span', { class: 'unread-dot', 'aria-hidden': 'true' }),
      unread ? srOnly('Unread: ') : null,
      h('span', { class: 'msg-from' }, senders(s)),
      s.count > 1 ? h('span', { class: 'msg-count', title: `${s.count} messages` },
        srOnly(', '), String(s.count), srOnly(' messages')) : null,
      h('time', { class: 'msg-date', datetime: isoDate(s.date), title: fullDate(s.date) }, shortDate(s.date))),
    h('span', { class: 'msg-line' },
      h('span', { class: 'msg-subject' }, subject),
      s.has_attachment ? [icon(ICONS.attachment, 'icon att-icon'), srOnly(' (has attachment)')] : null),
    h('span', { class: 'msg-snippet' }, s.snippet || ''));

    // The avatar is the row's checkbox: a tap selects it (and starts selecting).
    const select = h('button', {
      type: 'button', class: 'row-select', role: 'checkbox', 'aria-checked': checked ? 'true' : 'false',
      'aria-label': `Select: ${subject}`, dataset: { focusKey: 'select' },
      onclick: () => this.selection.toggle(s.id),
    }, avatar(s.from), icon(ICONS.check, 'icon row-check'));

    const actions = h('div', { class: 'msg-actions' },
      h('button', {
        type: 'button', class: 'icon-button star-button', title: flagged ? 'Unflag' : 'Flag',
        dataset: { focusKey: 'flag' }, 'aria-pressed': flagged ? 'true' : 'false',
        'aria-label': `Flag: ${subject}`, onclick: () => this.runAction(s.id, 'flag'),
      }, icon(flagged ? ICONS.star : ICONS.starOutline)),
      h('button', {
        type: 'button', class: 'icon-button wide-only', title: inInbox ? 'Archive' : 'Move to Inbox', dataset: { focusKey: 'archive' },
        'aria-label': `${inInbox ? 'Archive' : 'Move to Inbox'}: ${subject}`,
        onclick: () => this.runAction(s.id, 'archive'),
      }, icon(inInbox ? ICONS.archive : ICONS.inbox)),
      h('button', {
        type: 'button', class: 'icon-button wide-only', title: unread ? 'Mark as read' : 'Mark as unread', dataset: { focusKey: 'read' },
        'aria-label': `${unread ? 'Mark as read' : 'Mark as unread'}: ${subject}`,
        onclick: () => this.runAction(s.id, 'read'),
      }, icon(unread ? ICONS.markRead : ICONS.markUnread)));

    // What is under the card while it is swiped is filled in when a swipe starts.
    replace(li,
      h('div', { class: 'swipe-under', 'aria-hidden': 'true' }),
      h('div', { class: 'msg-card' }, select, link, actions));
    if (focused) {
      const again = li.querySelector(`[data-focus-key="${focused}"]`);
      if (again) again.focus();
    }
  }

  // --- selection (keyboard) ---------------------------------------------------

  /** Moves the selection by `delta` rows; with `open` also opens that message. */
  move(delta, { open = false } = {}) {
    if (this.order.length === 0) return;
    let index = this.selected;
    if (index < 0 && this.openId !== null) index = this.order.indexOf(this.openId);
    index = index < 0 ? (delta > 0 ? 0 : this.order.length - 1) : index + delta;
    index = Math.max(0, Math.min(this.order.length - 1, index));
    this.select(index, !open);
    if (open) this.openSelected();
    // Near the end: fetch the next page before the person gets there.
    if (index >= this.order.length - 3) this.loadMore();
  }

  select(index, focus = true) {
    const old = this.order[this.selected];
    if (old !== undefined && this.rows.has(old)) this.rows.get(old).li.classList.remove('selected');
    this.selected = index;
    const id = this.order[index];
    if (id === undefined) return;
    const { li } = this.rows.get(id);
    li.classList.add('selected');
    li.scrollIntoView({ block: 'nearest' });
    if (focus) li.querySelector('.msg-link').focus();
  }

  selectedId() {
    if (this.selected >= 0 && this.selected < this.order.length) return this.order[this.selected];
    return null;
  }

  openSelected() {
    const id = this.selectedId();
    if (id !== null) navigate(this.rowHash(id));
  }

  focusHeading() {
    this.heading.focus();
  }

  /** Puts the focus back on the selected (or last opened) row, else the heading. */
  focusSelected() {
    let index = this.selected;
    if (index < 0 && this.openId !== null) index = this.order.indexOf(this.openId);
    this.markOpen(null);
    if (index >= 0 && index < this.order.length) this.select(index, true);
    else this.heading.focus();
  }

  /** Highlights the message shown in the reader pane (desktop). */
  markOpen(id) {
    this.openId = id;
    for (const { summary, li } of this.rows.values()) {
      const open = summary.id === id;
      li.classList.toggle('open', open);
      const link = li.querySelector('.msg-link');
      if (open) link.setAttribute('aria-current', 'true');
      else link.removeAttribute('aria-current');
    }
    if (id !== null && this.order.includes(id)) {
      const index = this.order.indexOf(id);
      const old = this.order[this.selected];
      if (old !== undefined && this.rows.has(old)) this.rows.get(old).li.classList.remove('selected');
      this.selected = index;
      this.rows.get(id).li.classList.add('selected');
    }
  }

  actOnSelected(change, done) {
    const id = this.selectedId();
    if (id !== null) this.act(id, change, done);
  }

  toggleReadSelected() {
    const id = this.selectedId();
    if (id !== null) this.runAction(id, 'read');
  }

  /** x: selects or unselects the row under the keyboard's cursor. */
  toggleSelectSelected() {
    const id = this.selectedId();
    if (id !== null) this.selection.toggle(id);
  }

  // --- actions ----------------------------------------------------------------

  /** Runs the one-tap action `kind` (archive, trash, read, flag, spam) on message `id`. */
  runAction(id, kind) {
    const row = this.rows.get(id);
    if (this.grouped && kind === 'flag' && row) {
      // A star marks the conversation's newest message, not all of it (each
      // flag goes back to the mail server).
      this.flagLatest(row.summary);
      return;
    }
    const action = row ? messageAction(kind, row.summary.tags || []) : null;
    if (action) this.act(id, action.change, action.done, !action.quiet);
  }

  async flagLatest(summary) {
    const flagged = (summary.tags || []).includes('flagged');
    try {
      await changeTags([summary.latest_id], flagged ? { add: [], remove: ['flagged'] } : { add: ['flagged'], remove: [] });
      announce(flagged ? 'Unflagged' : 'Flagged');
      await this.refresh();
    } catch (err) {
      if (err.status !== 401) announce(err.message, 'error');
    }
  }

  /** What a swipe towards `side` does to a row with `tags` ({kind, label, icon}), or null. */
  swipeAction(side, tags) {
    const kind = swipeSettings()[side];
    const action = messageAction(kind, tags);
    return action ? { ...action, kind } : null;
  }

  runSwipe(id, side) {
    this.runAction(id, swipeSettings()[side]);
  }

  selecting() {
    return this.selection.size > 0;
  }

  /** A long press selects the row (touch). */
  longPress(id) {
    this.selection.toggle(id, true);
  }

  /**
   * Pull to refresh: asks each account's server for new mail now (as "Sync now"
   * does) and reloads the list in place.
   */
  async pullRefresh() {
    const known = lastAccounts();
    const accounts = known && Array.isArray(known.accounts) ? known.accounts : [];
    await Promise.all(accounts.map((a) => api.syncAccount(a.id).catch(() => null)));
    if (accounts.length) refreshAccounts();
    await this.refresh();
  }

  /**
   * Applies a tag change and says so, with an Undo (unless `undoable` is false)
   * that puts back exactly what changed.
   */
  async act(id, change, done, undoable = true) {
    try {
      // The row may have been dropped from the list: reload to put it back in its place.
      const undo = await this.changeRows([id], change, () => {
        if (!this.rows.has(id)) this.setQuery(this.query, true);
      });
      announce(done, 'info', undoable ? undo : null);
    } catch (err) {
      if (err.status !== 401) announce(err.message, 'error');
    }
  }

  /**
   * Applies `change` to the rows `ids` (every message of each, for conversations);
   * resolves to an Undo that puts back exactly what changed (null if nothing did),
   * which runs `after` once done.
   */
  async changeRows(ids, change, after = () => {}) {
    if (this.grouped) {
      const result = await changeThreads(ids, change);
      return undoDeltas(result.changes, after);
    }
    const before = new Map(ids.map((id) => [id, [...((this.rows.get(id) || { summary: {} }).summary.tags || [])]]));
    await changeTags(ids, change);
    return undoExactly(before, change, after);
  }

  /** Updates rows after a tag change anywhere; drops rows that left this search. */
  applyTagChange({
    ids, add = [], remove = [], threads = null,
  }) {
    if (this.grouped && !threads) {
      // A change to single messages: what it does to their conversations' rows
      // (counts, a row leaving) is the server's to say.
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => this.refresh(), 300);
      return;
    }
    const required = requiredTags(this.query || '');
    for (const id of (this.grouped ? threads : ids)) {
      const row = this.rows.get(id);
      if (!row) continue;
      const tags = new Set(row.summary.tags || []);
      add.forEach((t) => tags.add(t));
      remove.forEach((t) => tags.delete(t));
      row.summary.tags = [...tags];
      row.summary.unread = !tags.has('read');
      // A conversation's tags are all its messages' together: one spam message
      // among them does not hide the others.
      const gone = required.some((t) => !tags.has(t))
        || (!this.grouped && hiddenByDefault(row.summary.tags, this.query || ''));
      if (gone) this.removeRow(id);
      else this.fillRow(row.li, row.summary);
    }
  }

  removeRow(id) {
    const row = this.rows.get(id);
    if (!row) return;
    const index = this.order.indexOf(id);
    const hadFocus = row.li.contains(document.activeElement);
    const wasSelected = this.selected === index;
    this.rows.delete(id);
    this.selection.drop(id);
    this.order.splice(index, 1);
    // The cursor counts messages already seen: fewer now match before it, so the
    // next page must start earlier or it would skip some. A conversation had at
    // most its whole thread among them; starting too early repeats nothing, as
    // rows already shown are skipped.
    const left = this.grouped ? Math.max(1, row.summary.count || 1) : 1;
    this.total = Math.max(0, this.total - left);
    if (this.nextCursor) this.nextCursor = String(Math.max(0, Number(this.nextCursor) - left));
    if (this.selected > index) this.selected -= 1;
    row.li.classList.add('leaving');
    const gone = () => {
      row.li.remove();
      this.updateSummary();
    };
    if (window.matchMedia('(prefers-reduced-motion: reduce)').matches) gone();
    else setTimeout(gone, 200);
    // Keep the keyboard where it was: the next row takes the removed one's place.
    if (wasSelected || hadFocus) {
      this.selected = -1;
      const next = Math.min(index, this.order.length - 1);
      if (next >= 0) this.select(next, hadFocus);
    }
  }
}

customElements.define('hp-message-list', HpMessageList);
