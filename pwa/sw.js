// Homepost service worker: keeps the app shell (HTML, JS, CSS, icons, manifest) so
// the app opens offline and says so. It never touches /api/: mail, tags and
// sessions are not cached, not even briefly. Shell files are fetched network-first
// (so an updated box serves an updated app) with the cache as the offline fallback.

const CACHE = 'homepost-shell-v21';

/**
 * Every file of pwa/ that the page loads. Keep in step with pwa/ (e2e checks it).
 * Modules the page imports only when a screen is first opened (views.js) are here
 * too: installing the worker fetches them all, so every screen opens offline.
 */
const SHELL = [
  '/',
  '/manifest.webmanifest',
  '/css/app.css',
  '/js/app.js',
  '/js/api.js',
  '/js/avatar.js',
  '/js/clipboard.js',
  '/js/dom.js',
  '/js/format.js',
  '/js/integrity.js',
  '/js/icons.js',
  '/js/mail-actions.js',
  '/js/poll.js',
  '/js/router.js',
  '/js/settings.js',
  '/js/tag-store.js',
  '/js/unread.js',
  '/js/components/account-add.js',
  '/js/components/accounts.js',
  '/js/components/address-field.js',
  '/js/components/auth-screens.js',
  '/js/components/backup-key.js',
  '/js/components/backup-settings.js',
  '/js/components/backups.js',
  '/js/components/compose.js',
  '/js/components/contact-form.js',
  '/js/components/contacts.js',
  '/js/components/compose-crypto.js',
  '/js/components/compose-from.js',
  '/js/components/conversation-view.js',
  '/js/components/crypto-status.js',
  '/js/components/delete-for-good.js',
  '/js/components/health.js',
  '/js/components/help.js',
  '/js/components/identities.js',
  '/js/components/import-mail.js',
  '/js/components/integrity-banner.js',
  '/js/components/list-empty.js',
  '/js/components/list-gestures.js',
  '/js/components/list-selection.js',
  '/js/components/list-source.js',
  '/js/components/mail-view.js',
  '/js/components/menu-button.js',
  '/js/components/message-list.js',
  '/js/components/message-view.js',
  '/js/components/outbox.js',
  '/js/components/own-keys.js',
  '/js/components/peer-key.js',
  '/js/components/reader-toolbar.js',
  '/js/components/remote-access.js',
  '/js/components/remote-onion.js',
  '/js/components/remote-parts.js',
  '/js/components/remote-pairing.js',
  '/js/components/remote-relay.js',
  '/js/components/reply.js',
  '/js/components/rule-form.js',
  '/js/components/rules.js',
  '/js/components/rules-sieve.js',
  '/js/components/saved-searches.js',
  '/js/components/search-suggest.js',
  '/js/components/settings-sheet.js',
  '/js/components/setup-message.js',
  '/js/components/setup-screen.js',
  '/js/components/sheet.js',
  '/js/components/tag-drawer.js',
  '/js/components/tag-manager.js',
  '/js/components/tag-picker.js',
  '/js/components/trash-bar.js',
  '/js/components/trash-settings.js',
  '/js/components/views.js',
  '/js/components/wizard.js',
  '/js/components/wizard-account.js',
  '/js/components/wizard-finish.js',
  '/js/components/wizard-frame.js',
  '/js/components/wizard-mail.js',
  '/js/components/wizard-passphrase.js',
  '/js/components/wizard-restore.js',
  '/js/components/wizard-servers.js',
  '/icons/icon.svg',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/maskable-512.png',
  '/icons/apple-touch-icon.png',
];
const SHELL_PATHS = new Set(SHELL);

/** How long to wait for the box before answering from the cache. */
const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) return; // never cache mail or sessions
  let key = null;
  if (request.mode === 'navigate') {
    if (url.pathname === '/' || url.pathname === '/index.html') key = '/';
  } else if (SHELL_PATHS.has(url.pathname)) {
    key = url.pathname;
  }
  if (key === null) return;
  event.respondWith(networkFirst(event, request, key));
});

/**
 * The box's answer, kept in the cache for next time; the cache's copy when the box
 * does not answer. The page gets the answer at once: the copy is written beside it
 * (waitUntil), not before it, as waiting for each write slowed the app's start.
 */
async function networkFirst(event, request, key) {
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    if (response.ok && response.type === 'basic') {
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then((cache) => cache.put(key, copy)).catch(() => {}));
    }
    return response;
  } catch (err) {
    const cached = await (await caches.open(CACHE)).match(key);
    if (cached) return cached;
    throw err;
  }
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('network timeout')), ms);
    promise.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (err) => { clearTimeout(timer); reject(err); },
    );
  });
}
