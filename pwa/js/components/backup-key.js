// The recovery key on the Backups page (backups.js). The first backup makes it; while
// GET /backup says it waits (`recovery_key_pending`), this panel fetches it (GET
// /backup/recovery-key) and shows it large, in its eight groups, with what it is for,
// "Print" and "I have written it down" (POST /backup/recovery-key/shown: the box
// forgets it and never shows it again). The key lives only in the panel's DOM (and in
// the sheet printed from it, removed after printing): no variable keeps it, nothing
// stores or logs it.

import { api } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { announce } from '../mail-actions.js';
import { confirmSheet } from './sheet.js';

/** "7K2M-QD9X-…" as its groups of four (whatever separates them). */
export function keyGroups(key) {
  return String(key || '').toUpperCase().split(/[^0-9A-Z]+/).filter(Boolean);
}

/** The key as a list of groups, read out group by group. */
function groupList(groups) {
  return h('ol', {
    class: 'backup-key-groups', 'aria-label': `Recovery key, ${groups.length} groups of 4 characters`,
  }, groups.map((g) => h('li', {}, g)));
}

/** What the key is for, in the panel and on paper. */
function keyFacts() {
  return h('ul', { class: 'backup-key-facts' },
    h('li', {}, 'Write it on paper (or print it) and keep it somewhere safe, away from the box.'),
    h('li', {}, 'With this key and the login of your mail account, a new box gets all your mail back.'),
    h('li', {}, 'It has no letters O, I or L: those are the digits 0 and 1.'));
}

export class RecoveryKeyPanel {
  /** `done()`: runs once the person has put the key away (the page moves the focus on). */
  constructor({ done }) {
    this.done = done;
    /** hidden, loading, shown, or failed (the next `update` tries again). */
    this.state = 'hidden';
    this.focusWhenShown = false;
    this.heading = h('h2', { class: 'section-title', id: 'backup-key-title', tabindex: '-1' },
      'Write down your recovery key');
    this.content = h('div', { class: 'backup-key-content' });
    this.el = h('section', { class: 'backup-key', 'aria-labelledby': 'backup-key-title', hidden: true },
      h('div', { class: 'remote-head' }, icon(ICONS.key), this.heading),
      this.content);
  }

  /**
   * Follows the status: `pending` shows the key (fetched once), false takes it away.
   * `focus`: the heading gets the focus, now or once the key is there (a backup the
   * person watched has ended; the first one may make the key while it runs).
   */
  async update(pending, focus = false) {
    if (!pending) {
      if (this.state !== 'hidden') this.hide();
      return;
    }
    if (this.state === 'shown') {
      if (focus) this.heading.focus();
      return;
    }
    if (focus) this.focusWhenShown = true;
    if (this.state === 'loading') return;
    this.state = 'loading';
    let answer;
    try {
      answer = await api.recoveryKey();
    } catch (err) {
      if (err.status === 404) {
        // Put away meanwhile (another tab): nothing to show.
        this.hide();
        return;
      }
      this.state = 'failed';
      if (err.status === 401) return;
      this.el.hidden = false;
      replace(this.content, h('p', { class: 'form-error', role: 'alert' },
        `Your first backup made a recovery key, but it could not be read: ${err.message} `
        + 'The page tries again in a moment.'));
      return;
    }
    if (this.state !== 'loading') return; // hidden meanwhile
    this.state = 'shown';
    this.show(keyGroups(answer.recovery_key));
    if (this.focusWhenShown) this.heading.focus();
    this.focusWhenShown = false;
  }

  show(groups) {
    this.errorLine = h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.doneButton = h('button', { type: 'button', class: 'button primary', onclick: () => this.putAway() },
      'I have written it down');
    replace(this.content,
      h('p', { class: 'setup-code-lead' }, 'If you ever forget your passphrase, this key opens your backups. '
        + 'It is shown only this once.'),
      groupList(groups),
      keyFacts(),
      this.errorLine,
      h('div', { class: 'card-actions' },
        h('button', { type: 'button', class: 'button', onclick: () => this.print() }, icon(ICONS.print), 'Print'),
        this.doneButton));
    this.el.hidden = false;
  }

  /** Takes the key off the page (and any sheet left from printing). */
  hide() {
    this.state = 'hidden';
    this.focusWhenShown = false;
    this.el.hidden = true;
    this.content.replaceChildren();
    this.dropPrintSheet();
  }

  /**
   * Prints the key alone: a sheet of its own at the end of the body, the only thing
   * the print style shows (app.css, `html[data-print]`), removed after printing.
   */
  print() {
    const groups = [...this.content.querySelectorAll('.backup-key-groups li')].map((li) => li.textContent);
    this.dropPrintSheet();
    this.printSheet = h('div', { class: 'backup-print', 'aria-hidden': 'true' },
      h('h1', {}, 'Homepost: the recovery key of your backups'),
      groupList(groups),
      keyFacts());
    document.body.append(this.printSheet);
    document.documentElement.dataset.print = 'recovery-key';
    window.addEventListener('afterprint', () => this.dropPrintSheet(), { once: true });
    window.print();
  }

  dropPrintSheet() {
    if (this.printSheet) this.printSheet.remove();
    this.printSheet = null;
    delete document.documentElement.dataset.print;
  }

  async putAway() {
    const ok = await confirmSheet({
      title: 'Have you written the key down?',
      message: 'The box will not show it again. Without it, backups can only be opened with your passphrase.',
      confirmLabel: 'Yes, it is written down',
    });
    if (!ok || this.state !== 'shown') return;
    this.errorLine.hidden = true;
    this.doneButton.disabled = true;
    try {
      await api.recoveryKeyShown();
    } catch (err) {
      if (!this.el.isConnected || this.state !== 'shown') return;
      this.doneButton.disabled = false;
      if (err.status === 401) return;
      this.errorLine.textContent = `The box did not take note of it: ${err.message}`;
      this.errorLine.hidden = false;
      this.errorLine.focus();
      return;
    }
    this.hide();
    announce('Recovery key put away: the box will not show it again.');
    this.done();
  }
}
