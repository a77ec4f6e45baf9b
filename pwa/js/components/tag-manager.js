// The "Manage tags" sheet: create, rename and delete tags. `read` is reserved
// (it is how Homepost marks mail as read), so it is not offered here.

import { api } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { tagsEdited, announce } from '../mail-actions.js';
import { openSheet, confirmSheet } from './sheet.js';

const RESERVED = 'read';

export function openTagManager() {
  const list = h('ul', { class: 'tag-admin' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const status = h('p', { class: 'visually-hidden', role: 'status' });
  const newName = h('input', {
    id: 'new-tag', type: 'text', name: 'tag', autocomplete: 'off', autocapitalize: 'off',
    spellcheck: 'false', required: true, placeholder: 'e.g. work',
  });

  const showError = (message) => {
    error.textContent = message || '';
    error.hidden = !message;
  };

  async function reload() {
    try {
      const answer = await api.tags();
      const tags = (answer.tags || []).filter((t) => t.name !== RESERVED);
      replace(list, tags.length ? tags.map(row) : h('li', { class: 'nav-empty' }, 'No tags yet'));
    } catch (err) {
      showError(err.message);
    }
  }

  function row(tag) {
    const li = h('li', { class: 'tag-admin-row' });
    const show = () => replace(li,
      h('span', { class: 'tag-admin-name' }, tag.name),
      h('span', { class: 'tag-admin-count' }, `${tag.total} ${tag.total === 1 ? 'message' : 'messages'}`),
      h('button', {
        type: 'button', class: 'icon-button', 'aria-label': `Rename tag ${tag.name}`, title: 'Rename',
        onclick: () => edit(),
      }, icon(ICONS.edit)),
      h('button', {
        type: 'button', class: 'icon-button', 'aria-label': `Delete tag ${tag.name}`, title: 'Delete',
        onclick: () => remove(),
      }, icon(ICONS.trash)));

    const edit = () => {
      const id = `rename-${tag.name}`;
      const input = h('input', {
        id, type: 'text', value: tag.name, autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false',
      });
      const form = h('form', {
        class: 'inline-form',
        onsubmit: async (event) => {
          event.preventDefault();
          const to = input.value.trim();
          if (!to || to === tag.name) { show(); return; }
          try {
            await api.renameTag(tag.name, to);
            showError('');
            status.textContent = `Renamed ${tag.name} to ${to}.`;
            tagsEdited();
            await reload();
          } catch (err) {
            showError(err.message);
            input.focus();
          }
        },
      },
      h('label', { for: id, class: 'visually-hidden' }, `New name for tag ${tag.name}`),
      input,
      h('button', { type: 'submit', class: 'button primary' }, 'Save'),
      h('button', { type: 'button', class: 'button', onclick: () => show() }, 'Cancel'));
      replace(li, form);
      input.focus();
      input.select();
    };

    const remove = async () => {
      const ok = await confirmSheet({
        title: `Delete tag “${tag.name}”?`,
        message: `The tag is removed from ${tag.total} ${tag.total === 1 ? 'message' : 'messages'}. The messages themselves stay.`,
        confirmLabel: 'Delete tag',
        danger: true,
      });
      if (!ok) return;
      try {
        await api.deleteTag(tag.name);
        showError('');
        announce(`Deleted tag ${tag.name}.`);
        tagsEdited();
        await reload();
        newName.focus();
      } catch (err) {
        showError(err.message);
      }
    };

    show();
    return li;
  }

  const create = h('form', {
    class: 'inline-form',
    onsubmit: async (event) => {
      event.preventDefault();
      const name = newName.value.trim();
      if (!name) { showError('Type a name for the new tag.'); newName.focus(); return; }
      if (name.toLowerCase() === RESERVED) {
        showError('“read” is reserved: Homepost uses it to mark mail as read.');
        newName.focus();
        return;
      }
      try {
        const tag = await api.createTag(name);
        showError('');
        newName.value = '';
        status.textContent = `Created tag ${tag && tag.name ? tag.name : name}.`;
        tagsEdited();
        await reload();
      } catch (err) {
        showError(err.message);
      }
      newName.focus();
    },
  },
  h('label', { for: 'new-tag' }, 'New tag'),
  newName,
  h('button', { type: 'submit', class: 'button primary' }, icon(ICONS.plus), 'Create'));

  openSheet({
    title: 'Manage tags',
    className: 'tag-manager',
    content: [
      create,
      h('p', { class: 'field-hint' }, 'Names are lowercase, without spaces, quotes or parentheses.'),
      error,
      status,
      list,
    ],
  });
  reload();
  newName.focus();
}
