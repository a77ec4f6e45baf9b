// The app's own preferences, kept in this browser (localStorage): what a swipe on
// a list row does, and whether the list groups mail into conversations. They say nothing about the mail, so they need no protection;
// search terms and mail never go here.

const SWIPE_KEY = 'homepost.swipe';

/** What a swipe may do; `none` leaves that direction without an action. */
export const SWIPE_CHOICES = [
  ['archive', 'Archive'],
  ['trash', 'Trash'],
  ['read', 'Mark read / unread'],
  ['flag', 'Flag'],
  ['spam', 'Spam'],
  ['none', 'Nothing'],
];

/** Swipe left archives, swipe right marks read or unread, until the person chooses. */
const SWIPE_DEFAULTS = { left: 'archive', right: 'read' };

const VALID = new Set(SWIPE_CHOICES.map(([value]) => value));

/** The last choice, for a browser whose storage is off (private mode). */
let unsaved = null;

/** {left, right}: the action of each swipe direction. */
export function swipeSettings() {
  let saved = unsaved;
  if (!saved) {
    try {
      saved = JSON.parse(window.localStorage.getItem(SWIPE_KEY) || '{}') || {};
    } catch {
      saved = {}; // storage off or damaged: the defaults
    }
  }
  return {
    left: VALID.has(saved.left) ? saved.left : SWIPE_DEFAULTS.left,
    right: VALID.has(saved.right) ? saved.right : SWIPE_DEFAULTS.right,
  };
}

/** Sets the action of one direction (`left` or `right`) and tells the lists. */
export function setSwipeSetting(side, value) {
  if (!VALID.has(value) || (side !== 'left' && side !== 'right')) return;
  const next = { ...swipeSettings(), [side]: value };
  try {
    window.localStorage.setItem(SWIPE_KEY, JSON.stringify(next));
    unsaved = null;
  } catch {
    unsaved = next; // storage off (private mode): the choice lasts until a reload
  }
  window.dispatchEvent(new CustomEvent('hp:settings-changed', { detail: { swipe: next } }));
}

const GROUPING_KEY = 'homepost.grouping';

/** The last grouping choice, for a browser whose storage is off. */
let unsavedGrouping = null;

/** How the list shows mail: `conversations` (one row per thread, the default) or `messages`. */
export function listGrouping() {
  let saved = unsavedGrouping;
  if (!saved) {
    try {
      saved = window.localStorage.getItem(GROUPING_KEY);
    } catch {
      saved = null;
    }
  }
  return saved === 'messages' ? 'messages' : 'conversations';
}

/** Sets how the list shows mail and tells the lists. */
export function setListGrouping(value) {
  if (value !== 'messages' && value !== 'conversations') return;
  try {
    window.localStorage.setItem(GROUPING_KEY, value);
    unsavedGrouping = null;
  } catch {
    unsavedGrouping = value;
  }
  window.dispatchEvent(new CustomEvent('hp:settings-changed', { detail: { grouping: value } }));
}
