// Importing mail from the phone, in real headless Chromium against a real
// `homepost serve` with a fresh data directory: the empty inbox offers "Import
// mail"; the import screen uploads a Maildir packed as .tar.gz (some messages
// flagged in their file names) and an mbox chosen twice, with the mail tagged and
// marked read; the report counts and names the duplicates; "Show the imported
// mail" lists exactly them, read, with the Maildir flag kept.
//
//   HOMEPOST_BIN=/path/to/homepost node import.mjs

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CORPUS, OUT, PASSPHRASE, PHONE, launchBrowser, startServer, watch, ensureOut, requireBin, axeCheck, skipWizard,
  Steps,
} from './lib.mjs';

const MBOX = path.join(CORPUS, 'mail/mailpile/tests.mbx'); // 8 real messages
const MAILDIR = path.join(CORPUS, 'mail/notmuch/lkml'); // 210 messages in cur/

const steps = new Steps('import', 'import-phone-failed.png');
const step = steps.run;

/** The lkml Maildir as a .tar.gz, with its first three messages flagged (`F`). */
async function maildirArchive(tmp) {
  const copy = path.join(tmp, 'lkml');
  await cp(MAILDIR, copy, { recursive: true });
  const cur = path.join(copy, 'cur');
  const names = (await readdir(cur)).sort().slice(0, 3);
  for (const name of names) await rename(path.join(cur, name), path.join(cur, `${name}F`));
  const archive = path.join(tmp, 'lkml.tar.gz');
  execFileSync('tar', ['-czf', archive, '-C', tmp, 'lkml']);
  return archive;
}

async function main() {
  requireBin();
  await ensureOut();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'homepost-e2e-import-files-'));
  const server = await startServer('import');
  const browser = await launchBrowser();
  const context = await browser.newContext(PHONE);
  const watcher = watch(context, 'import');
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  steps.page = page;
  let imported = 0;
  try {
    const archive = await maildirArchive(tmp);

    await step('a new box offers "Import mail" in the empty inbox', async () => {
      await page.goto(`${server.base}/`);
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Create vault' }).click();
      await skipWizard(page);
      await page.locator('.list-empty').getByRole('link', { name: 'Import mail' }).click();
      await page.getByRole('heading', { name: 'Import mail', level: 1 }).waitFor();
      await axeCheck(page, 'import form');
    });

    await step('a tag the box would refuse is caught before anything is uploaded', async () => {
      await page.getByLabel('Files').setInputFiles([MBOX]);
      await page.getByLabel('Tag it (optional)').fill('old mail');
      let uploads = 0;
      const count = (request) => { if (request.url().includes('/imports/uploads')) uploads += 1; };
      page.on('request', count);
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      await page.getByRole('alert').filter({ hasText: 'no spaces' }).waitFor();
      page.off('request', count);
      assert.equal(uploads, 0);
    });

    await step('upload a Maildir .tar.gz and an mbox twice, tagged and marked read', async () => {
      await page.getByLabel('Files').setInputFiles([archive, MBOX, MBOX]);
      await page.getByLabel('Mark it all as read').check();
      await page.getByLabel('Tag it (optional)').fill('old-mail');
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      const report = page.locator('.import-report');
      const title = report.getByRole('heading', { name: /^Imported \d+ new messages$/ });
      await title.waitFor({ timeout: 120000 });
      imported = Number(/\d+/.exec(await title.textContent())[0]);
      // The lkml corpus holds some messages twice itself; the second mbox all of it.
      assert.ok(imported > 150, `only ${imported} imported`);
      await report.getByText(/^\d+ duplicates: already on the box/).waitFor();
      await report.getByText('Which were duplicates').click();
      const origins = await report.locator('.import-origin').allTextContents();
      assert.equal(origins.filter((o) => o.startsWith('tests.mbx@')).length, 8, origins.join('\n'));
      assert.ok(origins.some((o) => o.startsWith('lkml.tar.gz: lkml/cur/')), origins.join('\n'));
      await page.screenshot({ path: path.join(OUT, 'import-phone-report.png') });
      await axeCheck(page, 'import report');
    });

    await step('"Show the imported mail" lists them: read, tagged, flags kept', async () => {
      await page.getByRole('link', { name: 'Show the imported mail' }).click();
      await page.locator('.msg-row').first().waitFor();
      const counts = await page.evaluate(async () => {
        const get = async (q) => (await (await fetch(`/api/v1/search?${new URLSearchParams({ q, limit: '1' })}`)).json()).total;
        return {
          tagged: await get('tag:old-mail'),
          unread: await get('tag:old-mail is:unread'),
          flagged: await get('tag:old-mail is:flagged'),
          inbox: await get('in:inbox'),
        };
      });
      assert.deepEqual(counts, { tagged: imported, unread: 0, flagged: 3, inbox: imported });
    });

    await step('an empty file gets a plain error, and nothing is left waiting', async () => {
      const empty = path.join(tmp, 'empty.eml');
      execFileSync('touch', [empty]);
      await page.goto(`${server.base}/#/import`);
      await page.getByRole('heading', { name: 'Import mail', level: 1 }).waitFor();
      await page.getByLabel('Files').setInputFiles([empty]);
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      await page.getByRole('alert').filter({ hasText: 'empty.eml is empty' }).waitFor();
    });
  } finally {
    const problems = [...watcher.problems, ...watcher.external.map((u) => `request left the box: ${u}`)];
    if (problems.length > 0) {
      steps.fail(problems.join('; '));
    }
    await browser.close();
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch(() => {}).finally(() => {
  console.log(`\n${steps.results.join('\n')}`);
  process.exitCode = steps.failures > 0 ? 1 : 0;
});
