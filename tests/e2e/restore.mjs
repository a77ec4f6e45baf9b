// Restoring a box from its backup in the setup wizard, at a small phone's size
// (360x740, touch), in real headless Chromium against real Dovecot (tests/peers).
// An old box made with the CLI (three messages imported, the IMAP account "Home" on
// Dovecot, one backup to its "Homepost Backup" folder, the recovery key read from
// the output) is gone; a new box that listens beyond loopback (TLS, self-signed,
// reached by this machine's LAN address, so its setup code is needed) is claimed:
//
//   the passphrase step offers "Restore from a backup" -> the form (TLS and 993 by
//   default, "None" only for a server on this box) -> Dovecot's IMAPS: its
//   self-signed certificate fails, shown by its fingerprint, and is trusted -> a
//   wrong passphrase is said in words and nothing is made (still no vault) -> back
//   to the form with everything kept -> the right passphrase: the progress (answered
//   in the test, `page.route` on GET /restore: a bar, then the index rebuilt), then
//   the real end: unlocked, the mail list with the three messages and "Restored 3
//   messages from the backup of …", the old box's account there.
//
// A second new box: plain IMAP (the server is on this box), the recovery key typed
// in lower case with a new passphrase (a weak one refused first) -> the mail; another
// browser then unlocks it with the new passphrase, not the old one.
// axe (light and dark) on each screen, nothing wider than the screen, no console
// error, no CSP violation.
//
//   HOMEPOST_BIN=/path/to/homepost node restore.mjs

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  OUT, PASSPHRASE, SMALL_PHONE, axeCheck, ensureOut, fitsTheScreen, freePorts, homepostCli, launchBrowser,
  requireBin, singleMessages, startDovecot, watch, Steps,
  lanAddress, until,
} from './lib.mjs';

const SUBJECTS = ['Restore test one', 'Restore test two', 'Restore test three'];
const WRONG = 'not the passphrase of that box';
const WEAK = 'password1234';
const NEW_PASSPHRASE = 'lantern moss quarry heron 7 blue';
const KEY_SHAPE = /^\s*([0-9A-Z]{4}(?:-[0-9A-Z]{4}){7})\s*$/m;

const steps = new Steps('restore', 'restore-failed.png');
const step = steps.run;
let shots = 0;

function message(i, subject) {
  return [
    `From bob@example.org Tue Dec  0${i + 1} 10:00:00 2026`,
    'From: Bob Example <bob@example.org>',
    'To: Alice <alice@localhost>',
    `Subject: ${subject}`,
    `Message-ID: <restore-${i}@example.org>`,
    `Date: Tue, 0${i + 1} Dec 2026 10:00:00 +0000`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Line ${i + 1} of the mail the old box had.`,
    '',
  ].join('\n');
}

/**
 * The old box, made with the CLI in `dir`: the three messages, the account "Home"
 * (alice on Dovecot, plain IMAP on loopback), one backup to its folder. Resolves to
 * the recovery key the backup printed.
 */
async function oldBox(dir, mail) {
  const data = path.join(dir, 'old');
  await mkdir(data);
  await homepostCli(data, ['init', '--kdf', 'insecure-test-only']);
  const mbox = path.join(dir, 'old.mbox');
  await writeFile(mbox, SUBJECTS.map((s, i) => message(i, s)).join('\n'));
  await homepostCli(data, ['import', mbox]);
  await homepostCli(data, ['account', 'add', '--name', 'Home', '--email', 'alice@localhost', '--incoming-user', 'alice',
    '--incoming-security', 'plain', '--imap', `127.0.0.1:${mail.imap}`], { HOMEPOST_INCOMING_PASSWORD: 'secret' });
  const [account] = JSON.parse((await homepostCli(data, ['account', 'list', '--json'])).stdout);
  await homepostCli(data, ['backup', 'setup', '--account', String(account.id)]);
  const { stdout } = await homepostCli(data, ['backup']);
  assert.match(stdout, /backed up 3 messages/, stdout);
  const key = KEY_SHAPE.exec(stdout);
  assert.ok(key, `no recovery key in the backup's output:\n${stdout}`);
  return key[1];
}

/** A new box on its own data directory; resolves once its console has shown the setup code. */
async function startBox(dir, label) {
  const [port] = await freePorts(1);
  const child = spawn(requireBin(), ['--data', path.join(dir, label), 'serve', '--listen', `0.0.0.0:${port}`,
    '--tls-self-signed', '--kdf', 'insecure-test-only'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  await until('the setup code on the console', 60000, () => {
    if (child.exitCode !== null) throw new Error(`homepost serve exited:\n${out}`);
    return /setup code (\S+)/.test(out);
  });
  return {
    port,
    code: /setup code (\S+)/.exec(out)[1],
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000); });
      }
      await writeFile(path.join(OUT, `server-restore-${label}.log`), out);
    },
  };
}

