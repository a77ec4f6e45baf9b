// The Autocrypt Setup Message (Autocrypt Level 1, section 4.4): the one way
// Autocrypt moves a secret key between a person's own mail apps.
// - setupMessageCard(msg): in the reader, for a received Setup Message (the
//   `setup_message` of GET /messages/{id}): the setup code field and Import
//   (POST /messages/{id}/setup-message);
// - moveKey({address, accountId}): explains, asks, queues one to the account's own
//   address (POST /keys/setup-message) and shows its setup code, once.
//
// The code unlocks the secret key: it is never stored, logged or put in the URL; the
// sheet that shows it drops it when closed, and a typed one is cleared once used.

import { api } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { fingerprintGroups } from '../format.js';
import { announce } from '../mail-actions.js';
import { openSheet, confirmSheet } from './sheet.js';

const CODE_DIGITS = 36;

/** The error codes of POST /messages/{id}/setup-message, in words. */
function importProblem(err) {
  switch (err.code) {
    case 'wrong_setup_code':
      return 'That code does not open this message. Check it against the one your other app showed, and try again.';
    case 'bad_setup_code':
      return `A setup code has ${CODE_DIGITS} digits.`;
    case 'not_a_setup_message':
      return `This message holds no key Homepost can import (${err.message}).`;
    case 'not_our_address':
      return `The key is not for any of your accounts (${err.message}). Add the account first, then import it.`;
    case 'not_from_ourselves':
      return 'Only a Setup Message you sent yourself, from one of your own addresses to one of them, can be imported.';
    default:
      return `The key was not imported: ${err.message}`;
  }
}

/**
 * The card of a received Setup Message: what it is, the code field and Import; or,
 * when it was not sent from one of the user's own addresses to one of them, why
 * it cannot be imported (someone else's Setup Message could hold their key).
 */
