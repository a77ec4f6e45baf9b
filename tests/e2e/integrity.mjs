// Storage health (#/health) and the trash at a small phone's size (360x740, touch),
// against a real `homepost serve` whose four messages were imported with the CLI.
// Settings leads to the page; nothing is checked yet and the next check is named;
// "Check now" runs a real check to "Checked just now: everything is sound, 4
// messages". Answered in the test (`page.route` on GET /integrity, the server's
// shape): a check running (the step, the bar at 2 of 4, the buttons disabled) and a
// check that found damage (the findings, the quarantine, the last repair, "Repair"
// asking first; outside Settings a banner over the list that leads here and can be
// dismissed, a mark on the drawer's Settings entry and a warning in the Settings
// sheet). Then a real repair, and the banner gone. The trash keeps mail 7 days,
// still after a reload; a message moved to the trash is in the Trash, whose
// "Empty trash" asks ("Delete 1 message for good?") and leaves "The trash is
// empty"; "Delete for good" in the reader's More menu deletes one message after a
// confirm, and one moved out of the trash meanwhile (409) is said in words and
// kept; a conversation's "Delete for good" deletes its message in the trash. axe (light and dark) on each state of the page and on the Trash, nothing
// wider than the screen, no console error, no CSP violation, no request beyond
// 127.0.0.1.
//
//   HOMEPOST_BIN=/path/to/homepost node integrity.mjs

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  OUT, PASSPHRASE, SMALL_PHONE, launchBrowser, startServer, homepostCli, importMail, watch, ensureOut,
  requireBin, axeCheck, singleMessages, fitsTheScreen, fullPageShot, until,
  Steps,
} from './lib.mjs';

const SUBJECTS = ['Health one', 'Health two', 'Health three', 'Health four'];
const SOUND = `Checked just now: everything is sound, ${SUBJECTS.length} messages`;

const steps = new Steps('integrity', 'integrity-phone-failed.png');
const step = steps.run;
let shots = 0;

function mbox() {
  return SUBJECTS.map((subject, i) => `From x@y Tue Mar  5 10:00:00 2024\nFrom: Bob <bob@example.org>\n`
    + `To: Me <me@home.example>\nSubject: ${subject}\nMessage-ID: <health${i}@example.org>\n`
    + `Date: Tue, 05 Mar 2024 10:0${i}:00 +0000\n\nBody ${i + 1}.\n\n`).join('');
}

async function shot(page, name) {
  shots += 1;
  await fullPageShot(page, path.join(OUT, `integrity-phone-${String(shots).padStart(2, '0')}-${name}.png`));
}

/** A request from the page (its session; the CSRF token from GET /session for a change): {status, body}. */
function call(page, method, apiPath, body) {
  return page.evaluate(async ([m, p, b]) => {
    const headers = { Accept: 'application/json' };
    if (m !== 'GET') {
      headers['X-CSRF-Token'] = (await (await fetch('/api/v1/session', { cache: 'no-store' })).json()).csrf_token;
    }
    if (b !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`/api/v1${p}`, {
      method: m, headers, cache: 'no-store', body: b === undefined ? undefined : JSON.stringify(b),
    });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  }, [method, apiPath, body]);
}

/** The id of the message with `subject` (trash included). */
async function idOf(page, subject) {
  const q = `subject:"${subject}" OR (subject:"${subject}" in:trash)`;
  const { body } = await call(page, 'GET', `/search?${new URLSearchParams({ q })}`);
  const hit = body.results.find((r) => r.subject === subject);
  assert.ok(hit, `no message "${subject}"`);
  return hit.id;
}

