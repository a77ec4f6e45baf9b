// The address book at phone size, in real headless Chromium against a real
// `homepost serve` whose mail was imported with the CLI: the book lists the
// people of the mail, most messages first, and finds them as one types; a name
// changed in the book is what compose suggests; two entries merge into one with
// both addresses; a deleted contact is no longer suggested; a .vcf file from a
// phone (Apple-style 3.0, folded, item groups, and a card that cannot be read)
// imports with a report; the export is a vCard 4.0 file with the edits in it.
//
//   HOMEPOST_BIN=/path/to/homepost node contacts.mjs

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  OUT, PASSPHRASE, PHONE, launchBrowser, startServer, homepostCli, importMail, watch, ensureOut,
  requireBin, axeCheck,
  Steps,
} from './lib.mjs';

const steps = new Steps('contacts', 'contacts-phone-failed.png');
const step = steps.run;

/** An mbox: Alice writes three times, Bob twice, Mallory once, Alice's work address once. */
function mbox() {
  const people = [
    ['Alice Liddell <alice@example.org>', 3],
    ['Bob Builder <bob@example.net>', 2],
    ['Mallory <mallory@evil.example>', 1],
    ['A. Liddell <alice@work.example>', 1],
  ];
  let out = '';
  let n = 0;
  for (const [from, count] of people) {
    for (let i = 0; i < count; i += 1) {
      n += 1;
      out += `From x@y Tue Mar  5 10:00:00 2024\nFrom: ${from}\nTo: Me <me@home.example>\n`
        + `Subject: Note ${n}\nMessage-ID: <note${n}@example.org>\nDate: Tue, 05 Mar 2024 10:${String(n).padStart(2, '0')}:00 +0000\n\n`
        + `Body ${n}.\n\n`;
    }
  }
  return out;
}

/** As a phone exports: 3.0, CRLF, a folded note, item groups; then a 2.1 card. */
const VCF = 'BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.1//EN\r\nN:Hatter;Mad;;;\r\n'
  + 'FN:Mad Hatter\r\nitem1.EMAIL;type=INTERNET;type=pref:hatter@tea.example\r\nitem1.X-ABLabel:_$!<Home>!$_\r\n'
  + 'TEL;type=CELL:+44 7700 900456\r\nNOTE:Always at tea\\, six o\'clock. A note long enough that the exporter fol\r\n'
  + ' ded it.\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nFN:Old Phone\r\nEND:VCARD\r\n';

