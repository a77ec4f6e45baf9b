// Copying text for the person: the Clipboard API where the page may use it (a
// secure context: https, localhost, an .onion address in Tor Browser), else the older
// way, a selected text field and "copy". Neither reads the clipboard.

import { h, icon } from './dom.js';
import { ICONS } from './icons.js';

/** Puts `text` on the clipboard; resolves to whether that worked. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // not allowed here: try the older way
    }
  }
  const focused = document.activeElement;
  // Inside a modal sheet everything outside it is inert: the field goes in the sheet.
  const host = (focused instanceof Element && focused.closest('dialog')) || document.body;
  const field = h('textarea', { class: 'clipboard-scratch', readonly: true, tabindex: '-1', 'aria-hidden': 'true' });
  field.value = text;
  host.append(field);
  field.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  field.remove();
  if (focused instanceof HTMLElement && focused.isConnected) focused.focus();
  return ok;
}

/**
 * A "Copy" button with its own status line (a live region beside it, so the result is
 * read out inside a sheet too). `text()` gives what to copy, `what` names it.
 */
export function copyButton(label, text, what, describedBy = null) {
  const note = h('span', { class: 'copy-note', role: 'status' });
  let timer = null;
  const button = h('button', {
    type: 'button', class: 'button', 'aria-describedby': describedBy,
    onclick: async () => {
      const ok = await copyText(text());
      note.textContent = ok ? `${what} copied.` : `Could not copy: select the ${what.toLowerCase()} and copy it by hand.`;
      clearTimeout(timer);
      timer = setTimeout(() => { note.textContent = ''; }, 6000);
    },
  }, icon(ICONS.copy), label);
  return h('span', { class: 'copy-wrap' }, button, note);
}
