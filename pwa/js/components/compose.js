// Writing mail: <hp-compose> (a new message or a draft) and <hp-drafts> (the list of
// drafts). The reader's reply / reply all / forward start in reply.js.
//
// A new message becomes a draft (POST /drafts) at its first edit; from then on every
// edit is saved (PUT /drafts/{id}) 1.5 s after the typing stops, and when the screen
// is left. Replies and forwards are drafts from the start: the server fills in the
// recipients, the subject and the quoted text (POST /drafts with `reply`).
//
// From (compose-from.js): the identities whose account can send; a new message
// shows the default identity's signature under "-- " at once (so it is created with
// `add_signature: false`); a reply gets its identity's signature from the server.
// Picking another identity swaps the signatures.
//
// Encryption (compose-crypto.js): the Encrypt switch below the recipients shows what
// GET /drafts/{id}/crypto says about the saved draft. It is asked again after every
// save, and 600 ms after the recipients change (the draft is saved first, since the
// server judges the recipients it has). Flipping the switch sets the draft's
// `encrypt` (null until then: the server follows its recommendation) and saves.
// When the server warns (an answer to encrypted mail that would go unencrypted),
// Send asks first.

import { api } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { shortDateTime, size } from '../format.js';
import { composeHash, navigate } from '../router.js';
import { announce } from '../mail-actions.js';
import { lastAccounts } from '../poll.js';
import { addressField } from './address-field.js';
import { confirmSheet } from './sheet.js';
import { EncryptPanel } from './compose-crypto.js';
import { FromPicker, swapSignature, withSignature } from './compose-from.js';

const AUTOSAVE_MS = 1500;
/** Wait after a change of To, Cc or Bcc before asking about encryption again. */
const CRYPTO_RECHECK_MS = 600;
const MAX_ATTACHMENT = 25 * 1024 * 1024; // the server's limit per attachment

/** A file's bytes as base64 (without the data: prefix). */
function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error || new Error('The file could not be read.'));
    reader.readAsDataURL(file);
  });
}

