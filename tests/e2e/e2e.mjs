// The PWA end to end in real headless Chromium against a real `homepost serve`:
// create the vault, lock, import real mail with the CLI while locked, unlock, list,
// search, read, tag, read/unread, archive, trash, manage tags, lock, offline start.
// Runs at phone size (390x844, touch) and at desktop size (1280x800, keyboard),
// each against its own server with a fresh data directory.
//
//   HOMEPOST_BIN=/path/to/homepost node e2e.mjs
//
// Optional: HOMEPOST_URL and HOMEPOST_DATA name a server that tests/e2e/run started
// (fresh, no vault yet); the phone flow uses it, and leaves it locked with mail in
// it for lighthouse.mjs. Without them both flows start their own server.

import assert from 'node:assert/strict';
import path from 'node:path';
import { readdir } from 'node:fs/promises';
import {
  OUT, CORPUS, PASSPHRASE, PHONE, DESKTOP, REPO,
  launchBrowser, startServer, importMail, watch, ensureOut, requireBin, axeCheck, singleMessages, skipWizard,
} from './lib.mjs';
import {
  listTriagePhone, listTriageDesktop, readerTriage, searchSuggestionSteps,
} from './triage.mjs';

const MBOX = path.join(CORPUS, 'mail/mailpile/tests.mbx'); // 8 real messages
const MAILDIR = path.join(CORPUS, 'mail/notmuch/lkml'); // 210 lkml messages: several pages

const results = [];
let failures = 0;

/** Runs one named step; a failing step fails the run but later flows still run. */
async function step(label, name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push(`ok   [${label}] ${name} (${Date.now() - started} ms)`);
    console.log(`ok   [${label}] ${name}`);
  } catch (err) {
    failures += 1;
    results.push(`FAIL [${label}] ${name}: ${err.message}`);
    console.log(`FAIL [${label}] ${name}\n${err.stack}`);
    throw err;
  }
}

