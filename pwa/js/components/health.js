// <hp-health>: the Storage health page (#/health), reached from Settings. At the
// top, in plain words, what the box's last check found ("Checked 3 days ago:
// everything is sound, 12,345 messages", or what is damaged), when the next one
// runs by itself, the messages kept in quarantine and what the last repair did;
// "Check now" (POST /integrity/check) and, after a check that found damage,
// "Repair" (POST /integrity/repair, after a confirm: mail cannot be read while it
// runs), each with its progress. Below, how long mail stays in the trash
// (trash-settings.js). GET /integrity is polled while the page is open (poll.js:
// only while someone looks): every second while a check or repair runs, else every
// 30 s; each answer also goes to integrity.js, so the warnings outside Settings
// follow.

import { api } from '../api.js';
import { h, icon, replace, titleRow } from '../dom.js';
import { ICONS } from '../icons.js';
import { ago, count, dayAndTime, sentence } from '../format.js';
import { poll, pollRound } from '../poll.js';
import { setIntegrity } from '../integrity.js';
import { confirmSheet } from './sheet.js';
import { TrashSettingsSection } from './trash-settings.js';

const RUNNING_MS = 1000;
const IDLE_MS = 30000;
/** After "Check now" or "Repair": the polls to wait, at most, for the run to show in the status. */
const START_POLLS = 30;

/** A finding or a repair's line as a sentence; a file name that starts it keeps its case. */
function said(text) {
  const t = String(text || '').trim();
  if (/^\S*[./]/.test(t)) return /[.!?]$/.test(t) ? t : `${t}.`;
  return sentence(t);
}

/** The last check in words: "Checked 3 days ago: everything is sound, 12,345 messages". */
export function checkWords(s, now = Date.now() / 1000) {
  if (!s.last_check) return 'Not checked yet';
  const when = `Checked ${ago(s.last_check, now)}`;
  if (s.error) return `${when}: the check could not finish`;
  if (s.clean === false) return `${when}: the box found damaged data`;
  return `${when}: everything is sound, ${count(s.messages, 'message')}`;
}

/** When the next check runs by itself ('' when not known). */
export function nextCheckWords(s, now = Date.now() / 1000) {
  if (!s.next_check) return '';
  if (s.next_check <= now) return 'Next check: as soon as possible';
  return `Next check: ${dayAndTime(s.next_check)}`;
}

/** What the last repair did: "Repaired yesterday: vault.json written again; …" ('' when none ran). */
function repairWords(s, now = Date.now() / 1000) {
  if (!s.last_repair) return '';
  const what = (s.repaired || []).join('; ');
  return `Repaired ${ago(s.last_repair, now)}${what ? `: ${what}` : ''}${/[.!?]$/.test(what) ? '' : '.'}`;
}

/** A run's progress for the live region: in steps of ten percent, so each is said once. */
function progressWords(r) {
  const verb = r.what === 'repair' ? 'Repairing' : 'Checking';
  if (!r.total) return `${verb}: ${r.step || 'starting'}\u2026`;
  const percent = Math.min(100, Math.floor((r.done / r.total) * 10) * 10);
  return `${verb}: ${r.step}, ${percent}% done`;
}

/** A refused "Check now" or "Repair", in words. */
function startErrorWords(err, what) {
  if (err.code === 'check_running') return 'A check or repair is running already: its progress shows above.';
  return `The ${what} could not start: ${sentence(err.message)}`;
}

/** Sets `el`'s text only when it changes (a live region then speaks only news). */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
  el.hidden = !text;
}