class HpCompose extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.draft = null; // the server's copy: its id and attachments
    this.dirty = false;
    this.closed = false; // sent or discarded: nothing more to save
    this.queue = Promise.resolve(); // saves run one after the other
    this.encryptChoice = null; // the draft's `encrypt`: true, false, or null (the recommendation)
    this.build();
    this.onHide = () => { if (document.visibilityState === 'hidden') this.save(); };
    document.addEventListener('visibilitychange', this.onHide);
    window.addEventListener('pagehide', this.onHide);
    this.load();
  }

  disconnectedCallback() {
    document.removeEventListener('visibilitychange', this.onHide);
    window.removeEventListener('pagehide', this.onHide);
    clearTimeout(this.cryptoTimer);
    this.crypto.dispose();
    // Leaving the screen saves what was typed (the request outlives the element).
    if (this.dirty) this.save();
  }

  build() {
    this.heading = h('h1', { class: 'page-title', id: 'compose-title', tabindex: '-1' }, 'New message');
    this.status = h('span', { class: 'save-state', role: 'status' });
    this.sendButton = h('button', { type: 'submit', class: 'button primary', form: 'compose-form' },
      icon(ICONS.send), 'Send');
    this.discardButton = h('button', { type: 'button', class: 'tool-button', onclick: () => this.discard() },
      icon(ICONS.trash), h('span', {}, 'Discard'));
    this.errorLine = h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });

    this.from = new FromPicker((previous, next) => this.fromChanged(previous, next));
    this.to = addressField('To');
    this.cc = addressField('Cc');
    this.bcc = addressField('Bcc');
    this.copies = h('div', { class: 'copies', hidden: true }, this.cc.wrap, this.bcc.wrap);
    this.copiesButton = h('button', {
      type: 'button', class: 'link-button', 'aria-expanded': 'false',
      onclick: () => this.showCopies(true),
    }, 'Add Cc and Bcc');
    this.crypto = new EncryptPanel({
      onToggle: (on) => this.toggleEncrypt(on),
      choice: () => this.encryptChoice,
    });
    this.subject = h('input', { id: 'compose-subject', type: 'text', name: 'subject', autocomplete: 'off' });
    this.body = h('textarea', { id: 'compose-body', name: 'body', class: 'compose-body', rows: '14' });
    // Untouched, a new message holds only its signature: writing starts above it.
    this.body.addEventListener('focus', () => setTimeout(() => {
      if (!this.draft && !this.dirty && this.body.value.startsWith('\n\n-- \n')) this.body.setSelectionRange(0, 0);
    }, 0));

    this.fileInput = h('input', {
      type: 'file', multiple: true, hidden: true,
      onchange: () => { this.addFiles([...this.fileInput.files]); this.fileInput.value = ''; },
    });
    this.attachments = h('ul', { class: 'att-list', 'aria-label': 'Attachments' });
    this.attachStatus = h('p', { class: 'field-hint', role: 'status' });
    this.attachButton = h('button', { type: 'button', class: 'button', onclick: () => this.fileInput.click() },
      icon(ICONS.attachment), 'Attach files');

    this.form = h('form', {
      id: 'compose-form', class: 'compose-form', novalidate: true,
      onsubmit: (event) => { event.preventDefault(); this.sendNow(); },
    },
    this.errorLine,
    this.from.el,
    this.to.wrap,
    h('p', { class: 'copies-toggle' }, this.copiesButton),
    this.copies,
    this.crypto.el,
    h('div', { class: 'field' }, h('label', { for: 'compose-subject' }, 'Subject'), this.subject),
    h('div', { class: 'field' }, h('label', { for: 'compose-body' }, 'Message'), this.body),
    h('section', { class: 'compose-attachments', 'aria-labelledby': 'compose-att-heading' },
      h('h2', { id: 'compose-att-heading' }, 'Attachments'),
      this.attachments,
      this.attachStatus,
      this.attachButton,
      this.fileInput));

    this.form.addEventListener('input', (event) => {
      this.changed();
      if ([this.to.input, this.cc.input, this.bcc.input].includes(event.target)) this.recipientsChanged();
    });
    // Ctrl+Enter (Cmd+Enter) sends, as in most mail programs.
    this.form.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.sendNow();
      }
    });

    replace(this,
      h('div', { class: 'reader-toolbar compose-toolbar' },
        h('button', {
          type: 'button', class: 'icon-button back-button', 'aria-label': 'Back (the draft is kept)', title: 'Back (Escape)',
          onclick: () => this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true })),
        }, icon(ICONS.back)),
        this.status,
        this.discardButton,
        this.sendButton),
      h('div', { class: 'page-body' }, this.heading, this.form));
  }

  showCopies(on) {
    this.copies.hidden = !on;
    this.copiesButton.hidden = on;
    this.copiesButton.setAttribute('aria-expanded', on ? 'true' : 'false');
    if (on && document.activeElement === this.copiesButton) this.cc.input.focus();
  }

  async load() {
    const id = this.dataset.id ? Number(this.dataset.id) : null;
    this.form.setAttribute('aria-busy', 'true');
    const [accounts, identities, draft] = await Promise.all([
      this.loadAccounts(),
      api.identities().then((a) => a.identities || [], () => []),
      id === null ? null : api.draft(id).catch((err) => ({ error: err })),
    ]);
    this.form.removeAttribute('aria-busy');
    if (draft && draft.error) {
      if (draft.error.status === 401) return;
      this.heading.textContent = 'Draft not found';
      this.form.hidden = true;
      this.discardButton.hidden = true;
      this.sendButton.hidden = true;
      this.heading.after(h('p', { class: 'form-error', role: 'alert' }, draft.error.status === 404
        ? 'This draft no longer exists: it was sent or discarded.' : draft.error.message));
      this.heading.focus();
      return;
    }
    this.from.fill(identities, accounts, draft);
    if (draft) this.fill(draft);
    else {
      // A new message shows its signature at once; the draft is made at the first edit.
      const from = this.from.identity();
      this.body.value = withSignature('', from ? from.signature : '', false);
    }
    this.focusFirst();
  }

  async loadAccounts() {
    const known = lastAccounts();
    if (known && known.accounts) return known.accounts;
    try {
      return (await api.accounts()).accounts || [];
    } catch {
      return [];
    }
  }

  /** Another identity was picked: its signature replaces the old one's. */
  fromChanged(previous, next) {
    const answering = Boolean(this.draft && (this.draft.in_reply_to || this.draft.forward));
    this.body.value = swapSignature(this.body.value, previous ? previous.signature : '',
      next ? next.signature : '', answering);
    this.changed();
  }

  /** Puts a draft from the server into the form (only when it is opened). */
  fill(draft) {
    this.draft = draft;
    this.to.set(draft.to);
    this.cc.set(draft.cc);
    this.bcc.set(draft.bcc);
    this.showCopies((draft.cc || []).length + (draft.bcc || []).length > 0);
    this.subject.value = draft.subject || '';
    this.body.value = draft.body || '';
    this.encryptChoice = typeof draft.encrypt === 'boolean' ? draft.encrypt : null;
    this.crypto.load(draft.id);
    if (draft.forward) this.heading.textContent = 'Forward';
    else if (draft.in_reply_to) this.heading.textContent = 'Reply';
    else this.heading.textContent = 'Draft';
    this.renderAttachments();
    this.setStatus(draft.updated_at ? `Saved ${shortDateTime(draft.updated_at)}` : '');
  }

  /**
   * A reply starts in the text, above the quote; anything else at the first empty
   * field. The text is entered at its top (above the signature).
   */
  focusFirst() {
    if (this.draft && this.draft.in_reply_to && this.to.get().length) {
      this.bodyAtTop();
    } else if (!this.to.get().length) {
      this.to.input.focus();
    } else if (!this.subject.value) {
      this.subject.focus();
    } else {
      this.bodyAtTop();
    }
  }

  bodyAtTop() {
    this.body.focus();
    this.body.setSelectionRange(0, 0);
    this.body.scrollTop = 0;
  }

  fields() {
    const from = this.from.identity();
    return {
      identity_id: from ? from.id : null,
      account_id: from ? from.account_id : null,
      to: this.to.get(),
      cc: this.cc.get(),
      bcc: this.bcc.get(),
      subject: this.subject.value,
      body: this.body.value,
      encrypt: this.encryptChoice,
    };
  }

  setStatus(text, error = false) {
    this.status.textContent = text;
    this.status.classList.toggle('error', error);
  }

  showError(message) {
    this.errorLine.textContent = message || '';
    this.errorLine.hidden = !message;
    if (message) this.errorLine.focus();
  }

  // --- saving ---------------------------------------------------------------

  changed() {
    if (this.closed) return;
    this.dirty = true;
    this.setStatus('Not saved yet');
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.save(), AUTOSAVE_MS);
  }

  /** Saves now (after any save under way). Resolves true when the server has it all. */
  save({ force = false } = {}) {
    clearTimeout(this.saveTimer);
    this.queue = this.queue.then(() => this.saveNow(force));
    return this.queue;
  }

  async saveNow(force) {
    if (this.closed) return false;
    if (!this.dirty && this.draft && !force) return true;
    if (!this.draft && !this.dirty && !force) return true; // nothing typed: no draft yet
    this.dirty = false;
    this.setStatus('Saving…');
    try {
      const fields = this.fields();
      if (this.draft) {
        this.draft = await api.saveDraft(this.draft.id, fields);
      } else {
        // Its signature is in the text already (shown when the message was opened).
        this.draft = await api.createDraft({ ...fields, add_signature: false });
        // The address now names the draft, so a reload comes back to it.
        window.history.replaceState(window.history.state, '', composeHash(this.draft.id));
      }
      this.renderAttachments();
      if (!this.dirty) this.setStatus('Saved');
      // Whether it will be encrypted depends on what the server now has.
      if (this.isConnected && !this.closed && !this.sending) this.crypto.load(this.draft.id);
      return !this.dirty;
    } catch (err) {
      this.dirty = true;
      if (err.status !== 401) this.setStatus(`Not saved: ${err.message}`, true);
      return false;
    }
  }

  // --- encryption -----------------------------------------------------------

  /** To, Cc or Bcc changed: save and ask about encryption again once typing pauses. */
  recipientsChanged() {
    clearTimeout(this.cryptoTimer);
    this.cryptoTimer = setTimeout(() => {
      if (this.closed) return;
      // The server judges the saved recipients: a save asks again when it is done.
      if (this.dirty) this.save();
      else if (this.draft) this.crypto.load(this.draft.id);
    }, CRYPTO_RECHECK_MS);
  }

  /** The Encrypt switch was flipped: the choice is saved now (and the answer follows). */
  toggleEncrypt(on) {
    if (this.closed) return;
    this.encryptChoice = on;
    this.changed();
    this.save();
  }

  // --- attachments ----------------------------------------------------------

  renderAttachments() {
    const list = (this.draft && this.draft.attachments) || [];
    replace(this.attachments, list.map((a) => h('li', { class: 'att' },
      icon(ICONS.attachment, 'icon att-kind'),
      h('div', { class: 'att-info' },
        h('span', { class: 'att-name' }, a.name),
        h('span', { class: 'att-meta' }, `${a.content_type || 'unknown type'} · ${size(a.size)}`)),
      h('button', {
        type: 'button', class: 'icon-button', 'aria-label': `Remove ${a.name}`, title: 'Remove',
        onclick: () => this.removeAttachment(a),
      }, icon(ICONS.close)))));
    this.attachments.hidden = list.length === 0;
  }

  async addFiles(files) {
    for (const file of files) {
      if (file.size > MAX_ATTACHMENT) {
        this.showError(`“${file.name}” is ${size(file.size)}; attachments can be at most ${size(MAX_ATTACHMENT)}.`);
        continue;
      }
      // Attachments belong to a draft: make one if this is a fresh message.
      if (!this.draft && !(await this.save({ force: true }))) return;
      this.attachStatus.textContent = `Attaching ${file.name} (${size(file.size)})…`;
      try {
        const data = await readBase64(file);
        const draft = await api.attach(this.draft.id, {
          name: file.name, content_type: file.type || 'application/octet-stream', data,
        });
        this.draft.attachments = draft.attachments;
        this.renderAttachments();
        this.attachStatus.textContent = `Attached ${file.name}.`;
        if (!this.dirty) this.setStatus('Saved');
      } catch (err) {
        this.attachStatus.textContent = '';
        if (err.status !== 401) this.showError(`“${file.name}” could not be attached: ${err.message}`);
      }
    }
  }

  async removeAttachment(att) {
    try {
      const draft = await api.detach(this.draft.id, att.index);
      this.draft.attachments = draft.attachments;
      this.renderAttachments();
      this.attachStatus.textContent = `Removed ${att.name}.`;
      this.attachButton.focus(); // the removed row's button is gone
    } catch (err) {
      if (err.status !== 401) this.showError(err.message);
    }
  }

  // --- send and discard -----------------------------------------------------

  async sendNow() {
    if (this.sending || this.closed) return;
    const f = this.fields();
    if (f.to.length + f.cc.length + f.bcc.length === 0) {
      this.showError('Add at least one recipient.');
      this.to.input.focus();
      return;
    }
    if (f.identity_id === null) {
      // The notice under From already says it, with the way out: point at it
      // rather than repeat it as an error.
      this.showError('');
      this.from.showNote();
      return;
    }
    if (!f.subject.trim() && !(await confirmSheet({
      title: 'Send without a subject?', message: 'The message has no subject.', confirmLabel: 'Send anyway',
    }))) {
      this.subject.focus();
      return;
    }
    const opener = document.activeElement; // disabling the button below takes its focus
    let refocus = null;
    this.sending = true;
    this.sendButton.disabled = true;
    this.showError('');
    try {
      this.dirty = true; // the server must have exactly what is on screen
      if (!(await this.save({ force: true }))) throw new Error(this.status.textContent || 'The draft could not be saved.');
      // The latest word on encryption, for exactly what is saved.
      clearTimeout(this.cryptoTimer);
      const crypto = await this.crypto.load(this.draft.id);
      if (crypto && crypto.warning) {
        const ok = await confirmSheet({
          title: 'Send unencrypted?',
          message: crypto.warning,
          confirmLabel: 'Send unencrypted',
          danger: true,
        });
        if (!ok || this.closed) {
          refocus = opener instanceof HTMLElement && opener !== document.body ? opener : this.crypto.input;
          return;
        }
      }
      await api.send(this.draft.id);
      this.closed = true;
      this.dirty = false;
      announce(`Sending “${f.subject.trim() || '(no subject)'}”.`, 'info',
        { label: 'Show outbox', run: () => navigate('#/outbox') });
      this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true }));
    } catch (err) {
      if (err.status !== 401) this.showError(err.message);
    } finally {
      this.sending = false;
      this.sendButton.disabled = false;
      // Not sent after all: back to where the person was (else to the Encrypt switch).
      if (refocus && refocus.isConnected && !refocus.disabled) refocus.focus();
      else if (refocus) this.crypto.state.focus();
    }
  }

  async discard() {
    const ok = await confirmSheet({
      title: 'Discard this message?', message: 'The draft and its attachments are deleted.',
      confirmLabel: 'Discard', danger: true,
    });
    if (!ok) return;
    clearTimeout(this.saveTimer);
    await this.queue; // a save under way may be creating the draft
    this.closed = true;
    this.dirty = false;
    try {
      if (this.draft) await api.deleteDraft(this.draft.id);
      announce('Draft discarded.');
      this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true }));
    } catch (err) {
      this.closed = false;
      if (err.status !== 401) this.showError(err.message);
    }
  }
}

