// Where backups go and how often, on the Backups page (backups.js): a folder of one of
// the IMAP accounts (a POP3 account cannot hold them), every day, twice a day or once a
// week, and under "Advanced" how many are kept; saved with PUT /backup. A directory on
// the box (chosen on the box with `homepost backup setup --dir`, which the API does not
// change) is shown as it is.

import { api } from '../api.js';
import { field, formError, h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { accountHash } from '../router.js';
import { announce } from '../mail-actions.js';
import { sentence } from '../format.js';

export const DEFAULT_FOLDER = 'Homepost Backup';
/** The choices of how often, in hours. */
const EVERY = [[24, 'Every day'], [12, 'Twice a day'], [168, 'Once a week']];
/** Retention's fields: [key, label, hint]. */
const KEEP = [
  ['daily', 'Days', 'One backup for each of the last this many days.'],
  ['weekly', 'Weeks', 'Then one for each of this many weeks before.'],
  ['monthly', 'Months', 'Then one for each of this many months before.'],
];
/** The server's default largest message (10 MiB), should the settings lack one. */
const DEFAULT_LIMIT = 10 * 1024 * 1024;

/** The accounts that can hold backups: those whose mail the box reads with IMAP. */
export function imapAccounts(accounts) {
  return (accounts || []).filter((a) => a.incoming && a.incoming.protocol === 'imap');
}

function accountLabel(a) {
  return a.name && a.name !== a.email ? `${a.name} (${a.email})` : a.email;
}

/** "Every day", "Every 6 hours". */
export function everyWords(hours) {
  const known = EVERY.find(([n]) => n === hours);
  return known ? known[1] : `Every ${hours} hours`;
}

export class BackupSettingsSection {
  /** `saved(view)`: the page shows the answer of a save (GET /backup's view). */
  constructor({ saved }) {
    this.saved = saved;
    this.settings = null;
    this.accounts = null;
    this.busy = false;
    this.form = null;
    this.heading = h('h2', { class: 'section-title', id: 'backup-where-title', tabindex: '-1' }, 'Where and how often');
    this.content = h('div', { class: 'remote-content' }, h('p', { class: 'muted' }, 'Loading\u2026'));
    this.el = h('section', { class: 'remote-section', 'aria-labelledby': 'backup-where-title' },
      h('div', { class: 'remote-head' }, icon(ICONS.settings), this.heading),
      h('p', { class: 'remote-intro' }, 'Backups are encrypted on your box before they leave it: the mail '
        + 'server only ever sees unreadable data.'),
      this.content);
  }

  /**
   * Shows `settings` with the IMAP accounts among `accounts` (each null while not
   * known). Redrawn only when they changed, and never over what someone is typing.
   */
  update(settings, accounts) {
    if (!settings || !accounts) return;
    const usable = imapAccounts(accounts);
    const key = JSON.stringify([settings, usable.map((a) => [a.id, a.name, a.email])]);
    if (key === this.shownKey || this.busy) return;
    if (this.form && this.form.isConnected && this.dirty()) return;
    this.shownKey = key;
    this.settings = settings;
    this.accounts = usable;
    const target = settings.target;
    if (target && (target.kind === 'directory' || target.kind === 'imap')) {
      this.form = null;
      replace(this.content, this.directoryView(settings));
    } else {
      replace(this.content, this.buildForm(settings));
    }
  }

  /** A directory on the box, or an account for backups alone: shown, not changed here. */
  directoryView(s) {
    const k = s.keep || {};
    const where = s.target.kind === 'imap'
      ? `Folder \u201c${s.target.folder}\u201d of ${s.target.server.username} on ${s.target.server.host}`
      : s.target.path;
    return [
      h('dl', { class: 'remote-facts' },
        h('dt', {}, 'Where'),
        h('dd', { class: 'remote-mono', id: 'backup-dir' }, where),
        h('dt', {}, 'How often'),
        h('dd', {}, everyWords(s.every_hours)),
        h('dt', {}, 'Backups kept'),
        h('dd', {}, `The last ${k.daily} days, ${k.weekly} weeks and ${k.monthly} months`)),
      h('p', { class: 'field-hint' }, `This ${s.target.kind === 'imap' ? 'account' : 'folder on a disk of the box'} `
        + 'was chosen on the box itself, and is changed there (homepost backup setup).'),
    ];
  }

  buildForm(s) {
    const target = s.target && s.target.kind === 'account' ? s.target : null;
    const known = target && this.accounts.some((a) => a.id === target.account);
    this.account = null;
    let where;
    if (this.accounts.length === 0) {
      where = h('p', { class: 'notice', id: 'backup-no-account' },
        'None of your accounts can keep backups yet: it takes a mail account that the box reads with IMAP '
        + '(most are). ', h('a', { href: accountHash() }, 'Add one in Accounts'), '.');
    } else {
      this.account = h('select', { id: 'backup-account', class: 'select' },
        this.accounts.map((a) => h('option', { value: String(a.id) }, accountLabel(a))));
      if (known) this.account.value = String(target.account);
      where = field('Mail account', this.account, 'Backups go into a folder of this account, on its mail server.');
    }
    this.folder = h('input', {
      id: 'backup-folder', type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false',
      maxlength: '200', value: target ? target.folder : DEFAULT_FOLDER,
    });
    const every = EVERY.some(([n]) => n === s.every_hours) ? EVERY : [...EVERY, [s.every_hours, everyWords(s.every_hours)]];
    this.every = every.map(([hours, label]) => h('input', {
      id: `backup-every-${hours}`, type: 'radio', name: 'backup-every', value: String(hours),
      checked: hours === s.every_hours, dataset: { label },
    }));
    this.keep = Object.fromEntries(KEEP.map(([k]) => [k, h('input', {
      id: `backup-keep-${k}`, type: 'number', min: '0', max: '9999', step: '1', inputmode: 'numeric',
      class: 'keep-input', value: String((s.keep || {})[k] ?? ''),
    })]));
    this.advanced = h('details', { class: 'remote-details backup-advanced' },
      h('summary', {}, 'Advanced'),
      h('p', { class: 'field-hint' }, 'How many older backups to keep. The newest is always kept; of the older '
        + 'ones, one a day, then one a week, then one a month.'),
      h('div', { class: 'keep-fields' }, KEEP.map(([k, label, hint]) => field(label, this.keep[k], hint))));
    this.goneNote = target && !known && this.accounts.length > 0 ? h('p', { class: 'warning-note' },
      'The account your backups went to is gone or no longer uses IMAP: choose one and save.') : null;
    this.errorLine = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'button primary' }, 'Save');
    this.form = h('form', { class: 'remote-form backup-form', novalidate: true, onsubmit: (e) => this.save(e) },
      this.errorLine,
      where,
      this.goneNote,
      field('Folder', this.folder, 'Made on the mail server if it is not there. The other mail in it is left alone.'),
      h('fieldset', { class: 'choices' },
        h('legend', {}, 'How often'),
        this.every.map((radio) => h('div', { class: 'choice' }, radio, h('label', { for: radio.id }, radio.dataset.label)))),
      this.advanced,
      h('div', { class: 'form-actions' }, this.submit));
    this.initial = this.values();
    return this.form;
  }

  values() {
    const checked = this.every.find((r) => r.checked);
    return {
      account: this.account ? Number(this.account.value) : null,
      folder: this.folder.value.trim(),
      every: checked ? Number(checked.value) : null,
      keep: Object.fromEntries(KEEP.map(([k]) => [k, this.keep[k].value.trim()])),
    };
  }

  /** Whether the form holds something the person changed. */
  dirty() {
    return JSON.stringify(this.values()) !== JSON.stringify(this.initial);
  }

  showError(message, control = null) {
    formError(this.errorLine, message, control);
  }

  async save(event) {
    event.preventDefault();
    this.form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
    this.errorLine.hidden = true;
    const v = this.values();
    if (!this.account) {
      return this.showError('There is no account to keep the backups in yet. First add a mail account that the '
        + 'box reads with IMAP, in Accounts.');
    }
    if (!v.folder) return this.showError('Name the folder for the backups, for example Homepost Backup.', this.folder);
    for (const [k] of KEEP) {
      if (!/^\d{1,4}$/.test(v.keep[k])) {
        this.advanced.open = true;
        return this.showError('Say how many backups to keep as a whole number: 0 or more.', this.keep[k]);
      }
    }
    const body = {
      target: { kind: 'account', account: v.account, folder: v.folder },
      message_limit: this.settings.message_limit || DEFAULT_LIMIT,
      every_hours: v.every,
      keep: Object.fromEntries(KEEP.map(([k]) => [k, Number(v.keep[k])])),
    };
    this.busy = true;
    this.submit.disabled = true;
    try {
      const view = await api.setBackup(body);
      this.busy = false;
      this.submit.disabled = false;
      // The form already shows what was saved: it stays (and the focus in it).
      this.settings = view.settings;
      this.shownKey = JSON.stringify([view.settings, this.accounts.map((a) => [a.id, a.name, a.email])]);
      this.initial = this.values();
      if (this.goneNote) this.goneNote.remove();
      this.goneNote = null;
      if (document.activeElement === document.body) this.submit.focus();
      this.saved(view);
      announce('Backup settings saved.');
    } catch (err) {
      this.busy = false;
      if (!this.form.isConnected) return undefined;
      this.submit.disabled = false;
      if (err.status === 401) return undefined;
      this.showError(err.code === 'invalid_backup_settings'
        ? sentence(err.message) : `The settings were not saved: ${err.message}`);
    }
    return undefined;
  }
}
