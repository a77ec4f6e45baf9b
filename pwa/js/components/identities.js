// The addresses an account sends as (docs/accounts.md, "Addresses and signatures"):
// its own address and its aliases, each with a name and a signature, and the one
// default that new messages are written from. Shown inside each account card of
// <hp-accounts>; adding and editing happen in a sheet, so the card may be redrawn
// by the accounts poll meanwhile without losing what is typed.

import { api } from '../api.js';
import { h, icon } from '../dom.js';
import { ICONS } from '../icons.js';
import { formatAddress } from '../format.js';
import { announce } from '../mail-actions.js';
import { openSheet, confirmSheet } from './sheet.js';

/** The server's limit on a signature, in characters. */
const MAX_SIGNATURE = 2000;

let identityForms = 0;

/** The first line of a signature, for the card. */
function signaturePreview(signature) {
  const first = (signature || '').split('\n').find((l) => l.trim()) || '';
  return first.length > 60 ? `${first.slice(0, 59)}…` : first;
}

/**
 * The "Sends as" part of account `a`'s card: its identities with Edit, Make
 * default and Delete, and Add address. `changed()` is called after every change.
 */
export function identitiesBlock(a, identities, changed) {
  const headingId = `identities-${a.id}`;
  const rows = identities.map((i) => {
    const label = formatAddress(i.display_name, i.address);
    const preview = signaturePreview(i.signature);
    return h('li', { class: 'identity' },
      h('p', { class: 'card-line identity-address' },
        h('span', {}, label),
        i.is_default ? h('span', { class: 'state-badge state-idle' }, 'Default') : null),
      h('p', { class: 'card-line muted' },
        i.is_primary ? 'The account’s own address. ' : 'An alias, sent through this account’s server. ',
        preview ? `Signature: ${preview}` : 'No signature.'),
      h('div', { class: 'card-actions' },
        h('button', {
          type: 'button', class: 'button', dataset: { focusKey: `identity-edit-${i.id}` },
          'aria-label': `Edit ${i.address}`,
          onclick: () => editIdentity(a, i, changed),
        }, icon(ICONS.edit), 'Edit'),
        i.is_default ? null : h('button', {
          type: 'button', class: 'button', dataset: { focusKey: `identity-default-${i.id}` },
          'aria-label': `Make default: ${i.address}`,
          onclick: () => makeDefault(i, changed),
        }, icon(ICONS.check), 'Make default'),
        i.is_primary ? null : h('button', {
          type: 'button', class: 'button', dataset: { focusKey: `identity-delete-${i.id}` },
          'aria-label': `Delete ${i.address}`,
          onclick: () => removeIdentity(i, changed),
        }, icon(ICONS.trash), 'Delete')));
  });
  return h('section', { class: 'server identities', 'aria-labelledby': headingId },
    h('h3', { class: 'server-title', id: headingId }, 'Sends as'),
    a.outgoing ? null : h('p', { class: 'card-line muted' },
      'It has no outgoing server: add one (Edit) to send from these addresses.'),
    h('ul', { class: 'identity-list', 'aria-labelledby': headingId }, rows),
    h('button', {
      type: 'button', class: 'button', dataset: { focusKey: 'identity-add' },
      'aria-label': `Add address to ${a.name || a.email}`,
      onclick: () => editIdentity(a, null, changed),
    }, icon(ICONS.plus), 'Add address'));
}

async function makeDefault(i, changed) {
  try {
    await api.defaultIdentity(i.id);
    announce(`New messages are now written from ${i.address}.`);
  } catch (err) {
    if (err.status !== 401) announce(err.message, 'error');
  }
  changed();
}

async function removeIdentity(i, changed) {
  const ok = await confirmSheet({
    title: `Delete ${i.address}?`,
    message: i.is_default
      ? 'Homepost stops offering it as From. It is the default: the first account’s own address becomes the default. '
        + 'Drafts written from it are then written from this account’s own address.'
      : 'Homepost stops offering it as From. Drafts written from it are then written from this account’s own address.',
    confirmLabel: 'Delete address',
    danger: true,
  });
  if (!ok) return;
  try {
    await api.deleteIdentity(i.id);
    announce(`Deleted ${i.address}.`);
  } catch (err) {
    if (err.status !== 401) announce(err.message, 'error');
  }
  changed();
}

/** Adds (`identity` null) or edits an identity of account `a` in a sheet. */
export function editIdentity(a, identity, changed) {
  identityForms += 1;
  const p = `ident${identityForms}`;
  const primary = Boolean(identity && identity.is_primary);
  const address = h('input', {
    id: `${p}-address`, type: 'email', inputmode: 'email', autocomplete: 'off', autocapitalize: 'off',
    spellcheck: 'false', required: true, value: identity ? identity.address : '',
    readonly: primary, 'aria-describedby': `${p}-address-hint`,
  });
  const name = h('input', {
    id: `${p}-name`, type: 'text', autocomplete: 'off', autocapitalize: 'words',
    value: identity ? identity.display_name : (a.display_name || ''), 'aria-describedby': `${p}-name-hint`,
  });
  const signature = h('textarea', {
    id: `${p}-signature`, rows: '4', class: 'signature-input', maxlength: String(MAX_SIGNATURE),
    'aria-describedby': `${p}-signature-hint`,
  });
  signature.value = identity ? identity.signature : '';
  const errorLine = h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const save = h('button', { type: 'submit', class: 'button primary' }, identity ? 'Save' : 'Add address');
  const field = (label, control, hint) => h('div', { class: 'field' },
    h('label', { for: control.id }, label), control,
    h('p', { class: 'field-hint', id: `${control.id}-hint` }, hint));
  const form = h('form', {
    class: 'identity-form', novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      const fields = {
        address: address.value.trim(), display_name: name.value.trim(), signature: signature.value,
      };
      if (!/^[^\s@,<>]+@[^\s@,<>]+$/.test(fields.address)) {
        address.setAttribute('aria-invalid', 'true');
        errorLine.textContent = 'Type one email address, like shop@example.org.';
        errorLine.hidden = false;
        address.focus();
        return;
      }
      address.removeAttribute('aria-invalid');
      save.disabled = true;
      try {
        if (identity) await api.updateIdentity(identity.id, fields);
        else await api.createIdentity({ account_id: a.id, ...fields });
        dialog.close();
        announce(identity ? `Saved ${fields.address}.` : `${a.name || a.email} now also sends as ${fields.address}.`);
        changed();
      } catch (err) {
        if (err.status === 401) return;
        errorLine.textContent = err.message;
        errorLine.hidden = false;
        errorLine.focus();
      } finally {
        save.disabled = false;
      }
    },
  },
  errorLine,
  field('Email address', address, primary
    ? 'The account’s own address: change it in the account’s settings.'
    : `Mail from this address goes through ${a.name || a.email}’s outgoing server, which must allow it.`),
  field('Your name', name, primary
    ? 'Shown to the people you write to; changing it here changes it in the account’s settings too.'
    : 'Shown to the people you write to.'),
  field('Signature', signature,
    'Put below “-- ” when you start a new message or a reply; leave empty for none.'),
  h('div', { class: 'sheet-actions' },
    h('button', { type: 'button', class: 'button', onclick: () => dialog.close() }, 'Cancel'),
    save));
  const dialog = openSheet({
    title: identity ? `Edit ${identity.address}` : `Add an address to ${a.name || a.email}`,
    content: form,
    closeOnBackdrop: false,
  });
  (primary ? name : address).focus();
  return dialog;
}