/** <hp-drafts>: the saved drafts, newest first; a draft opens in <hp-compose>. */
class HpDrafts extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.heading = h('h1', { class: 'page-title', id: 'drafts-title', tabindex: '-1' }, 'Drafts');
    this.list = h('ul', { class: 'msg-list', 'aria-labelledby': 'drafts-title' });
    this.note = h('p', { class: 'list-empty', role: 'status' }, 'Loading…');
    replace(this, h('div', { class: 'page-head' }, this.heading,
      h('a', { class: 'button primary', href: composeHash() }, icon(ICONS.edit), 'New message')),
    this.note, this.list);
    this.load();
  }

  async load() {
    try {
      const drafts = (await api.drafts()).drafts || [];
      this.note.textContent = drafts.length ? '' : 'No drafts.';
      this.note.hidden = drafts.length > 0;
      replace(this.list, drafts.map((d) => this.row(d)));
    } catch (err) {
      if (err.status === 401) return;
      this.note.textContent = `Drafts could not be loaded: ${err.message}`;
    }
  }

  row(d) {
    const subject = d.subject || '(no subject)';
    const to = [...(d.to || []), ...(d.cc || []), ...(d.bcc || [])].join(', ') || '(no recipients)';
    return h('li', { class: 'msg-row' },
      h('div', { class: 'msg-card' },
        h('a', { class: 'msg-link', href: composeHash(d.id) },
          h('span', { class: 'msg-line' },
            h('span', { class: 'msg-from' }, `To: ${to}`),
            h('span', { class: 'msg-date' }, shortDateTime(d.updated_at))),
          h('span', { class: 'msg-line' }, h('span', { class: 'msg-subject' }, subject),
            (d.attachments || []).length ? icon(ICONS.attachment, 'icon att-icon') : null),
          h('span', { class: 'msg-snippet' }, (d.body || '').slice(0, 200))),
        h('div', { class: 'msg-actions' },
          h('button', {
            type: 'button', class: 'icon-button', 'aria-label': `Delete draft: ${subject}`, title: 'Delete',
            onclick: () => this.remove(d),
          }, icon(ICONS.trash)))));
  }

  async remove(d) {
    const ok = await confirmSheet({
      title: 'Delete this draft?', message: `“${d.subject || '(no subject)'}” and its attachments are deleted.`,
      confirmLabel: 'Delete draft', danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteDraft(d.id);
      announce('Draft deleted.');
      await this.load();
      this.heading.focus();
    } catch (err) {
      if (err.status !== 401) announce(err.message, 'error');
    }
  }
}

customElements.define('hp-compose', HpCompose);
customElements.define('hp-drafts', HpDrafts);
