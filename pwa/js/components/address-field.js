// An address field (To, Cc, Bcc) that suggests correspondents from
// GET /api/v1/contacts?q= while typing. Several addresses go in one field, separated
// by commas; suggestions are for the address under the cursor. It follows the ARIA
// 1.2 combobox pattern: the input is role="combobox" with aria-expanded and
// aria-activedescendant, the suggestions a role="listbox" popup; arrows move, Enter
// picks, Escape closes.

import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { formatAddress, splitAddresses } from '../format.js';

const DEBOUNCE_MS = 200;
const LIMIT = 8;
let fieldCount = 0;

/** Start and end of the address around `pos` in `text` (separators outside quotes and <>). */
function tokenAt(text, pos) {
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') angle = true;
    else if (!quoted && ch === '>') angle = false;
    else if ((ch === ',' || ch === ';') && !quoted && !angle) {
      if (i >= pos) return { start, end: i };
      start = i + 1;
    }
  }
  return { start, end: text.length };
}

/**
 * Builds a labelled address field. Returns {wrap, input, get(), set(list)}: `get()`
 * gives the addresses as a list of strings ('Alice <alice@example.org>'), `set()`
 * fills the field from one. Edits fire the input's own `input` events.
 */
export function addressField(label) {
  fieldCount += 1;
  const id = `address-${fieldCount}`;
  const listId = `${id}-list`;
  const statusLine = h('span', { class: 'visually-hidden', role: 'status' });
  const listbox = h('ul', {
    id: listId, role: 'listbox', class: 'combo-list', 'aria-label': `Suggestions for ${label}`, hidden: true,
    // Keep the focus in the input while an option is clicked.
    onmousedown: (event) => event.preventDefault(),
  });
  const input = h('input', {
    id, type: 'text', name: label.toLowerCase(), role: 'combobox', autocomplete: 'off',
    autocapitalize: 'off', spellcheck: 'false', inputmode: 'email',
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId,
  });
  let options = [];
  let active = -1;
  let timer = null;
  let abort = null;

  function close() {
    listbox.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function highlight(index) {
    active = index;
    [...listbox.children].forEach((li, i) => li.setAttribute('aria-selected', i === index ? 'true' : 'false'));
    if (index >= 0) {
      input.setAttribute('aria-activedescendant', `${listId}-${index}`);
      listbox.children[index].scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function show(contacts) {
    options = contacts;
    replace(listbox, contacts.map((c, i) => h('li', {
      id: `${listId}-${i}`, role: 'option', class: 'combo-option', 'aria-selected': 'false',
      onclick: () => choose(i),
    },
    c.name ? h('span', { class: 'combo-name' }, c.name) : null,
    h('span', { class: 'combo-address' }, c.address))));
    active = -1;
    input.removeAttribute('aria-activedescendant');
    const open = contacts.length > 0 && document.activeElement === input;
    listbox.hidden = !open;
    input.setAttribute('aria-expanded', open ? 'true' : 'false');
    statusLine.textContent = open
      ? `${contacts.length} ${contacts.length === 1 ? 'suggestion' : 'suggestions'}, up and down arrows to choose`
      : '';
  }

  /** Replaces the address under the cursor with the chosen contact. */
  function choose(index) {
    const c = options[index];
    if (!c) return;
    const text = input.value;
    const { start, end } = tokenAt(text, input.selectionStart || 0);
    const before = text.slice(0, start).replace(/\s*$/, start > 0 ? ' ' : '');
    const after = text.slice(end).replace(/^[,;]?\s*/, '');
    const chosen = `${formatAddress(c.name, c.address)}, `;
    input.value = `${before}${chosen}${after}`;
    const caret = before.length + chosen.length;
    input.setSelectionRange(caret, caret);
    close();
    statusLine.textContent = `${c.address} added`;
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }

  async function lookup() {
    const { start, end } = tokenAt(input.value, input.selectionStart || 0);
    const q = input.value.slice(start, end).trim();
    if (!q || q.includes('<')) { show([]); return; }
    // Addresses already in the field are not suggested again.
    const present = new Set(splitAddresses(input.value).map((a) => (/<([^>]*)>/.exec(a) || [null, a])[1].toLowerCase()));
    if (abort) abort.abort();
    abort = new AbortController();
    try {
      const answer = await api.contacts(q, LIMIT, { signal: abort.signal });
      show((answer.contacts || []).filter((c) => c.address && !present.has(c.address.toLowerCase())));
    } catch (err) {
      if (err.name !== 'AbortError') show([]); // suggestions are a help, not a must
    }
  }

  input.addEventListener('input', (event) => {
    if (!event.isTrusted) return; // our own event after a choice
    clearTimeout(timer);
    timer = setTimeout(lookup, DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (event) => {
    const open = !listbox.hidden;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (!open) {
        if (options.length) show(options);
        else lookup();
      } else {
        const n = options.length;
        const step = event.key === 'ArrowDown' ? 1 : -1;
        highlight(active < 0 ? (step > 0 ? 0 : n - 1) : (active + step + n) % n);
      }
      event.preventDefault();
    } else if (event.key === 'Enter' && open && active >= 0) {
      choose(active);
      event.preventDefault();
    } else if (event.key === 'Escape' && open) {
      close();
      event.preventDefault(); // the app would otherwise leave the field
    } else if (event.key === 'Tab' && open) {
      close();
    }
  });
  input.addEventListener('blur', () => {
    clearTimeout(timer);
    close();
  });

  const wrap = h('div', { class: 'field address-field' },
    h('label', { for: id }, label),
    h('div', { class: 'combo' }, input, listbox),
    statusLine);
  return {
    wrap,
    input,
    get: () => splitAddresses(input.value),
    set: (list) => { input.value = (list || []).join(', '); },
  };
}
