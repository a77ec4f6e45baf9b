// Suggestions under the search field while typing (the ARIA 1.2 combobox
// pattern: the input is role="combobox" with aria-expanded and
// aria-activedescendant, the suggestions a listbox of groups): this session's
// recent searches, correspondents (GET /contacts) as `from:address`, and the
// search language's operators (docs/search.md). Arrows move, Enter or a tap picks,
// Escape closes.
//
// Recent searches say what the person looks for in their mail: they are kept in
// sessionStorage (this tab only, gone when it closes) and wiped at lock, never in
// localStorage.

import { api } from '../api.js';
import { h, replace } from '../dom.js';

const RECENT_KEY = 'homepost.recent-searches';
const RECENT_MAX = 8;
const DEBOUNCE_MS = 150;
const CONTACTS = 5;

/** The operators offered, with what they do (docs/search.md). */
const OPERATORS = [
  ['from:', 'sender'],
  ['to:', 'recipient'],
  ['subject:', 'word in the subject'],
  ['tag:', 'tagged'],
  ['is:unread', 'not read yet'],
  ['is:flagged', 'flagged'],
  ['has:attachment', 'with attachments'],
  ['after:', 'on or after a date (YYYY-MM-DD)'],
  ['before:', 'before a date'],
  ['date:', 'a year, month or day (2024-03)'],
];

function recent() {
  try {
    const list = JSON.parse(window.sessionStorage.getItem(RECENT_KEY) || '[]');
    return Array.isArray(list) ? list.filter((q) => typeof q === 'string') : [];
  } catch {
    return [];
  }
}

/** Remembers a search that was run, for this tab's session. */
export function rememberSearch(q) {
  const text = String(q || '').trim();
  if (!text) return;
  const list = [text, ...recent().filter((x) => x !== text)].slice(0, RECENT_MAX);
  try {
    window.sessionStorage.setItem(RECENT_KEY, JSON.stringify(list));
  } catch {
    // storage off: no recent searches
  }
}

/** Forgets the recent searches (at lock). */
export function forgetSearches() {
  try {
    window.sessionStorage.removeItem(RECENT_KEY);
  } catch {
    // nothing kept
  }
}

/** The word being typed: from the last space before the caret to the caret. */
function tokenAt(text, caret) {
  const start = text.slice(0, caret).search(/\S*$/);
  return { start, end: caret, word: text.slice(start, caret) };
}

/**
 * Turns `input` (in `form`) into a combobox with suggestions. Returns {listbox,
 * close()}: the listbox goes right after the input; close() hides it (the view
 * changed). Picking a recent search runs it (`form.requestSubmit()`); the others go
 * in place of the word being typed.
 */
