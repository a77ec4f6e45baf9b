// The two help sheets: the search language (docs/search.md) and keyboard shortcuts.

import { h } from '../dom.js';
import { openSheet } from './sheet.js';

const OPERATORS = [
  ['budget hiring', 'both words, anywhere in subject or body'],
  ['"planning meeting"', 'the exact phrase'],
  ['from:alice', 'sender name or address contains alice'],
  ['from:alice@example.org', 'exactly that sender address'],
  ['to:bob', 'sent to bob (To header)'],
  ['cc:carol', 'carol in Cc'],
  ['subject:invoice', 'word or "phrase" in the subject'],
  ['body:"see attached"', 'word or phrase in the body'],
  ['has:attachment', 'with at least one attachment'],
  ['att:pdf', 'attachment name or type contains pdf'],
  ['tag:work', 'tagged work'],
  ['in:inbox', 'in the inbox (same as tag:inbox)'],
  ['is:unread', 'not read yet (is:read: already read)'],
  ['is:flagged', 'tagged flagged'],
  ['mid:1234@example.org', 'with that Message-ID'],
  ['after:2024-03', 'on or after 1 March 2024'],
  ['before:2024-03-15', 'before 15 March 2024'],
  ['date:2024-03..2024-05', 'March through May 2024 (date:2024 is the whole year)'],
  ['size:>1M', 'bigger than 1 MiB (also <, <=, >=, k, G, 100k..2M)'],
  ['budget -draft', 'with budget, without draft'],
  ['holiday OR vacation', 'either word (OR in capitals)'],
  ['(from:alice OR from:bob) tag:work', 'group with parentheses'],
  ['in:spam', 'spam (and in:trash: trash) is left out unless named'],
];

const SHORTCUTS = [
  ['j / k', 'next / previous message in the list'],
  ['o or Enter', 'open the selected message'],
  ['e', 'archive (remove from Inbox)'],
  ['#', 'move to Trash'],
  ['u', 'mark as unread / read'],
  ['x', 'select the message (then e, # and u act on every selected one)'],
  ['c', 'write a new message'],
  ['r / a', 'reply / reply to all (in a message)'],
  ['f', 'forward (in a message)'],
  ['Ctrl+Enter', 'send (while writing)'],
  ['/', 'search'],
  ['?', 'this help'],
  ['Escape', 'close a sheet or the menu; back to the list'],
];

function definitionList(rows, termClass, pick = null) {
  return h('dl', { class: 'help-list' }, rows.map(([term, meaning]) => [
    h('dt', {}, pick
      ? h('button', {
        type: 'button', class: 'help-example', title: 'Put this in the search field',
        onclick: () => pick(term),
      }, h('code', {}, term))
      : h(termClass === 'kbd' ? 'kbd' : 'code', {}, term)),
    h('dd', {}, meaning),
  ]));
}

/**
 * The search language's help. With `onPick`, each example is a button: the sheet
 * closes and `onPick(example)` puts it in the search field to adapt.
 */
export function showSearchHelp(onPick = null) {
  let dialog = null;
  const pick = onPick && ((term) => {
    // After the sheet's own close handler has given the focus back.
    dialog.addEventListener('close', () => onPick(term), { once: true });
    dialog.close();
  });
  dialog = openSheet({
    title: 'Search',
    className: 'help',
    content: [
      h('p', {}, 'Type words to find messages containing all of them, newest first. '
        + 'Put a field and a colon right before a word (no space after the colon). '
        + (onPick ? 'Tap an example to put it in the search field:' : '')),
      definitionList(OPERATORS, 'code', pick),
      h('p', {}, 'Dates are YYYY, YYYY-MM or YYYY-MM-DD (UTC). Sizes take k, M or G. '
        + 'A search that cannot be understood is not run: the message says where the problem is.'),
    ],
  });
  return dialog;
}

export function showShortcutHelp() {
  return openSheet({
    title: 'Keyboard shortcuts',
    className: 'help',
    content: [
      definitionList(SHORTCUTS, 'kbd'),
      h('p', {}, 'Shortcuts are off while you type in a field.'),
    ],
  });
}
