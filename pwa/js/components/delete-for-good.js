// Deleting mail for good, always after a confirm: one message of the trash or spam
// (the reader's "Delete for good", DELETE /messages/{id}), the messages of a
// conversation that are there, or the whole trash ("Empty trash", POST
// /trash/empty). The box removes them from its store and its search at once; the
// backups drop them at their next prune (docs/integrity.md). Afterwards
// `hp:mail-changed` tells the list and the drawer's counts to read again.

import { api } from '../api.js';
import { count } from '../format.js';
import { announce } from '../mail-actions.js';
import { confirmSheet } from './sheet.js';

/** What deleting for good means, for the confirm. */
const FOR_GOOD = 'removed from this box and its search, and from its backups at the next backup. '
  + 'This cannot be undone.';

function mailChanged() {
  window.dispatchEvent(new CustomEvent('hp:mail-changed', { detail: {} }));
}

/** Why messages were not deleted, in words (`moved`: how many left the trash meanwhile). */
function refusedWords(one, moved, failed) {
  if (failed) return `Not deleted: ${failed.message}`;
  return one
    ? 'Not deleted: this message is no longer in the trash or spam. Move it to the trash first.'
    : `${count(moved, 'message')} not deleted: they are no longer in the trash or spam.`;
}

/**
 * Asks, then deletes the messages `ids` (one, or those of a conversation that are
 * in the trash or spam) one by one. Resolves to `deleted` when each is gone
 * (deleted now, or gone already: 404), `cancelled` when the person said no, and
 * `refused` when some were not deleted (said in the status line: moved out of the
 * trash meanwhile, or an error).
 */
export async function deleteForGood(ids) {
  const one = ids.length === 1;
  const ok = await confirmSheet({
    title: one ? 'Delete this message for good?' : `Delete ${count(ids.length, 'message')} for good?`,
    message: `${one ? 'It is' : 'They are'} ${FOR_GOOD}`,
    confirmLabel: 'Delete for good',
    danger: true,
  });
  if (!ok) return 'cancelled';
  let gone = 0;
  let moved = 0;
  let failed = null;
  for (const id of ids) {
    try {
      await api.deleteMessage(id);
      gone += 1;
    } catch (err) {
      if (err.status === 401) return 'refused'; // the app shows the unlock screen
      if (err.status === 404) gone += 1;
      else if (err.code === 'not_in_trash') moved += 1;
      else failed = err;
    }
  }
  if (gone > 0) mailChanged();
  if (failed || moved > 0) {
    announce(refusedWords(one, moved, failed), 'error');
    return 'refused';
  }
  announce(one ? 'Deleted for good' : `${count(gone, 'message')} deleted for good`);
  return 'deleted';
}

/**
 * Asks, then empties the trash; `shown` is how many messages the Trash lists.
 * Resolves to true when it was emptied.
 */
export async function emptyTrash(shown) {
  const ok = await confirmSheet({
    title: 'Empty the trash?',
    message: `Delete ${count(shown, 'message')} for good? This cannot be undone. Backups drop them `
      + 'at the next backup.',
    confirmLabel: 'Empty trash',
    danger: true,
  });
  if (!ok) return false;
  try {
    const { deleted } = await api.emptyTrash();
    mailChanged();
    announce(`Trash emptied: ${count(deleted, 'message')} deleted for good`);
    return true;
  } catch (err) {
    if (err.status !== 401) announce(`The trash was not emptied: ${err.message}`, 'error');
    return false;
  }
}
