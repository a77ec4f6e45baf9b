// The "Settings" sheet: this browser's own preferences (settings.js): whether the
// list groups mail into conversations, and what swiping a row left and right does;
// and the way to the box's own settings pages (Filter rules, Remote access, Backups,
// Storage health: its hint says so when the last check found damage).

import { h, icon } from '../dom.js';
import { ICONS } from '../icons.js';
import {
  BACKUP_HASH, HEALTH_HASH, REMOTE_HASH, RULES_HASH, navigate,
} from '../router.js';
import {
  SWIPE_CHOICES, swipeSettings, setSwipeSetting, listGrouping, setListGrouping,
} from '../settings.js';
import { announce } from '../mail-actions.js';
import { needsAttention } from '../integrity.js';
import { openSheet } from './sheet.js';

const SIDES = [
  ['left', 'Swipe left'],
  ['right', 'Swipe right'],
];

/** One radio group: the action of swiping towards `side`. */
function sideChoice(side, legend, current) {
  return h('fieldset', { class: 'choice-group' },
    h('legend', {}, legend),
    SWIPE_CHOICES.map(([value, label]) => {
      const id = `swipe-${side}-${value}`;
      return h('div', { class: 'choice' },
        h('input', {
          id, type: 'radio', name: `swipe-${side}`, value, checked: value === current,
          onchange: () => {
            setSwipeSetting(side, value);
            announce(`${legend}: ${label}`);
          },
        }),
        h('label', { for: id }, label));
    }));
}

/** The list's grouping: one row per conversation, or per message. */
function groupingChoice() {
  const current = listGrouping();
  return h('fieldset', { class: 'choice-group' },
    h('legend', {}, 'Show mail as'),
    [['conversations', 'Conversations (one row per thread)'], ['messages', 'Single messages']].map(([value, label]) => {
      const id = `grouping-${value}`;
      return h('div', { class: 'choice' },
        h('input', {
          id, type: 'radio', name: 'grouping', value, checked: value === current,
          onchange: () => {
            setListGrouping(value);
            announce(`Showing ${value === 'messages' ? 'single messages' : 'conversations'}`);
          },
        }),
        h('label', { for: id }, label));
    }));
}

/**
 * A link to a page of the box's settings: the sheet closes first, then the page
 * opens. `warn` marks its hint as something to act on.
 */
function pageLink(href, iconPath, label, hint, sheet, warn = false) {
  return h('a', {
    class: warn ? 'settings-link warn' : 'settings-link', href,
    onclick: (event) => {
      event.preventDefault();
      sheet().addEventListener('close', () => navigate(href), { once: true });
      sheet().close();
    },
  }, icon(iconPath), h('span', { class: 'settings-link-text' },
    h('span', { class: 'settings-link-label' }, label), h('span', { class: 'settings-link-hint' }, hint)));
}

export function openSettings() {
  const current = swipeSettings();
  let dialog = null;
  dialog = openSheet({
    title: 'Settings',
    className: 'settings',
    content: [
      h('h3', { class: 'sheet-subhead' }, 'Message list'),
      groupingChoice(),
      h('h3', { class: 'sheet-subhead' }, 'Swipe actions'),
      h('p', { class: 'field-hint' },
        'What a swipe on a message in the list does (on a touch screen). Kept in this browser only.'),
      h('div', { class: 'choice-columns' }, SIDES.map(([side, legend]) => sideChoice(side, legend, current[side]))),
      h('h3', { class: 'sheet-subhead settings-box' }, 'Your box'),
      pageLink(RULES_HASH, ICONS.filter, 'Filter rules',
        'Tag, archive or file arriving mail by itself; import or export Sieve', () => dialog),
      pageLink(REMOTE_HASH, ICONS.remote, 'Remote access',
        'Reach your box from your phone when you are away from home', () => dialog),
      pageLink(BACKUP_HASH, ICONS.backup, 'Backups',
        'Keep an encrypted copy of everything in your mail account', () => dialog),
      needsAttention()
        ? pageLink(HEALTH_HASH, ICONS.warning, 'Storage health',
          'The last check found damaged data: see what to repair', () => dialog, true)
        : pageLink(HEALTH_HASH, ICONS.storage, 'Storage health',
          'Check that all your mail can be read; how long the trash keeps it', () => dialog),
    ],
  });
  return dialog;
}
