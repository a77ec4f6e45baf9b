// How long mail stays in the trash, on the Storage health page (health.js): 7, 14,
// 30 (the box's default) or 90 days, or until the trash is emptied; saved with PUT
// /trash. A number of days set some other way is offered as it is.

import { api } from '../api.js';
import { field, formError, h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { announce } from '../mail-actions.js';
import { sentence } from '../format.js';

/** The choices: [days, label]; 0 keeps mail until the trash is emptied. */
const CHOICES = [[7, '7 days'], [14, '14 days'], [30, '30 days'], [90, '90 days'], [0, 'Never: until I empty the trash']];

export class TrashSettingsSection {
  /** `saved(view)`: the page shows the answer of a save (GET /integrity's view). */
  constructor({ saved }) {
    this.saved = saved;
    this.days = null;
    this.busy = false;
    this.heading = h('h2', { class: 'section-title', id: 'trash-title', tabindex: '-1' }, 'Trash');
    this.content = h('div', { class: 'remote-content' }, h('p', { class: 'muted' }, 'Loading\u2026'));
    this.el = h('section', { class: 'remote-section', 'aria-labelledby': 'trash-title' },
      h('div', { class: 'remote-head' }, icon(ICONS.trash), this.heading),
      h('p', { class: 'remote-intro' }, 'Mail you move to the trash is deleted for good after a while, counted '
        + 'from when it went there. To delete it sooner, open the Trash and empty it.'),
      this.content);
  }

  /** Shows `days` (GET /integrity's `trash_days`): redrawn only when it changed, never over a change not saved. */
  update(days) {
    if (!Number.isFinite(days) || days === this.days || this.busy) return;
    if (this.select && this.select.isConnected && this.select.value !== String(this.days)) return;
    this.days = days;
    replace(this.content, this.buildForm(days));
  }

  buildForm(days) {
    const choices = CHOICES.some(([n]) => n === days) ? CHOICES : [...CHOICES, [days, `${days} days`]];
    this.select = h('select', { id: 'trash-days', class: 'select' },
      choices.map(([n, label]) => h('option', { value: String(n), selected: n === days }, label)));
    this.errorLine = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'button primary' }, 'Save');
    this.form = h('form', { class: 'remote-form trash-form', novalidate: true, onsubmit: (e) => this.save(e) },
      this.errorLine,
      field('Delete mail in the trash after', this.select, 'The box deletes it by itself once a day while it is '
        + 'unlocked. Never keeps it until you empty the trash.'),
      h('div', { class: 'form-actions' }, this.submit));
    return this.form;
  }

  async save(event) {
    event.preventDefault();
    this.errorLine.hidden = true;
    const days = Number(this.select.value);
    this.busy = true;
    this.submit.disabled = true;
    try {
      const view = await api.setTrashDays(days);
      this.days = view.trash_days;
      if (document.activeElement === document.body) this.submit.focus();
      this.saved(view);
      announce(days === 0 ? 'Mail stays in the trash until you empty it.'
        : `Mail in the trash is deleted for good after ${days} days.`);
    } catch (err) {
      if (!this.form.isConnected || err.status === 401) return;
      formError(this.errorLine, `The setting was not saved: ${sentence(err.message)}`);
    } finally {
      this.busy = false;
      this.submit.disabled = false;
    }
  }
}
