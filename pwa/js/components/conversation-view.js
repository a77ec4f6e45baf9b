// <hp-conversation-view data-id="10">: a whole thread read as one page, oldest
// first. Read messages are folded to a line (sender, date, first words); unread
// ones and the newest are open, with their text, attachments and OpenPGP state;
// a tap opens or folds any of them. The toolbar acts on the conversation: reply
// to its newest message, archive, trash, report spam, tag or mark unread — on
// every message of the thread at once, with an Undo that restores exactly what
// changed; "Delete for good" deletes, after a confirm, its messages that are in
// the trash or spam (and no other); "Mail like this…" opens a new filter rule for
// the newest message's sender. Opening it marks the conversation read.
//
// Mail content is untrusted: it reaches the page only as text nodes (dom.js `h`);
// the formatted (HTML) view is one tap away in the message's own view.

import { api, urls } from '../api.js';
import { h, icon, replace, srOnly } from '../dom.js';
import { ICONS } from '../icons.js';
import { avatar } from '../avatar.js';
import { addressList, fullDate, isoDate, shortDate, senders, size } from '../format.js';
import { mailLikeThisHash, messageHash, navigate } from '../router.js';
import {
  announce, changeTags, changeThreads, undoDeltas, ARCHIVE, TRASH, SPAM, NOT_SPAM, MARK_READ, MARK_UNREAD,
} from '../mail-actions.js';
import { backButton } from './reader-toolbar.js';
import { menuButton } from './menu-button.js';
import { pickTag } from './tag-picker.js';
import { startReply, chooseForward } from './reply.js';
import { cryptoStatus } from './crypto-status.js';
import { deleteForGood } from './delete-for-good.js';

/** Most unread messages opened at once when a conversation is shown. */
const OPEN_UNREAD = 5;

/** The subject without reply and forward prefixes, for the conversation's title. */
function baseSubject(subject) {
  return (subject || '').replace(/^\s*((re|fwd?|aw|wg|sv|vs)(\[\d+\])?:\s*)+/i, '').trim() || '(no subject)';
}

class HpConversationView extends HTMLElement {
  get threadId() {
    return Number(this.dataset.id);
  }

  connectedCallback() {
    if (this.loaded) return;
    this.loaded = true;
    this.load();
  }

  disconnectedCallback() {
    if (this.abort) this.abort.abort();
  }

  async load() {
    replace(this, h('div', { class: 'reader-toolbar' }, backButton(this)),
      h('p', { class: 'reader-loading', role: 'status' }, 'Loading…'));
    this.abort = new AbortController();
    const messages = [];
    try {
      let cursor = null;
      do {
        const page = await api.thread(this.threadId, cursor, { signal: this.abort.signal });
        messages.push(...(page.messages || []));
        cursor = page.next_cursor || null;
      } while (cursor);
    } catch (err) {
      if (err.name !== 'AbortError') this.showError(err);
      return;
    }
    this.messages = messages;
    this.render();
    this.markRead();
  }

  showError(err) {
    if (err.status === 401) return;
    const heading = h('h1', { tabindex: '-1', class: 'reader-title' },
      err.status === 404 ? 'Conversation not found' : 'Could not load this');
    replace(this, h('div', { class: 'reader-toolbar' }, backButton(this)),
      h('div', { class: 'reader-body' }, heading, h('p', { class: 'form-error', role: 'alert' }, err.message)));
    heading.focus();
  }

  /** Every tag any message of the conversation has. */
  tags() {
    return new Set(this.messages.flatMap((m) => m.tags || []));
  }

  newest() {
    return this.messages[this.messages.length - 1];
  }

  render() {
    const list = this.messages;
    const title = h('h1', { class: 'reader-title', tabindex: '-1', id: 'reader-title' },
      baseSubject(list[0] ? list[0].subject : ''));
    this.toolbar = h('div', { class: 'reader-toolbar', role: 'group', 'aria-label': 'Conversation actions' });
    this.renderToolbar();
    const unread = list.filter((m) => m.unread).length;
    const summary = `${list.length} ${list.length === 1 ? 'message' : 'messages'}`
      + (unread ? `, ${unread} new` : '');
    // Open: the newest, and the newest few unread (a long unread thread would
    // otherwise load every message at once); the others unfold on a tap.
    const unreadIds = list.filter((m) => m.unread).map((m) => m.id).slice(-OPEN_UNREAD);
    this.items = list.map((m, i) => this.item(m, unreadIds.includes(m.id) || i === list.length - 1));
    replace(this, this.toolbar, h('div', { class: 'reader-body' },
      h('article', { class: 'conversation', 'aria-labelledby': 'reader-title' },
        title,
        h('p', { class: 'list-summary' }, summary),
        h('ol', { class: 'conv-list' }, this.items.map((it) => it.el)))));
    title.focus();
  }