export function searchSuggestions(input, form) {
  const listId = `${input.id}-suggestions`;
  const listbox = h('div', {
    id: listId, role: 'listbox', class: 'combo-list search-suggestions', 'aria-label': 'Search suggestions', hidden: true,
    // Keep the focus in the field while an option is tapped.
    onmousedown: (event) => event.preventDefault(),
  });
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', listId);
  let options = [];
  let active = -1;
  let timer = null;
  let abort = null;
  let seq = 0;

  function close() {
    listbox.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function highlight(index) {
    active = index;
    options.forEach((o, i) => o.el.setAttribute('aria-selected', i === index ? 'true' : 'false'));
    if (index >= 0) {
      input.setAttribute('aria-activedescendant', options[index].el.id);
      options[index].el.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  /** `groups`: [{label, items: [{text, hint, pick}]}]. */
  function show(groups) {
    options = [];
    const nodes = groups.filter((g) => g.items.length).map((g, gi) => {
      const labelId = `${listId}-g${gi}`;
      return h('div', { role: 'group', 'aria-labelledby': labelId, class: 'combo-group' },
        h('div', { id: labelId, class: 'combo-group-label', role: 'presentation' }, g.label),
        g.items.map((item) => {
          const index = options.length;
          const el = h('div', {
            id: `${listId}-${index}`, role: 'option', class: 'combo-option', 'aria-selected': 'false',
            onclick: () => choose(index),
          },
          h('span', { class: 'combo-name' }, item.text),
          item.hint ? h('span', { class: 'combo-address' }, item.hint) : null);
          options.push({ ...item, el });
          return el;
        }));
    });
    replace(listbox, nodes);
    active = -1;
    input.removeAttribute('aria-activedescendant');
    const open = options.length > 0 && document.activeElement === input;
    listbox.hidden = !open;
    input.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  /** Puts `text` in place of the word being typed; `space` adds one after it. */
  function insert(text, space) {
    const { start, end } = tokenAt(input.value, input.selectionStart ?? input.value.length);
    const after = input.value.slice(end).replace(/^\S*/, '');
    const put = space && !after.startsWith(' ') ? `${text} ` : text;
    input.value = input.value.slice(0, start) + put + after;
    const caret = start + put.length;
    input.setSelectionRange(caret, caret);
  }

  function choose(index) {
    const option = options[index];
    if (!option) return;
    option.pick();
  }

  async function suggest() {
    const mine = ++seq;
    const text = input.value;
    const { word } = tokenAt(text, input.selectionStart ?? text.length);
    const lower = text.trim().toLowerCase();
    const groups = [];

    const recents = recent().filter((q) => q.toLowerCase() !== lower && (!lower || q.toLowerCase().includes(lower)))
      .slice(0, lower ? 3 : 5);
    groups.push({
      label: 'Recent searches',
      items: recents.map((q) => ({
        text: q,
        pick: () => { input.value = q; close(); form.requestSubmit(); },
      })),
    });

    const w = word.toLowerCase();
    const ops = OPERATORS.filter(([op]) => (w === '' ? text.trim() === '' : op.startsWith(w) && op !== w));
    groups.push({
      label: 'Search by',
      items: ops.map(([op, hint]) => ({
        text: op,
        hint,
        pick: () => {
          const open = op.endsWith(':');
          insert(op, !open);
          if (open) suggest(); else close();
        },
      })),
    });

    // Correspondents: for a word, or the rest of a from:/to:/cc: being typed.
    const m = /^(from|to|cc):(.*)$/i.exec(word);
    const field = m ? `${m[1].toLowerCase()}:` : 'from:';
    const q = m ? m[2] : (word.includes(':') ? '' : word);
    let contacts = [];
    if (q.length >= (m ? 1 : 2)) {
      if (abort) abort.abort();
      abort = new AbortController();
      try {
        const answer = await api.contacts(q, CONTACTS, { signal: abort.signal });
        contacts = (answer.contacts || []).filter((c) => c.address);
      } catch {
        contacts = []; // suggestions are a help, not a must
      }
      if (mine !== seq) return; // a newer round is under way
    }
    groups.push({
      label: 'People',
      items: contacts.map((c) => ({
        text: `${field}${c.address}`,
        hint: c.name || '',
        pick: () => { insert(`${field}${c.address}`, true); close(); },
      })),
    });
    show(groups);
  }

  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, DEBOUNCE_MS);
  };
  input.addEventListener('input', later);
  input.addEventListener('focus', later);
  input.addEventListener('keydown', (event) => {
    const open = !listbox.hidden;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!open) { suggest(); return; }
      const n = options.length;
      const step = event.key === 'ArrowDown' ? 1 : -1;
      highlight(active < 0 ? (step > 0 ? 0 : n - 1) : (active + step + n) % n);
    } else if (event.key === 'Enter' && open && active >= 0) {
      event.preventDefault();
      choose(active);
    } else if (event.key === 'Enter') {
      close();
    } else if (event.key === 'Escape' && open) {
      event.preventDefault(); // the app would otherwise leave the field
      close();
    } else if (event.key === 'Tab' && open) {
      close();
    }
  });
  const stop = () => {
    clearTimeout(timer);
    seq += 1;
    close();
  };
  input.addEventListener('blur', stop);
  return { listbox, close: stop };
}