const shotCounts = new Map();
async function shot(page, label, name) {
  const n = (shotCounts.get(label) || 0) + 1;
  shotCounts.set(label, n);
  const file = path.join(OUT, `e2e-${label}-${String(n).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  console.log(`     screenshot ${path.relative(process.cwd(), file)}`);
}

/** GET an API path from inside the page (same cookies), as JSON. */
function apiGet(page, apiPath) {
  return page.evaluate(async (p) => {
    const res = await fetch(`/api/v1${p}`, { credentials: 'same-origin' });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, apiPath);
}

/** A real touch swipe (touchStart, moves, touchEnd) through the DevTools protocol. */
async function swipe(page, locator, fraction) {
  const cdp = await page.context().newCDPSession(page);
  const box = await locator.boundingBox();
  const y = Math.round(box.y + box.height / 2);
  const x0 = Math.round(box.x + box.width / 2);
  const dx = Math.round(box.width * fraction);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: x0, y }] });
  for (let i = 1; i <= 12; i += 1) {
    await cdp.send('Input.dispatchTouchEvent', {
      type: 'touchMove', touchPoints: [{ x: x0 + Math.round((dx * i) / 12), y }],
    });
    await page.waitForTimeout(16);
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

/** The row of the list for message `id`. */
const row = (page, id) => page.locator(`hp-message-list li.msg-row[data-id="${id}"]`);

async function firstRowId(page) {
  const id = await page.locator('hp-message-list li.msg-row').first().getAttribute('data-id');
  return Number(id);
}

async function openDrawerIfPhone(page, phone) {
  if (!phone) return;
  await page.getByRole('button', { name: 'Tags and folders' }).click();
  await page.locator('hp-mail[data-drawer="open"]').waitFor();
}

async function closeDrawerIfPhone(page, phone) {
  if (!phone) return;
  await page.keyboard.press('Escape');
  await page.locator('hp-mail[data-drawer="closed"]').waitFor();
}

async function flow(label, server, contextOptions) {
  const phone = Boolean(contextOptions.hasTouch);
  const browser = await launchBrowser();
  const context = await browser.newContext({ ...contextOptions, serviceWorkers: 'allow' });
  await singleMessages(context);
  const watcher = watch(context, label);
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  const base = server.base;
  const S = (name, fn) => step(label, name, fn);

  try {
    await S('first start asks for the passphrase (the wizard\'s first step)', async () => {
      await page.goto(`${base}/`);
      await page.getByRole('heading', { name: 'Choose your passphrase' }).waitFor();
      await shot(page, label, 'setup');
      await axeCheck(page, 'setup');
    });

    await S('the setup form refuses a short and a mistyped passphrase', async () => {
      await page.getByLabel('Passphrase', { exact: true }).fill('short');
      await page.getByLabel('Repeat the passphrase').fill('short');
      await page.getByRole('button', { name: 'Create vault' }).click();
      await page.getByRole('alert').filter({ hasText: 'at least 10 characters' }).waitFor();
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByLabel('Repeat the passphrase').fill(`${PASSPHRASE}!`);
      await page.getByRole('button', { name: 'Create vault' }).click();
      await page.getByRole('alert').filter({ hasText: 'differ' }).waitFor();
    });

    await S('create the vault: an empty inbox', async () => {
      await page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Create vault' }).click();
      await skipWizard(page);
      await page.getByText('Your inbox is empty', { exact: false }).first().waitFor();
      // A new box names the two ways mail comes in.
      await page.locator('.list-empty').getByRole('link', { name: 'Add an account' }).waitFor();
      await page.locator('.list-empty').getByText('homepost import PATH').waitFor();
      const status = await apiGet(page, '/status');
      assert.equal(status.body.state, 'unlocked');
      assert.equal(status.body.session, true);
      await shot(page, label, 'empty-inbox');
    });

    await S('Send with no account points at the notice that says so, no red repeat', async () => {
      await page.goto(`${base}/#/compose`);
      await page.getByRole('heading', { level: 1, name: 'New message' }).waitFor();
      const compose = page.locator('hp-compose');
      await compose.getByLabel('To', { exact: true }).fill('someone@example.org');
      await compose.getByRole('button', { name: 'Send' }).click();
      await page.waitForFunction(() => document.activeElement
        && document.activeElement.textContent === 'Add an account');
      assert.equal(await compose.locator('.form-error:not([hidden])').count(), 0,
        'the no-account notice is repeated as an error');
      await compose.getByRole('button', { name: 'Discard' }).click();
      await page.getByRole('dialog', { name: 'Discard this message?' }).getByRole('button', { name: 'Discard' }).click();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    });

    await S('the service worker controls the page and caches no API answer', async () => {
      await page.evaluate(() => navigator.serviceWorker.ready);
      await page.reload();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      const controlled = await page.evaluate(() => Boolean(navigator.serviceWorker.controller));
      assert.ok(controlled, 'no service worker controls the page after a reload');
      const cached = await page.evaluate(async () => {
        const urls = [];
        for (const name of await caches.keys()) {
          const cache = await caches.open(name);
          for (const req of await cache.keys()) urls.push(new URL(req.url).pathname);
        }
        return urls;
      });
      assert.ok(cached.includes('/'), `the shell is not cached: ${cached.join(' ')}`);
      assert.ok(!cached.some((u) => u.startsWith('/api/')), `API answers in the cache: ${cached.join(' ')}`);
      // Every file of the shell list exists in pwa/ and every pwa/ file the page needs is in it.
      const pwaFiles = await listPwa();
      for (const u of cached) {
        if (u !== '/') assert.ok(pwaFiles.includes(u), `cached ${u} is not a file of pwa/`);
      }
      // Not part of the shell: the worker itself, and the SVG the maskable PNGs are drawn from.
      const notShell = new Set(['/sw.js', '/icons/maskable.svg']);
      for (const f of pwaFiles.filter((x) => /\.(js|css|png|svg|webmanifest)$/.test(x) && !notShell.has(x))) {
        assert.ok(cached.includes(f), `pwa${f} is missing from the service worker's SHELL list`);
      }
    });

    await S('lock from the app: the unlock screen, the server locked', async () => {
      await page.getByRole('button', { name: 'Lock', exact: true }).click();
      await page.getByRole('heading', { name: 'Unlock Homepost' }).waitFor();
      assert.equal(await page.locator('hp-mail').count(), 0, 'the mail view is still in the page');
      const status = await apiGet(page, '/status');
      assert.equal(status.body.state, 'locked');
      await shot(page, label, 'locked');
    });

    let imported = 0;
    await S('import real mail with the CLI while the server is locked', async () => {
      const out = await importMail(server.dir, [MBOX, MAILDIR]);
      console.log(`     ${out.split('\n').slice(-3).join('\n     ')}`);
      const m = /imported (\d+)/.exec(out);
      assert.ok(m, `no count in the import output: ${out}`);
      imported = Number(m[1]);
      assert.ok(imported > 100, `only ${imported} messages imported`);
    });

    await S('a wrong passphrase is refused with the server\'s message', async () => {
      await page.getByLabel('Passphrase', { exact: true }).fill('not the passphrase at all');
      await page.getByRole('button', { name: 'Unlock' }).click();
      const alert = page.locator('hp-unlock .form-error');
      await alert.waitFor();
      assert.ok((await alert.textContent()).trim().length > 0);
      await shot(page, label, 'wrong-passphrase');
    });

    let total = 0;
    await S('unlock: the inbox lists the imported mail', async () => {
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Unlock' }).click();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      await page.locator('hp-message-list li.msg-row').first().waitFor();
      const search = await apiGet(page, `/search?q=${encodeURIComponent('in:inbox')}&limit=1`);
      total = search.body.total;
      assert.equal(total, imported, `the ${imported} imported messages should all be in the inbox`);
      await page.locator('.list-summary').filter({ hasText: `${total} messages` }).waitFor();
      const unread = await page.locator('hp-message-list li.msg-row.unread').count();
      assert.ok(unread > 0, 'no unread marker');
      assert.ok(await page.locator('li.msg-row.unread .visually-hidden', { hasText: 'Unread' }).count() > 0,
        'unread rows have no text for screen readers');
      await shot(page, label, 'inbox');
    });

    await S('axe: no WCAG A/AA violation in the list, light and dark', async () => {
      await axeCheck(page, 'list');
      await page.emulateMedia({ colorScheme: 'dark' });
      await shot(page, label, 'inbox-dark');
      await page.emulateMedia({ colorScheme: null });
    });

    await S('infinite scroll loads the next page', async () => {
      const before = await page.locator('hp-message-list li.msg-row').count();
      assert.equal(before, 50, `first page should hold 50 rows, has ${before}`);
      await page.locator('hp-message-list li.msg-row').last().scrollIntoViewIfNeeded();
      await page.waitForFunction(() => document.querySelectorAll('hp-message-list li.msg-row').length > 50);
      await page.locator('hp-message-list li.msg-row').first().scrollIntoViewIfNeeded();
    });

    await S('the drawer lists Inbox with its unread count, All mail, Spam', async () => {
      await openDrawerIfPhone(page, phone);
      const nav = page.getByRole('navigation', { name: 'Folders and tags' });
      const inbox = nav.getByRole('link', { name: /^Inbox/ });
      await inbox.waitFor();
      assert.match(await inbox.textContent(), /\d+\s*unread/);
      // The same count in the page title (the tab, the task switcher).
      const unread = Number((await inbox.textContent()).match(/(\d+)\s*unread/)[1]);
      assert.equal(await page.title(), `(${unread}) Homepost`);
      assert.equal(await inbox.getAttribute('aria-current'), 'page');
      await nav.getByRole('link', { name: 'All mail' }).waitFor();
      await nav.getByRole('link', { name: 'Spam' }).waitFor();
      await shot(page, label, 'drawer');
      await closeDrawerIfPhone(page, phone);
    });

    await S('search with the query language: from:bjarni', async () => {
      const box = page.getByRole('combobox', { name: 'Search mail' });
      await box.fill('from:bjarni');
      await box.press('Enter');
      await page.waitForURL(/#\/search\?q=from%3Abjarni/);
      await page.locator('.list-summary').filter({ hasText: /messages? for from:bjarni/ }).waitFor();
      const froms = await page.locator('hp-message-list .msg-from').allTextContents();
      assert.ok(froms.length >= 2, `expected Bjarni's messages, got ${froms.length}`);
      for (const f of froms) assert.match(f, /Bjarni/i);
      await shot(page, label, 'search');
      // Newest first by default; the order menu asks the server for oldest first.
      const dates = () => page.locator('hp-message-list li.msg-row time').evaluateAll(
        (els) => els.map((e) => Date.parse(e.getAttribute('datetime'))));
      const newest = await dates();
      assert.deepEqual(newest, [...newest].sort((a, b) => b - a), 'not newest first');
      await page.getByLabel('Order of messages').selectOption('oldest');
      await page.waitForFunction(() => {
        const t = [...document.querySelectorAll('hp-message-list li.msg-row time')].map((e) => Date.parse(e.getAttribute('datetime')));
        return t.length > 1 && t[0] < t[t.length - 1];
      });
      await page.getByLabel('Order of messages').selectOption('newest');
      await page.locator('.list-summary').filter({ hasText: /messages? for from:bjarni/ }).waitFor();
    });

    await S('a search that does not parse shows the server\'s message', async () => {
      const box = page.getByRole('combobox', { name: 'Search mail' });
      await box.fill('(budget');
      await box.press('Enter');
      const alert = page.locator('hp-message-list .form-error');
      await alert.waitFor();
      assert.match(await alert.textContent(), /parenthes/i);
    });

    let messageId = 0;
    await S('open a message: headers, body text, attachments, marked read', async () => {
      const box = page.getByRole('combobox', { name: 'Search mail' });
      await box.fill('subject:signatures');
      await box.press('Enter');
      await page.locator('.list-summary').filter({ hasText: /1 message for/ }).waitFor();
      messageId = await firstRowId(page);
      const before = await apiGet(page, `/messages/${messageId}`);
      assert.equal(before.body.unread, true, 'the message should start unread');
      await row(page, messageId).locator('.msg-link').click();
      await page.waitForURL(new RegExp(`#/message/${messageId}$`));
      await page.getByRole('heading', { level: 1, name: /Testing signatures/ }).waitFor();
      await page.locator('.body-text').filter({ hasText: 'This should be a signed message, hello world!' }).waitFor();
      const headers = await page.locator('dl.headers').textContent();
      assert.match(headers, /From.*Bjarni Runar Einarsson/s);
      assert.match(headers, /Date/);
      // Focus moved to the message's heading.
      assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'reader-title');
      // A PGP/MIME signature: the status line reports on it, and its part is left out of
      // the attachments; any other attachment keeps the server's index in its link.
      const shown = (await apiGet(page, `/messages/${messageId}`)).body;
      assert.ok(shown.crypto, 'the signed message has no crypto object');
      await page.getByRole('region', { name: 'Encryption and signature' }).waitFor();
      const parts = shown.attachments || [];
      assert.ok(parts.some((a) => a.content_type === 'application/pgp-signature'), 'no signature part in the API');
      const listed = parts.filter((a) => a.content_type !== 'application/pgp-signature');
      assert.deepEqual(await page.locator('.att-list .att a').evaluateAll((links) => links.map((l) => l.getAttribute('href'))),
        listed.map((a) => `/api/v1/messages/${messageId}/attachments/${a.index}`));
      await page.waitForFunction(async (id) => {
        const res = await fetch(`/api/v1/messages/${id}`);
        return res.ok && (await res.json()).unread === false;
      }, messageId);
      // It was marked read: the More menu offers Mark unread.
      const more = page.getByRole('button', { name: 'More', exact: true });
      await page.locator('hp-message-view button[data-key="more"]').waitFor();
      await more.click();
      await page.getByRole('menuitem', { name: 'Mark unread' }).waitFor();
      await page.keyboard.press('Escape');
      await page.getByRole('menu').waitFor({ state: 'hidden' });
      // The toolbar is one row (it wrapped in the two-pane layout).
      const rows = await page.locator('hp-message-view .reader-toolbar > *').evaluateAll(
        (items) => new Set(items.filter((i) => i.offsetParent).map((i) => {
          const r = i.getBoundingClientRect();
          return Math.round((r.top + r.bottom) / 2);
        })).size);
      assert.equal(rows, 1, 'the reader toolbar wraps');
      await shot(page, label, 'message');
      await axeCheck(page, 'message');
    });

    await S('flag in one tap; report spam from the reader, then Undo', async () => {
      const tagsOf = async () => (await apiGet(page, `/messages/${messageId}`)).body.tags;
      const flag = page.getByRole('button', { name: 'Flag', exact: true });
      await flag.click();
      await page.getByRole('button', { name: 'Flag', exact: true, pressed: true }).waitFor();
      assert.ok((await tagsOf()).includes('flagged'));
      await flag.click();
      await page.getByRole('button', { name: 'Flag', exact: true, pressed: false }).waitFor();
      assert.ok(!(await tagsOf()).includes('flagged'));

      await page.getByRole('button', { name: 'More', exact: true }).click();
      await page.getByRole('menuitem', { name: 'Report spam' }).click();
      // The reader closes; the notice offers Undo.
      const undo = page.getByRole('button', { name: 'Undo' });
      await undo.waitFor();
      let tags = await tagsOf();
      assert.ok(tags.includes('spam') && !tags.includes('inbox'), `reported: ${tags}`);
      await undo.click();
      await page.waitForFunction(async (id) => {
        const t = (await (await fetch(`/api/v1/messages/${id}`)).json()).tags;
        return t.includes('inbox') && !t.includes('spam');
      }, messageId);
      tags = await tagsOf();
      assert.ok(tags.includes('inbox') && !tags.includes('spam'), `undone: ${tags}`);
      await page.goto(`${base}/#/message/${messageId}`);
      await page.getByRole('heading', { level: 1, name: /Testing signatures/ }).waitFor();
    });

    await S('add a tag in the message: a chip, and the tag in the drawer', async () => {
      await page.locator('hp-message-view').getByRole('button', { name: 'Add tag' }).click();
      const picker = page.getByRole('dialog', { name: 'Add a tag' });
      await picker.getByLabel('Add a tag to this message').fill('e2e-test');
      await picker.getByRole('button', { name: 'Add tag' }).click();
      await picker.waitFor({ state: 'detached' });
      await page.locator('ul.chips li.chip').filter({ hasText: /e2e-test/i }).waitFor();
      await openDrawerIfPhone(page, phone);
      await page.locator('hp-tag-drawer a[data-query="tag:e2e-test"]').waitFor();
      await shot(page, label, 'tagged');
      await page.locator('hp-tag-drawer a[data-query="tag:e2e-test"]').click();
      await page.waitForURL(/#\/search\?q=tag%3Ae2e-test/);
      await page.locator('.list-summary').filter({ hasText: '1 message' }).waitFor();
      assert.equal(await firstRowId(page), messageId);
    });

    await S('mark unread and read again from the list', async () => {
      const titleCount = async () => Number(((await page.title()).match(/^\((\d+)\)/) || [0, 0])[1]);
      const before = await titleCount();
      // Phones: a swipe right (its default action) marks it unread; wider: the row's button.
      if (phone) await swipe(page, row(page, messageId).locator('.msg-card'), 0.45);
      else await row(page, messageId).getByRole('button', { name: /^Mark as unread/ }).click();
      await row(page, messageId).and(page.locator('.unread')).waitFor();
      // The title's unread count follows (the message is in the inbox).
      await page.waitForFunction((n) => document.title === `(${n}) Homepost`, before + 1);
      assert.equal((await apiGet(page, `/messages/${messageId}`)).body.unread, true);
      if (phone) {
        // Swipe right toggles read: now back to read.
        await swipe(page, row(page, messageId).locator('.msg-card'), 0.45);
      } else {
        await row(page, messageId).locator('.msg-link').focus();
        await page.keyboard.press('u');
      }
      await page.locator(`li.msg-row[data-id="${messageId}"]:not(.unread)`).waitFor();
      await page.waitForFunction(async (id) => (await (await fetch(`/api/v1/messages/${id}`)).json()).unread === false, messageId);
      await page.waitForFunction((n) => document.title === (n > 0 ? `(${n}) Homepost` : 'Homepost'), before);
      await shot(page, label, 'read-toggled');
    });

    await S('remove the tag with its chip button', async () => {
      await row(page, messageId).locator('.msg-link').click();
      await page.getByRole('button', { name: 'Remove tag e2e-test' }).click();
      await page.waitForFunction(async (id) => !(await (await fetch(`/api/v1/messages/${id}`)).json()).tags.includes('e2e-test'), messageId);
      await page.locator('ul.chips li.chip').filter({ hasText: /e2e-test/i }).waitFor({ state: 'detached' });
    });

    await S(phone ? 'swipe left archives a row' : 'keyboard: j selects, e archives, # trashes', async () => {
      await page.goto(`${base}/#/search?q=in%3Ainbox`);
      await page.locator('hp-message-list li.msg-row').first().waitFor();
      if (phone) {
        const id = await firstRowId(page);
        await swipe(page, row(page, id).locator('.msg-card'), -0.45);
        await row(page, id).waitFor({ state: 'detached' });
        await page.getByRole('status').filter({ hasText: 'Archived' }).waitFor();
        const msg = await apiGet(page, `/messages/${id}`);
        assert.ok(!msg.body.tags.includes('inbox'), `message ${id} is still in the inbox`);
        await shot(page, label, 'archived');
        // Undo puts it back.
        await page.getByRole('button', { name: 'Undo' }).click();
        await row(page, id).waitFor();
      } else {
        // Focus out of the search box (a click at a fixed place can land on
        // the drawer, which grows with saved searches and tags).
        await page.evaluate(() => document.activeElement?.blur());
        await page.keyboard.press('j');
        const first = await firstRowId(page);
        assert.ok(await row(page, first).evaluate((li) => li.classList.contains('selected')));
        await page.keyboard.press('j');
        const second = Number(await page.locator('li.msg-row.selected').getAttribute('data-id'));
        assert.notEqual(second, first);
        await page.keyboard.press('e');
        await row(page, second).waitFor({ state: 'detached' });
        assert.ok(!(await apiGet(page, `/messages/${second}`)).body.tags.includes('inbox'));
        await shot(page, label, 'archived');
        await page.keyboard.press('k');
        await page.keyboard.press('#');
        await row(page, first).waitFor({ state: 'detached' });
        const trashed = (await apiGet(page, `/messages/${first}`)).body.tags;
        assert.ok(trashed.includes('trash') && !trashed.includes('inbox'), `tags after #: ${trashed}`);
        // o opens the selected message, Escape goes back to the list.
        await page.keyboard.press('j');
        const third = Number(await page.locator('li.msg-row.selected').getAttribute('data-id'));
        await page.keyboard.press('o');
        await page.waitForURL(new RegExp(`#/message/${third}$`));
        await page.locator('.body-text').waitFor();
        await page.keyboard.press('Escape');
        await page.waitForURL(/#\/search/);
        await page.locator('hp-mail[data-view="list"]').waitFor();
        await page.waitForFunction(() => document.activeElement && document.activeElement.classList.contains('msg-link'));
        // / focuses the search box; ? shows the shortcuts.
        await page.keyboard.press('/');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'search-input');
        await page.keyboard.press('Escape');
        await page.keyboard.press('?');
        await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
        await shot(page, label, 'shortcuts');
        await page.keyboard.press('Escape');
        await page.getByRole('dialog').waitFor({ state: 'detached' });
      }
    });

    await S('search help sheet lists the operators', async () => {
      await page.getByRole('button', { name: 'Search help' }).click();
      const dialog = page.getByRole('dialog', { name: 'Search' });
      await dialog.waitFor();
      for (const op of ['from:alice', 'has:attachment', 'is:unread', 'after:2024-03', 'size:>1M', 'holiday OR vacation']) {
        await dialog.getByText(op, { exact: true }).waitFor();
      }
      await shot(page, label, 'search-help');
      // An example is a button: it goes into the search field, ready to adapt.
      await dialog.getByRole('button', { name: 'has:attachment', exact: true }).click();
      await dialog.waitFor({ state: 'detached' });
      // The dialog leaves the accessibility tree as close() is called, before
      // its close event (which puts the example in) runs: the focus moving to
      // the field comes after the example, so wait for that first.
      await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'search-input');
      const search = page.getByLabel('Search mail');
      assert.equal(await search.inputValue(), 'has:attachment');
      await search.fill('');
    });

    // Daily triage (triage.mjs): avatars, stars, swipe choices, selecting, pull to refresh;
    // the reader's toolbar, More menu and folded headers; search suggestions.
    const ctx = {
      page, S, phone, base, row, firstRowId, apiGet, swipe, openDrawerIfPhone, closeDrawerIfPhone,
      shot: (name) => shot(page, label, name),
    };
    if (phone) await listTriagePhone(ctx);
    else await listTriageDesktop(ctx);
    await readerTriage(ctx);
    await searchSuggestionSteps(ctx);

    await S('manage tags: create, rename, delete; "read" is reserved', async () => {
      await openDrawerIfPhone(page, phone);
      await page.getByRole('button', { name: 'Manage tags' }).click();
      const dialog = page.getByRole('dialog', { name: 'Manage tags' });
      await dialog.waitFor();
      await dialog.getByLabel('New tag').fill('projects');
      await dialog.getByRole('button', { name: 'Create' }).click();
      await dialog.getByText('projects', { exact: true }).waitFor();
      await dialog.getByLabel('New tag').fill('read');
      await dialog.getByRole('button', { name: 'Create' }).click();
      await dialog.getByRole('alert').filter({ hasText: /reserved/ }).waitFor();
      await dialog.getByRole('button', { name: 'Rename tag projects' }).click();
      await dialog.getByLabel('New name for tag projects').fill('clients');
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.getByText('clients', { exact: true }).waitFor();
      await shot(page, label, 'manage-tags');
      let tags = (await apiGet(page, '/tags')).body.tags.map((t) => t.name);
      assert.ok(tags.includes('clients') && !tags.includes('projects'), `tags: ${tags}`);
      await dialog.getByRole('button', { name: 'Delete tag clients' }).click();
      const confirm = page.getByRole('dialog', { name: /Delete tag/ });
      await confirm.getByRole('button', { name: 'Delete tag' }).click();
      await dialog.getByText('clients', { exact: true }).waitFor({ state: 'detached' });
      tags = (await apiGet(page, '/tags')).body.tags.map((t) => t.name);
      assert.ok(!tags.includes('clients'), `tags: ${tags}`);
      await dialog.getByRole('button', { name: 'Close' }).click();
      await dialog.waitFor({ state: 'detached' });
      if (phone && await page.locator('hp-mail[data-drawer="open"]').count()) await closeDrawerIfPhone(page, phone);
    });

    await S('a reload keeps the session (GET /session gives the CSRF token back)', async () => {
      await page.reload();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      const id = await firstRowId(page);
      const star = row(page, id).getByRole('button', { name: /^Flag:/ });
      await star.click();
      await page.getByRole('status').filter({ hasText: /^(Flagged|Unflagged)/ }).waitFor();
      await star.click(); // as it was
    });

    await S('locked from another tab: the page finds out (shown again, or at its next request)', async () => {
      const box = page.getByRole('combobox', { name: 'Search mail' });
      const found = page.locator('.list-summary').filter({ hasText: /messages? for from:bjarni/ });
      await box.fill('from:bjarni');
      await box.press('Enter');
      await found.waitFor();
      const other = await context.newPage();
      await other.goto(`${base}/`);
      await other.getByRole('button', { name: 'Lock', exact: true }).click();
      await other.getByRole('heading', { name: 'Unlock Homepost' }).waitFor();
      await other.close();
      // Shown again, the page wakes its poller, which may see the lock first;
      // otherwise the next request (the search again) does. Either way, no race
      // with the test: a box already gone is not pressed.
      try {
        await box.press('Enter', { timeout: 3000 });
      } catch {
        // The unlock screen came first.
      }
      await page.getByRole('heading', { name: 'Unlock Homepost' }).waitFor();
      await page.getByText('The box was locked.').waitFor();
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Unlock' }).click();
      // Back where the person was: the search they had made.
      await found.waitFor();
    });

    await S('lock: the unlock page, and no mail left in the page', async () => {
      await page.getByRole('button', { name: 'Lock', exact: true }).click();
      await page.getByRole('heading', { name: 'Unlock Homepost' }).waitFor();
      assert.equal(await page.locator('.msg-row, .body-text').count(), 0);
      assert.equal(await page.title(), 'Homepost', 'a locked box shows no unread count');
      assert.equal((await apiGet(page, '/status')).body.state, 'locked');
      await shot(page, label, 'locked-again');
    });

    // The app retries by itself on the browser's `online` event and on "Try again";
    // each path is taken on purpose here, so neither can win a race against the test.
    await S('offline: the app still opens and says it is offline; "Try again" while offline stays there', async () => {
      await context.setOffline(true);
      await page.reload();
      await page.getByRole('heading', { name: 'You are offline' }).waitFor();
      await shot(page, label, 'offline');
      // Mark this screen: a retry that fails again replaces it with a fresh one.
      await page.locator('hp-offline').evaluate((el) => { el.dataset.tried = 'no'; });
      await page.getByRole('button', { name: 'Try again' }).click();
      await page.locator('hp-app:not([aria-busy]) > hp-offline:not([data-tried])').waitFor();
      await page.getByRole('heading', { name: 'You are offline' }).waitFor();
    });

    await S('offline: back online, the app retries by itself and shows the unlock page', async () => {
      await context.setOffline(false);
      await page.getByRole('heading', { name: 'Unlock Homepost' }).waitFor();
    });

    await S('box unreachable while the network is up: "Try again" reaches it once it answers', async () => {
      // No `online` event here (the network never went away): only the button retries.
      const refuse = (route) => route.abort('connectionrefused');
      await page.route('**/api/v1/status', refuse);
      try {
        await page.reload();
        await page.getByRole('heading', { name: 'You are offline' }).waitFor();
      } finally {
        await page.unroute('**/api/v1/status', refuse);
      }
      await page.getByRole('button', { name: 'Try again' }).click();
      await page.getByRole('heading', { name: 'Unlock Homepost' }).waitFor();
    });

    if (!phone) {
      // Last, on the desktop flow's own server: the throttle would hold up later unlocks.
      await S('too many wrong passphrases: "try again in N seconds", Unlock disabled', async () => {
        const field = page.getByLabel('Passphrase', { exact: true });
        const alert = page.locator('hp-unlock .form-error');
        for (let i = 0; i < 10; i += 1) {
          await field.fill(`wrong passphrase ${i}`);
          await page.locator('hp-unlock button[type="submit"]').click();
          await page.waitForFunction(() => {
            const b = document.querySelector('hp-unlock button[type="submit"]');
            return b && b.textContent !== 'Unlocking…';
          });
          if (/Too many attempts/.test(await alert.textContent())) break;
        }
        assert.match(await alert.textContent(), /^Too many attempts, try again in \d+ seconds\.$/);
        const submit = page.locator('hp-unlock button[type="submit"]');
        assert.ok(await submit.isDisabled(), 'Unlock stays enabled while throttled');
        assert.match(await submit.textContent(), /^Wait \d+ s$/);
        await shot(page, label, 'throttled');
      });
    }

    await S('no CSP violation, no uncaught error, no request off 127.0.0.1', async () => {
      assert.deepEqual(watcher.problems, []);
      assert.deepEqual(watcher.external, [], 'requests left 127.0.0.1');
      console.log(`     ${watcher.requests} requests, all to 127.0.0.1`);
    });
  } finally {
    await context.close();
    await browser.close();
  }
}