async function main() {
  requireBin();
  await ensureOut();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'homepost-e2e-contacts-files-'));
  const mboxPath = path.join(tmp, 'people.mbox');
  await writeFile(mboxPath, mbox());
  const vcfPath = path.join(tmp, 'phone.vcf');
  await writeFile(vcfPath, VCF);
  const server = await startServer('contacts', {
    prepare: async (dir) => {
      await homepostCli(dir, ['init', '--kdf', 'insecure-test-only']);
      await importMail(dir, [mboxPath]);
    },
  });
  const browser = await launchBrowser();
  const context = await browser.newContext({ ...PHONE, acceptDownloads: true });
  const watcher = watch(context, 'contacts');
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  steps.page = page;
  const cards = page.locator('hp-contacts .contact-card');
  const openContact = async (name) => {
    await page.getByLabel('Search contacts').fill(name);
    await cards.filter({ hasText: name }).first().getByRole('link').click();
    await page.getByLabel('Name', { exact: true }).waitFor();
  };
  try {
    await step('the Address book is in the menu and lists the people of the mail, most messages first', async () => {
      await page.goto(`${server.base}/`);
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Unlock' }).click();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      await page.getByRole('button', { name: 'Tags and folders' }).click();
      await page.getByRole('link', { name: 'Address book' }).click();
      await page.getByRole('heading', { name: 'Address book', level: 1 }).waitFor();
      await cards.first().waitFor();
      // Without an account the box does not know which address is its own: "Me" is listed too.
      const texts = await cards.allTextContents();
      const alice = texts.findIndex((t) => t.includes('Alice Liddell'));
      const bob = texts.findIndex((t) => t.includes('Bob Builder'));
      assert.ok(alice >= 0 && alice < bob, texts.join(' | '));
      assert.match(texts[alice], /3 messages/);
      await page.getByLabel('Search contacts').fill('bob');
      await page.waitForFunction(() => document.querySelectorAll('hp-contacts .contact-card').length === 1);
      assert.match(await cards.first().textContent(), /Bob Builder/);
      await page.screenshot({ path: path.join(OUT, 'contacts-phone-list.png') });
      await axeCheck(page, 'address book');
    });

    await step('a changed name is kept and is what compose suggests', async () => {
      await openContact('Alice Liddell');
      await axeCheck(page, 'contact form');
      await page.getByLabel('Name', { exact: true }).fill('Alice Pleasance Liddell');
      await page.getByLabel('Notes').fill('Met at the tea party.');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('heading', { name: 'Address book', level: 1 }).waitFor();
      await page.getByLabel('Search contacts').fill('pleasance');
      await cards.filter({ hasText: 'Alice Pleasance Liddell' }).waitFor();
      await page.goto(`${server.base}/#/compose`);
      const to = page.getByLabel('To', { exact: true });
      await to.fill('pleas');
      const option = page.getByRole('option').first();
      await option.waitFor();
      assert.match(await option.textContent(), /Alice Pleasance Liddell/);
      assert.match(await option.textContent(), /alice@example\.org/);
    });

    await step('two entries of one person merge into one with both addresses', async () => {
      await page.goto(`${server.base}/#/contacts`);
      await openContact('Alice Pleasance');
      await page.getByLabel('Find the other entry').fill('work');
      await page.getByRole('button', { name: /^Merge A\. Liddell into this contact/ }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Merge' }).click();
      await page.waitForFunction(() => document.querySelector('.contact-form textarea').value.includes('alice@work.example'));
      assert.equal(await page.getByLabel('E-mail addresses').inputValue(), 'alice@example.org\nalice@work.example');
      await page.screenshot({ path: path.join(OUT, 'contacts-phone-contact.png') });
    });

    await step('a deleted contact is no longer listed or suggested', async () => {
      await page.goto(`${server.base}/#/contacts`);
      await openContact('Mallory');
      await page.getByRole('button', { name: 'Delete this contact' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('heading', { name: 'Address book', level: 1 }).waitFor();
      await page.getByLabel('Search contacts').fill('mallory');
      await page.getByText('No contact has that name or address.').waitFor();
      const suggested = await page.evaluate(async () => (await (await fetch('/api/v1/contacts?q=mall')).json()).contacts);
      assert.deepEqual(suggested, []);
    });

    await step('a .vcf file from a phone imports with a report of the card it could not read', async () => {
      await page.getByLabel('Search contacts').fill('');
      await page.getByLabel('Import a vCard file').setInputFiles(vcfPath);
      const report = page.locator('.contacts-report');
      await report.filter({ hasText: '1 added' }).waitFor();
      assert.match(await report.textContent(), /Card 2 \(line \d+\) was not read: vCard 2\.1/);
      await page.getByLabel('Search contacts').fill('hatter');
      await cards.filter({ hasText: 'Mad Hatter' }).waitFor();
    });

    await step('the export is one vCard 4.0 file with the edits', async () => {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Export all (vCard)' }).click(),
      ]);
      const file = path.join(tmp, 'export.vcf');
      await download.saveAs(file);
      const text = await readFile(file, 'utf8');
      assert.match(text, /^BEGIN:VCARD\r\nVERSION:4\.0\r\n/);
      assert.match(text, /FN:Alice Pleasance Liddell\r\n/);
      assert.match(text, /EMAIL;PREF=1:alice@example\.org\r\nEMAIL:alice@work\.example\r\n/);
      assert.match(text, /item1\.X-ABLabel:_\$!<Home>!\$_\r\n/);
      assert.doesNotMatch(text, /mallory/);
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
