// A menu button (the ARIA menu button pattern): a button with aria-haspopup and
// aria-expanded that opens a role="menu" list. Enter, Space and the arrows open it
// (focus on the first or, with ArrowUp, the last item); in it the arrows, Home and
// End move, Escape closes it and gives the focus back, Tab closes it; a tap or
// click outside closes it too.

import { h, icon } from '../dom.js';

let menuCount = 0;

/**
 * `items`: {key, label, icon, run} (a button) or {key, label, icon, href, download,
 * title} (a link, e.g. a download); null entries are skipped. `buttonClass` styles
 * the menu button, `key` is its data-key (for focus kept across redraws).
 * Returns the wrapper element.
 */
export function menuButton({
  label, iconPath, items, buttonClass = 'tool-button', key = 'more', title = label,
}) {
  menuCount += 1;
  const menuId = `menu-${menuCount}`;
  const buttonId = `${menuId}-button`;
  const button = h('button', {
    type: 'button', class: buttonClass, id: buttonId, title, dataset: { key },
    'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': menuId,
  }, icon(iconPath), h('span', {}, label));
  const menu = h('ul', {
    id: menuId, role: 'menu', class: 'menu', 'aria-labelledby': buttonId, hidden: true,
  });
  const wrap = h('div', { class: 'menu-wrap' }, button, menu);

  const entries = items.filter(Boolean).map((item) => {
    const props = {
      role: 'menuitem', class: 'menu-item', tabindex: '-1', title: item.title || null, dataset: { key: item.key || '' },
    };
    const el = item.href
      ? h('a', { ...props, href: item.href, download: item.download || null }, icon(item.icon), h('span', {}, item.label))
      : h('button', { ...props, type: 'button' }, icon(item.icon), h('span', {}, item.label));
    el.addEventListener('click', () => {
      close(true);
      if (item.run) item.run();
    });
    menu.append(h('li', { role: 'none' }, el));
    return el;
  });

  const onOutside = (event) => {
    if (!wrap.contains(event.target)) close(false);
  };

  function open(focusIndex = 0) {
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', onOutside, true);
    const n = entries.length;
    if (n) entries[(focusIndex + n) % n].focus();
  }

  function close(focusButton) {
    if (menu.hidden) return;
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', onOutside, true);
    if (focusButton) button.focus();
  }

  button.addEventListener('click', () => {
    if (menu.hidden) open(0);
    else close(true);
  });
  button.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      open(event.key === 'ArrowDown' ? 0 : -1);
    }
  });
  menu.addEventListener('keydown', (event) => {
    const at = entries.indexOf(document.activeElement);
    const n = entries.length;
    let next = null;
    if (event.key === 'ArrowDown') next = (at + 1) % n;
    else if (event.key === 'ArrowUp') next = (at - 1 + n) % n;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = n - 1;
    else if (event.key === 'Escape') {
      close(true);
    } else if (event.key === 'Tab') {
      close(false);
      return; // the focus moves on as usual
    } else if (event.key.length === 1 && /\S/.test(event.key)) {
      // A letter moves to the next item starting with it.
      const letter = event.key.toLowerCase();
      for (let i = 1; i <= n; i += 1) {
        const j = (at + i) % n;
        if (entries[j].textContent.trim().toLowerCase().startsWith(letter)) { next = j; break; }
      }
      if (next === null) return;
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation(); // not the app's shortcuts (Escape would leave the message)
    if (next !== null) entries[next].focus();
  });
  return wrap;
}
