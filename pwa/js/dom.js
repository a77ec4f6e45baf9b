// A tiny element builder. Text children always become text nodes, so mail content
// put in through it can never turn into markup.

import { ICONS } from './icons.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h('a', {href: '#/x', class: 'link', onclick: fn}, 'text', otherNode, [more])
 * Props: `class`, `dataset` (object), `on<event>` (function: added as a listener,
 * never as an attribute), booleans (true: empty attribute, false/null: left out),
 * anything else: setAttribute.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'value' || key === 'checked') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

/** Appends children: strings and numbers as text nodes, arrays flattened, null skipped. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Removes every child of `el`, then appends `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** An inline SVG icon from path data (static, ours); hidden from screen readers. */
export function icon(paths, className = 'icon') {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', className);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const d of [].concat(paths)) {
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

/**
 * A page's title row: a Back button (its accessible name `label`; `onBack` runs
 * on a click), then the page's `heading`.
 */
export function titleRow(heading, onBack, label = 'Back') {
  return h('div', { class: 'page-title-row' },
    h('button', {
      type: 'button', class: 'icon-button', 'aria-label': label, title: 'Back (Escape)', onclick: onBack,
    }, icon(ICONS.back)),
    heading);
}

/**
 * A labelled control with an optional hint, which the control names as its
 * description (aria-describedby, added to any it has); the wrapper's class is
 * `className`.
 */
export function field(label, control, hint = null, className = 'field') {
  const hintId = hint ? `${control.id}-hint` : null;
  if (hintId) {
    const before = control.getAttribute('aria-describedby');
    control.setAttribute('aria-describedby', before ? `${before} ${hintId}` : hintId);
  }
  return h('div', { class: className },
    h('label', { for: control.id }, label),
    control,
    hint ? h('p', { class: 'field-hint', id: hintId }, hint) : null);
}

/**
 * Shows `message` in a form's error line; marks `control` invalid and moves the
 * focus there, or else to the line.
 */
export function formError(errorLine, message, control = null) {
  errorLine.textContent = message;
  errorLine.hidden = false;
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    control.focus();
  } else {
    errorLine.focus();
  }
}

/** Text only a screen reader reads. */
export function srOnly(text) {
  return h('span', { class: 'visually-hidden' }, text);
}

/** True when a key press is meant for a text field, not for the app's shortcuts. */
export function isTyping(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (target.getAttribute('type') || 'text').toLowerCase();
  return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file'].includes(type);
}

/**
 * Brings the children of `list` in line with `items` (a poll's answer) without
 * redrawing what did not change: `render(item)` builds the element of an item, `key`
 * names it. An item whose JSON changed is rebuilt; if its element had the keyboard
 * focus, the focus goes to the control with the same `data-focus-key` in the new one.
 * Elements are moved only when the order changed, so a focused one rarely moves.
 */
export function syncList(list, items, key, render) {
  const old = list.hpItems || new Map();
  const next = new Map();
  for (const item of items) {
    const k = String(key(item));
    const json = JSON.stringify(item);
    const prev = old.get(k);
    if (prev && prev.json === json) {
      next.set(k, prev);
      continue;
    }
    const el = render(item);
    el.dataset.key = k;
    if (prev) {
      const focused = prev.el.contains(document.activeElement) ? document.activeElement.dataset.focusKey || '' : null;
      prev.el.replaceWith(el);
      // The same control if it is still there, else the first one, else the item's heading.
      const again = focused === null ? null : (focused && el.querySelector(`[data-focus-key="${focused}"]`))
        || el.querySelector('[data-focus-key]') || el.querySelector('[tabindex="-1"]');
      if (again) again.focus();
    }
    next.set(k, { json, el });
  }
  for (const [k, { el }] of old) if (!next.has(k)) el.remove();
  let at = list.firstElementChild;
  for (const { el } of next.values()) {
    if (el === at) at = at.nextElementSibling;
    else list.insertBefore(el, at);
  }
  // Anything else left at the end (an "empty" line) goes.
  while (at) {
    const after = at.nextElementSibling;
    at.remove();
    at = after;
  }
  list.hpItems = next;
}