  renderToolbar() {
    const tags = this.tags();
    const inInbox = tags.has('inbox');
    const inSpam = tags.has('spam');
    const latest = this.newest();
    const tool = (key, label, iconPath, run, title = label) => h('button', {
      type: 'button', class: 'tool-button', dataset: { key }, title, onclick: run,
    }, icon(iconPath), h('span', {}, label));
    const more = menuButton({
      label: 'More',
      title: 'More actions',
      iconPath: ICONS.more,
      items: [
        { key: 'reply-all', label: 'Reply all', icon: ICONS.replyAll, run: () => startReply(latest.id, 'all') },
        { key: 'forward', label: 'Forward', icon: ICONS.forward, run: () => chooseForward(latest.id) },
        { key: 'unread', label: 'Mark unread', icon: ICONS.markUnread, run: () => this.markUnread() },
        inSpam
          ? { key: 'spam', label: 'Not spam', icon: ICONS.inbox, run: () => this.act(NOT_SPAM, 'Marked as not spam', true) }
          : { key: 'spam', label: 'Report spam', icon: ICONS.spam, run: () => this.act(SPAM, 'Reported as spam', true) },
        { key: 'tag', label: 'Add tag\u2026', icon: ICONS.tag, run: () => this.addTag() },
        (latest.from || []).some((a) => a && a.address) ? {
          key: 'rule', label: 'Mail like this\u2026', icon: ICONS.filter, run: () => navigate(mailLikeThisHash(latest.from)),
        } : null,
        tags.has('trash') || inSpam ? {
          key: 'delete', label: 'Delete for good', icon: ICONS.deleteForever,
          title: 'Its messages in the trash or spam; asks first', run: () => this.deleteForGood(),
        } : null,
      ],
    });
    replace(this.toolbar,
      backButton(this),
      tool('reply', 'Reply', ICONS.reply, () => startReply(latest.id, 'reply'), 'Reply to the newest message'),
      inInbox
        ? tool('archive', 'Archive', ICONS.archive, () => this.act(ARCHIVE, 'Conversation archived', true))
        : tool('archive', 'To Inbox', ICONS.inbox,
          () => this.act({ add: ['inbox'], remove: ['trash', 'spam'] }, 'Moved to Inbox', false)),
      tags.has('trash') ? null
        : tool('trash', 'Trash', ICONS.trash, () => this.act(TRASH, 'Conversation moved to Trash', true)),
      more);
  }

  /** One message of the conversation: a header that folds and unfolds it. */
  item(summary, open) {
    const bodyId = `conv-body-${summary.id}`;
    const body = h('div', { class: 'conv-body', id: bodyId });
    const snippet = h('span', { class: 'conv-snippet' }, summary.snippet || '');
    const head = h('button', {
      type: 'button', class: 'conv-head', 'aria-expanded': 'false', 'aria-controls': bodyId,
      onclick: () => it.toggle(),
    },
    avatar(summary.from, 'avatar conv-avatar'),
    h('span', { class: 'conv-meta' },
      h('span', { class: 'conv-line' },
        summary.unread ? [h('span', { class: 'unread-dot', 'aria-hidden': 'true' }), srOnly('New: ')] : null,
        h('span', { class: 'conv-from' }, senders(summary)),
        h('time', { class: 'msg-date', datetime: isoDate(summary.date) }, shortDate(summary.date))),
      snippet));
    const el = h('li', { class: summary.unread ? 'conv-item unread' : 'conv-item' }, head, body);
    const it = {
      el,
      loaded: false,
      toggle: () => it.set(head.getAttribute('aria-expanded') !== 'true'),
      set: (on) => {
        head.setAttribute('aria-expanded', on ? 'true' : 'false');
        el.classList.toggle('open', on);
        body.hidden = !on;
        snippet.hidden = on;
        if (on && !it.loaded) {
          it.loaded = true;
          this.fill(body, summary);
        }
      },
    };
    it.set(open);
    return it;
  }

