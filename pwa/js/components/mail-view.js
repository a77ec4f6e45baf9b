// <hp-mail>: the unlocked app. Header (menu, search, help, lock), the tag drawer,
// the message list and the reader pane, or one of the screens of their own (compose,
// drafts, outbox, accounts, import, remote access, backups, storage health, address book, filter rules) in the page pane. It follows the hash route, owns the
// keyboard shortcuts and the status line (aria-live), and runs the accounts poll that
// tells when new mail arrived (the list and the drawer's counts are then refreshed).
// It reads the box's health once when it opens (integrity.js): damage a check found
// shows as a banner over the list. The reader and the screens of their own load
// when first shown (views.js); the help sheets when first asked for.

import { api } from '../api.js';
import { h, icon, isTyping } from '../dom.js';
import { ICONS } from '../icons.js';
import {
  parseRoute, searchHash, composeHash, accountHash, navigate, DEFAULT_QUERY, PAGES, RULES_HASH,
} from '../router.js';
import { ARCHIVE, TRASH } from '../mail-actions.js';
import { startAccountsPoll, stopAccountsPoll } from '../poll.js';
import { clearIntegrity, loadIntegrity } from '../integrity.js';
import { sheetOpen } from './sheet.js';
import { searchSuggestions, rememberSearch, forgetSearches } from './search-suggest.js';
import {
  loadView, loadingNote, prefetchReader, viewReady, withModule,
} from './views.js';
import './tag-drawer.js';
import './message-list.js';
import './integrity-banner.js';

/** Runs `fn` with help.js (the search and shortcut sheets), loaded the first time. */
const withHelp = (fn) => withModule(() => import('./help.js'), fn);

/** The element of each page route. */
const PAGE_TAGS = {
  compose: 'hp-compose', drafts: 'hp-drafts', outbox: 'hp-outbox', accounts: 'hp-accounts', import: 'hp-import',
  remote: 'hp-remote', backup: 'hp-backups', health: 'hp-health', contacts: 'hp-contacts', rules: 'hp-rules',
};

/** Layouts: below this width the drawer is an overlay and list/reader take turns. */
const WIDE_DRAWER = window.matchMedia('(min-width: 56em)');

