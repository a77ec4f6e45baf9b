// The Backups page (#/backup) at a small phone's size (360x740, touch), against a real
// `homepost serve` and a real Dovecot (tests/peers). The box, prepared with the CLI,
// has three accounts: "Home" (IMAP on Dovecot, alice, with three messages), "Old POP
// box" (POP3: cannot hold backups, so never offered) and "Broken" (IMAP on a closed
// port). The Settings sheet leads to the page; nothing is set up ("No backup yet",
// "Not set up yet"); "Back up now" is answered `no_backup_target`, said in words;
// with no IMAP account (the accounts answer narrowed in the test) the page says where
// to add one and Save sends nothing. Then for real: a backup to "Broken" fails and the
// page says why (an alert); a backup to "Home" twice a day says what it did (three
// messages, what was sent) and when the next runs, and Dovecot's folder holds only
// ciphertext; the recovery key is shown once, large, the same as the box's, printed
// alone, kept out of storage and the console, and gone for good after "I have written
// it down". A run's progress (the bar, the bytes sent, "Back up now" disabled, the
// poll every second) and a directory target (read-only) are answered in the test
// (`page.route` on GET /backup, the server's shape). Keep counts under "Advanced" are
// checked before sending, then saved; a target the box refuses shows its message.
// axe (light and dark) at each state, nothing wider than the screen, no console error,
// no CSP violation, no request beyond 127.0.0.1.
//
//   HOMEPOST_BIN=/path/to/homepost node backup.mjs

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  OUT, PASSPHRASE, launchBrowser, startServer, homepostCli, watch, ensureOut, requireBin, axeCheck,
  Steps, freePorts, startDovecot,
  SMALL_PHONE, fitsTheScreen, fullPageShot,
} from './lib.mjs';
// The page's own way of writing a size, for the text it must show.
import { size } from '../../pwa/js/format.js';

const FOLDER = 'Homepost Backup';
const SUBJECTS = ['Backup test one', 'Backup test two', 'Backup test three'];
const SECRET_LINE = 'A line that must never reach the server unencrypted';
const KEY_SHAPE = /^[0-9A-Z]{4}(-[0-9A-Z]{4}){7}$/;

const steps = new Steps('backup', 'backup-phone-failed.png');
const step = steps.run;
let shots = 0;

// --- Dovecot ----------------------------------------------------------------------

/** Waits until `check()` resolves truthy (polled), or fails with `what`. */
async function eventually(what, check, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await check();
    if (last) return last;
    await new Promise((r) => { setTimeout(r, 250); });
  }
  throw new Error(`${what} (last: ${JSON.stringify(last)})`);
}

function message(i, subject) {
  return [
    'From: Bob Example <bob@example.org>',
    'To: Alice <alice@localhost>',
    `Subject: ${subject}`,
    `Message-ID: <backup-${i}@example.org>`,
    `Date: Tue, 0${i + 1} Dec 2026 10:00:00 +0000`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `${SECRET_LINE}, number ${i + 1}.`,
    '',
  ].join('\r\n');
}

/** Dovecot (tests/peers) with the three messages in alice's inbox. */
async function startMail(dir) {
  const dovecot = await startDovecot(path.join(dir, 'dovecot'));
  try {
    for (const [i, subject] of SUBJECTS.entries()) dovecot.deliver('alice', message(i, subject));
  } catch (err) {
    await dovecot.stop();
    throw err;
  }
  return { ...dovecot, maildir: dovecot.maildir('alice') };
}

/** The files of the IMAP folder `folder` in a Maildir++ (`.Folder/cur` and `new`). */
function folderFiles(maildir, folder) {
  const files = [];
  for (const sub of ['cur', 'new']) {
    const d = path.join(maildir, `.${folder}`, sub);
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      const f = path.join(d, name);
      if (statSync(f).isFile()) files.push(f);
    }
  }
  return files;
}

// --- the page ---------------------------------------------------------------------

/** A numbered screenshot of the page or the open sheet. */
async function shot(page, name) {
  shots += 1;
  await fullPageShot(page, path.join(OUT, `backup-phone-${String(shots).padStart(2, '0')}-${name}.png`));
}

/** GET /api/v1{path} from the page (its session cookie): {status, body}. */
function get(page, apiPath) {
  return page.evaluate(async (p) => {
    const res = await fetch(`/api/v1${p}`, { cache: 'no-store' });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  }, apiPath);
}

