// <hp-backups>: the Backups page (#/backup), reached from Settings. At the top, in
// plain words, what the last backup did, why the last attempt failed and when the next
// one runs; "Back up now" (POST /backup/run) and the progress of a run; the recovery
// key the first backup made, shown once (backup-key.js); then where backups go, how
// often and how many are kept (backup-settings.js). GET /backup is polled while the
// page is open (poll.js: only while someone looks): every second while a backup runs,
// else every 15 s, so that a run the schedule starts shows too.

import { api } from '../api.js';
import { h, icon, replace, titleRow } from '../dom.js';
import { ICONS } from '../icons.js';
import { count, dayAndTime, size, sentence } from '../format.js';
import { lastAccounts, poll, pollRound } from '../poll.js';
import { RecoveryKeyPanel } from './backup-key.js';
import { BackupSettingsSection } from './backup-settings.js';

const RUNNING_MS = 1000;
const IDLE_MS = 15000;
/** After "Back up now": the polls to wait, at most, for the run to show in the status. */
const START_POLLS = 30;

/** "Last backup: today at 14:05 — 3 messages, 1.2 MB; 45 KB sent", or "No backup yet". */
export function lastWords(s) {
  if (!s.last_success) return 'No backup yet';
  return `Last backup: ${dayAndTime(s.last_success)} \u2014 ${count(s.messages, 'message')}, ${size(s.bytes)}; `
    + `${size(s.sent)} sent`;
}

/** When the next backup runs: `next_run` null is not set up; 0 or past, as soon as it can. */
export function nextWords(s, now = Date.now() / 1000) {
  if (s.next_run === null || s.next_run === undefined) return 'Not set up yet: choose where backups go, below.';
  if (s.next_run <= now) return 'Next backup: as soon as possible';
  return `Next backup: ${dayAndTime(s.next_run)}`;
}

/** Why the last attempt failed, or '' when it did not. */
function failedWords(s) {
  if (!s.last_error) return '';
  const when = s.last_attempt ? ` (${dayAndTime(s.last_attempt)})` : '';
  return `The last backup did not work${when}: ${sentence(s.last_error)}`;
}

/** A run's progress for the live region: in steps of ten percent, so each is said once. */
function progressWords(r) {
  if (!r.total) return 'Backing up: getting ready\u2026';
  const percent = Math.min(100, Math.floor((r.rows / r.total) * 10) * 10);
  return `Backing up: ${percent}% done`;
}

/** A refused "Back up now", in words. */
function runErrorWords(err) {
  switch (err.code) {
    case 'no_backup_target':
      return 'There is nowhere to back up to yet. Choose a mail account below and save, then back up.';
    case 'backup_running':
      return 'A backup is running already: its progress shows above.';
    default:
      return `The backup could not start: ${sentence(err.message)}`;
  }
}

/** Sets `el`'s text only when it changes (a live region then speaks only news). */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

