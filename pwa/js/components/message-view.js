// <hp-message-view data-id="12">: one message: headers, tags (remove / add), the
// body as plain text (or, on request, the server's sanitised HTML in a sandboxed
// iframe), attachments, the raw download and the rest of its thread.
// A whole thread is read in <hp-conversation-view> (conversation-view.js).
//
// Mail content is untrusted: it reaches the page only as text nodes (dom.js `h`),
// and formatted HTML only inside a sandboxed iframe (no scripts, opaque origin).

import { api, urls } from '../api.js';
import { h, icon, replace, srOnly } from '../dom.js';
import { ICONS } from '../icons.js';
import { avatar } from '../avatar.js';
import {
  addressList, fullDate, isoDate, shortDate, senders, size, tagLabel,
} from '../format.js';
import { messageHash, searchHash, threadHash } from '../router.js';
import {
  changeTags, announce, undoAction, MARK_READ, MARK_UNREAD,
} from '../mail-actions.js';
import { confirmSheet } from './sheet.js';
import { deleteForGood } from './delete-for-good.js';
import { pickTag } from './tag-picker.js';
import { backButton, renderToolbar } from './reader-toolbar.js';
import { startReply, chooseForward } from './reply.js';
import { cryptoStatus } from './crypto-status.js';
import { setupMessageCard } from './setup-message.js';

/** Tags not shown as chips: `read` is shown as the unread state instead. */
const HIDDEN_CHIPS = new Set(['read']);

/** Phones: the headers start folded to one line, so the message starts near the top. */
const NARROW = window.matchMedia('(max-width: 40em)');

/** Base: loading, errors and the toolbar shared by both views. */
class ReaderBase extends HTMLElement {
  get itemId() {
    return Number(this.dataset.id);
  }

  disconnectedCallback() {
    if (this.abort) this.abort.abort();
  }

  showLoading() {
    replace(this, h('div', { class: 'reader-toolbar' }, backButton(this)),
      h('p', { class: 'reader-loading', role: 'status' }, 'Loading…'));
  }

  showError(err) {
    if (err.status === 401) return; // the app shows the unlock screen
    const heading = h('h1', { tabindex: '-1', class: 'reader-title' },
      err.status === 404 ? 'Message not found' : 'Could not load this');
    replace(this, h('div', { class: 'reader-toolbar' }, backButton(this)),
      h('div', { class: 'reader-body' }, heading, h('p', { class: 'form-error', role: 'alert' }, err.message)));
    heading.focus();
  }
}

class HpMessageView extends ReaderBase {
  connectedCallback() {
    if (this.loaded) return;
    this.loaded = true;
    this.onTagsChanged = (event) => this.applyTagChange(event.detail);
    window.addEventListener('hp:tags-changed', this.onTagsChanged);
    this.load();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    window.removeEventListener('hp:tags-changed', this.onTagsChanged);
  }

  async load() {
    this.showLoading();
    this.abort = new AbortController();
    try {
      this.msg = await api.message(this.itemId, { signal: this.abort.signal });
    } catch (err) {
      if (err.name !== 'AbortError') this.showError(err);
      return;
    }
    this.render();
    this.titleEl.focus();
    // Opening an unread message marks it read.
    if (this.msg.unread) {
      changeTags([this.msg.id], MARK_READ).catch((err) => {
        if (err.status !== 401) announce(`Could not mark as read: ${err.message}`, 'error');
      });
    }
  }

  render() {
    const m = this.msg;
    // A decrypted message's real subject is the protected one (the outer is often "...").
    const subject = (m.crypto && m.crypto.decrypted && m.crypto.protected_subject) || m.subject || '(no subject)';
    this.titleEl = h('h1', { class: 'reader-title', tabindex: '-1', id: 'reader-title' }, subject);
    this.chips = h('ul', { class: 'chips', 'aria-label': 'Tags' });
    this.toolbar = h('div', { class: 'reader-toolbar', role: 'group', 'aria-label': 'Message actions' });
    this.renderToolbar();
    this.renderChips();

    const headerRows = [
      ['From', addressList(m.from, true)],
      ['To', addressList(m.to, true)],
      ['Cc', addressList(m.cc, true)],
      ['Reply-To', addressList(m.reply_to, true)],
    ].filter(([, v]) => v);
    const headers = h('dl', { class: 'headers', id: `headers-${m.id}` },
      headerRows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      h('dt', {}, 'Date'),
      h('dd', {}, h('time', { datetime: isoDate(m.date) }, fullDate(m.date))),
      h('dt', {}, 'Subject'),
      h('dd', {}, subject));

    const article = h('article', { class: 'message', 'aria-labelledby': 'reader-title' },
      this.titleEl,
      this.headerSummary(headers),
      headers,
      cryptoStatus(m),
      m.setup_message ? setupMessageCard(m) : null,
      h('section', { class: 'tag-section', 'aria-label': 'Tags' }, this.chips),
      m.malformed ? h('p', { class: 'notice' },
        'This message is not well formed; what could be read is shown.') : null,
      this.bodySection(),
      this.attachmentSection(),
      this.threadSection());
    replace(this, this.toolbar, h('div', { class: 'reader-body' }, article));
  }

