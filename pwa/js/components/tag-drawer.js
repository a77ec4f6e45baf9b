// <hp-tag-drawer>: Inbox, All mail, Drafts, Outbox, Spam and Trash, the saved searches
// (saved-searches.js), the other tags with unread counts, the "Manage tags" sheet, Address book,
// Accounts, Import mail, Remote access and Settings (marked while the box's last check found
// damage, integrity.js). Counts come from GET /api/v1/tags and GET /api/v1/saved-searches and
// are refreshed whenever tags change anywhere in the app, and when new mail arrives.
// The tag manager and the Settings sheet load when first opened (views.js withModule).

import { api } from '../api.js';
import { h, icon, replace, srOnly } from '../dom.js';
import { ICONS } from '../icons.js';
import {
  searchHash, accountHash, contactHash, IMPORT_HASH, REMOTE_HASH,
} from '../router.js';
import { tagLabel } from '../format.js';
import { setKnownTags } from '../tag-store.js';
import { clearUnread, showUnread } from '../unread.js';
import { needsAttention } from '../integrity.js';
import { SavedSearchesSection, forgetSavedSearches } from './saved-searches.js';
import { withModule } from './views.js';

/** Tags with their own fixed entry, or not shown as a tag at all. */
const SPECIAL = new Set(['inbox', 'read', 'spam', 'trash']);

class HpTagDrawer extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.tags = [];
    this.current = '';
    this.currentPage = null;
    this.fixed = h('ul', { class: 'nav-list' });
    this.others = h('ul', { class: 'nav-list', 'aria-labelledby': 'tags-heading' });
    this.error = h('p', { class: 'nav-error', role: 'alert', hidden: true });
    this.saved = new SavedSearchesSection({ isCurrent: (query) => normalise(query) === this.current });
    this.settingsMark = h('span', { class: 'nav-alert', hidden: true },
      icon(ICONS.warning), srOnly(', damaged data found'));
    this.append(
      h('h2', { class: 'visually-hidden' }, 'Folders'),
      this.fixed,
      this.saved.el,
      h('h2', { id: 'tags-heading', class: 'nav-heading' }, 'Tags'),
      this.others,
      this.error,
      h('button', {
        type: 'button', class: 'button nav-manage',
        onclick: () => withModule(() => import('./tag-manager.js'), (m) => m.openTagManager()),
      }, icon(ICONS.settings), 'Manage tags'),
      h('h2', { class: 'visually-hidden' }, 'Settings'),
      h('ul', { class: 'nav-list nav-settings' },
        this.pageEntry('Address book', 'contacts', contactHash(), ICONS.contacts),
        this.pageEntry('Accounts', 'accounts', accountHash(), ICONS.account),
        this.pageEntry('Import mail', 'import', IMPORT_HASH, ICONS.upload),
        this.pageEntry('Remote access', 'remote', REMOTE_HASH, ICONS.remote),
        h('li', {}, h('button', {
          type: 'button', class: 'nav-item nav-button',
          onclick: () => withModule(() => import('./settings-sheet.js'), (m) => m.openSettings()),
        }, icon(ICONS.settings), h('span', { class: 'nav-label' }, 'Settings'), this.settingsMark))));
    this.refresh = () => this.scheduleLoad();
    window.addEventListener('hp:tags-changed', this.refresh);
    window.addEventListener('hp:tags-edited', this.refresh);
    // New mail changes the unread counts (and the title's).
    window.addEventListener('hp:mail-changed', this.refresh);
    window.addEventListener('hp:saved-searches-changed', this.refresh);
    this.onIntegrity = () => { this.settingsMark.hidden = !needsAttention(); };
    window.addEventListener('hp:integrity', this.onIntegrity);
    this.onIntegrity();
    this.render();
    this.load();
  }

  disconnectedCallback() {
    window.removeEventListener('hp:tags-changed', this.refresh);
    window.removeEventListener('hp:tags-edited', this.refresh);
    window.removeEventListener('hp:mail-changed', this.refresh);
    window.removeEventListener('hp:saved-searches-changed', this.refresh);
    window.removeEventListener('hp:integrity', this.onIntegrity);
    clearTimeout(this.timer);
    clearUnread();
    forgetSavedSearches();
  }

  /** Several changes in a row (e.g. quick archiving) cost one request. */
  scheduleLoad() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 250);
  }

  async load() {
    this.saved.load();
    try {
      const answer = await api.tags();
      this.tags = answer.tags || [];
      setKnownTags(this.tags.map((t) => t.name));
      this.error.hidden = true;
    } catch (err) {
      if (err.status === 401) return;
      this.error.textContent = `Tags could not be loaded: ${err.message}`;
      this.error.hidden = false;
    }
    this.render();
  }

  /**
   * Marks the entry of the current query (compared in lower case, spaces squeezed),
   * or with `page` the entry of that screen (drafts, outbox, accounts).
   */
  setCurrent(query, page = null) {
    this.current = page ? null : normalise(query);
    this.currentPage = page;
    for (const link of this.querySelectorAll('a[data-query], a[data-page]')) {
      const on = link.dataset.page ? link.dataset.page === page : normalise(link.dataset.query) === this.current;
      if (on) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  }

  pageEntry(label, page, href, iconPath) {
    const link = h('a', { class: 'nav-item', href, dataset: { page } },
      icon(iconPath), h('span', { class: 'nav-label' }, label));
    if (page === this.currentPage) link.setAttribute('aria-current', 'page');
    return h('li', {}, link);
  }

  entry(label, query, iconPath, unread = 0) {
    const link = h('a', { class: 'nav-item', href: searchHash(query), dataset: { query } },
      icon(iconPath),
      h('span', { class: 'nav-label' }, label),
      unread > 0 ? h('span', { class: 'count' }, String(unread), srOnly(' unread')) : null);
    if (normalise(query) === this.current) link.setAttribute('aria-current', 'page');
    return h('li', {}, link);
  }

  render() {
    const byName = new Map(this.tags.map((t) => [t.name, t]));
    const unread = (name) => (byName.get(name) ? byName.get(name).unread : 0);
    showUnread(unread('inbox'));
    replace(this.fixed,
      this.entry('Inbox', 'in:inbox', ICONS.inbox, unread('inbox')),
      this.entry('All mail', '', ICONS.allMail),
      this.pageEntry('Drafts', 'drafts', '#/drafts', ICONS.draft),
      this.pageEntry('Outbox', 'outbox', '#/outbox', ICONS.outbox),
      this.entry('Spam', 'in:spam', ICONS.spam, unread('spam')),
      this.entry('Trash', 'in:trash', ICONS.trash));
    const others = this.tags.filter((t) => !SPECIAL.has(t.name));
    replace(this.others, others.length
      ? others.map((t) => this.entry(tagLabel(t.name), `tag:${t.name}`, ICONS.tag, t.unread))
      : h('li', { class: 'nav-empty' }, 'No tags yet'));
  }
}

function normalise(query) {
  return String(query || '').trim().replace(/\s+/g, ' ').toLowerCase();
}

customElements.define('hp-tag-drawer', HpTagDrawer);