/** Waits for the answer to `method` on /api/v1{apiPath}, after `action()`. */
async function answerTo(page, method, apiPath, action) {
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/v1${apiPath}`
    && r.request().method() === method);
  await action();
  return answer;
}

/** GET /integrity answered with the box's own view, its status changed by `status`. */
async function fakeStatus(page, status) {
  await page.unroute('**/api/v1/integrity');
  const real = (await call(page, 'GET', '/integrity')).body;
  await page.route('**/api/v1/integrity', (route) => (route.request().method() === 'GET'
    ? route.fulfill({ json: { ...real, status: { ...real.status, ...status } } })
    : route.fallback()));
}

async function main() {
  requireBin();
  await ensureOut();
  const started = Date.now();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'homepost-e2e-integrity-files-'));
  const mboxPath = path.join(tmp, 'health.mbox');
  await writeFile(mboxPath, mbox());
  let server = null;
  let browser = null;
  let watcher = null;
  try {
    server = await startServer('integrity', {
      prepare: async (dir) => {
        await homepostCli(dir, ['init', '--kdf', 'insecure-test-only']);
        await importMail(dir, [mboxPath]);
      },
    });
    browser = await launchBrowser();
    const context = await browser.newContext(SMALL_PHONE);
    await singleMessages(context);
    watcher = watch(context, 'integrity');
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    steps.page = page;

    const heading = page.getByRole('heading', { name: 'Storage health', level: 1 });
    const lastLine = page.locator('#health-last');
    const nextLine = page.locator('#health-next');
    const checkButton = page.getByRole('button', { name: 'Check now' });
    const repairButton = page.getByRole('button', { name: 'Repair', exact: true });
    const bar = page.locator('progress.health-bar');
    const trashDays = page.getByLabel('Delete mail in the trash after');
    const banner = page.locator('hp-integrity-banner');
    const listTitle = page.locator('#list-title');
    const toast = page.locator('.toast');
    /** Opens `hash` as the app starts (a reload: GET /integrity read anew). */
    const visit = async (hash) => {
      await page.goto(`${server.base}/${hash}`);
      await page.reload();
    };
    const openHealth = async () => {
      await visit('#/health');
      await heading.waitFor();
      await lastLine.filter({ hasNotText: 'Loading' }).waitFor();
    };
    // Opening an unread message marks it read, which redraws the toolbar (and closes its menu).
    const markedRead = () => page.locator('.menu-item[data-key="read"]').filter({ hasText: 'Mark unread' })
      .waitFor({ state: 'attached' });
    const openTrash = async () => {
      await page.getByRole('button', { name: 'Tags and folders' }).click();
      await page.getByRole('link', { name: 'Trash', exact: true }).click();
      await page.getByRole('heading', { name: 'Trash', level: 1 }).waitFor();
      await page.locator('.list-summary').filter({ hasNotText: 'Loading' }).waitFor();
    };

    await step('Settings leads to Storage health; nothing is checked yet', async () => {
      await page.goto(`${server.base}/`);
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Unlock' }).click();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      await page.getByRole('button', { name: 'Tags and folders' }).click();
      await page.getByRole('button', { name: 'Settings', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Settings' });
      await dialog.getByRole('link', { name: /^Storage health/ }).click();
      await heading.waitFor();
      await dialog.waitFor({ state: 'detached' });
      assert.equal(new URL(page.url()).hash, '#/health');
      await until('the page heading has the focus', 5000,
        () => page.evaluate(() => document.activeElement && document.activeElement.matches('hp-health h1')));
      await lastLine.getByText('Not checked yet', { exact: true }).waitFor();
      await nextLine.getByText(/^Next check: (today|tomorrow) at /).waitFor();
      assert.equal(await repairButton.isVisible(), false, 'Repair offered before any check');
      assert.equal(await bar.isVisible(), false);
      assert.equal(await trashDays.inputValue(), '30');
      assert.deepEqual(await trashDays.locator('option').allTextContents(),
        ['7 days', '14 days', '30 days', '90 days', 'Never: until I empty the trash']);
      assert.equal(await banner.textContent(), '');
      await shot(page, 'not-checked');
      await fitsTheScreen(page, 'not checked yet', 'hp-health');
      await axeCheck(page, 'storage health, not checked yet');
    });

    await step('"Check now" runs a check and shows the sound result', async () => {
      const res = await answerTo(page, 'POST', '/integrity/check', () => checkButton.click());
      assert.equal(res.status(), 202);
      await lastLine.getByText(SOUND, { exact: true }).waitFor({ timeout: 60000 });
      const { status } = (await call(page, 'GET', '/integrity')).body;
      assert.equal(status.clean, true);
      assert.equal(status.messages, SUBJECTS.length);
      assert.equal(status.running, null);
      await until('"Check now" works again', 5000, () => checkButton.isEnabled());
      assert.equal(await page.locator('#health-findings').isVisible(), false);
      assert.equal(await repairButton.isVisible(), false);
      await nextLine.getByText(/^Next check: /).waitFor();
      const live = page.locator('.health-lines');
      assert.equal(await live.getAttribute('role'), 'status');
      assert.equal(await live.getAttribute('aria-live'), 'polite');
      await shot(page, 'sound');
    });

    await step('while a check runs: its step, the bar at 2 of 4, the buttons disabled', async () => {
      await fakeStatus(page, { running: { what: 'check', step: 'reading every message', done: 2, total: 4 } });
      await openHealth();
      await bar.waitFor();
      assert.deepEqual(await bar.evaluate((b) => [b.value, b.max]), [2, 4]);
      await page.locator('#health-progress-text')
        .getByText('Checking: reading every message, 50% done', { exact: true }).waitFor();
      await page.locator('#health-count').getByText('2 of 4 messages', { exact: true }).waitFor();
      assert.equal(await checkButton.isDisabled(), true);
      assert.equal(await nextLine.isVisible(), false);
      const live = page.locator('.health-progress');
      assert.equal(await live.getAttribute('role'), 'status');
      await shot(page, 'running');
      await fitsTheScreen(page, 'a check running', 'hp-health');
      await axeCheck(page, 'storage health, a check running');
      await page.unroute('**/api/v1/integrity');
      await bar.waitFor({ state: 'hidden' });
      await until('"Check now" works again', 5000, () => checkButton.isEnabled());
    });

    const findings = ['vault.json is damaged: a repair writes it again',
      'the search index is damaged or incomplete: a repair rebuilds it'];
    await step('damage found: the findings, the quarantine, the last repair; "Repair" asks first', async () => {
      const now = Math.floor(Date.now() / 1000);
      await fakeStatus(page, {
        clean: false, findings, quarantined: 2, last_check: now - 3 * 86400,
        last_repair: now - 10 * 86400, repaired: ['the search index rebuilt'],
      });
      await openHealth();
      await lastLine.getByText('Checked 3 days ago: the box found damaged data', { exact: true }).waitFor();
      assert.deepEqual(await page.locator('#health-findings li').allTextContents(),
        ['vault.json is damaged: a repair writes it again.',
          'The search index is damaged or incomplete: a repair rebuilds it.']);
      await page.locator('#health-quarantine').getByText(/^2 messages kept in quarantine: /).waitFor();
      await page.locator('#health-repaired').getByText('Repaired 10 days ago: the search index rebuilt.', { exact: true })
        .waitFor();
      await repairButton.waitFor();
      await shot(page, 'damaged');
      await fitsTheScreen(page, 'damage found', 'hp-health');
      await axeCheck(page, 'storage health, damage found');
      let posts = 0;
      const count = (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/v1/integrity/repair')) posts += 1; };
      page.on('request', count);
      await repairButton.click();
      const dialog = page.getByRole('dialog', { name: 'Repair the box now?' });
      await dialog.getByText(/your mail cannot be read or searched/).waitFor();
      await dialog.getByText(/fetches damaged messages again from their account/).waitFor();
      await shot(page, 'repair-confirm');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      await page.waitForTimeout(300);
      page.off('request', count);
      assert.equal(posts, 0, 'Cancel started a repair');
    });

    await step('outside Settings: a banner over the list, a mark on Settings, a warning in the sheet', async () => {
      await visit('#/search?q=in%3Ainbox');
      await listTitle.waitFor();
      const link = banner.getByRole('link', { name: 'Settings \u2192 Storage health' });
      await link.waitFor();
      assert.equal(await banner.innerText(), 'The box found damaged data: Settings \u2192 Storage health');
      assert.equal(await banner.getAttribute('role'), 'status');
      await fitsTheScreen(page, 'the banner', 'hp-message-list');
      await axeCheck(page, 'the list with the damage banner');
      await shot(page, 'banner');
      await page.getByRole('button', { name: 'Tags and folders' }).click();
      await page.getByRole('button', { name: /^Settings\s*,\s*damaged data found$/ }).click();
      const dialog = page.getByRole('dialog', { name: 'Settings' });
      const healthLink = dialog.getByRole('link', { name: /^Storage health\s*The last check found damaged data/ });
      await healthLink.scrollIntoViewIfNeeded();
      await shot(page, 'settings-warning');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      await page.keyboard.press('Escape'); // and the drawer
      await page.locator('hp-mail[data-drawer="closed"]').waitFor();
      await link.click();
      await heading.waitFor();
      await page.goBack();
      await listTitle.waitFor();
      await banner.getByRole('button', { name: 'Dismiss the damaged data warning' }).click();
      await banner.getByRole('link').waitFor({ state: 'detached' });
      await until('the focus is on the list\u2019s heading', 5000,
        () => page.evaluate(() => document.activeElement && document.activeElement.id === 'list-title'));
    });

    await step('a real repair: the page says what it did, and the warnings go', async () => {
      await openHealth();
      await repairButton.click();
      const dialog = page.getByRole('dialog', { name: 'Repair the box now?' });
      await page.unroute('**/api/v1/integrity');
      const res = await answerTo(page, 'POST', '/integrity/repair',
        () => dialog.getByRole('button', { name: 'Repair now' }).click());
      assert.equal(res.status(), 202);
      await page.locator('#health-repaired').getByText(/^Repaired just now: /).waitFor({ timeout: 60000 });
      await lastLine.getByText(SOUND, { exact: true }).waitFor();
      const { status } = (await call(page, 'GET', '/integrity')).body;
      assert.ok(status.last_repair && status.repaired.length > 0, JSON.stringify(status));
      assert.equal(await page.locator('#health-repaired').textContent(),
        `Repaired just now: ${status.repaired.join('; ')}.`);
      await repairButton.waitFor({ state: 'hidden' });
      await until('"Check now" works again', 5000, () => checkButton.isEnabled());
      await page.getByRole('button', { name: 'Back' }).click();
      await listTitle.waitFor();
      assert.equal(await banner.textContent(), '');
      assert.equal(await page.locator('.nav-alert').isHidden(), true, 'the drawer\u2019s Settings is still marked');
    });

    await step('the trash keeps mail 7 days, still after a reload', async () => {
      await openHealth();
      await trashDays.selectOption({ label: '7 days' });
      const res = await answerTo(page, 'PUT', '/trash', () => page.getByRole('button', { name: 'Save' }).click());
      assert.equal(res.status(), 200);
      assert.deepEqual(JSON.parse(res.request().postData()), { days: 7 });
      assert.equal((await res.json()).trash_days, 7);
      await toast.getByText('Mail in the trash is deleted for good after 7 days.').waitFor();
      await page.reload();
      await heading.waitFor();
      await until('the select shows 7 days', 5000, async () => (await trashDays.inputValue()) === '7');
      assert.equal((await call(page, 'GET', '/integrity')).body.trash_days, 7);
      await shot(page, 'trash-7-days');
      await fitsTheScreen(page, 'the trash setting', 'hp-health');
    });

    await step('a message moved to the trash; "Empty trash" asks, then the Trash is empty', async () => {
      await visit('#/search?q=in%3Ainbox');
      await page.locator('.msg-link').filter({ hasText: 'Health one' }).click();
      await page.getByRole('heading', { name: 'Health one', level: 1 }).waitFor();
      await page.getByRole('button', { name: 'Trash', exact: true }).click();
      await listTitle.getByText('Inbox').waitFor();
      await openTrash();
      const rows = page.locator('li.msg-row');
      await rows.filter({ hasText: 'Health one' }).waitFor();
      assert.equal(await rows.count(), 1);
      await page.locator('hp-trash-bar').getByText('Mail is deleted for good 7 days after it went to the trash.').waitFor();
      assert.equal(await page.getByRole('link', { name: 'Change how long mail stays in the trash' }).getAttribute('href'),
        '#/health');
      await fitsTheScreen(page, 'the Trash', 'hp-message-list');
      await axeCheck(page, 'the Trash');
      await shot(page, 'trash');
      const emptyButton = page.locator('hp-trash-bar').getByRole('button', { name: 'Empty trash' });
      await emptyButton.click();
      let dialog = page.getByRole('dialog', { name: 'Empty the trash?' });
      await dialog.getByText(/^Delete 1 message for good\? This cannot be undone\./).waitFor();
      await shot(page, 'empty-confirm');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal(await rows.count(), 1, 'Cancel emptied the trash');
      await emptyButton.click();
      dialog = page.getByRole('dialog', { name: 'Empty the trash?' });
      const res = await answerTo(page, 'POST', '/trash/empty',
        () => dialog.getByRole('button', { name: 'Empty trash' }).click());
      assert.equal(res.status(), 200);
      assert.deepEqual(await res.json(), { deleted: 1 });
      await page.locator('.list-empty').getByText('The trash is empty.', { exact: true }).waitFor();
      await emptyButton.waitFor({ state: 'hidden' });
      await toast.getByText('Trash emptied: 1 message deleted for good').waitFor();
      assert.equal((await call(page, 'GET', '/search?q=in%3Atrash')).body.total, 0);
      assert.equal((await call(page, 'GET', '/search?q=')).body.total, SUBJECTS.length - 1);
      await shot(page, 'trash-empty');
    });

    await step('"Delete for good" in the reader asks, deletes, and a message moved out meanwhile is kept', async () => {
      const two = await idOf(page, 'Health two');
      const three = await idOf(page, 'Health three');
      assert.equal((await call(page, 'POST', '/messages/tags',
        { ids: [two, three], add: ['trash'], remove: ['inbox'] })).status, 200);
      await visit('#/search?q=in%3Ainbox');
      await listTitle.waitFor();
      await openTrash();
      const rows = page.locator('li.msg-row');
      await rows.filter({ hasText: 'Health two' }).locator('.msg-link').click();
      await page.getByRole('heading', { name: 'Health two', level: 1 }).waitFor();
      await markedRead();
      // In the trash: no Trash button, and nothing in its place.
      assert.deepEqual(await page.locator('.reader-toolbar > .tool-button span').allTextContents(),
        ['Reply', 'To Inbox', 'Flag']);
      await page.getByRole('button', { name: 'More', exact: true }).click();
      await page.getByRole('menuitem', { name: 'Delete for good' }).click();
      let dialog = page.getByRole('dialog', { name: 'Delete this message for good?' });
      await dialog.getByText(/This cannot be undone\.$/).waitFor();
      await axeCheck(page, 'the delete-for-good confirm');
      const res = await answerTo(page, 'DELETE', `/messages/${two}`,
        () => dialog.getByRole('button', { name: 'Delete for good' }).click());
      assert.equal(res.status(), 204);
      await page.getByRole('heading', { name: 'Trash', level: 1 }).waitFor();
      await rows.filter({ hasText: 'Health two' }).waitFor({ state: 'detached' });
      await toast.getByText('Deleted for good', { exact: true }).waitFor();
      assert.equal((await call(page, 'GET', `/messages/${two}`)).status, 404);

      await rows.filter({ hasText: 'Health three' }).locator('.msg-link').click();
      await page.getByRole('heading', { name: 'Health three', level: 1 }).waitFor();
      await markedRead();
      // Back in the Inbox from another tab, say, since the message was opened here.
      assert.equal((await call(page, 'POST', '/messages/tags',
        { ids: [three], add: ['inbox'], remove: ['trash'] })).status, 200);
      await page.getByRole('button', { name: 'More', exact: true }).click();
      await page.getByRole('menuitem', { name: 'Delete for good' }).click();
      dialog = page.getByRole('dialog', { name: 'Delete this message for good?' });
      const refused = await answerTo(page, 'DELETE', `/messages/${three}`,
        () => dialog.getByRole('button', { name: 'Delete for good' }).click());
      assert.equal(refused.status(), 409);
      assert.equal((await refused.json()).error.code, 'not_in_trash');
      await toast.getByText('Not deleted: this message is no longer in the trash or spam. Move it to the trash first.',
        { exact: true }).waitFor();
      // Shown again as it is now: in the Inbox, with no "Delete for good".
      await page.getByRole('heading', { name: 'Health three', level: 1 }).waitFor();
      await page.getByRole('button', { name: 'Archive', exact: true }).waitFor();
      await page.getByRole('button', { name: 'More', exact: true }).click();
      await page.getByRole('menuitem', { name: 'Forward' }).waitFor();
      assert.equal(await page.getByRole('menuitem', { name: 'Delete for good' }).count(), 0);
      await page.keyboard.press('Escape');
      assert.equal((await call(page, 'GET', `/messages/${three}`)).status, 200);
    });

    await step('a conversation in the trash: "Delete for good" deletes its messages there', async () => {
      const four = await idOf(page, 'Health four');
      assert.equal((await call(page, 'POST', '/messages/tags',
        { ids: [four], add: ['trash'], remove: ['inbox'] })).status, 200);
      await page.evaluate(() => window.localStorage.setItem('homepost.grouping', 'conversations'));
      await visit('#/search?q=in%3Ainbox');
      await listTitle.waitFor();
      await openTrash();
      await page.locator('hp-message-list[data-grouped="true"]').waitFor();
      await page.locator('li.msg-row').filter({ hasText: 'Health four' }).locator('.msg-link').click();
      await page.locator('hp-conversation-view h1').getByText('Health four').waitFor();
      assert.equal(await page.locator('.reader-toolbar').innerText(), 'Reply\nTo Inbox\nMore');
      await page.getByRole('button', { name: 'More', exact: true }).click();
      await shot(page, 'conversation-more');
      await page.getByRole('menuitem', { name: 'Delete for good' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete this message for good?' });
      const res = await answerTo(page, 'DELETE', `/messages/${four}`,
        () => dialog.getByRole('button', { name: 'Delete for good' }).click());
      assert.equal(res.status(), 204);
      await page.getByRole('heading', { name: 'Trash', level: 1 }).waitFor();
      await page.locator('.list-empty').getByText('The trash is empty.', { exact: true }).waitFor();
      assert.equal((await call(page, 'GET', `/messages/${four}`)).status, 404);
    });
  } finally {
    if (watcher) {
      const problems = [...watcher.problems, ...watcher.external.map((u) => `request left the box: ${u}`)];
      if (problems.length > 0) steps.fail(`console errors, CSP violations or requests elsewhere: ${problems.join('; ')}`);
      else steps.results.push('ok   [integrity] no console error, no CSP violation, no request elsewhere');
    }
    if (browser) await browser.close();
    if (server) await server.stop();
    await rm(tmp, { recursive: true, force: true });
    steps.results.push(`     [integrity] ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

main().catch((err) => {
  if (!steps.results.some((r) => r.startsWith('FAIL'))) steps.fail(err.message);
}).finally(() => {
  console.log(`\n${steps.results.join('\n')}`);
  process.exitCode = steps.failures > 0 ? 1 : 0;
});