  renderToolbar() {
    renderToolbar(this, this.toolbar);
  }

  /**
   * The headers folded to one line (the sender's avatar and name, the date) that
   * unfolds `headers` (From, To, Cc, Date…) on a tap; folded at first on a phone.
   */
  headerSummary(headers) {
    const m = this.msg;
    const open = !NARROW.matches;
    headers.hidden = !open;
    const button = h('button', {
      type: 'button', class: 'header-summary', 'aria-expanded': open ? 'true' : 'false', 'aria-controls': headers.id,
      title: 'Show or hide the details',
      onclick: () => {
        const now = button.getAttribute('aria-expanded') !== 'true';
        button.setAttribute('aria-expanded', now ? 'true' : 'false');
        headers.hidden = !now;
      },
    },
    avatar(m.from),
    h('span', { class: 'header-summary-text' },
      h('span', { class: 'header-from' }, senders(m)),
      h('span', { class: 'header-meta' },
        (m.to || []).length ? `to ${addressList(m.to)} \u00b7 ` : '',
        h('time', { datetime: isoDate(m.date), title: fullDate(m.date) }, shortDate(m.date)))),
    srOnly(', details'),
    icon(ICONS.expand, 'icon header-chevron'));
    return button;
  }

  renderChips() {
    const tags = (this.msg.tags || []).filter((t) => !HIDDEN_CHIPS.has(t));
    replace(this.chips, tags.length
      ? tags.map((t) => h('li', { class: 'chip' },
        h('a', { href: searchHash(t === 'inbox' ? 'in:inbox' : `tag:${t}`), class: 'chip-link' }, tagLabel(t)),
        h('button', {
          type: 'button', class: 'chip-remove', 'aria-label': `Remove tag ${t}`, title: `Remove tag ${t}`,
          onclick: () => this.act({ add: [], remove: [t] }, `Removed tag ${t}`),
        }, icon(ICONS.close))))
      : h('li', { class: 'chip-none' }, 'No tags'),
    h('li', {}, h('button', {
      type: 'button', class: 'chip chip-add', onclick: () => this.addTag(),
    }, icon(ICONS.plus), 'Add tag')));
  }

  /** Asks for a tag (the existing ones, or a new name) and adds it to this message. */
  async addTag() {
    const name = await pickTag({ title: 'Add a tag', fieldLabel: 'Add a tag to this message' });
    if (name) await this.act({ add: [name], remove: [] }, `Tagged ${name}`);
  }

  bodySection() {
    const body = this.msg.body || { text: '', has_html: false };
    const text = h('pre', { class: 'body-text', tabindex: '0', 'aria-label': 'Message text' },
      (body.text || '').replace(/\s+$/, ''));
    const section = h('section', { class: 'body-section', 'aria-label': 'Message body' });
    if (!body.has_html) {
      section.append(text);
      return section;
    }
    // The formatted view is the server's sanitised HTML, in a sandbox with no scripts
    // and an opaque origin; nothing in it can reach this page or the session. Links
    // may open in a new tab (popups), outside the sandbox, with no referrer.
    let frame = null;
    const PLAIN_HINT = 'Plain text is shown; the formatted view loads no remote content.';
    const FORMATTED_HINT = 'The formatted view is shown, sanitised: no scripts, no remote content.';
    const hint = h('span', { class: 'field-hint' }, PLAIN_HINT);
    const toggle = h('button', {
      type: 'button', class: 'button', 'aria-pressed': 'false',
      onclick: () => {
        const on = toggle.getAttribute('aria-pressed') !== 'true';
        toggle.setAttribute('aria-pressed', on ? 'true' : 'false');
        hint.textContent = on ? FORMATTED_HINT : PLAIN_HINT;
        if (on) {
          frame = frame || h('iframe', {
            class: 'body-frame', sandbox: 'allow-popups allow-popups-to-escape-sandbox', referrerpolicy: 'no-referrer',
            src: urls.html(this.msg.id), title: 'Formatted message (sandboxed)', loading: 'lazy',
          });
          text.replaceWith(frame);
        } else if (frame) {
          frame.replaceWith(text);
        }
      },
    }, 'Formatted view');
    section.append(h('div', { class: 'body-switch' }, toggle, hint), text);
    return section;
  }

  attachmentSection() {
    // The signature part of a signed message is what the status line reports on, not
    // something to open. Each attachment keeps its index: it names its download.
    const signed = Boolean(this.msg.crypto);
    const list = (this.msg.attachments || [])
      .filter((a) => !(signed && String(a.content_type || '').toLowerCase() === 'application/pgp-signature'));
    if (list.length === 0) return null;
    return h('section', { class: 'attachments', 'aria-labelledby': 'att-heading' },
      h('h2', { id: 'att-heading' }, `Attachments (${list.length})`),
      h('ul', { class: 'att-list' }, list.map((a) => this.attachmentRow(a))));
  }