// --- the page ---------------------------------------------------------------------

async function shot(page, name) {
  shots += 1;
  await page.screenshot({ path: path.join(OUT, `restore-${String(shots).padStart(2, '0')}-${name}.png`), fullPage: true });
}

/** The screen's heading is shown and has the focus. */
async function focusedHeading(page, name) {
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await page.waitForFunction((text) => document.activeElement && document.activeElement.tagName === 'H1'
    && document.activeElement.textContent === text, name);
}

/** GET /api/v1{path} from the page: its JSON. */
function get(page, apiPath) {
  return page.evaluate(async (p) => (await fetch(`/api/v1${p}`, { cache: 'no-store' })).json(), apiPath);
}

/** Accessibility, light and dark, and the width of a small phone. */
async function checked(page, what) {
  await fitsTheScreen(page, what, 'hp-app');
  await axeCheck(page, what);
}

/** Claims the new box with its code, then opens "Restore from a backup". */
async function claimAndOpen(page, base, box) {
  await page.goto(`${base}/`);
  await focusedHeading(page, 'Claim this box');
  await page.getByLabel('Setup code').fill(box.code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await focusedHeading(page, 'Choose your passphrase');
  await page.getByRole('button', { name: 'Restore from a backup' }).click();
  await focusedHeading(page, 'Restore from a backup');
}

/** The mail list shows the old box's three messages. */
async function mailIsBack(page) {
  await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor({ timeout: 60000 });
  for (const subject of SUBJECTS) {
    await page.locator('hp-message-list li.msg-row').filter({ hasText: subject }).waitFor({ timeout: 30000 });
  }
  assert.equal(await page.locator('hp-wizard').count(), 0, 'the rest of the wizard was shown');
}

async function firstBox(browser, base, box, mail) {
  const context = await browser.newContext({ ...SMALL_PHONE });
  await singleMessages(context);
  const watcher = watch(context, 'restore');
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  steps.page = page;
  const security = page.getByLabel('Security');
  const port = page.getByLabel('Port', { exact: true });
  const alert = page.getByRole('alert');
  try {
    await step('the passphrase step offers "Restore from a backup": a form that says what it does', async () => {
      await claimAndOpen(page, base, box);
      await page.getByText('mail, contacts, accounts, keys and settings').waitFor();
      await page.getByText('Your passphrase never leaves this box.').waitFor();
      await page.getByText('kept its backups in a folder of one of your mail accounts').waitFor();
      assert.deepEqual(await security.locator('option').allTextContents(), ['TLS (also called SSL)', 'STARTTLS']);
      assert.equal(await port.inputValue(), '993');
      assert.equal(await page.getByLabel('Folder').inputValue(), 'Homepost Backup');
      assert.equal(await page.locator('details.wizard-advanced').evaluate((d) => d.open), false);
      assert.equal(await page.getByLabel('With my passphrase').isChecked(), true);
      await shot(page, 'form');
      await checked(page, 'the restore form');
    });

    await step('the port follows the security; "None" is offered only for a server on this box', async () => {
      await security.selectOption('starttls');
      assert.equal(await port.inputValue(), '143');
      await page.getByLabel('Mail server').fill('127.0.0.1');
      assert.deepEqual(await security.locator('option').allTextContents(),
        ['TLS (also called SSL)', 'STARTTLS', 'None (server on this box only)']);
      await security.selectOption('tls');
      assert.equal(await port.inputValue(), '993');
    });

    await step('"With my recovery key" asks for the key (monospace) and a new passphrase with its meter', async () => {
      await page.getByLabel('With my recovery key').check();
      const key = page.getByLabel('Recovery key', { exact: true });
      await key.waitFor();
      assert.match(await key.evaluate((el) => getComputedStyle(el).fontFamily), /mono/i);
      assert.equal(await page.getByLabel('Passphrase of your old box').isVisible(), false);
      await page.getByLabel('New passphrase', { exact: true }).fill(WEAK);
      await page.locator('.strength-meter:visible').waitFor();
      await page.getByLabel('Repeat the new passphrase').waitFor();
      await checked(page, 'the restore form with the recovery key');
      await page.getByLabel('With my passphrase').check();
      await page.getByLabel('Passphrase of your old box').waitFor();
    });

    await step('Dovecot\u2019s self-signed certificate: the failure shows its fingerprint to compare', async () => {
      await port.fill(String(mail.imaps));
      await page.getByLabel('User name').fill('alice');
      await page.getByLabel('Password', { exact: true }).fill('secret');
      await page.getByLabel('Passphrase of your old box').fill(WRONG);
      await page.getByRole('button', { name: 'Restore my box' }).click();
      await focusedHeading(page, 'The restore did not work');
      await alert.filter({ hasText: 'shows a certificate that Homepost cannot check' }).waitFor();
      const warning = page.locator('.cert-warning');
      const shown = (await warning.locator('.fingerprint-groups li').allTextContents()).join(':');
      assert.equal(shown, mail.fingerprint.toUpperCase());
      await page.getByText('Nothing was kept: this box is still new.').waitFor();
      assert.equal((await get(page, '/status')).state, 'no_vault');
      await shot(page, 'certificate');
      await checked(page, 'the restore: an untrusted certificate');
    });

    await step('trusted, the backup is reached: a wrong passphrase is said in words and nothing is made', async () => {
      await page.getByRole('button', { name: 'Trust this certificate' }).click();
      await alert.filter({ hasText: 'This passphrase or recovery key does not open the backup' }).waitFor();
      await focusedHeading(page, 'The restore did not work');
      assert.equal(await page.locator('.cert-warning').count(), 0);
      assert.equal((await get(page, '/status')).state, 'no_vault', 'a failed restore left a vault');
      assert.equal((await get(page, '/restore')).phase, 'failed');
      await shot(page, 'wrong-passphrase');
      await checked(page, 'the restore: a wrong passphrase');
    });

    await step('back to the form: everything kept, the passphrase marked, the reason said', async () => {
      await page.getByRole('button', { name: 'Back to the form' }).click();
      await focusedHeading(page, 'Restore from a backup');
      assert.equal(await page.getByLabel('Mail server').inputValue(), '127.0.0.1');
      assert.equal(await port.inputValue(), String(mail.imaps));
      assert.equal(await page.getByLabel('User name').inputValue(), 'alice');
      assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), 'secret');
      const pass = page.getByLabel('Passphrase of your old box');
      assert.equal(await pass.inputValue(), WRONG);
      assert.equal(await pass.getAttribute('aria-invalid'), 'true');
      await alert.filter({ hasText: 'does not open the backup' }).waitFor();
      const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]));
      assert.ok(!stored.includes('secret') && !stored.includes(WRONG), 'a password is in the browser\u2019s storage');
    });

    await step('the right passphrase: the progress, as a bar, then the search index rebuilt', async () => {
      let answer = { phase: 'running', done: 2, total: 5, messages: null, snapshot_time: null, error: null };
      await page.route('**/api/v1/restore', (route) => (route.request().method() === 'GET'
        ? route.fulfill({ json: answer }) : route.fallback()));
      await page.getByLabel('Passphrase of your old box').fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Restore my box' }).click();
      await focusedHeading(page, 'Restoring your box');
      const bar = page.locator('progress.restore-bar');
      await page.locator('.restore-progress-text').getByText('Restoring: 40% done', { exact: true }).waitFor();
      assert.deepEqual(await bar.evaluate((b) => [b.value, b.max]), [2, 5]);
      const live = page.locator('.restore-progress');
      assert.equal(await live.getAttribute('role'), 'status');
      assert.equal(await live.getAttribute('aria-live'), 'polite');
      await shot(page, 'progress');
      await checked(page, 'the restore running');
      answer = { ...answer, phase: 'indexing', done: 5, messages: 3, snapshot_time: 1800000000 };
      await page.locator('.restore-progress-text').getByText('Rebuilding the search index\u2026').waitFor();
      assert.equal(await bar.evaluate((b) => b.position), -1, 'the bar is not indeterminate while indexing');
      await checked(page, 'the restore rebuilding the index');
      await page.unroute('**/api/v1/restore');
    });

    await step('done: unlocked, the mail is there, with what came back said', async () => {
      await mailIsBack(page);
      await page.locator('.toast').getByText(/^Restored 3 messages from the backup of .+\.$/).waitFor();
      const { accounts } = await get(page, '/accounts');
      assert.deepEqual(accounts.map((a) => a.name), ['Home']);
      assert.equal((await get(page, '/setup')).step, 'done');
      await shot(page, 'mail');
      await page.goto(`${base}/`);
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    });

    await step('box one: no uncaught error, CSP violation or console error', async () => {
      // The browser reaches the box by its LAN address: not an outside request.
      assert.deepEqual(watcher.problems, []);
    });
  } finally {
    await context.close();
  }
}

