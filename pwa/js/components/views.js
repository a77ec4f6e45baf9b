// The mail's screens that the list does not need, loaded when first shown: the
// reader (a message, a conversation) and the screens of their own (compose, drafts,
// outbox, accounts, import, remote access, backups, storage health, address book,
// filter rules). Their modules, and the modules only they import, are not part of
// what loads at start (app.js's static imports, whose size tests/scripts/pwa-budget
// holds), so the list is drawn sooner on a slow phone. Each is fetched the first
// time its element is wanted (`loadView`); the service worker keeps them all (SHELL
// in sw.js), so they load offline too. Once the list has shown its first page, the
// reader's modules are fetched at an idle moment (`prefetchReader`), as a message is
// what is most often opened next; over Tor each module waited for costs a round trip.

import { h } from '../dom.js';
import { announce } from '../mail-actions.js';

/** The module that defines each element. */
const MODULES = {
  'hp-message-view': () => import('./message-view.js'),
  'hp-conversation-view': () => import('./conversation-view.js'),
  'hp-compose': () => import('./compose.js'),
  'hp-drafts': () => import('./compose.js'),
  'hp-outbox': () => import('./outbox.js'),
  'hp-accounts': () => import('./accounts.js'),
  'hp-account-form': () => import('./accounts.js'),
  'hp-account-add': () => import('./account-add.js'),
  'hp-import': () => import('./import-mail.js'),
  'hp-remote': () => import('./remote-access.js'),
  'hp-backups': () => import('./backups.js'),
  'hp-health': () => import('./health.js'),
  'hp-contacts': () => import('./contacts.js'),
  'hp-rules': () => import('./rules.js'),
};

/** Whether the element `tag` can be made at once (its module has run). */
export function viewReady(tag) {
  return customElements.get(tag) !== undefined;
}

/** Resolves once the element `tag` is defined, loading its module if need be. */
export async function loadView(tag) {
  if (viewReady(tag)) return;
  const load = MODULES[tag];
  if (!load) throw new Error(`no module defines <${tag}>`);
  await load();
}

let prefetched = false;

/**
 * The reader's modules, fetched and run when the page is next idle (at most
 * `within` ms from now), once: called after the list's first page is drawn.
 */
export function prefetchReader(within = 2000) {
  if (prefetched) return;
  prefetched = true;
  const run = () => {
    for (const tag of ['hp-conversation-view', 'hp-message-view']) loadView(tag).catch(() => {});
  };
  if ('requestIdleCallback' in window) window.requestIdleCallback(run, { timeout: within });
  else setTimeout(run, 200);
}

/**
 * Runs `fn(module)` once `load()` (a dynamic import of a part used now and then: a
 * sheet, a dialog) has it; resolves to what `fn` gives, or to undefined after saying
 * that it could not be loaded.
 */
export async function withModule(load, fn) {
  let module;
  try {
    module = await load();
  } catch (err) {
    announce(`This could not be loaded (${err.message}). Reload the page once the box can be reached.`, 'error');
    return undefined;
  }
  return fn(module);
}

/** The screen's placeholder while its module loads (a slow link shows it). */
export function loadingNote() {
  return h('p', { class: 'reader-loading', role: 'status' }, 'Loading…');
}