/** A state change from the page, with the session's CSRF token (GET /session). */
function change(page, method, apiPath) {
  return page.evaluate(async ([m, p]) => {
    const session = await (await fetch('/api/v1/session', { cache: 'no-store' })).json();
    const res = await fetch(`/api/v1${p}`, { method: m, headers: { 'X-CSRF-Token': session.csrf_token } });
    return res.status;
  }, [method, apiPath]);
}

/** The server's words as the page shows them (remote-relay.js `sentence`). */
function sentence(text) {
  const t = String(text || '').trim();
  return t ? `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}` : '';
}

/** Waits for the answer to `method` on /api/v1{apiPath}, after `action()`. */
async function answerTo(page, method, apiPath, action) {
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/v1${apiPath}`
    && r.request().method() === method);
  await action();
  return answer;
}

async function main() {
  requireBin();
  await ensureOut();
  const started = Date.now();
  const dir = await mkdtemp('/tmp/homepost-e2e-backup-');
  await chmod(dir, 0o755); // Dovecot runs as nobody when we are root
  let mail = null;
  let server = null;
  let browser = null;
  let watcher = null;
  const consoleText = [];
  try {
    mail = await startMail(dir);
    const [closed] = await freePorts(1);
    server = await startServer('backup', {
      prepare: async (data) => {
        await homepostCli(data, ['init', '--kdf', 'insecure-test-only']);
        const add = (name, email, user, server, password) => homepostCli(data, ['account', 'add', '--name', name,
          '--email', email, '--incoming-user', user, '--incoming-security', 'plain', ...server],
        { HOMEPOST_INCOMING_PASSWORD: password });
        await add('Home', 'alice@localhost', 'alice', ['--imap', `127.0.0.1:${mail.imap}`], 'secret');
        await add('Old POP box', 'bob@localhost', 'bob', ['--pop3', `127.0.0.1:${mail.pop3}`], 'secret');
        await add('Broken', 'carol@localhost', 'carol', ['--imap', `127.0.0.1:${closed}`], 'secret');
      },
    });
    browser = await launchBrowser();
    const context = await browser.newContext(SMALL_PHONE);
    watcher = watch(context, 'backup');
    const page = await context.newPage();
    page.on('console', (msg) => consoleText.push(msg.text()));
    page.setDefaultTimeout(15000);
    steps.page = page;

    const heading = page.getByRole('heading', { name: 'Backups', level: 1 });
    const lastLine = page.locator('#backup-last');
    const nextLine = page.locator('#backup-next');
    const failedLine = page.locator('#backup-failed');
    const runButton = page.getByRole('button', { name: 'Back up now' });
    const statusSection = page.locator('section[aria-labelledby="backup-status-title"]');
    const whereSection = page.locator('section[aria-labelledby="backup-where-title"]');
    const keyPanel = page.locator('section[aria-labelledby="backup-key-title"]');
    const bar = page.locator('progress.backup-bar');
    const ids = {};
    let recoveryKey = null;

    const openPage = async () => {
      await page.reload();
      await heading.waitFor();
      await lastLine.filter({ hasNotText: 'Loading' }).waitFor();
    };

    await step('the Settings sheet leads to Backups; nothing is set up yet', async () => {
      await page.goto(`${server.base}/`);
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Unlock' }).click();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      await page.getByRole('button', { name: 'Tags and folders' }).click();
      await page.getByRole('button', { name: 'Settings', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Settings' });
      await dialog.getByRole('link', { name: /Backups/ }).click();
      await heading.waitFor();
      await dialog.waitFor({ state: 'detached' });
      assert.equal(new URL(page.url()).hash, '#/backup');
      await eventually('the page heading has the focus',
        () => page.evaluate(() => document.activeElement && document.activeElement.matches('hp-backups h1')));
      await lastLine.getByText('No backup yet', { exact: true }).waitFor();
      await nextLine.getByText(/^Not set up yet/).waitFor();
      assert.equal(await bar.isVisible(), false, 'a progress bar with no backup running');
      assert.equal(await runButton.isEnabled(), true);
      assert.equal(await failedLine.isVisible(), false);
      for (const a of (await get(page, '/accounts')).body.accounts) ids[a.name] = a.id;
      // Only the IMAP accounts can hold backups: the POP3 one is not offered.
      const account = whereSection.getByLabel('Mail account');
      assert.deepEqual(await account.locator('option').allTextContents(),
        ['Home (alice@localhost)', 'Broken (carol@localhost)']);
      assert.equal(await whereSection.getByLabel('Folder').inputValue(), FOLDER);
      assert.equal(await whereSection.getByLabel('Every day').isChecked(), true);
      assert.equal(await whereSection.locator('details.backup-advanced').evaluate((d) => d.open), false);
      await whereSection.getByText('the mail server only ever sees unreadable data').waitFor();
      await shot(page, 'empty');
      await fitsTheScreen(page, 'nothing set up', 'hp-backups');
      await axeCheck(page, 'backups, nothing set up');
    });

    await step('"Back up now" with nowhere to back up to says so in plain words', async () => {
      const res = await answerTo(page, 'POST', '/backup/run', () => runButton.click());
      assert.equal(res.status(), 409);
      assert.equal((await res.json()).error.code, 'no_backup_target');
      const alert = statusSection.getByRole('alert').filter({ hasText: 'There is nowhere to back up to yet' });
      await alert.waitFor();
      await eventually('the error has the focus', () => alert.evaluate((el) => el === document.activeElement));
      assert.equal(await runButton.isEnabled(), true);
      await lastLine.getByText('No backup yet', { exact: true }).waitFor();
    });

    await step('with no IMAP account the page says where to add one, and Save sends nothing', async () => {
      // The box's own accounts answer, narrowed to the POP3 account.
      await page.route('**/api/v1/accounts', async (route) => {
        const res = await route.fetch();
        const body = await res.json();
        body.accounts = body.accounts.filter((a) => a.incoming && a.incoming.protocol === 'pop3');
        await route.fulfill({ response: res, json: body });
      });
      await openPage();
      const notice = whereSection.locator('#backup-no-account');
      await notice.getByText('None of your accounts can keep backups yet').waitFor();
      assert.equal(await notice.getByRole('link', { name: 'Add one in Accounts' }).getAttribute('href'), '#/accounts');
      assert.equal(await whereSection.getByLabel('Mail account').count(), 0);
      let puts = 0;
      const count = (r) => { if (r.method() === 'PUT' && r.url().endsWith('/api/v1/backup')) puts += 1; };
      page.on('request', count);
      await whereSection.getByRole('button', { name: 'Save' }).click();
      await whereSection.getByRole('alert').getByText('There is no account to keep the backups in yet').waitFor();
      await page.waitForTimeout(500);
      page.off('request', count);
      assert.equal(puts, 0, 'Save sent the settings without an account');
      await fitsTheScreen(page, 'no IMAP account', 'hp-backups');
      await axeCheck(page, 'backups, no IMAP account');
      await page.unroute('**/api/v1/accounts');
      await openPage();
      await whereSection.getByLabel('Mail account').waitFor();
    });

    await step('a backup to an account that cannot be reached fails, and the page says why', async () => {
      const before = (await get(page, '/backup')).body;
      await whereSection.getByLabel('Mail account').selectOption({ label: 'Broken (carol@localhost)' });
      const res = await answerTo(page, 'PUT', '/backup', () => whereSection.getByRole('button', { name: 'Save' }).click());
      assert.equal(res.status(), 200);
      assert.deepEqual(JSON.parse(res.request().postData()), {
        target: { kind: 'account', account: ids.Broken, folder: FOLDER },
        message_limit: before.settings.message_limit,
        every_hours: 24,
        keep: before.settings.keep,
      });
      await nextLine.getByText('Next backup: as soon as possible', { exact: true }).waitFor();
      const run = await answerTo(page, 'POST', '/backup/run', () => runButton.click());
      assert.equal(run.status(), 202);
      const status = await eventually('the run is over and its error recorded', async () => {
        const s = (await get(page, '/backup')).body.status;
        return !s.running && s.last_error ? s : null;
      }, 60000);
      await eventually('the page says why', async () => (await failedLine.isVisible())
        && (await failedLine.textContent()).endsWith(`: ${sentence(status.last_error)}`));
      assert.match(await failedLine.textContent(), /^The last backup did not work \(today at /);
      assert.equal(await failedLine.getAttribute('role'), 'alert');
      assert.equal(await lastLine.textContent(), 'No backup yet');
      await nextLine.getByText(/^Next backup: (today|tomorrow) at /).waitFor();
      await eventually('"Back up now" works again', () => runButton.isEnabled());
      await shot(page, 'failed');
      await fitsTheScreen(page, 'a failed backup', 'hp-backups');
      await axeCheck(page, 'backups, the last one failed');
    });

    await step('a backup to the Home account twice a day: the status says what it did', async () => {
      await eventually('the box fetched the three messages', async () => {
        let total = 0;
        for (const q of ['', 'in:spam']) {
          total += (await get(page, `/search?${new URLSearchParams({ q, limit: '1' })}`)).body.total;
        }
        return total === SUBJECTS.length;
      }, 60000);
      await whereSection.getByLabel('Mail account').selectOption({ label: 'Home (alice@localhost)' });
      await whereSection.getByText('Twice a day').click();
      const res = await answerTo(page, 'PUT', '/backup', () => whereSection.getByRole('button', { name: 'Save' }).click());
      assert.equal(res.status(), 200);
      const sent = JSON.parse(res.request().postData());
      assert.deepEqual(sent.target, { kind: 'account', account: ids.Home, folder: FOLDER });
      assert.equal(sent.every_hours, 12);
      const run = await answerTo(page, 'POST', '/backup/run', () => runButton.click());
      assert.equal(run.status(), 202);
      assert.equal(await runButton.isDisabled(), true, '"Back up now" is not disabled while the backup starts');
      const status = await eventually('the backup is done', async () => {
        const s = (await get(page, '/backup')).body.status;
        return !s.running && s.last_success && !s.last_error ? s : null;
      }, 60000);
      assert.equal(status.messages, SUBJECTS.length);
      assert.ok(status.sent > 0 && status.bytes > 0, JSON.stringify(status));
      await eventually('the page says what the backup did', async () => {
        const text = await lastLine.textContent();
        return /^Last backup: today at /.test(text)
          && text.endsWith(`\u2014 3 messages, ${size(status.bytes)}; ${size(status.sent)} sent`) ? text : null;
      });
      await eventually('the old error is gone', async () => !(await failedLine.isVisible()));
      await nextLine.getByText(/^Next backup: (today|tomorrow) at /).waitFor();
      await eventually('"Back up now" works again', () => runButton.isEnabled());
      // What Dovecot holds: messages in the folder, none of them readable.
      const files = folderFiles(mail.maildir, FOLDER);
      assert.ok(files.length > 0, `nothing in the ${FOLDER} folder on the server`);
      for (const f of files) {
        const text = readFileSync(f, 'latin1');
        assert.ok(!text.includes(SECRET_LINE) && !SUBJECTS.some((s) => text.includes(s)),
          `${path.basename(f)} on the server holds mail in the clear`);
      }
    });

    await step('the recovery key is shown once, large, the box\u2019s own, and printed alone', async () => {
      await keyPanel.waitFor();
      await eventually('the key\u2019s heading has the focus', () => page.evaluate(() => document.activeElement
        && document.activeElement.id === 'backup-key-title'));
      const answer = await get(page, '/backup/recovery-key');
      assert.equal(answer.status, 200);
      recoveryKey = answer.body.recovery_key;
      assert.match(recoveryKey, KEY_SHAPE);
      const groups = keyPanel.locator('.backup-key-groups li');
      assert.deepEqual(await groups.allTextContents(), recoveryKey.split('-'));
      const look = await groups.first().evaluate((li) => {
        const css = getComputedStyle(li);
        return { font: css.fontFamily, px: parseFloat(css.fontSize) };
      });
      assert.match(look.font, /mono/i);
      assert.ok(look.px >= 24, `the key is ${look.px}px`);
      await keyPanel.getByText('It is shown only this once').waitFor();
      await keyPanel.getByText('If you ever forget your passphrase, this key opens your backups').waitFor();
      await keyPanel.getByText('With this key and the login of your mail account').waitFor();
      await keyPanel.getByText('away from the box').waitFor();
      const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]));
      assert.ok(!stored.includes(recoveryKey.split('-')[0] + recoveryKey.split('-')[1]) && !stored.includes(recoveryKey),
        'the key is in the browser\u2019s storage');
      await shot(page, 'recovery-key');
      await fitsTheScreen(page, 'the recovery key', 'hp-backups');
      await axeCheck(page, 'backups, the recovery key');

      // Print: the key's sheet alone, then gone.
      await page.evaluate(() => {
        window.print = () => {
          window.printed = {
            mode: document.documentElement.dataset.print,
            sheet: (document.querySelector('.backup-print') || {}).textContent || '',
          };
        };
      });
      await keyPanel.getByRole('button', { name: 'Print' }).click();
      const printed = await page.evaluate(() => window.printed);
      assert.equal(printed.mode, 'recovery-key');
      assert.ok(printed.sheet.includes(recoveryKey.split('-').join('')), printed.sheet);
      await page.emulateMedia({ media: 'print' });
      const shown = await page.evaluate(() => ({
        app: getComputedStyle(document.querySelector('hp-app')).display,
        sheet: getComputedStyle(document.querySelector('.backup-print')).display,
      }));
      await page.screenshot({ path: path.join(OUT, 'backup-phone-recovery-key-print.png') });
      await page.emulateMedia({ media: null });
      assert.deepEqual(shown, { app: 'none', sheet: 'block' });
      await page.evaluate(() => window.dispatchEvent(new Event('afterprint')));
      assert.equal(await page.locator('.backup-print').count(), 0);
      assert.equal(await page.evaluate(() => document.documentElement.dataset.print), undefined);
    });

    await step('"I have written it down" asks, then the key is gone for good', async () => {
      await keyPanel.getByRole('button', { name: 'I have written it down' }).click();
      let dialog = page.getByRole('dialog', { name: 'Have you written the key down?' });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal(await keyPanel.isVisible(), true, 'Cancel took the key away');
      assert.equal((await get(page, '/backup/recovery-key')).status, 200);
      await keyPanel.getByRole('button', { name: 'I have written it down' }).click();
      dialog = page.getByRole('dialog', { name: 'Have you written the key down?' });
      const res = await answerTo(page, 'POST', '/backup/recovery-key/shown',
        () => dialog.getByRole('button', { name: 'Yes, it is written down' }).click());
      assert.equal(res.status(), 204);
      await keyPanel.waitFor({ state: 'hidden' });
      assert.ok(!(await page.content()).includes(recoveryKey.split('-')[3]), 'the key is still on the page');
      await eventually('the focus is on the status', () => page.evaluate(() => document.activeElement
        && document.activeElement.id === 'backup-status-title'));
      assert.equal((await get(page, '/backup/recovery-key')).status, 404);
      assert.equal((await get(page, '/backup')).body.status.recovery_key_pending, false);
      await openPage();
      await lastLine.getByText(/^Last backup: /).waitFor();
      await page.waitForTimeout(500);
      assert.equal(await keyPanel.isVisible(), false, 'the key came back after a reload');
    });

    await step('while a backup runs: the bar, the bytes sent, "Back up now" disabled, a poll every second', async () => {
      const real = (await get(page, '/backup')).body;
      const running = { rows: 40, total: 100, sent: 1572864 };
      await page.route('**/api/v1/backup', (route) => (route.request().method() === 'GET'
        ? route.fulfill({ json: { ...real, status: { ...real.status, running } } })
        : route.fallback()));
      await openPage();
      await bar.waitFor();
      assert.deepEqual(await bar.evaluate((b) => [b.value, b.max]), [40, 100]);
      await page.locator('#backup-progress-text').getByText('Backing up: 40% done', { exact: true }).waitFor();
      await page.locator('#backup-sent').getByText('1.5 MB sent so far', { exact: true }).waitFor();
      const live = page.locator('.backup-progress');
      assert.equal(await live.getAttribute('role'), 'status');
      assert.equal(await live.getAttribute('aria-live'), 'polite');
      assert.equal(await runButton.isDisabled(), true);
      const polls = () => watcher.responses.filter((r) => r.path === '/api/v1/backup').length;
      const before = polls();
      await page.mouse.move(10, 10); // someone is there: the poller runs
      await page.waitForTimeout(3500);
      const seen = polls() - before;
      assert.ok(seen >= 2 && seen <= 6, `${seen} polls in 3.5 s while running`);
      await shot(page, 'running');
      await fitsTheScreen(page, 'a backup running', 'hp-backups');
      await axeCheck(page, 'backups, one running');
      await page.unroute('**/api/v1/backup');
      await bar.waitFor({ state: 'hidden' });
      await eventually('"Back up now" works again', () => runButton.isEnabled());
      assert.equal(await page.locator('#backup-progress-text').textContent(), '');
    });

    await step('a directory chosen on the box is shown as it is, with nothing to change', async () => {
      const real = (await get(page, '/backup')).body;
      const target = { kind: 'directory', path: '/mnt/backup-disk/homepost' };
      await page.route('**/api/v1/backup', (route) => (route.request().method() === 'GET'
        ? route.fulfill({ json: { ...real, settings: { ...real.settings, target } } })
        : route.fallback()));
      await openPage();
      await whereSection.locator('#backup-dir').getByText(target.path, { exact: true }).waitFor();
      await whereSection.getByText('Twice a day', { exact: true }).waitFor();
      await whereSection.getByText('chosen on the box itself').waitFor();
      assert.equal(await whereSection.getByLabel('Mail account').count(), 0);
      assert.equal(await whereSection.getByRole('button', { name: 'Save' }).count(), 0);
      await fitsTheScreen(page, 'a directory target', 'hp-backups');
      await axeCheck(page, 'backups, a directory target');
      await page.unroute('**/api/v1/backup');
      await openPage();
    });

    await step('Advanced: keep counts are checked before sending, then saved', async () => {
      await whereSection.getByText('Advanced', { exact: true }).click();
      const days = whereSection.getByLabel('Days', { exact: true });
      await days.fill('-1');
      let puts = 0;
      const count = (r) => { if (r.method() === 'PUT' && r.url().endsWith('/api/v1/backup')) puts += 1; };
      page.on('request', count);
      await whereSection.getByRole('button', { name: 'Save' }).click();
      await whereSection.getByRole('alert').getByText('Say how many backups to keep as a whole number').waitFor();
      assert.equal(await days.getAttribute('aria-invalid'), 'true');
      await eventually('the field has the focus', () => days.evaluate((el) => el === document.activeElement));
      page.off('request', count);
      assert.equal(puts, 0);
      await days.fill('14');
      await whereSection.getByLabel('Weeks', { exact: true }).fill('8');
      await whereSection.getByLabel('Months', { exact: true }).fill('24');
      const res = await answerTo(page, 'PUT', '/backup', () => whereSection.getByRole('button', { name: 'Save' }).click());
      assert.equal(res.status(), 200);
      assert.deepEqual(JSON.parse(res.request().postData()).keep, { daily: 14, weekly: 8, monthly: 24 });
      assert.deepEqual((await get(page, '/backup')).body.settings.keep, { daily: 14, weekly: 8, monthly: 24 });
      assert.equal(await whereSection.getByRole('alert').isVisible(), false);
      await shot(page, 'advanced');
      await fitsTheScreen(page, 'the advanced settings', 'hp-backups');
    });

    await step('a target the box refuses shows its message beside the form', async () => {
      await whereSection.getByLabel('Mail account').selectOption({ label: 'Broken (carol@localhost)' });
      // Gone from the box since the page was drawn (another tab, say).
      assert.equal(await change(page, 'DELETE', `/accounts/${ids.Broken}`), 204);
      const res = await answerTo(page, 'PUT', '/backup', () => whereSection.getByRole('button', { name: 'Save' }).click());
      assert.equal(res.status(), 400);
      const { error } = await res.json();
      assert.equal(error.code, 'invalid_backup_settings');
      const alert = whereSection.getByRole('alert');
      await alert.getByText(sentence(error.message), { exact: true }).waitFor();
      await eventually('the error has the focus', () => alert.evaluate((el) => el === document.activeElement));
      assert.deepEqual((await get(page, '/backup')).body.settings.target,
        { kind: 'account', account: ids.Home, folder: FOLDER });
      await fitsTheScreen(page, 'a refused target', 'hp-backups');
    });

    const leaked = consoleText.filter((t) => recoveryKey && t.includes(recoveryKey.split('-')[2]));
    if (leaked.length > 0) steps.fail(`the recovery key went to the console: ${leaked.length} messages`);
  } finally {
    if (watcher) {
      const problems = [...watcher.problems, ...watcher.external.map((u) => `request left the box: ${u}`)];
      if (problems.length > 0) steps.fail(`console errors, CSP violations or requests elsewhere: ${problems.join('; ')}`);
      else steps.results.push('ok   [backup] no console error, no CSP violation, no request elsewhere');
    }
    if (browser) await browser.close();
    if (server) await server.stop();
    if (mail) await mail.stop();
    await rm(dir, { recursive: true, force: true });
    steps.results.push(`     [backup] ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

main().catch((err) => {
  if (!steps.results.some((r) => r.startsWith('FAIL'))) steps.fail(err.message);
}).finally(() => {
  console.log(`\n${steps.results.join('\n')}`);
  process.exitCode = steps.failures > 0 ? 1 : 0;
});
