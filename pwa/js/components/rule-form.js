// The editor of one filter rule (#/rules/new, #/rules/3; rules.js shows it): its
// name, the mail it is for (a query in the search language: "Check the search" says
// how many stored messages it finds, and the box's objection shows on the field), and
// what it does: tags to add and to remove (chosen among the tags or typed,
// tag-picker.js), mark read, archive, move to the trash, spam or not spam, and stop
// (no later rule runs on that message); whether it is on. "Mail like this…" in the
// reader opens it filled in for the sender (router.js mailLikeThisHash), actions left to choose.

import { api } from '../api.js';
import {
  field, formError, h, icon, replace, titleRow,
} from '../dom.js';
import { ICONS } from '../icons.js';
import { count, tagLabel, sentence } from '../format.js';
import { announce } from '../mail-actions.js';
import { pickTag } from './tag-picker.js';

let formCount = 0;

/** What a new rule does: nothing yet. */
export function emptyActions() {
  return {
    add_tags: [], remove_tags: [], mark_read: false, archive: false, trash: false, spam: null, stop: false,
  };
}

/** What a rule does, as a sentence: "Adds tag news, takes it out of the Inbox." */
export function actionWords(a) {
  const words = [];
  const tags = (list, verb) => {
    if (list && list.length) words.push(`${verb} ${list.length === 1 ? 'tag' : 'tags'} ${list.map(tagLabel).join(', ')}`);
  };
  tags(a.add_tags, 'adds');
  tags(a.remove_tags, 'removes');
  if (a.mark_read) words.push('marks it read');
  if (a.archive) words.push('takes it out of the Inbox');
  if (a.trash) words.push('moves it to the trash');
  if (a.spam === 'spam') words.push('marks it spam');
  if (a.spam === 'not_spam') words.push('marks it not spam');
  if (a.stop) words.push('then stops: no later rule runs on it');
  if (words.length === 0) return 'Does nothing.';
  const text = words.join(', ');
  return `${text[0].toUpperCase()}${text.slice(1)}.`;
}

/** A check box with its label; `hint` (optional) describes it. */
function check(id, label, hint = null) {
  const input = h('input', { id, type: 'checkbox', 'aria-describedby': hint ? `${id}-hint` : null });
  const el = h('div', { class: 'rule-check' },
    h('div', { class: 'check' }, input, h('label', { for: id }, label)),
    hint ? h('p', { class: 'field-hint', id: `${id}-hint` }, hint) : null);
  return { input, el };
}

