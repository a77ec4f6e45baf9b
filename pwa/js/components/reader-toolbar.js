// The reader's toolbar: Back, then the actions used most (Reply, Archive, Trash,
// Flag), each with its name shown, and the others in a "More" menu (Reply all,
// Forward, Mark read / unread, Report spam / Not spam, Add tag…, "Mail like this…"
// (a new filter rule for the sender, rule-form.js), the original message as a
// download, and for mail in the trash or spam "Delete for good"). On a phone the
// names sit under the icons, so the row fits the width without scrolling sideways.

import { urls } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { ARCHIVE, TRASH, FLAG, UNFLAG, SPAM, NOT_SPAM } from '../mail-actions.js';
import { mailLikeThisHash, navigate } from '../router.js';
import { menuButton } from './menu-button.js';

export function backButton(view) {
  return h('button', {
    type: 'button', class: 'icon-button back-button', 'aria-label': 'Back to the list', title: 'Back (Escape)',
    dataset: { key: 'back' },
    onclick: () => view.dispatchEvent(new CustomEvent('hp-back', { bubbles: true })),
  }, icon(ICONS.back));
}

function toolButton(key, label, iconPath, run, extra = {}) {
  return h('button', {
    type: 'button', class: 'tool-button', dataset: { key }, onclick: run, ...extra,
  }, icon(iconPath), h('span', {}, label));
}

/**
 * Fills `toolbar` with the actions for `view`'s message (an HpMessageView: msg,
 * act, actAndClose, reply, forward, toggleRead, addTag, deleteForGood). The element
 * that had the focus is focused again after a redraw (by its data-key).
 */
export function renderToolbar(view, toolbar) {
  const m = view.msg;
  const inInbox = m.tags.includes('inbox');
  const inTrash = m.tags.includes('trash');
  const inSpam = m.tags.includes('spam');
  const flagged = m.tags.includes('flagged');
  const focused = toolbar.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  const more = menuButton({
    label: 'More',
    title: 'More actions',
    iconPath: ICONS.more,
    items: [
      { key: 'reply-all', label: 'Reply all', icon: ICONS.replyAll, title: 'Reply to all (a)', run: () => view.reply('all') },
      { key: 'forward', label: 'Forward', icon: ICONS.forward, title: 'Forward (f)', run: () => view.forward() },
      {
        key: 'read',
        label: m.unread ? 'Mark read' : 'Mark unread',
        icon: m.unread ? ICONS.markRead : ICONS.markUnread,
        title: 'u',
        run: () => view.toggleRead(),
      },
      inSpam
        ? {
          key: 'spam', label: 'Not spam', icon: ICONS.inbox, title: 'Back to the Inbox, and the filter learns',
          run: () => view.actAndClose(NOT_SPAM, 'Marked as not spam'),
        }
        : {
          key: 'spam', label: 'Report spam', icon: ICONS.spam, title: 'The filter learns from it',
          run: () => view.actAndClose(SPAM, 'Reported as spam'),
        },
      { key: 'tag', label: 'Add tag\u2026', icon: ICONS.tag, run: () => view.addTag() },
      (m.from || []).some((a) => a && a.address) ? {
        key: 'rule', label: 'Mail like this\u2026', icon: ICONS.filter, title: 'A filter rule for mail from this sender',
        run: () => navigate(mailLikeThisHash(m.from)),
      } : null,
      {
        key: 'raw', label: 'Download original', icon: ICONS.download, href: urls.raw(m.id),
        download: `message-${m.id}.eml`, title: 'The message as received (.eml)',
      },
      inTrash || inSpam ? {
        key: 'delete', label: 'Delete for good', icon: ICONS.deleteForever, title: 'Asks first: this cannot be undone',
        run: () => view.deleteForGood(),
      } : null,
    ],
  });
  replace(toolbar,
    backButton(view),
    toolButton('reply', 'Reply', ICONS.reply, () => view.reply('reply'), { title: 'Reply (r)' }),
    inInbox
      ? toolButton('archive', 'Archive', ICONS.archive, () => view.actAndClose(ARCHIVE, 'Archived'), { title: 'Archive (e)' })
      : toolButton('archive', 'To Inbox', ICONS.inbox,
        () => view.act({ add: ['inbox'], remove: ['trash', 'spam'] }, 'Moved to Inbox'), { title: 'Move to Inbox' }),
    inTrash ? null : toolButton('trash', 'Trash', ICONS.trash, () => view.actAndClose(TRASH, 'Moved to Trash'),
      { title: 'Move to Trash (#)' }),
    toolButton('flag', 'Flag', flagged ? ICONS.star : ICONS.starOutline,
      () => (flagged ? view.act(UNFLAG, 'Unflagged') : view.act(FLAG, 'Flagged')),
      { title: flagged ? 'Unflag' : 'Flag', 'aria-pressed': flagged ? 'true' : 'false' }),
    more);
  if (focused) {
    const again = toolbar.querySelector(`button[data-key="${focused}"]`) || more.querySelector('button');
    if (again) again.focus();
  }
}
