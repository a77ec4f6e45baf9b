// <hp-import>: import mail from files on this device (#/import). Each chosen file
// is uploaded on its own (POST /imports/uploads, with upload progress), then one
// import of them all starts (POST /imports) and is polled (GET /imports/{id}) for
// progress and its report: imported, duplicates, malformed and unreadable, each
// with where it came from. Reopening the screen shows a running import again.

import { api, uploadForImport } from '../api.js';
import { h, replace, titleRow } from '../dom.js';
import { count, size } from '../format.js';
import { searchHash, DEFAULT_QUERY } from '../router.js';
import { tagsEdited } from '../mail-actions.js';

const POLL_MS = 700;
/** The drawer's All mail. */
const ALL_MAIL = '';

/**
 * Why `name` cannot be a tag (the server's rules, docs/api.md), or null: checked
 * before anything is uploaded, so a typo does not cost a long upload.
 */
function tagProblem(name) {
  if (name.length > 64) return 'A tag has at most 64 characters.';
  if (/^[+-]/.test(name)) return 'A tag cannot start with + or -.';
  // eslint-disable-next-line no-control-regex
  if (/[\s"\u0000-\u001f\u007f]/.test(name)) return 'A tag has no spaces, quotes or control characters.';
  return null;
}

class HpImport extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.files = h('input', { id: 'import-files', type: 'file', multiple: true, class: 'file-input' });
    this.markRead = h('input', { id: 'import-read', type: 'checkbox' });
    this.inbox = h('input', { id: 'import-inbox', type: 'checkbox', checked: true });
    this.tag = h('input', {
      id: 'import-tag', type: 'text', autocapitalize: 'none', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'for example old-mail',
    });
    this.errorLine = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'button primary' }, 'Import');
    this.cancelButton = h('button', {
      type: 'button', class: 'button', hidden: true, onclick: () => this.cancelUpload(),
    }, 'Cancel upload');
    this.status = h('div', { class: 'import-status', role: 'status', 'aria-live': 'polite' });
    this.bar = h('progress', { class: 'import-bar', max: '1', value: '0', hidden: true, 'aria-labelledby': 'import-status-text' });
    this.statusText = h('p', { id: 'import-status-text', class: 'import-status-text' });
    this.report = h('div', { class: 'import-report', tabindex: '-1', hidden: true });
    replace(this.status, this.statusText, this.bar);
    this.heading = h('h1', { class: 'page-title', tabindex: '-1' }, 'Import mail');
    this.form = h('form', { class: 'import-form', novalidate: true, onsubmit: (e) => this.start(e) },
      this.errorLine,
      h('div', { class: 'field' },
        h('label', { for: this.files.id }, 'Files'),
        this.files,
        h('p', { class: 'field-hint', id: 'import-files-hint' },
          'An mbox file (also .mbox.gz), .eml messages, or a Maildir or folder of mail packed as '
          + '.zip, .tar or .tar.gz. Maildir flags (read, flagged, replied) are kept.')),
      h('fieldset', { class: 'choices' },
        h('legend', {}, 'The imported mail'),
        h('div', { class: 'check' }, this.inbox, h('label', { for: this.inbox.id }, 'Put it in the Inbox')),
        h('div', { class: 'check' }, this.markRead, h('label', { for: this.markRead.id }, 'Mark it all as read'))),
      h('div', { class: 'field' },
        h('label', { for: this.tag.id }, 'Tag it (optional)'),
        this.tag,
        h('p', { class: 'field-hint' }, 'A tag to find this import by later.')),
      h('div', { class: 'form-actions' }, this.cancelButton, this.submit));
    this.files.setAttribute('aria-describedby', 'import-files-hint');
    replace(this, h('div', { class: 'page-body' },
      titleRow(this.heading, () => this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true }))),
      h('p', { class: 'page-intro flush' },
        'Bring mail you already have onto this box. The files go to your box only; while they wait to be '
        + 'imported they are kept encrypted.'),
      this.form, this.status, this.report));
    this.heading.focus();
    this.resume();
  }

  disconnectedCallback() {
    clearTimeout(this.timer);
    this.timer = null;
    this.gone = true;
  }

  /** Shows the newest import that is still running (the screen was left and reopened). */
  async resume() {
    try {
      const jobs = await api.importJobs();
      const running = jobs.filter((j) => j.state === 'queued' || j.state === 'running').pop();
      if (running) this.follow(running);
    } catch {
      // Nothing to resume; the form works without it.
    }
  }

  showError(message) {
    this.errorLine.textContent = message;
    this.errorLine.hidden = false;
    this.errorLine.focus();
  }

  busy(on) {
    this.submit.disabled = on;
    this.files.disabled = on;
  }

  async start(event) {
    event.preventDefault();
    this.errorLine.hidden = true;
    this.report.hidden = true;
    const files = [...this.files.files];
    if (files.length === 0) {
      this.showError('Choose one or more files to import first.');
      this.files.focus();
      return;
    }
    const tag = this.tag.value.trim().toLowerCase();
    const problem = tag ? tagProblem(tag) : null;
    if (problem) {
      this.showError(problem);
      this.tag.setAttribute('aria-invalid', 'true');
      this.tag.focus();
      return;
    }
    this.tag.removeAttribute('aria-invalid');
    this.busy(true);
    this.uploads = [];
    this.abort = new AbortController();
    this.cancelButton.hidden = false;
    const total = files.reduce((sum, f) => sum + f.size, 0);
    let done = 0;
    try {
      for (const file of files) {
        const uploaded = await uploadForImport(file, (sent) => {
          this.progress(`Uploading ${file.name}: ${size(done + sent)} of ${size(total)}`, done + sent, total);
        }, { signal: this.abort.signal });
        this.uploads.push(uploaded.id);
        done += file.size;
      }
    } catch (err) {
      this.cancelButton.hidden = true;
      this.busy(false);
      this.hideProgress();
      this.dropUploads();
      if (err.code === 'aborted') this.statusText.textContent = 'Upload cancelled; nothing was imported.';
      else if (err.status !== 401) this.showError(`The upload failed: ${err.message}`);
      return;
    }
    this.cancelButton.hidden = true;
    try {
      const job = await api.startImport(this.uploads, {
        mark_read: this.markRead.checked, skip_inbox: !this.inbox.checked, tags: tag ? [tag] : [],
      });
      this.uploads = [];
      this.importTag = tag;
      this.intoInbox = this.inbox.checked;
      this.follow(job);
    } catch (err) {
      this.busy(false);
      this.hideProgress();
      this.dropUploads();
      if (err.status !== 401) this.showError(`The import could not start: ${err.message}`);
    }
  }

  cancelUpload() {
    if (this.abort) this.abort.abort();
  }

  /** Removes uploads that no import will use (they would wait an hour otherwise). */
  dropUploads() {
    for (const id of this.uploads || []) api.removeUpload(id).catch(() => {});
    this.uploads = [];
  }

  progress(text, value, max) {
    this.statusText.textContent = text;
    this.bar.hidden = false;
    this.bar.max = Math.max(1, max);
    this.bar.value = Math.min(value, max);
  }

  hideProgress() {
    this.bar.hidden = true;
  }

  /** Polls an import job until it ends, showing its progress. */
  follow(job) {
    this.busy(true);
    clearTimeout(this.timer);
    this.showJob(job);
    if (job.state === 'done' || job.state === 'failed') {
      this.busy(false);
      this.finished(job);
      return;
    }
    this.timer = setTimeout(async () => {
      if (this.gone) return;
      try {
        this.follow(await api.importJob(job.id));
      } catch (err) {
        this.busy(false);
        if (err.status !== 401) this.showError(`The import's progress could not be read: ${err.message}`);
      }
    }, POLL_MS);
  }

  showJob(job) {
    const p = job.progress;
    const what = job.state === 'queued' ? 'Waiting for the mailbox'
      : `Importing ${job.files.join(', ')}: ${count(p.messages, 'message')} read`;
    this.progress(what, p.bytes, p.total_bytes);
  }

  finished(job) {
    this.hideProgress();
    this.files.value = '';
    tagsEdited();
    if (job.state === 'failed') {
      this.statusText.textContent = '';
      this.showError(job.error || 'The import stopped.');
      return;
    }
    const r = job.report;
    this.statusText.textContent = '';
    const lines = [
      h('h2', { class: 'import-report-title' }, `Imported ${count(r.imported, 'new message')}`),
    ];
    const facts = [];
    if (r.spam) facts.push(`${count(r.spam, 'new message')} judged spam: look in Spam.`);
    if (r.unsure) facts.push(`${count(r.unsure, 'new message')} the spam filter was unsure of (tagged unsure).`);
    lines.push(h('ul', { class: 'import-facts' },
      h('li', {}, `${count(r.duplicates, 'duplicate')}: already on the box, not stored twice.`),
      h('li', {}, `${count(r.malformed, 'malformed message')}: stored as they are, searchable.`),
      h('li', {}, `${count(r.unreadable.length, 'part')} could not be read.`),
      ...facts.map((f) => h('li', {}, f))));
    const listing = (title, items, total) => (items.length === 0 ? null
      : h('details', { class: 'import-details' },
        h('summary', {}, title),
        h('ul', {}, items.map((item) => h('li', { class: 'import-origin' }, item))),
        total > items.length ? h('p', { class: 'field-hint' }, `and ${(total - items.length).toLocaleString()} more`) : null));
    lines.push(
      listing('Which could not be read, and why', r.unreadable, r.unreadable.length),
      listing('Which were duplicates', r.duplicate_origins, r.duplicates),
      listing('Which were malformed', r.malformed_origins, r.malformed));
    let q = this.intoInbox ? DEFAULT_QUERY : ALL_MAIL;
    if (this.importTag) q = `tag:${/\s/.test(this.importTag) ? `"${this.importTag}"` : this.importTag}`;
    lines.push(h('p', {}, h('a', { class: 'button primary', href: searchHash(q) },
      q === DEFAULT_QUERY ? 'Go to the Inbox' : 'Show the imported mail')));
    replace(this.report, ...lines.filter(Boolean));
    this.report.hidden = false;
    this.report.focus();
  }
}

customElements.define('hp-import', HpImport);
