// "Add a tag": a sheet offering the tags that exist (one tap) and a field for a new
// one. Used for the messages selected in the list and for the message being read.

import { h, icon } from '../dom.js';
import { ICONS } from '../icons.js';
import { tagLabel } from '../format.js';
import { knownTags } from '../tag-store.js';
import { openSheet } from './sheet.js';

/** Tags that are states or folders with actions of their own, not offered here. */
const NOT_OFFERED = new Set(['read', 'inbox', 'spam', 'trash']);

/**
 * Asks for a tag. `title` heads the sheet, `fieldLabel` names the field. Resolves
 * to the tag's name (lowercase) or null when the sheet was closed without one.
 */
export function pickTag({ title = 'Add a tag', fieldLabel = 'New tag' } = {}) {
  return new Promise((resolve) => {
    let chosen = null;
    let dialog = null;
    const choose = (name) => {
      chosen = name;
      dialog.close();
    };
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const input = h('input', {
      id: 'tag-picker-input', type: 'text', name: 'tag', autocomplete: 'off', autocapitalize: 'off',
      spellcheck: 'false', placeholder: 'e.g. work',
    });
    const form = h('form', {
      class: 'inline-form',
      onsubmit: (event) => {
        event.preventDefault();
        const name = input.value.trim().toLowerCase();
        const problem = !name ? 'Type the tag\u2019s name.'
          : name === 'read' ? '\u201cread\u201d is reserved: use Mark read / Mark unread.' : null;
        error.textContent = problem || '';
        error.hidden = !problem;
        if (problem) { input.focus(); return; }
        choose(name);
      },
    },
    h('label', { for: input.id }, fieldLabel),
    input,
    h('button', { type: 'submit', class: 'button primary' }, icon(ICONS.plus), 'Add tag'));
    const existing = knownTags().filter((t) => !NOT_OFFERED.has(t));
    dialog = openSheet({
      title,
      className: 'tag-picker',
      content: [
        existing.length ? h('ul', { class: 'tag-choices', 'aria-label': 'Tags' },
          existing.map((t) => h('li', {}, h('button', {
            type: 'button', class: 'button tag-choice', onclick: () => choose(t),
          }, icon(ICONS.tag), tagLabel(t))))) : null,
        form,
        error,
      ],
    });
    dialog.addEventListener('close', () => resolve(chosen));
    // With tags to tap, the phone's keyboard would only hide them.
    if (existing.length === 0) input.focus();
  });
}
