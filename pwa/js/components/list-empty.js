// What the message list says when it has no rows. An empty inbox on a box with no
// account yet names the two ways mail comes in: an account, or importing files;
// an empty Trash says so.

import { h } from '../dom.js';
import { accountHash, DEFAULT_QUERY, IMPORT_HASH, isTrashQuery } from '../router.js';
import { lastAccounts } from '../poll.js';

/** The empty list's text for `query`. */
export function emptyText(query) {
  if (isTrashQuery(query)) return h('p', {}, 'The trash is empty.');
  if (query !== DEFAULT_QUERY) return h('p', {}, 'No messages match this search.');
  const known = lastAccounts();
  const noAccount = Boolean(known && Array.isArray(known.accounts) && known.accounts.length === 0);
  if (!noAccount) return h('p', {}, 'Your inbox is empty.');
  return [
    h('p', {}, 'Your inbox is empty. Two ways to bring your mail in:'),
    h('ul', { class: 'ways-in' },
      h('li', {},
        h('a', { class: 'button primary', href: accountHash('new') }, 'Add an account'),
        h('span', { class: 'field-hint' }, ' Homepost fetches its mail, and sends from it.')),
      h('li', {},
        h('a', { class: 'button', href: IMPORT_HASH }, 'Import mail'),
        h('span', { class: 'field-hint' },
          ' from files you have: an mbox, .eml files, or a Maildir as .zip or .tar (on the box itself: ',
          h('code', {}, 'homepost import PATH'), ').'))),
  ];
}