async function secondBox(browser, base, box, mail, recoveryKey) {
  const context = await browser.newContext({ ...SMALL_PHONE });
  await singleMessages(context);
  const watcher = watch(context, 'restore-key');
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  steps.page = page;
  try {
    await step('a second new box: plain IMAP on this box, the recovery key in lower case, a weak passphrase refused', async () => {
      await claimAndOpen(page, base, box);
      await page.getByLabel('Mail server').fill('127.0.0.1');
      await page.getByLabel('Security').selectOption('plain');
      assert.equal(await page.getByLabel('Port', { exact: true }).inputValue(), '143');
      await page.getByLabel('Port', { exact: true }).fill(String(mail.imap));
      await page.getByLabel('User name').fill('alice');
      await page.getByLabel('Password', { exact: true }).fill('secret');
      await page.getByLabel('With my recovery key').check();
      await page.getByLabel('Recovery key', { exact: true }).fill(recoveryKey.toLowerCase());
      await page.getByLabel('New passphrase', { exact: true }).fill(WEAK);
      await page.getByLabel('Repeat the new passphrase').fill(WEAK);
      await page.getByRole('button', { name: 'Restore my box' }).click();
      await page.getByRole('alert').filter({ hasText: 'Choose a longer or less common passphrase' }).waitFor();
      assert.equal(await page.getByLabel('New passphrase', { exact: true }).getAttribute('aria-invalid'), 'true');
      assert.equal((await get(page, '/restore')).phase, 'idle', 'a restore started with a weak passphrase');
      await shot(page, 'recovery-key-weak');
      await checked(page, 'the restore form: a weak new passphrase');
    });

    await step('a strong new passphrase: the box comes back and opens on the mail', async () => {
      await page.getByLabel('New passphrase', { exact: true }).fill(NEW_PASSPHRASE);
      await page.getByLabel('Repeat the new passphrase').fill(NEW_PASSPHRASE);
      await page.getByRole('button', { name: 'Restore my box' }).click();
      await mailIsBack(page);
      await page.locator('.toast').getByText(/^Restored 3 messages from the backup of /).waitFor();
      assert.deepEqual(watcher.problems, []);
    });
  } finally {
    await context.close();
  }

  const other = await browser.newContext({ ...SMALL_PHONE });
  const page2 = await other.newPage();
  steps.page = page2;
  try {
    await step('another browser unlocks the box with the new passphrase, not the old one', async () => {
      await page2.goto(`${base}/`);
      await page2.getByRole('heading', { name: 'Unlock Homepost', level: 1 }).waitFor();
      await page2.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page2.getByRole('button', { name: 'Unlock' }).click();
      await page2.getByRole('alert').filter({ hasText: /\S/ }).waitFor();
      await page2.getByLabel('Passphrase', { exact: true }).fill(NEW_PASSPHRASE);
      await page2.getByRole('button', { name: 'Unlock' }).click();
      await page2.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    });
  } finally {
    await other.close();
  }
}