/** The form; `back(saved)` leaves it (`saved`: the rule the box answered, or null). */
export class RuleForm {
  constructor(id, { prefill = null, back }) {
    formCount += 1;
    const p = `rule-form-${formCount}`;
    this.id = id;
    this.back = back;
    this.actions = emptyActions();
    this.heading = h('h1', { class: 'page-title', tabindex: '-1' }, id === null ? 'New rule' : 'Change the rule');
    this.name = h('input', {
      id: `${p}-name`, type: 'text', autocomplete: 'off', maxlength: '100', placeholder: 'e.g. Newsletters',
    });
    this.query = h('input', {
      id: `${p}-query`, type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', maxlength: '1000',
      placeholder: 'from:news@shop.example', oninput: () => this.clearQueryError(),
    });
    this.queryError = h('p', { class: 'field-error', id: `${p}-query-error`, hidden: true });
    this.queryCheck = h('p', { class: 'field-hint rule-query-check', id: `${p}-query-check`, role: 'status' });
    this.query.setAttribute('aria-describedby', `${this.queryError.id} ${this.queryCheck.id}`);
    this.addChips = h('ul', { class: 'chips', 'aria-labelledby': `${p}-add-title` });
    this.removeChips = h('ul', { class: 'chips', 'aria-labelledby': `${p}-remove-title` });
    this.markRead = check(`${p}-read`, 'Mark it read');
    this.archive = check(`${p}-archive`, 'Archive it', 'Takes it out of the Inbox; it stays in All mail and its tags.');
    this.trash = check(`${p}-trash`, 'Move it to the trash');
    this.spam = h('select', { id: `${p}-spam`, class: 'select' },
      h('option', { value: '' }, 'Leave it as the spam filter decided'),
      h('option', { value: 'spam' }, 'Mark it spam'),
      h('option', { value: 'not_spam' }, 'Mark it not spam'));
    this.stop = check(`${p}-stop`, 'Stop here', 'No later rule runs on a message this rule matched.');
    this.enabled = h('input', {
      type: 'checkbox', id: `${p}-enabled`, role: 'switch', class: 'switch-input', checked: true,
    });
    this.warnings = h('div', { class: 'rule-warnings' });
    this.errorLine = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'button primary' }, id === null ? 'Add rule' : 'Save');
    this.form = h('form', { class: 'rule-form', novalidate: true, onsubmit: (e) => this.save(e) },
      this.errorLine,
      field('Name', this.name),
      h('div', { class: 'field' },
        h('label', { for: this.query.id }, 'Mail it is for'),
        this.query,
        this.queryError,
        h('p', { class: 'field-hint' }, 'Written as in the search box: from:, to:, subject:, tag:, has:attachment\u2026'),
        h('div', { class: 'rule-query-row' },
          h('button', { type: 'button', class: 'button', onclick: () => this.checkQuery() }, icon(ICONS.search),
            'Check the search'),
          this.queryCheck)),
      this.warnings,
      h('fieldset', { class: 'form-section rule-actions' },
        h('legend', {}, 'What it does'),
        h('div', { class: 'rule-tags' }, h('p', { class: 'rule-tags-title', id: `${p}-add-title` }, 'Add tags'),
          this.addChips),
        h('div', { class: 'rule-tags' }, h('p', { class: 'rule-tags-title', id: `${p}-remove-title` }, 'Remove tags'),
          this.removeChips),
        this.markRead.el, this.archive.el, this.trash.el,
        field('Spam', this.spam),
        this.stop.el),
      h('label', { class: 'switch rule-enabled', for: this.enabled.id },
        this.enabled,
        h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
        h('span', { class: 'switch-label' }, 'Active: runs on arriving mail')),
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', class: 'button', onclick: () => this.back(null) }, 'Cancel'),
        this.submit));
    this.el = h('div', { class: 'page-body rule-page' },
      titleRow(this.heading, () => this.back(null)),
      h('p', { class: 'page-intro flush' }, 'Rules run on arriving mail, in this order, after the spam filter.'),
      this.form);
    this.renderChips();
    if (id === null) {
      const params = new URLSearchParams(prefill || '');
      this.name.value = (params.get('name') || '').slice(0, 100);
      this.query.value = params.get('query') || '';
      queueMicrotask(() => this.heading.focus());
    } else {
      this.submit.disabled = true;
      this.load();
    }
  }

  async load() {
    let rule;
    try {
      const answer = await api.rules();
      rule = (answer.rules || []).find((r) => r.id === this.id);
    } catch (err) {
      if (err.status !== 401) this.showError(`The rule could not be loaded: ${err.message}`);
      return;
    }
    if (!rule) {
      this.showError('This rule is no longer there.');
      return;
    }
    this.fill(rule);
    this.submit.disabled = false;
    this.heading.focus();
  }

  fill(rule) {
    this.heading.textContent = `Rule \u201c${rule.name}\u201d`;
    this.name.value = rule.name;
    this.query.value = rule.query;
    const a = { ...emptyActions(), ...rule.actions };
    this.actions = { ...a, add_tags: [...a.add_tags], remove_tags: [...a.remove_tags] };
    this.markRead.input.checked = a.mark_read;
    this.archive.input.checked = a.archive;
    this.trash.input.checked = a.trash;
    this.spam.value = a.spam || '';
    this.stop.input.checked = a.stop;
    this.enabled.checked = rule.enabled !== false;
    this.renderChips();
    this.showWarnings(rule.warnings);
  }

  showWarnings(warnings) {
    replace(this.warnings, (warnings || []).map((w) => h('p', { class: 'warning-note rule-warning' },
      icon(ICONS.warning), h('span', {}, sentence(w)))));
  }

  /** The tags it adds and removes, each with a button that takes it off; then "Add a tag…", "Remove a tag…". */
  renderChips() {
    const chips = (list, key, remove, addLabel, pickTitle, addIcon) => [
      ...list.map((t) => h('li', { class: 'chip' },
        h('span', { class: 'chip-text' }, tagLabel(t)),
        h('button', {
          type: 'button', class: 'chip-remove', 'aria-label': `${remove} ${t}`, title: `${remove} ${t}`,
          onclick: () => {
            this.actions[key] = this.actions[key].filter((x) => x !== t);
            this.renderChips();
            // The chip's button went with it: the focus goes to its list's "Add…" button.
            this.form.querySelector(`.chip-add[data-key="${key}"]`).focus();
          },
        }, icon(ICONS.close)))),
      h('li', {}, h('button', {
        type: 'button', class: 'chip chip-add', dataset: { key }, onclick: () => this.pick(key, pickTitle),
      }, icon(addIcon), addLabel)),
    ];
    replace(this.addChips, chips(this.actions.add_tags, 'add_tags', 'Do not add tag', 'Add a tag\u2026',
      'Tag the mail this rule finds', ICONS.plus));
    replace(this.removeChips, chips(this.actions.remove_tags, 'remove_tags', 'Do not remove tag', 'Remove a tag\u2026',
      'Remove a tag from the mail this rule finds', ICONS.tag));
  }

  async pick(key, title) {
    const name = await pickTag({ title, fieldLabel: 'Tag name' });
    if (!name) return;
    if (!this.actions[key].includes(name)) this.actions[key] = [...this.actions[key], name];
    this.renderChips();
    const again = this.form.querySelector(`.chip-add[data-key="${key}"]`);
    if (again) again.focus();
  }

  showError(message) {
    formError(this.errorLine, message);
  }

  clearQueryError() {
    this.queryError.hidden = true;
    this.query.removeAttribute('aria-invalid');
    this.queryCheck.textContent = '';
  }

  showQueryError(message) {
    this.queryError.textContent = message;
    this.queryError.hidden = false;
    this.query.setAttribute('aria-invalid', 'true');
    this.query.focus();
  }

  /** "Check the search": how many stored messages the query finds now, or why it cannot run. */
  async checkQuery() {
    const q = this.query.value.trim();
    this.clearQueryError();
    if (!q) { this.showQueryError('Type which mail the rule is for.'); return; }
    this.queryCheck.textContent = 'Searching\u2026';
    try {
      const page = await api.search({ q, limit: 1 });
      this.queryCheck.textContent = `It finds ${count(page.total, 'message')} in your mail now.`;
    } catch (err) {
      this.queryCheck.textContent = '';
      if (err.status !== 401) this.showQueryError(sentence(err.message));
    }
  }

  /** The rule as the form has it: {name, query, actions, enabled}. */
  value() {
    return {
      name: this.name.value.trim(),
      query: this.query.value.trim(),
      actions: {
        add_tags: [...this.actions.add_tags],
        remove_tags: [...this.actions.remove_tags],
        mark_read: this.markRead.input.checked,
        archive: this.archive.input.checked,
        trash: this.trash.input.checked,
        spam: this.spam.value || null,
        stop: this.stop.input.checked,
      },
      enabled: this.enabled.checked,
    };
  }

  async save(event) {
    event.preventDefault();
    this.errorLine.hidden = true;
    this.name.removeAttribute('aria-invalid');
    const rule = this.value();
    if (!rule.name) { formError(this.errorLine, 'Give the rule a name.', this.name); return; }
    if (!rule.query) { this.showQueryError('Type which mail the rule is for.'); return; }
    this.submit.disabled = true;
    try {
      const saved = this.id === null ? await api.createRule(rule) : await api.updateRule(this.id, rule);
      announce(this.id === null ? `Added the rule \u201c${saved.name}\u201d.` : `Saved the rule \u201c${saved.name}\u201d.`);
      this.back(saved);
    } catch (err) {
      if (err.status === 401) return;
      if (err.code === 'bad_query') this.showQueryError(sentence(err.message));
      else formError(this.errorLine, `Not saved: ${err.message}`, err.code === 'bad_name' ? this.name : null);
    } finally {
      this.submit.disabled = false;
    }
  }
}