class HpHealth extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    /** The last answer of GET /integrity (or of a change). */
    this.view = null;
    /**
     * A check or repair is being asked for; polls left to see the run it started;
     * and the outcome it will record ({key: last_check or last_repair, at}) as it was.
     */
    this.starting = false;
    this.waitPolls = 0;
    this.baseline = null;
    this.wasRunning = false;
    this.build();
    this.poller = poll(() => this.load(), IDLE_MS);
  }

  disconnectedCallback() {
    if (this.poller) this.poller.stop();
    this.poller = null;
    if (this.abort) this.abort.abort();
  }

  build() {
    this.heading = h('h1', { class: 'page-title', tabindex: '-1' }, 'Storage health');
    this.errorLine = h('p', { class: 'form-error', role: 'alert', hidden: true });
    this.trash = new TrashSettingsSection({ saved: (view) => this.show(view) });
    this.statusHeading = h('h2', { class: 'section-title', id: 'health-status-title', tabindex: '-1' }, 'Last check');
    this.lastLine = h('p', { class: 'health-last', id: 'health-last' }, 'Loading\u2026');
    this.findings = h('ul', { class: 'health-findings', id: 'health-findings', hidden: true });
    this.nextLine = h('p', { class: 'health-next', id: 'health-next', hidden: true });
    this.failedLine = h('p', { class: 'form-error health-failed', id: 'health-failed', hidden: true });
    this.quarantineLine = h('p', { class: 'warning-note health-quarantine', id: 'health-quarantine', hidden: true });
    this.repairLine = h('p', { class: 'health-repaired', id: 'health-repaired', hidden: true });
    this.progressText = h('p', { class: 'health-progress-text', id: 'health-progress-text' });
    this.bar = h('progress', {
      class: 'health-bar', max: '1', value: '0', hidden: true, 'aria-labelledby': 'health-progress-text',
    });
    this.countLine = h('p', { class: 'health-count muted', id: 'health-count', hidden: true });
    this.runError = h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.checkButton = h('button', {
      type: 'button', class: 'button primary', 'aria-describedby': 'health-last', onclick: () => this.start('check'),
    }, icon(ICONS.sync), 'Check now');
    this.repairButton = h('button', {
      type: 'button', class: 'button', hidden: true, 'aria-describedby': 'health-last health-findings',
      onclick: () => this.start('repair'),
    }, icon(ICONS.shieldCheck), 'Repair');
    replace(this, h('div', { class: 'page-body health-page' },
      titleRow(this.heading, () => this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true }))),
      h('p', { class: 'page-intro flush' },
        'Once a week, while it is unlocked, your box reads all of your mail, its search index and vault.json '
        + '(the file that holds your keys), to find anything a failing disk or memory card damaged. Nothing '
        + 'leaves the box.'),
      this.errorLine,
      h('section', { class: 'remote-section health-status', 'aria-labelledby': 'health-status-title' },
        h('div', { class: 'remote-head' }, icon(ICONS.storage), this.statusHeading),
        h('div', { class: 'health-lines', role: 'status', 'aria-live': 'polite' },
          this.lastLine, this.findings, this.nextLine),
        this.failedLine,
        this.quarantineLine,
        this.repairLine,
        h('div', { class: 'health-progress', role: 'status', 'aria-live': 'polite' }, this.progressText),
        this.bar,
        this.countLine,
        this.runError,
        h('div', { class: 'card-actions' }, this.checkButton, this.repairButton),
        h('p', { class: 'field-hint' }, 'A check reads a copy of your mail: you can go on reading meanwhile. '
          + 'A repair needs the mail to itself.')),
      this.trash.el));
  }

  showError(message) {
    if (message && this.errorLine.textContent !== message) this.errorLine.textContent = message;
    this.errorLine.hidden = !message;
  }

  load() {
    return pollRound(this, (signal) => api.integrity({ signal }), "The box's health could not be read",
      (view) => this.show(view));
  }

  /** Shows a view of GET /integrity: the status in place, the trash's retention. */
  show(view) {
    this.view = view;
    setIntegrity(view);
    const s = view.status;
    const running = Boolean(s.running);
    // A run ended: one seen running, or the one just started (a newer outcome is recorded).
    const b = this.baseline;
    const recorded = Boolean(b) && (s[b.key] || 0) > b.at;
    const ended = !running && (this.wasRunning || (this.waitPolls > 0 && recorded));
    this.wasRunning = running;
    if (running || ended) this.waitPolls = 0;
    else if (this.waitPolls > 0) this.waitPolls -= 1;

    setText(this.lastLine, checkWords(s));
    const findings = s.clean === false && !s.error ? s.findings || [] : [];
    if (JSON.stringify(findings) !== this.shownFindings) {
      this.shownFindings = JSON.stringify(findings);
      replace(this.findings, findings.map((f) => h('li', {}, said(f))));
    }
    this.findings.hidden = findings.length === 0;
    setText(this.nextLine, running ? '' : nextCheckWords(s));
    setText(this.failedLine, s.error ? `Why: ${sentence(s.error)} It is tried again at the next check.` : '');
    setText(this.quarantineLine, s.quarantined > 0 ? `${count(s.quarantined, 'message')} kept in quarantine: `
      + 'damaged, and neither their account nor the backup had them. Each repair tries again.' : '');
    setText(this.repairLine, repairWords(s));
    this.showProgress(s.running);
    const busy = this.starting || running || this.waitPolls > 0;
    this.checkButton.disabled = busy;
    this.repairButton.disabled = busy;
    this.repairButton.hidden = s.clean !== false;
    if (running) this.runError.hidden = true;
    this.trash.update(view.trash_days);
    if (this.poller) this.poller.setInterval(running || this.waitPolls > 0 ? RUNNING_MS : IDLE_MS);
  }

  /** The bar, messages read of all, and what a repair means meanwhile; nothing when no run goes on. */
  showProgress(r) {
    setText(this.progressText, r ? progressWords(r) : '');
    this.bar.hidden = !r;
    if (r && r.total > 0) {
      this.bar.max = r.total;
      this.bar.value = Math.min(r.done, r.total);
    } else if (r) {
      this.bar.removeAttribute('value'); // not known yet: the bar says "busy"
    }
    let counted = '';
    if (r && r.total > 0) counted = `${r.done.toLocaleString()} of ${count(r.total, 'message')}`;
    if (r && r.what === 'repair') counted = `${counted ? `${counted}. ` : ''}Mail cannot be read until the repair ends.`;
    setText(this.countLine, counted);
  }

  /** "Check now" (`check`) or "Repair" (`repair`, after a confirm). */
  async start(what) {
    if (what === 'repair' && !(await this.confirmRepair())) return;
    const key = what === 'repair' ? 'last_repair' : 'last_check';
    this.baseline = { key, at: (this.view && this.view.status[key]) || 0 };
    this.runError.hidden = true;
    this.starting = true;
    this.checkButton.disabled = true;
    this.repairButton.disabled = true;
    // The disabled button loses the focus: it goes to the status the run shows in.
    this.statusHeading.focus();
    try {
      const view = await (what === 'repair' ? api.repairIntegrity() : api.checkIntegrity());
      this.starting = false;
      this.waitPolls = START_POLLS;
      if (this.poller) this.show(view);
    } catch (err) {
      this.starting = false;
      if (!this.poller) return;
      if (err.code === 'check_running') this.waitPolls = START_POLLS;
      const busy = this.wasRunning || this.waitPolls > 0;
      this.checkButton.disabled = busy;
      this.repairButton.disabled = busy;
      if (err.status === 401) return;
      this.runError.textContent = startErrorWords(err, what);
      this.runError.hidden = false;
      this.runError.focus();
    } finally {
      if (this.poller) this.poller.setInterval(this.wasRunning || this.waitPolls > 0 ? RUNNING_MS : IDLE_MS);
    }
  }

  confirmRepair() {
    return confirmSheet({
      title: 'Repair the box now?',
      message: 'While the repair runs, your mail cannot be read or searched: the app waits until it ends, '
        + 'which can take a while on a large box. Where it is needed, the repair:',
      details: [
        'builds the search index again where it is damaged;',
        'writes vault.json again from the sound copy the unlocked box holds;',
        'fetches damaged messages again from their account, or reads them back from the backup;',
        'keeps in quarantine what neither has.',
      ],
      confirmLabel: 'Repair now',
    });
  }
}

customElements.define('hp-health', HpHealth);