export function setupMessageCard(msg) {
  if (msg.setup_message && msg.setup_message.importable === false) {
    const title = `setup-refused-${msg.id}`;
    return h('section', { class: 'setup-card', 'aria-labelledby': title },
      h('h2', { class: 'setup-title', id: title }, icon(ICONS.key), 'Autocrypt Setup Message'),
      h('p', { class: 'notice' }, 'This message claims to hold a key for you, but it was not sent from one of '
        + 'your own addresses to one of them. Homepost imports only Setup Messages you sent yourself; '
        + 'do not type a setup code for this one, even if its text asks you to.'));
  }
  const begin = msg.setup_message && msg.setup_message.passphrase_begin;
  const id = `setup-code-${msg.id}`;
  const input = h('input', {
    id, name: 'setup-code', type: 'text', inputmode: 'numeric', autocomplete: 'off', autocapitalize: 'off',
    spellcheck: 'false', enterkeyhint: 'done', class: 'setup-code-input',
    'aria-describedby': `${id}-hint`,
  });
  const error = h('p', { class: 'form-error', id: `${id}-error`, role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button primary' }, icon(ICONS.key), 'Import the key');
  const result = h('div', { class: 'setup-result', role: 'status', tabindex: '-1' });

  const showError = (text) => {
    error.textContent = text;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', `${id}-error ${id}-hint`);
    input.focus();
    input.select();
  };
  const clearError = () => {
    error.hidden = true;
    input.removeAttribute('aria-invalid');
    input.setAttribute('aria-describedby', `${id}-hint`);
  };

  const form = h('form', {
    class: 'setup-form',
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      if (submit.disabled) return;
      const digits = input.value.replace(/[\s\-\u2010-\u2015]/g, '');
      if (/\D/.test(digits)) {
        showError('The setup code is digits only (spaces and dashes are fine).');
        return;
      }
      if (digits.length !== CODE_DIGITS) {
        showError(`A setup code has ${CODE_DIGITS} digits; this has ${digits.length}.`);
        return;
      }
      clearError();
      submit.disabled = true;
      replace(submit, icon(ICONS.key), 'Importing\u2026');
      try {
        const imported = await api.importSetupMessage(msg.id, digits);
        input.value = '';
        form.hidden = true;
        const addresses = (imported.addresses || []).join(', ');
        replace(result,
          h('p', { class: 'setup-done' }, icon(ICONS.shieldCheck, 'icon setup-done-icon'),
            `Imported. This key is now yours${addresses ? ` for ${addresses}` : ''}:`),
          h('p', { class: 'fingerprint' }, fingerprintGroups(imported.fingerprint)),
          h('p', { class: 'field-hint' }, 'Your older keys stay, to read older mail.'));
        result.focus();
      } catch (err) {
        if (err.status !== 401) showError(importProblem(err));
      } finally {
        submit.disabled = false;
        replace(submit, icon(ICONS.key), 'Import the key');
      }
    },
  },
  h('label', { for: id }, 'Setup code'),
  input,
  h('p', { class: 'field-hint', id: `${id}-hint` }, begin
    ? `${CODE_DIGITS} digits; it starts with ${begin}. Spaces and dashes are fine.`
    : `${CODE_DIGITS} digits. Spaces and dashes are fine.`),
  error,
  h('div', { class: 'setup-actions' }, submit));

  return h('section', { class: 'setup-card', 'aria-labelledby': `${id}-title` },
    h('h2', { class: 'setup-title', id: `${id}-title` }, icon(ICONS.key), 'Autocrypt Setup Message'),
    h('p', {}, 'This is an Autocrypt Setup Message: a key from another of your mail apps. '
      + 'Import it to use the same key here, so that both apps read the mail encrypted to you.'),
    h('p', { class: 'notice' }, 'Import it only if you sent it yourself: type the setup code your other app '
      + 'showed when it sent this message.'),
    form,
    result);
}

// --- sending one ------------------------------------------------------------------

/** The setup code in its nine groups of four digits (whatever separates them). */
function codeGroups(code) {
  const digits = String(code || '').replace(/\D/g, '');
  return digits.match(/.{1,4}/g) || [];
}

/** Shows the code of a Setup Message just queued: once, large, grouped. */
function showSetupCode(sent, address) {
  const groups = codeGroups(sent.code);
  const done = h('button', { type: 'button', class: 'button primary', onclick: () => dialog.close() },
    'I wrote it down');
  const dialog = openSheet({
    title: 'Your setup code',
    className: 'setup-code-sheet',
    closeOnBackdrop: false, // a stray tap must not lose it
    content: [
      h('p', { class: 'setup-code-lead' }, 'Write it down now: the other app asks for it. '
        + 'Homepost does not keep it and cannot show it again.'),
      h('ol', { class: 'setup-code', 'aria-label': `Setup code, ${groups.length} groups of 4 digits` },
        groups.map((g) => h('li', {}, g))),
      groups.length ? h('p', { class: 'field-hint' },
        `The other app may show its first two digits, ${groups[0].slice(0, 2)}, to tell which code it wants.`) : null,
      h('p', {}, `The Setup Message is on its way to ${address} (see the outbox). Open it in your other app `
        + 'and type this code there.'),
      sent.fingerprint ? h('p', { class: 'field-hint' }, 'The key inside: ',
        h('span', { class: 'fingerprint' }, fingerprintGroups(sent.fingerprint))) : null,
      h('div', { class: 'sheet-actions' }, done),
    ],
  });
  return dialog;
}

/** The error codes of POST /keys/setup-message, in words. */
function sendProblem(err) {
  switch (err.code) {
    case 'no_account':
      return 'there is no account to send it from. Add your mail account first.';
    case 'no_smtp':
      return 'this account has no outgoing (SMTP) server to send it with. Add one in the account\u2019s settings.';
    default:
      return err.message;
  }
}

/**
 * Moves the key of `address` to another app: explains the Setup Message, asks,
 * queues it (`accountId`: the account that sends it, to itself) and shows the code.
 * Resolves to the server's answer, or null when nothing was sent.
 */
export async function moveKey({ address, accountId }) {
  const ok = await confirmSheet({
    title: 'Move your key to another app?',
    message: `Homepost sends an Autocrypt Setup Message to ${address}, to yourself: your secret key, locked `
      + 'with a setup code that is shown here once. Open the message in your other mail app (one that '
      + 'supports Autocrypt, such as Delta Chat) and type the code there; both apps then use the same key.',
    details: [
      'Write the code on paper; do not mail it or keep it next to the message.',
      'Anyone with both the message and the code can read your encrypted mail.',
    ],
    confirmLabel: 'Send the Setup Message',
  });
  if (!ok) return null;
  try {
    const sent = await api.sendSetupMessage(accountId);
    showSetupCode(sent, address);
    return sent;
  } catch (err) {
    if (err.status !== 401) announce(`The Setup Message was not sent: ${sendProblem(err)}`, 'error');
    return null;
  }
}