class HpBackups extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    /** The last answer of GET /backup (or of a change), and every account (GET /accounts). */
    this.view = null;
    this.accounts = null;
    /** A "Back up now" is being sent; and polls left to see the run it started. */
    this.starting = false;
    this.waitPolls = 0;
    this.wasRunning = false;
    this.build();
    this.onAccounts = (event) => {
      if (!event.detail.error) this.setAccounts(event.detail.accounts);
    };
    window.addEventListener('hp:accounts', this.onAccounts);
    const last = lastAccounts();
    if (last) this.setAccounts(last.accounts);
    else this.loadAccounts();
    this.poller = poll(() => this.load(), IDLE_MS);
  }

  disconnectedCallback() {
    window.removeEventListener('hp:accounts', this.onAccounts);
    if (this.poller) this.poller.stop();
    this.poller = null;
    if (this.abort) this.abort.abort();
    this.key.hide();
  }

  build() {
    this.heading = h('h1', { class: 'page-title', tabindex: '-1' }, 'Backups');
    this.errorLine = h('p', { class: 'form-error', role: 'alert', hidden: true });
    this.key = new RecoveryKeyPanel({ done: () => this.statusHeading.focus() });
    this.settings = new BackupSettingsSection({ saved: (view) => this.show(view) });
    this.statusHeading = h('h2', { class: 'section-title', id: 'backup-status-title', tabindex: '-1' }, 'Your backups');
    this.lastLine = h('p', { class: 'backup-last', id: 'backup-last' }, 'Loading\u2026');
    this.nextLine = h('p', { class: 'backup-next', id: 'backup-next' });
    this.failedLine = h('p', { class: 'form-error backup-failed', id: 'backup-failed', role: 'alert', hidden: true });
    this.progressText = h('p', { class: 'backup-progress-text', id: 'backup-progress-text' });
    this.bar = h('progress', {
      class: 'backup-bar', max: '1', value: '0', hidden: true, 'aria-labelledby': 'backup-progress-text',
    });
    this.sentLine = h('p', { class: 'backup-sent muted', id: 'backup-sent', hidden: true });
    this.runError = h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.runButton = h('button', {
      type: 'button', class: 'button primary', 'aria-describedby': 'backup-last backup-next',
      onclick: () => this.runNow(),
    }, icon(ICONS.backup), 'Back up now');
    replace(this, h('div', { class: 'page-body backup-page' },
      titleRow(this.heading, () => this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true }))),
      h('p', { class: 'page-intro flush' },
        'Your box keeps a copy of all your mail, contacts and settings in a folder of your mail account, so '
        + 'that a new box can get everything back if this one breaks or is lost.'),
      this.errorLine,
      this.key.el,
      h('section', { class: 'remote-section backup-status', 'aria-labelledby': 'backup-status-title' },
        h('div', { class: 'remote-head' }, icon(ICONS.backup), this.statusHeading),
        h('div', { class: 'backup-lines', role: 'status', 'aria-live': 'polite' }, this.lastLine, this.nextLine),
        this.failedLine,
        h('div', { class: 'backup-progress', role: 'status', 'aria-live': 'polite' }, this.progressText),
        this.bar,
        this.sentLine,
        this.runError,
        h('div', { class: 'card-actions' }, this.runButton),
        h('p', { class: 'field-hint' }, 'Backups run by themselves only while your box is unlocked. Each one '
          + 'sends only what changed since the last.')),
      this.settings.el));
  }

  async loadAccounts() {
    try {
      this.setAccounts((await api.accounts()).accounts);
    } catch (err) {
      if (err.status !== 401) this.showError(`Your accounts could not be read: ${err.message}`);
    }
  }

  setAccounts(accounts) {
    this.accounts = accounts || [];
    if (this.view) this.settings.update(this.view.settings, this.accounts);
  }

  showError(message) {
    if (message && this.errorLine.textContent !== message) this.errorLine.textContent = message;
    this.errorLine.hidden = !message;
  }

  load() {
    return pollRound(this, (signal) => api.backup({ signal }), 'Backups could not be read',
      (view) => this.show(view));
  }

  /** Shows a view of GET /backup: the status in place, the key, the settings. */
  show(view) {
    const before = this.view;
    this.view = view;
    const s = view.status;
    const running = Boolean(s.running);
    // A run ended: one seen running, or the one "Back up now" started (its attempt is recorded).
    const ended = !running && (this.wasRunning
      || (this.waitPolls > 0 && before && s.last_attempt !== before.status.last_attempt));
    this.wasRunning = running;
    if (running || ended) this.waitPolls = 0;
    else if (this.waitPolls > 0) this.waitPolls -= 1;

    setText(this.lastLine, lastWords(s));
    setText(this.nextLine, nextWords(s));
    const failed = failedWords(s);
    setText(this.failedLine, failed);
    this.failedLine.hidden = !failed;
    this.showProgress(s.running);
    this.runButton.disabled = this.starting || running || this.waitPolls > 0;
    if (running) this.runError.hidden = true;
    // After a backup the person watched, the key it made takes the focus.
    this.key.update(s.recovery_key_pending, ended);
    this.settings.update(view.settings, this.accounts);
    if (this.poller) this.poller.setInterval(running || this.waitPolls > 0 ? RUNNING_MS : IDLE_MS);
  }

  /** The bar, rows copied of all, and the bytes sent; nothing when no run goes on. */
  showProgress(r) {
    setText(this.progressText, r ? progressWords(r) : '');
    this.bar.hidden = !r;
    this.sentLine.hidden = !r;
    if (!r) return;
    if (r.total > 0) {
      this.bar.max = r.total;
      this.bar.value = Math.min(r.rows, r.total);
    } else {
      this.bar.removeAttribute('value'); // not known yet: the bar says "busy"
    }
    setText(this.sentLine, `${size(r.sent)} sent so far`);
  }

  async runNow() {
    this.runError.hidden = true;
    this.starting = true;
    this.runButton.disabled = true;
    // The disabled button loses the focus: it goes to the status the run shows in.
    this.statusHeading.focus();
    try {
      const view = await api.runBackup();
      this.starting = false;
      this.waitPolls = START_POLLS;
      if (this.poller) this.show(view);
    } catch (err) {
      this.starting = false;
      if (!this.poller) return;
      if (err.code === 'backup_running') this.waitPolls = START_POLLS;
      this.runButton.disabled = this.wasRunning || this.waitPolls > 0;
      if (err.status === 401) return;
      this.runError.textContent = runErrorWords(err);
      this.runError.hidden = false;
      this.runError.focus();
    } finally {
      if (this.poller) this.poller.setInterval(this.wasRunning || this.waitPolls > 0 ? RUNNING_MS : IDLE_MS);
    }
  }
}

customElements.define('hp-backups', HpBackups);