class HpMail extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.build();
    this.onHashChange = () => this.route();
    this.onKey = (event) => this.keydown(event);
    this.onAnnounce = (event) => this.announce(event.detail);
    this.onMailChanged = () => this.mailChanged();
    window.addEventListener('hashchange', this.onHashChange);
    document.addEventListener('keydown', this.onKey);
    window.addEventListener('hp:announce', this.onAnnounce);
    window.addEventListener('hp:mail-changed', this.onMailChanged);
    this.route(true);
    startAccountsPoll();
    loadIntegrity();
  }

  disconnectedCallback() {
    window.removeEventListener('hashchange', this.onHashChange);
    document.removeEventListener('keydown', this.onKey);
    window.removeEventListener('hp:announce', this.onAnnounce);
    window.removeEventListener('hp:mail-changed', this.onMailChanged);
    stopAccountsPoll();
    clearIntegrity();
    forgetSearches(); // locked: what was searched for goes too
    WIDE_DRAWER.removeEventListener('change', this.onWide);
    clearTimeout(this.toastTimer);
  }

  build() {
    this.menuButton = h('button', {
      type: 'button', class: 'icon-button menu-button', 'aria-label': 'Tags and folders',
      'aria-expanded': 'false', 'aria-controls': 'drawer', title: 'Tags and folders',
      onclick: () => this.toggleDrawer(),
    }, icon(ICONS.menu));

    this.searchInput = h('input', {
      id: 'search-input', type: 'search', name: 'q', class: 'search-input',
      placeholder: 'from:alice tag:work', autocomplete: 'off', spellcheck: 'false',
      autocapitalize: 'off', enterkeyhint: 'search', 'aria-describedby': 'search-hint',
    });
    const searchForm = h('form', {
      class: 'search-form', role: 'search', onsubmit: (e) => this.onSearch(e),
    },
    h('label', { for: 'search-input', class: 'visually-hidden' }, 'Search mail'),
    h('span', { id: 'search-hint', class: 'visually-hidden' },
      'Use fields like from:, to:, subject:, tag:, is:unread, has:attachment, after: and before:. Suggestions appear as you type. Press the help button for all of them.'),
    icon(ICONS.search, 'icon search-icon'),
    this.searchInput,
    h('button', {
      type: 'button', class: 'icon-button', 'aria-label': 'Search help', title: 'Search help',
      onclick: () => withHelp((help) => help.showSearchHelp((example) => {
        this.searchInput.value = example;
        this.searchInput.focus();
        this.searchInput.setSelectionRange(example.length, example.length);
      })),
    }, icon(ICONS.help)));
    this.suggestions = searchSuggestions(this.searchInput, searchForm);
    searchForm.append(this.suggestions.listbox);

    this.lockButton = h('button', {
      type: 'button', class: 'icon-button lock-button', 'aria-label': 'Lock', title: 'Lock Homepost',
      onclick: () => this.lock(),
    }, icon(ICONS.lock), h('span', { class: 'lock-label' }, 'Lock'));

    this.drawer = h('hp-tag-drawer');
    this.nav = h('nav', { id: 'drawer', class: 'drawer', 'aria-label': 'Folders and tags' }, this.drawer);
    this.backdrop = h('div', { class: 'drawer-backdrop', onclick: () => this.toggleDrawer(false) });
    this.list = h('hp-message-list');
    // The list is on screen: the reader's modules may come now (views.js).
    this.list.addEventListener('hp-list-loaded', () => prefetchReader(), { once: true });
    this.reader = h('div', { class: 'reader-pane' });
    this.page = h('div', { class: 'page-pane' });
    this.main = h('main', { id: 'main', class: 'panes', tabindex: '-1' },
      h('section', { class: 'list-pane', 'aria-label': 'Message list' }, h('hp-integrity-banner'), this.list),
      this.reader,
      this.page);
    this.toast = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite' });

    this.append(
      h('a', { class: 'skip-link', href: '#main', onclick: (e) => { e.preventDefault(); this.main.focus(); } },
        'Skip to messages'),
      h('header', { class: 'topbar' },
        this.menuButton,
        h('a', { class: 'brand-link', href: searchHash(DEFAULT_QUERY) },
          h('img', { src: '/icons/icon.svg', alt: '', width: '32', height: '32' }), 'Homepost'),
        searchForm,
        this.lockButton),
      this.nav, this.backdrop, this.main, this.toast);

    // On a phone, a tap on an entry of the drawer closes it.
    this.nav.addEventListener('click', (event) => {
      if (event.target instanceof Element && event.target.closest('a')) this.toggleDrawer(false);
    });
    this.setAttribute('data-drawer', 'closed');
    this.onWide = () => { if (WIDE_DRAWER.matches) this.toggleDrawer(false); };
    WIDE_DRAWER.addEventListener('change', this.onWide);
  }

  /** Shows the route in the hash: the list always, the reader for a message or thread. */
  route(first = false) {
    const route = parseRoute();
    const previous = this.current;
    this.suggestions.close();
    this.current = route;
    this.trackDepth(route, previous, first);
    // Wherever the way here came from (a link in a sheet, say), the drawer gives way on a phone.
    if (this.dataset.drawer === 'open' && !WIDE_DRAWER.matches) this.toggleDrawer(false);
    if (PAGES.has(route.name)) {
      this.showPage(route);
      return;
    }
    this.page.replaceChildren();
    this.pageKey = null;
    if (route.name === 'search') {
      this.searchInput.value = route.q === DEFAULT_QUERY ? '' : route.q;
      this.list.setQuery(route.q);
      this.drawer.setCurrent(route.q);
      this.lastSearchHash = window.location.hash || searchHash(DEFAULT_QUERY);
      this.reader.replaceChildren();
      this.dataset.view = 'list';
      // Coming back from a message: focus where the person was in the list.
      if (!first && previous && previous.name !== 'search') this.list.focusSelected();
    } else {
      if (!this.list.query) this.list.setQuery(DEFAULT_QUERY);
      this.list.markOpen(route.name === (this.list.grouped ? 'thread' : 'message') ? route.id : null);
      const tag = route.name === 'message' ? 'hp-message-view' : 'hp-conversation-view';
      this.dataset.view = 'reader';
      this.whenLoaded(tag, () => this.current === route, this.reader, () => {
        const view = h(tag, { 'data-id': String(route.id) });
        view.addEventListener('hp-back', () => this.back());
        this.reader.replaceChildren(view);
      });
    }
    // Just unlocked: the focus was on the unlock form, now gone; put it on the list,
    // at the next frame: focusing lays the page out, better once than before the
    // rows and again with them.
    if (first && route.name === 'search') {
      requestAnimationFrame(() => {
        if (!document.activeElement || document.activeElement === document.body) this.list.focusHeading();
      });
    }
  }

  /** Shows a screen of its own (compose, drafts, outbox, accounts) in the page pane. */
  showPage(route) {
    this.reader.replaceChildren();
    this.dataset.view = 'page';
    this.drawer.setCurrent(null, route.name);
    const key = `${route.name}/${route.id}?${route.params || ''}`;
    if (this.pageKey === key) return;
    this.pageKey = key;
    let tag = PAGE_TAGS[route.name];
    if (route.name === 'accounts' && route.id !== null) tag = route.id === 'new' ? 'hp-account-add' : 'hp-account-form';
    this.whenLoaded(tag, () => this.pageKey === key, this.page, () => {
      const view = h(tag, { 'data-id': route.id === null ? null : String(route.id), 'data-params': route.params || null });
      view.addEventListener('hp-back', (event) => this.backFromPage(event.detail && event.detail.target));
      this.page.replaceChildren(view);
      this.page.scrollTop = 0;
      // Screens that load first put the focus where it belongs themselves.
      if (!['hp-compose', 'hp-account-form', 'hp-account-add'].includes(tag) && !(tag === 'hp-rules' && route.id !== null)) {
        const heading = view.querySelector('h1');
        if (heading) heading.focus();
      }
    });
  }

  /**
   * Runs `show` (which puts the element `tag` into `pane`) at once when its module
   * has run; else shows "Loading…" in `pane`, loads the module (views.js) and runs
   * `show` then if `current()` says the route is still the one that asked. A module
   * that cannot be loaded (the box out of reach, not yet cached) is said in the pane.
   */
  whenLoaded(tag, current, pane, show) {
    if (viewReady(tag)) {
      show();
      return;
    }
    pane.replaceChildren(loadingNote());
    loadView(tag).then(() => {
      if (current() && this.isConnected) show();
    }, (err) => {
      if (!current()) return;
      // The browser keeps a module that failed for this page: only a reload asks again.
      pane.replaceChildren(h('p', { class: 'form-error', role: 'alert' },
        `This screen could not be loaded (${err.message}). Reload the page once the box can be reached.`));
    });
  }

  /**
   * Leaves a page: to `target` (the accounts list, for the account form) or else to
   * where the person came from (the message answered, the drafts…), through the
   * history when that is the entry before, so that Back does not come back here.
   */
  backFromPage(target = null) {
    // depth 1000 is an entry opened directly (see trackDepth): nothing of ours before it.
    const hasPrevious = this.depth > 0 && this.depth !== 1000 && this.previousHash !== null;
    if (hasPrevious && (target === null || this.previousHash === target)) window.history.back();
    else navigate(target || this.lastSearchHash || searchHash(DEFAULT_QUERY));
  }

  /** New mail or an outbox change: refresh the list and the counts, in place. */
  mailChanged() {
    if (this.list.query !== null) this.list.refresh();
    this.drawer.scheduleLoad();
  }

  /**
   * Remembers in history.state how many reader entries lie between this entry and
   * the list, so that "back" can use history.back() exactly when the list is the
   * entry just before (and survives the browser's own back and forward buttons).
   */
  trackDepth(route, previous, first) {
    const state = window.history.state;
    const hash = window.location.hash;
    if (state && Number.isFinite(state.hpDepth)) {
      this.depth = state.hpDepth;
      this.previousHash = state.hpPrevious || null;
      this.lastHash = hash;
      return;
    }
    if (route.name === 'search') this.depth = 0;
    else if (first || !previous) this.depth = 1000; // opened directly: no list behind it
    else this.depth = (this.depth || 0) + 1;
    // The entry before this one, for pages that go back to a given screen.
    this.previousHash = first || !previous ? null : this.lastHash || null;
    this.lastHash = hash;
    window.history.replaceState({ ...(state || {}), hpDepth: this.depth, hpPrevious: this.previousHash }, '');
  }

  /** Back to the list: through history when the list is the previous entry. */
  back() {
    if (this.depth === 1) window.history.back();
    else navigate(this.lastSearchHash || searchHash(DEFAULT_QUERY));
  }

  onSearch(event) {
    event.preventDefault();
    const q = this.searchInput.value.trim();
    if (q !== '' && q !== DEFAULT_QUERY) rememberSearch(q);
    navigate(searchHash(q === '' ? DEFAULT_QUERY : q));
    if (parseRoute().name === 'search') this.list.setQuery(parseRoute().q, true);
    // On a phone the keyboard hides half the results: put it away.
    if (!WIDE_DRAWER.matches) this.searchInput.blur();
  }

  toggleDrawer(open = this.dataset.drawer !== 'open') {
    this.dataset.drawer = open ? 'open' : 'closed';
    this.menuButton.setAttribute('aria-expanded', open ? 'true' : 'false');
    // While the drawer covers the list on a phone, the list is out of reach (and of Tab).
    this.main.inert = open && !WIDE_DRAWER.matches;
    if (open && !WIDE_DRAWER.matches) {
      const first = this.nav.querySelector('a, button');
      if (first) first.focus();
    } else if (!open && this.nav.contains(document.activeElement)) {
      this.menuButton.focus();
    }
  }

  async lock() {
    this.lockButton.disabled = true;
    try {
      await api.lock();
    } catch (err) {
      // A 401 means it is locked already; anything else is worth saying, then lock the view anyway.
      if (err.status !== 401) this.announce({ message: err.message, kind: 'error' });
    }
    this.dispatchEvent(new CustomEvent('hp-locked', { bubbles: true }));
  }

  /** Shows a status line; `action` ({label, run}) adds a button such as Undo. */
  announce({ message, kind = 'info', action = null }) {
    clearTimeout(this.toastTimer);
    this.toast.replaceChildren(h('span', {}, message));
    this.toast.dataset.kind = kind;
    if (action) {
      this.toast.append(h('button', {
        type: 'button', class: 'toast-action',
        onclick: () => { this.toast.replaceChildren(); action.run(); },
      }, action.label));
    }
    this.toast.classList.add('visible');
    this.toastTimer = setTimeout(() => {
      this.toast.classList.remove('visible');
      this.toast.replaceChildren();
    }, kind === 'error' ? 9000 : 6000);
  }

  /** Keyboard shortcuts (desktop). Off while typing and while a sheet is open. */
  keydown(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (sheetOpen()) return; // <dialog> handles its own Escape
    if (event.key === 'Escape') {
      if (isTyping(event.target)) {
        event.target.blur();
        return;
      }
      if (this.dataset.drawer === 'open' && !WIDE_DRAWER.matches) {
        this.toggleDrawer(false);
      } else if (this.dataset.view === 'list' && this.list.selecting()) {
        this.list.selection.clear({ focus: true });
      } else if (this.dataset.view === 'reader') {
        this.back();
      } else if (this.dataset.view === 'page') {
        const route = parseRoute();
        const list = { accounts: accountHash(), rules: RULES_HASH }[route.name];
        this.backFromPage(list && route.id !== null ? list : null);
      } else {
        return;
      }
      event.preventDefault();
      return;
    }
    if (isTyping(event.target)) return;
    const inReader = this.dataset.view === 'reader';
    // A message or a whole conversation: both answer the same keys.
    const openView = this.reader.querySelector('hp-message-view, hp-conversation-view');
    // Messages selected in the list: e, # and u act on all of them.
    const many = !inReader && this.list.selecting();
    // On a screen of its own only the global keys work: the list is not on screen.
    if (this.dataset.view === 'page' && !['c', '/', '?'].includes(event.key)) return;
    let handled = true;
    switch (event.key) {
      case 'j':
      case 'k':
        this.list.move(event.key === 'j' ? 1 : -1, { open: inReader });
        break;
      case 'o':
        this.list.openSelected();
        break;
      case 'Enter':
        // A focused link or button already does its own thing.
        if (event.target instanceof Element && event.target.closest('a, button')) handled = false;
        else this.list.openSelected();
        break;
      case 'e':
        if (inReader && openView) openView.actAndClose(ARCHIVE, 'Archived');
        else if (many) this.list.selection.run('archive');
        else this.list.actOnSelected(ARCHIVE, 'Archived');
        break;
      case '#':
        if (inReader && openView) openView.actAndClose(TRASH, 'Moved to Trash');
        else if (many) this.list.selection.run('trash');
        else this.list.actOnSelected(TRASH, 'Moved to Trash');
        break;
      case 'u':
        if (inReader && openView) openView.toggleRead();
        else if (many) this.list.selection.run('read');
        else this.list.toggleReadSelected();
        break;
      case 'x':
        if (inReader) handled = false;
        else this.list.toggleSelectSelected();
        break;
      case 'c':
        navigate(composeHash());
        break;
      case 'r':
      case 'a':
      case 'f':
        if (!inReader || !openView) handled = false;
        else if (event.key === 'f') openView.forward();
        else openView.reply(event.key === 'a' ? 'all' : 'reply');
        break;
      case '/':
        this.searchInput.focus();
        this.searchInput.select();
        break;
      case '?':
        withHelp((help) => help.showShortcutHelp());
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  }
}

customElements.define('hp-mail', HpMail);