async function main() {
  requireBin();
  await ensureOut();
  const started = Date.now();
  const ip = lanAddress();
  const dir = await mkdtemp('/tmp/homepost-e2e-restore-');
  await chmod(dir, 0o755); // Dovecot runs as nobody when we are root
  let dovecot = null;
  let box = null;
  let browser = null;
  try {
    dovecot = await startDovecot(path.join(dir, 'dovecot'));
    const fingerprint = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', dovecot.cert])
      .toString().trim().split('=')[1];
    const mail = { imap: dovecot.imap, imaps: dovecot.imaps, fingerprint };
    const recoveryKey = await oldBox(dir, mail);
    browser = await launchBrowser(['--ignore-certificate-errors']);

    box = await startBox(dir, 'new-1');
    await firstBox(browser, `https://${ip}:${box.port}`, box, mail);
    await box.stop();
    box = null;

    box = await startBox(dir, 'new-2');
    await secondBox(browser, `https://${ip}:${box.port}`, box, mail, recoveryKey);
  } finally {
    if (browser) await browser.close();
    if (box) await box.stop();
    if (dovecot) await dovecot.stop();
    await rm(dir, { recursive: true, force: true });
    steps.results.push(`     [restore] ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

try {
  await main();
} catch (err) {
  if (!steps.failures) {
    steps.fail(`setting up: ${err.message}`);
    console.log(err.stack);
  }
}
console.log(`\n${steps.results.join('\n')}`);
if (steps.failures || !steps.results.some((r) => r.startsWith('ok'))) process.exit(1);
