// The frame every step of the first-run wizard shares (docs/setup.md): the brand, where
// the person is ("Step 2 of 5" and a bar of five), the step's heading (which takes the
// focus, so a screen reader starts each step by reading it), and the labelled fields
// and error line the steps build their forms from.
//
// The account and existing-mail steps (wizard-account.js, wizard-mail.js) are driven
// by a host: <hp-wizard> in the first run, <hp-account-add> (account-add.js) when an
// account is added later from the Accounts screen. A host has
//   draft                    the account step's tested settings (null: none yet)
//   setDraft(draft)          keeps them for the next step
//   advance(step, account?)  moves on: 'mail' once the servers work, 'remote' once
//                            the account `account` exists (or was skipped: null),
//                            'account' to start again; rejects with an ApiError
//   frame(step, title, ...children)  the step's page: {el, heading, card}, like stepFrame
// and may have `offersSkip` (the account step's "Skip, I'll import mail instead"),
// `saveLabel` (the existing-mail step's button), `accountName(email)` (the new
// account's name; else its domain) and `setChoice(choice)` (what was chosen, for a summary).

import { field, h } from '../dom.js';

export { field };

/** The wizard's numbered steps; claiming the box comes before them, unnumbered. */
export const STEPS = ['passphrase', 'account', 'mail', 'remote', 'done'];

let idCount = 0;

/** A fresh id for a control (several wizards never share the page, but steps are rebuilt). */
export function nextId(prefix) {
  idCount += 1;
  return `${prefix}-${idCount}`;
}

/**
 * A step's page: returns {el, heading, body, card}. `step` is one of STEPS (null: no
 * number); `children` go under the heading.
 */
export function stepFrame(step, title, ...children) {
  const index = STEPS.indexOf(step);
  const heading = h('h1', { tabindex: '-1', class: 'wizard-title' }, title);
  const progress = index < 0 ? null : [
    h('p', { class: 'wizard-progress' }, `Setting up \u00b7 step ${index + 1} of ${STEPS.length}`),
    h('div', { class: 'wizard-bar', 'aria-hidden': 'true' },
      STEPS.map((s, i) => h('span', { class: i < index ? 'done' : i === index ? 'current' : '' }))),
  ];
  const body = h('div', { class: 'wizard-body' }, children);
  const card = h('div', { class: 'auth-card wizard-card' },
    h('div', { class: 'brand' },
      h('img', { src: '/icons/icon.svg', alt: '', width: '40', height: '40' }),
      h('p', { class: 'brand-name' }, 'Homepost')),
    progress,
    heading,
    body);
  const el = h('main', { class: 'auth wizard', id: 'main' }, card);
  return { el, heading, body, card };
}

/** A text input that neither corrects nor capitalises (addresses, host names). */
export function plainInput(prefix, props = {}) {
  return h('input', {
    id: nextId(prefix), type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', ...props,
  });
}

/** The error line of a form: read out at once when it changes (role=alert). */
export function errorLine() {
  const el = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  return {
    el,
    show(...content) {
      el.replaceChildren(...content.flat().filter((c) => c !== null && c !== undefined && c !== false)
        .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
      el.hidden = content.length === 0 || (content.length === 1 && !content[0]);
    },
    clear() {
      el.replaceChildren();
      el.hidden = true;
    },
  };
}

/** A polite status line ("Looking for the servers…"), read out when it changes. */
export function statusLine() {
  return h('p', { class: 'wizard-status', role: 'status', 'aria-live': 'polite' });
}

/** "AB:CD:…" grouped four pairs to a group, for reading aloud and comparing. */
export function groupedFingerprint(fingerprint) {
  const pairs = String(fingerprint || '').toUpperCase().split(/[^0-9A-F]+/).filter((p) => p.length === 2);
  const groups = [];
  for (let i = 0; i < pairs.length; i += 4) groups.push(pairs.slice(i, i + 4).join(':'));
  return groups;
}

/** The domain of an address ("alice@example.org" -> "example.org"), or ''. */
export function domainOf(email) {
  const at = String(email || '').lastIndexOf('@');
  return at < 0 ? '' : email.slice(at + 1).trim().toLowerCase();
}