  attachmentRow(att) {
    const name = att.filename || `attachment-${att.index + 1}`;
    const risky = att.risk && att.risk.level && att.risk.level !== 'low';
    const reasons = risky && Array.isArray(att.risk.reasons) ? att.risk.reasons.map(String) : [];
    const link = h('a', {
      class: 'button att-download', href: urls.attachment(this.msg.id, att.index), download: name,
      'aria-label': `Download ${name}`,
    }, icon(ICONS.download), 'Download');
    if (risky) {
      // Ask first; after a yes, the same click goes through.
      let confirmed = false;
      link.addEventListener('click', async (event) => {
        if (confirmed) { confirmed = false; return; }
        event.preventDefault();
        const ok = await confirmSheet({
          title: 'Download a risky attachment?',
          message: `“${name}” could harm your device if opened (risk: ${att.risk.level}).`,
          details: reasons,
          confirmLabel: 'Download anyway',
          danger: true,
        });
        if (ok) {
          confirmed = true;
          link.click();
        }
      });
    }
    return h('li', { class: risky ? 'att risky' : 'att' },
      icon(risky ? ICONS.warning : ICONS.attachment, 'icon att-kind'),
      h('div', { class: 'att-info' },
        h('span', { class: 'att-name' }, name),
        h('span', { class: 'att-meta' }, `${att.content_type || 'unknown type'} · ${size(att.size)}`),
        risky ? h('span', { class: 'att-risk' }, `Risk ${att.risk.level}: ${reasons.join('; ') || 'be careful'}`) : null),
      link);
  }

  threadSection() {
    const thread = this.msg.thread || [];
    if (thread.length <= 1) return null;
    return h('section', { class: 'thread', 'aria-labelledby': 'thread-heading' },
      h('div', { class: 'thread-head' },
        h('h2', { id: 'thread-heading' },
          `Conversation (${this.msg.thread_total || thread.length} messages)`),
        h('a', { href: threadHash(this.msg.thread_id), class: 'thread-open' }, 'Show the whole conversation')),
      h('ol', { class: 'thread-list' }, thread.map((s) => threadItem(s, s.id === this.msg.id))));
  }

  // --- actions ----------------------------------------------------------------

  /** Applies a tag change to this message; resolves true on success. */
  async act(change, done, action = null) {
    try {
      await changeTags([this.msg.id], change);
      announce(done, 'info', action);
      return true;
    } catch (err) {
      if (err.status !== 401) announce(err.message, 'error');
      return false;
    }
  }

  /**
   * Archive, Trash and Spam close the message: it has left the folder being read.
   * The notice offers Undo, which puts back exactly the tags this change altered.
   */
  async actAndClose(change, done) {
    const had = new Set(this.msg.tags);
    const undo = {
      add: change.remove.filter((t) => had.has(t)),
      remove: change.add.filter((t) => !had.has(t)),
    };
    if (await this.act(change, done, undoAction([this.msg.id], undo))) {
      this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true }));
    }
  }

  /**
   * Mail in the trash or spam: deleted for good after a confirm, then back to the
   * list. Refused (moved out of the trash meanwhile): shown again as it is now.
   */
  async deleteForGood() {
    if (!this.msg) return;
    const outcome = await deleteForGood([this.msg.id]);
    if (outcome === 'deleted') this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true }));
    else if (outcome === 'refused' && this.isConnected) this.load();
  }

  /** Reply (`reply`) or reply to all (`all`): the server makes the draft, compose opens it. */
  reply(mode) {
    if (this.msg) startReply(this.msg.id, mode);
  }

  forward() {
    if (this.msg) chooseForward(this.msg.id);
  }

  toggleRead() {
    if (!this.msg) return;
    if (this.msg.unread) this.act(MARK_READ, 'Marked as read');
    else this.act(MARK_UNREAD, 'Marked as unread');
  }

  applyTagChange({ ids, add = [], remove = [] }) {
    if (!this.msg || !ids.includes(this.msg.id)) return;
    const tags = new Set(this.msg.tags);
    add.forEach((t) => tags.add(t));
    remove.forEach((t) => tags.delete(t));
    this.msg.tags = [...tags];
    this.msg.unread = !tags.has('read');
    // The toolbar keeps the keyboard focus on the button that was pressed.
    this.renderToolbar();
    this.renderChips();
  }
}

/** One message of a thread list: a link unless it is the one being read. */
function threadItem(s, current) {
  const content = [
    h('span', { class: 'msg-line' },
      s.unread ? [h('span', { class: 'unread-dot', 'aria-hidden': 'true' }), srOnly('Unread: ')] : null,
      h('span', { class: 'msg-from' }, senders(s)),
      h('time', { class: 'msg-date', datetime: isoDate(s.date) }, shortDate(s.date))),
    h('span', { class: 'msg-subject' }, s.subject || '(no subject)'),
    h('span', { class: 'msg-snippet' }, s.snippet || ''),
  ];
  return h('li', { class: s.unread ? 'thread-item unread' : 'thread-item' }, current
    ? h('div', { class: 'thread-current', 'aria-current': 'true' }, content, srOnly(' (this message)'))
    : h('a', { class: 'thread-link', href: messageHash(s.id) }, content));
}

customElements.define('hp-message-view', HpMessageView);