/** The files of pwa/ as site paths ("/js/app.js"). */
async function listPwa() {
  const root = path.join(REPO, 'pwa');
  const files = [];
  async function walk(dir) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else files.push(`/${path.relative(root, full).split(path.sep).join('/')}`);
    }
  }
  await walk(root);
  return files;
}

async function main() {
  requireBin();
  await ensureOut();
  const flows = [['phone', PHONE], ['desktop', DESKTOP]];
  for (const [label, options] of flows) {
    // The phone flow may use the server of tests/e2e/run (it leaves mail in it for Lighthouse).
    const shared = label === 'phone' && process.env.HOMEPOST_URL && process.env.HOMEPOST_DATA;
    const server = shared
      ? { base: process.env.HOMEPOST_URL, dir: process.env.HOMEPOST_DATA, stop: async () => {} }
      : await startServer(label);
    console.log(`== ${label} flow against ${server.base} (data ${server.dir})`);
    try {
      await flow(label, server, options);
    } catch {
      // Already reported by step(); go on with the next size.
    } finally {
      await server.stop();
    }
  }
  console.log('\n== e2e summary');
  for (const line of results) console.log(line);
  if (failures > 0) {
    console.log(`${failures} step(s) failed`);
    process.exit(1);
  }
  console.log('all steps passed');
}

await main();
