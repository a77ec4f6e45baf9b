// Modal sheets built on <dialog>: the browser traps focus, closes on Escape and
// gives focus back to the control that opened it.

import { h, icon } from '../dom.js';
import { ICONS } from '../icons.js';

let sheetCount = 0;

/**
 * Opens a sheet with a heading and `content` (a node or array of nodes).
 * Returns the <dialog>; it removes itself from the page once closed.
 * `closeOnBackdrop: false` keeps it open on a tap beside it (for what is shown once).
 */
export function openSheet({
  title, content, className = '', closeOnBackdrop = true,
}) {
  sheetCount += 1;
  const titleId = `sheet-title-${sheetCount}`;
  const opener = document.activeElement;
  const dialog = h('dialog', { class: `sheet ${className}`.trim(), 'aria-labelledby': titleId },
    h('div', { class: 'sheet-head' },
      h('h2', { id: titleId }, title),
      h('button', {
        type: 'button', class: 'icon-button', 'aria-label': 'Close', title: 'Close',
        onclick: () => dialog.close(),
      }, icon(ICONS.close))),
    h('div', { class: 'sheet-body' }, content));
  // A click on the backdrop (outside the sheet's box) closes it too.
  dialog.addEventListener('click', (event) => {
    if (event.target !== dialog || !closeOnBackdrop) return;
    const r = dialog.getBoundingClientRect();
    const inside = event.clientX >= r.left && event.clientX <= r.right
      && event.clientY >= r.top && event.clientY <= r.bottom;
    if (!inside) dialog.close();
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** True while any sheet is open. */
export function sheetOpen() {
  return document.querySelector('dialog[open]') !== null;
}

/**
 * Asks a yes/no question. `details` are extra lines (e.g. the reasons an attachment
 * looks risky; `detailsClass` styles them). Resolves to true when the person confirmed.
 */
export function confirmSheet({
  title, message, details = [], detailsClass = '', confirmLabel = 'OK', danger = false,
}) {
  return new Promise((resolve) => {
    let answer = false;
    const cancel = h('button', { type: 'button', class: 'button', onclick: () => dialog.close() }, 'Cancel');
    const ok = h('button', {
      type: 'button',
      class: danger ? 'button danger' : 'button primary',
      onclick: () => { answer = true; dialog.close(); },
    }, confirmLabel);
    const dialog = openSheet({
      title,
      className: 'confirm',
      content: [
        h('p', {}, message),
        details.length ? h('ul', { class: `reasons ${detailsClass}`.trim() }, details.map((d) => h('li', {}, d))) : null,
        h('div', { class: 'sheet-actions' }, cancel, ok),
      ],
    });
    cancel.focus();
    dialog.addEventListener('close', () => resolve(answer));
  });
}