  /** Loads one message's content into its folded-open body. */
  async fill(body, summary) {
    replace(body, h('p', { class: 'reader-loading', role: 'status' }, 'Loading…'));
    let m;
    try {
      m = await api.message(summary.id, { signal: this.abort.signal });
    } catch (err) {
      if (err.name === 'AbortError' || err.status === 401) return;
      replace(body, h('p', { class: 'form-error', role: 'alert' }, `This message could not be loaded: ${err.message}`));
      return;
    }
    const text = (m.body && m.body.text ? m.body.text : '').replace(/\s+$/, '');
    const attachments = m.attachments || [];
    replace(body,
      h('dl', { class: 'conv-headers' },
        h('dt', {}, 'To'), h('dd', {}, addressList(m.to, true) || '—'),
        m.cc && m.cc.length ? [h('dt', {}, 'Cc'), h('dd', {}, addressList(m.cc, true))] : null,
        h('dt', {}, 'Date'), h('dd', {}, h('time', { datetime: isoDate(m.date) }, fullDate(m.date)))),
      cryptoStatus(m),
      h('pre', { class: 'body-text conv-text' }, text || (m.body && m.body.has_html ? '' : '(no text)')),
      attachments.length ? h('ul', { class: 'conv-attachments', 'aria-label': 'Attachments' },
        attachments.map((a) => h('li', {},
          h('a', { href: urls.attachment(m.id, a.index), download: a.filename || '' },
            icon(ICONS.attachment), ` ${a.filename || `attachment-${a.index}`} (${size(a.size)})`),
          a.risk && a.risk.level !== 'low' ? h('span', { class: 'error-text' }, ` ${a.risk.level} risk`) : null))) : null,
      h('p', { class: 'conv-open' },
        h('a', { href: messageHash(m.id) },
          m.body && m.body.has_html ? 'Open this message (formatted view, details)' : 'Open this message')));
  }

  /** Marks the whole conversation read, quietly (opening it is reading it). */
  async markRead() {
    if (!this.messages.some((m) => m.unread)) return;
    try {
      await changeThreads([this.threadId], MARK_READ);
    } catch (err) {
      if (err.status !== 401) announce(`Could not mark as read: ${err.message}`, 'error');
    }
  }

  /** Marks the newest message unread, so the conversation shows as new, and goes back. */
  async markUnread() {
    try {
      await changeTags([this.newest().id], MARK_UNREAD);
      announce('Marked as unread');
      this.close();
    } catch (err) {
      if (err.status !== 401) announce(err.message, 'error');
    }
  }

  /** Applies `change` to every message; `close` goes back to the list after it. */
  async act(change, done, close) {
    try {
      const result = await changeThreads([this.threadId], change);
      announce(done, 'info', undoDeltas(result.changes));
      if (close) {
        this.close();
      } else {
        await this.load();
      }
    } catch (err) {
      if (err.status !== 401) announce(err.message, 'error');
    }
  }

  // The keyboard's r, a, f, u, e and # (mail-view.js), as on a single message.
  reply(mode) {
    startReply(this.newest().id, mode);
  }

  forward() {
    chooseForward(this.newest().id);
  }

  toggleRead() {
    this.markUnread();
  }

  actAndClose(change, done) {
    return this.act(change, done, true);
  }

  async addTag() {
    const tag = await pickTag({ title: 'Tag this conversation' });
    if (tag) await this.act({ add: [tag], remove: [] }, `Tagged ${tag}`, false);
  }

  /** Its messages in the trash or spam, deleted for good after a confirm; the rest stay. */
  async deleteForGood() {
    const ids = this.messages.filter((m) => (m.tags || []).some((t) => t === 'trash' || t === 'spam')).map((m) => m.id);
    const outcome = await deleteForGood(ids);
    if (outcome === 'deleted' && ids.length === this.messages.length) this.close();
    else if (outcome !== 'cancelled' && this.isConnected) await this.load();
  }

  close() {
    this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true }));
  }
}

customElements.define('hp-conversation-view', HpConversationView);
