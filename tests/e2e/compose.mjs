// Accounts, compose and outbox in the PWA (docs/api-mail-accounts.md), driven through
// the UI in real Chromium. `composeFlow(page, opts)` runs on an unlocked app with mail
// in it, against a server whose accounts reach test IMAP/POP3 and SMTP servers:
//
//   open Accounts, "Add account" from opts (the address and password, the servers
//   typed after "Change", the certificate trusted in the step only when its
//   fingerprint is opts.fingerprint, only the inbox), edit it (every mistake said at
//   once), wait until its incoming server works, write a message (From, To with
//   address completion, subject, body, a small attachment), wait for "Saved", check that the Encrypt line says it
//   will not be encrypted (the test recipient has no OpenPGP key: the switch is off,
//   and disabled with its reason when the recommendation is "disable"), send it, wait
//   in the outbox until it is "Sent"; then reply to a message, check the quoted text,
//   and discard the reply. With opts.alias, the account first gets an alias with a
//   signature (Accounts, "Add address"), the message is written From the alias (the
//   picker swaps its signature in, the text goes above it), and the reply to mail
//   sent to the account's own address is From that address.
//
// Wired into e2e.mjs by whoever adds the test mail servers; run alone it needs
// HOMEPOST_URL (a running server) and COMPOSE_OPTS (a JSON file of opts):
//
//   HOMEPOST_URL=http://127.0.0.1:8080 COMPOSE_OPTS=opts.json node compose.mjs [desktop]
//
// opts = {
//   phone: false,                        // true: open the drawer with the menu button
//   account: {
//     email: 'me@example.test', displayName: 'Me Test',  // named by the app (its domain)
//     incoming: {protocol: 'imap'|'pop3', host, port, security: 'tls'|'starttls'|'plain',
//                username, password, folders: 'INBOX'},
//     outgoing: {host, port, security, username, password},   // the same password
//   },
//   fingerprint: 'AB:CD:…' | null,       // the test server's certificate (SHA-256)
//   to: {type: 'ali', pick: 'alice@example.org'},  // typed, then the suggestion chosen
//   subject, body,
//   attachment: {name: 'note.txt', mimeType: 'text/plain', content: 'hello'},
//   reply: {query: 'subject:hello', quoted: 'a line of that message'},
//   alias: {address: 'shop@example.test', name: 'Me Shop', signature: 'Me\nThe shop'},  // or absent
//   timeoutMs: 60000,                    // for sync and sending
//   onScreen: async (name) => {},        // e.g. a screenshot and an axe check
// }

import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  OUT, PASSPHRASE, PHONE, DESKTOP, launchBrowser, watch, ensureOut, singleMessages, axeCheck,
} from './lib.mjs';

/** Fingerprints compared without colons, spaces or case. */
const bareFingerprint = (fp) => String(fp || '').replace(/[^0-9a-f]/gi, '').toUpperCase();

/** GET an API path from inside the page (same cookies), as JSON. */
function apiGet(page, apiPath) {
  return page.evaluate(async (p) => {
    const res = await fetch(`/api/v1${p}`, { credentials: 'same-origin' });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, apiPath);
}

async function openFromDrawer(page, opts, linkName) {
  if (opts.phone) {
    await page.getByRole('button', { name: 'Tags and folders' }).click();
    await page.locator('hp-mail[data-drawer="open"]').waitFor();
  }
  await page.getByRole('navigation', { name: 'Folders and tags' })
    .getByRole('link', { name: new RegExp(`^${linkName}\\b`) }).click();
}

/** Polls `fn` until it returns a truthy value, or fails with `what` after `ms`. */
async function until(page, ms, what, fn) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await page.waitForTimeout(250);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** The card of an account on the accounts screen. */
function accountCard(page, name) {
  return page.locator('hp-accounts li.card').filter({
    has: page.getByRole('heading', { level: 2, name, exact: true }),
  });
}

/**
 * Trusts every certificate the card warns about, after checking that the fingerprint
 * shown is the expected one. Returns how many were trusted.
 */
async function trustCertificates(page, card, opts) {
  let trusted = 0;
  while (await card.locator('.cert-warning').count() > 0) {
    const warning = card.locator('.cert-warning').first();
    const shown = (await warning.locator('.fingerprint').textContent()).trim();
    assert.ok(opts.fingerprint, `the server's certificate is not trusted (fingerprint ${shown}) and opts.fingerprint is not set`);
    assert.equal(bareFingerprint(shown), bareFingerprint(opts.fingerprint),
      'the fingerprint shown is not the test server\'s: not trusting it');
    await warning.getByRole('button', { name: /Trust this certificate/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Trust this certificate?' });
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /Compare this fingerprint/);
    assert.equal(bareFingerprint(await dialog.locator('.fingerprint-list').textContent()), bareFingerprint(opts.fingerprint));
    if (opts.onScreen) await opts.onScreen('trust-certificate');
    await dialog.getByRole('button', { name: 'They match: trust it' }).click();
    await dialog.waitFor({ state: 'detached' });
    trusted += 1;
    // The warning goes once the server reconnects with the pinned certificate.
    await until(page, opts.timeoutMs, 'the certificate warning to go',
      async () => (await card.locator('.cert-warning').filter({ hasText: shown }).count()) === 0);
  }
  return trusted;
}

/** The state word of the card's incoming server ("Connecting", "Up to date", …). */
async function incomingState(card) {
  const badge = card.locator('section.server').first().locator('.state-badge');
  return (await badge.count()) ? (await badge.textContent()).trim() : '';
}

/** One server's fields in the account step's "Change" form (wizard-servers.js). */
async function fillServer(group, server) {
  await group.getByLabel('Server name').fill(server.host);
  await group.getByLabel('Security').selectOption(server.security);
  // The port follows protocol and security; a test server has its own.
  await group.getByLabel('Port').fill(String(server.port));
  await group.getByLabel('User name').fill(server.username);
}

/** Choices of the visible selects under `selector` that do not fit their box (cut on phones). */
function cutSelects(page, selector) {
  return page.evaluate((sel) => {
    const ctx = document.createElement('canvas').getContext('2d');
    const found = [];
    for (const select of document.querySelectorAll(`${sel} select`)) {
      if (!select.offsetParent) continue;
      const style = getComputedStyle(select);
      ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      // Room for the text: the box without its padding and the drop-down arrow.
      const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
      for (const option of select.options) {
        const width = ctx.measureText(option.textContent).width;
        if (width > room) found.push(`${select.id}: "${option.textContent}" ${Math.round(width)} > ${Math.round(room)} px`);
      }
    }
    return found;
  }, selector);
}

export async function composeFlow(page, opts) {
  opts = { timeoutMs: 60000, ...opts };
  const acc = opts.account;
  const compose = page.locator('hp-compose');
  const screen = async (name) => { if (opts.onScreen) await opts.onScreen(name); };

  // --- the account ---------------------------------------------------------
  // "Add account" is the wizard's account step: the address and password, then the
  // servers (here typed by hand after "Change", as discovery cannot know the test
  // servers), the test with the certificate to trust, the existing mail.
  assert.ok(acc.incoming && acc.outgoing, 'an account added from the Accounts screen has both servers');
  await openFromDrawer(page, opts, 'Accounts');
  await page.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor();
  await page.getByRole('link', { name: 'Add account' }).click();
  await page.getByRole('heading', { level: 1, name: 'Add an account' }).waitFor();
  const add = page.locator('hp-account-add');
  await add.getByRole('button', { name: 'Find my mail servers' }).click();
  await add.getByRole('alert').filter({ hasText: 'Type your whole email address' }).waitFor();
  assert.equal(await add.getByLabel('Email address').getAttribute('aria-invalid'), 'true');
  await add.getByLabel('Email address').fill(acc.email);
  await add.getByLabel('Password', { exact: true }).fill(acc.incoming.password);
  await add.getByLabel('Your name (optional)').fill(acc.displayName || '');
  await add.getByRole('button', { name: 'Find my mail servers' }).click();
  // Discovery asks DNS and the web about the address's domain: up to about 15 s.
  const typeThem = add.getByRole('heading', { level: 2, name: 'Type your mail servers', exact: true });
  const found = add.getByRole('heading', { level: 2, name: 'Your mail servers', exact: true });
  await typeThem.or(found).waitFor({ timeout: opts.timeoutMs });
  if (await found.count()) await add.getByRole('button', { name: 'Change' }).click();
  const incoming = add.getByRole('group', { name: 'Incoming mail' });
  const outgoing = add.getByRole('group', { name: 'Outgoing mail (SMTP)' });
  // The port follows the protocol and the security while nobody typed one.
  await incoming.getByLabel('Kind of server').selectOption(acc.incoming.protocol);
  await incoming.getByLabel('Security').selectOption('starttls');
  assert.equal(await incoming.getByLabel('Port').inputValue(), acc.incoming.protocol === 'pop3' ? '110' : '143');
  await fillServer(incoming, acc.incoming);
  await fillServer(outgoing, acc.outgoing);
  await screen('account-form');
  assert.deepEqual(await cutSelects(page, 'hp-account-add'), [], 'select choices cut off');
  await add.getByRole('button', { name: 'Connect' }).click();
  const existing = page.getByRole('heading', { level: 1, name: 'Your existing mail' });
  const warning = add.locator('.cert-warning');
  await existing.or(warning.first()).waitFor({ timeout: opts.timeoutMs });
  if (await warning.count()) {
    const shown = (await warning.first().locator('.fingerprint-groups li').allTextContents()).join(':');
    assert.ok(opts.fingerprint, `the server's certificate is not trusted (fingerprint ${shown}) and opts.fingerprint is not set`);
    assert.equal(bareFingerprint(shown), bareFingerprint(opts.fingerprint),
      'the fingerprint shown is not the test server\'s: not trusting it');
    await screen('account-certificate');
    await warning.first().getByRole('button', { name: 'Trust this certificate' }).click();
    await existing.waitFor({ timeout: opts.timeoutMs });
  }
  const onlyInbox = add.getByLabel('Only the inbox');
  if (acc.incoming.folders === 'INBOX' && await onlyInbox.count()) await onlyInbox.check();
  await screen('account-existing-mail');
  await add.getByRole('button', { name: 'Add account' }).click();
  await page.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor();
  // Passwords are never read back, only "has_password".
  const listed = (await apiGet(page, '/accounts')).body.accounts.find((a) => a.email === acc.email);
  assert.ok(listed, 'the new account is not in GET /accounts');
  assert.ok(!JSON.stringify(listed).includes(acc.incoming.password), 'GET /accounts shows a password');
  // Named by the flow (its domain, or its address when an account has that name already).
  const name = listed.name;
  const card = accountCard(page, name);
  await card.waitFor();

  // --- editing it: every setting by hand -------------------------------------
  await card.getByRole('link', { name: 'Edit' }).click();
  await page.getByRole('heading', { level: 1, name: `Edit ${name}` }).waitFor();
  const form = page.locator('hp-account-form');
  assert.equal(await form.getByRole('group', { name: 'Incoming mail' }).getByLabel('Server', { exact: true }).inputValue(),
    acc.incoming.host);
  // Everything wrong is said at once, not one thing per try.
  await form.getByLabel('Account name').fill('');
  await form.getByLabel('Email address').fill('');
  await form.getByRole('button', { name: 'Save' }).click();
  const problems = form.locator('.form-error[role="alert"]');
  await problems.getByText('Give the account a name.').waitFor();
  await problems.getByText('Type the email address', { exact: false }).waitFor();
  assert.equal(await form.locator('[aria-invalid="true"]').count() >= 2, true);
  assert.deepEqual(await cutSelects(page, 'hp-account-form'), [], 'select choices cut off');
  await form.getByLabel('Account name').fill(name);
  await form.getByLabel('Email address').fill(acc.email);
  await form.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor();
  await card.waitFor();

  // The certificate was trusted while adding; one shown now would be another (checked the same way).
  await until(page, opts.timeoutMs, 'the incoming server to be past "Connecting"',
    async () => !['', 'Connecting'].includes(await incomingState(card)));
  await screen('account-status');
  await trustCertificates(page, card, opts);
  const state = await until(page, opts.timeoutMs, 'the incoming server to work', async () => {
    const s = await incomingState(card);
    return ['Up to date', 'Fetching mail', 'Waiting'].includes(s) && s;
  });
  console.log(`     incoming server: ${state}`);
  await screen('account-working');

  // --- an alias with a signature ----------------------------------------------
  const alias = opts.alias;
  if (alias) {
    await card.getByRole('button', { name: `Add address to ${name}` }).click();
    const sheet = page.getByRole('dialog', { name: `Add an address to ${name}` });
    await sheet.getByLabel('Email address').fill(alias.address);
    await sheet.getByLabel('Your name').fill(alias.name);
    await sheet.getByLabel('Signature').fill(alias.signature);
    await screen('identity-form');
    await axeCheck(page, 'the add-address sheet');
    await sheet.getByRole('button', { name: 'Add address' }).click();
    await sheet.waitFor({ state: 'detached' });
    const row = card.locator('.identity').filter({ hasText: alias.address });
    await row.waitFor();
    assert.match(await row.textContent(), new RegExp(`Signature: ${alias.signature.split('\n')[0]}`));
    await card.getByRole('button', { name: `Make default: ${alias.address}` }).waitFor();
    const listed = (await apiGet(page, '/identities')).body.identities;
    assert.deepEqual(listed.map((i) => [i.address, i.is_primary, i.is_default]),
      [[acc.email, true, true], [alias.address, false, false]]);
    await screen('identities');
    await axeCheck(page, 'an account with an alias');
  }

  // --- a new message --------------------------------------------------------
  await openFromDrawer(page, opts, 'Inbox');
  await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
  if (opts.phone) await page.getByRole('link', { name: 'New message' }).click();
  else {
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('c');
  }
  await page.getByRole('heading', { level: 1, name: 'New message' }).waitFor();
  const from = compose.getByLabel('From', { exact: true });
  const message = compose.getByLabel('Message', { exact: true });
  const signature = alias ? `\n\n-- \n${alias.signature}\n` : '';
  if (alias) {
    // Two identities: a picker, at the default (the account's own, no signature).
    assert.match(await from.locator('option:checked').textContent(), new RegExp(acc.email));
    assert.equal(await message.inputValue(), '');
    const aliasLabel = await from.locator('option').filter({ hasText: alias.address }).first().textContent();
    await from.selectOption({ label: aliasLabel });
    assert.equal(await message.inputValue(), signature, 'the alias\'s signature is not in the text');
    await axeCheck(page, 'compose with the From picker');
  } else {
    // One identity: no picker, a line that says it.
    await compose.locator('.from-line').filter({ hasText: acc.email }).waitFor();
  }

  const to = page.getByRole('combobox', { name: 'To' });
  await to.click();
  await to.pressSequentially(opts.to.type, { delay: 60 });
  const suggestions = page.getByRole('listbox', { name: 'Suggestions for To' }).getByRole('option');
  await suggestions.filter({ hasText: opts.to.pick }).first().waitFor();
  assert.equal(await to.getAttribute('aria-expanded'), 'true');
  const texts = await suggestions.allTextContents();
  const index = texts.findIndex((t) => t.includes(opts.to.pick));
  for (let i = 0; i <= index; i += 1) await to.press('ArrowDown');
  assert.match(await page.locator(`#${await to.getAttribute('aria-activedescendant')}`).textContent(),
    new RegExp(opts.to.pick.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await screen('compose-completion');
  await to.press('Enter');
  assert.equal(await to.getAttribute('aria-expanded'), 'false');
  assert.ok((await to.inputValue()).includes(opts.to.pick), `To is ${await to.inputValue()}`);

  await compose.getByLabel('Subject', { exact: true }).fill(opts.subject);
  if (alias) {
    // The text goes above the signature, where a tap in the untouched text puts it.
    await message.click();
    await message.press('Control+Home');
    await message.pressSequentially(opts.body);
  } else {
    await message.fill(opts.body);
  }
  const att = opts.attachment;
  await page.locator('hp-compose input[type="file"]').setInputFiles({
    name: att.name, mimeType: att.mimeType, buffer: Buffer.from(att.content),
  });
  const attRow = page.locator('hp-compose .att').filter({ hasText: att.name });
  await attRow.waitFor();
  assert.match(await attRow.textContent(), /\d+(\.\d)? (bytes|KB)/, 'the attachment shows no size');
  await page.locator('hp-compose .save-state').filter({ hasText: /^Saved$/ }).waitFor({ timeout: 30000 });
  const draftId = Number((/#\/compose\/(\d+)/.exec(page.url()) || [])[1]);
  assert.ok(draftId > 0, `the address does not name the draft: ${page.url()}`);
  const draft = (await apiGet(page, `/drafts/${draftId}`)).body;
  assert.equal(draft.subject, opts.subject);
  assert.equal(draft.body, opts.body + signature);
  if (alias) {
    const shop = (await apiGet(page, '/identities')).body.identities.find((i) => i.address === alias.address);
    assert.equal(draft.identity_id, shop.id, 'the draft is not written from the alias');
  }
  assert.ok(draft.to.some((t) => t.includes(opts.to.pick)), `draft to: ${draft.to}`);
  assert.equal(draft.attachments.length, 1);
  assert.equal(draft.attachments[0].size, Buffer.byteLength(att.content));
  assert.equal(draft.encrypt ?? null, null, 'the draft has an encryption choice nobody made');

  // --- encryption: the recipient has no key, so it goes unencrypted ----------
  // The line under the Encrypt switch follows GET /drafts/{id}/crypto (asked after
  // each save); with the recommendation "disable" it gives the reason and the
  // switch cannot be turned on.
  const cryptoLine = compose.locator('.crypto-state');
  await cryptoLine.filter({ hasText: /will not be encrypted|Not every recipient can read encrypted mail/i })
    .waitFor({ timeout: 30000 });
  const encrypt = compose.getByRole('switch', { name: 'Encrypt' });
  assert.equal(await encrypt.isChecked(), false, 'the Encrypt switch is on for a recipient without a key');
  const crypto = (await apiGet(page, `/drafts/${draftId}/crypto`)).body;
  assert.equal(crypto.will_encrypt, false, `the server would encrypt: ${JSON.stringify(crypto)}`);
  assert.equal(crypto.warning, null, `a warning for a new message: ${crypto.warning}`);
  assert.ok(crypto.recipients.some((r) => r.address.toLowerCase() === opts.to.pick.toLowerCase()),
    `the crypto answer does not list ${opts.to.pick}: ${JSON.stringify(crypto.recipients)}`);
  if (crypto.recommendation === 'disable') {
    assert.ok(await encrypt.isDisabled(), 'the Encrypt switch can be turned on although a recipient has no key');
    assert.match(await cryptoLine.textContent(), /Not every recipient can read encrypted mail/);
  } else {
    // Only if the test mail gave the recipient a key (an Autocrypt header).
    console.log(`     encryption: the recommendation is "${crypto.recommendation}", not "disable"`);
    assert.ok(await encrypt.isEnabled(), `the Encrypt switch is disabled with the recommendation "${crypto.recommendation}"`);
  }
  assert.match(await compose.locator('.crypto-box').textContent(),
    /Every message is signed and carries your key \(Autocrypt\)\./);
  assert.equal(await compose.getByRole('alert').filter({ hasText: /unencrypted/i }).count(), 0,
    'an "unencrypted" warning for a new message');
  await screen('compose');

  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('hp-compose').waitFor({ state: 'detached' });
  await page.getByRole('status').filter({ hasText: /Sending/ }).first().waitFor();
  assert.equal((await apiGet(page, `/drafts/${draftId}`)).status, 404, 'the draft is still there after sending');

  // --- the outbox ---------------------------------------------------------------
  await openFromDrawer(page, opts, 'Outbox');
  await page.getByRole('heading', { level: 1, name: 'Outbox' }).waitFor();
  const item = page.locator('hp-outbox li.card').filter({
    has: page.getByRole('heading', { level: 2, name: opts.subject, exact: true }),
  }).first();
  await item.waitFor();
  let retried = false;
  await until(page, opts.timeoutMs, 'the message to be sent', async () => {
    const state = await item.locator('.state-badge').textContent();
    if (state === 'Sent') return true;
    // An outgoing server with a certificate to trust: the accounts screen says so.
    if (!retried && (state === 'Not sent yet' || state === 'Failed')) {
      const why = await item.textContent();
      if (!/certificate/i.test(why)) throw new Error(`sending failed: ${why}`);
      await openFromDrawer(page, opts, 'Accounts');
      await trustCertificates(page, accountCard(page, name), opts);
      await openFromDrawer(page, opts, 'Outbox');
      await item.getByRole('button', { name: /Retry now/ }).click();
      retried = true;
    }
    return false;
  });
  await screen('outbox-sent');

  // --- a reply ----------------------------------------------------------------
  const search = page.getByRole('combobox', { name: 'Search mail' });
  await search.fill(opts.reply.query);
  await search.press('Enter');
  await page.locator('hp-message-list li.msg-row .msg-link').first().click();
  await page.locator('hp-message-view .body-text').waitFor();
  const subject = (await page.locator('hp-message-view h1').textContent()).trim();
  if (opts.phone) await page.getByRole('button', { name: 'Reply', exact: true }).click();
  else await page.keyboard.press('r');
  await page.getByRole('heading', { level: 1, name: 'Reply' }).waitFor();
  // Mail sent to the account's own address is answered from it.
  if (alias) assert.match(await from.locator('option:checked').textContent(), new RegExp(acc.email));
  const body = await compose.getByLabel('Message', { exact: true }).inputValue();
  const quoted = body.split('\n').filter((line) => line.startsWith('>')).join('\n');
  assert.ok(quoted.includes(opts.reply.quoted), `the reply does not quote "${opts.reply.quoted}":\n${body}`);
  assert.match(await compose.getByLabel('Subject', { exact: true }).inputValue(), new RegExp(`^Re: ?${subject.replace(/^(re: ?)+/i, '').slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'i'));
  assert.ok((await page.getByRole('combobox', { name: 'To' }).inputValue()).includes('@'), 'the reply has no recipient');
  // The cursor waits above the quote.
  assert.equal(await compose.getByLabel('Message', { exact: true }).evaluate((t) => document.activeElement === t && t.selectionStart), 0);
  await screen('reply');
  await page.getByRole('button', { name: 'Discard' }).click();
  await page.getByRole('dialog', { name: 'Discard this message?' }).getByRole('button', { name: 'Discard' }).click();
  await page.locator('hp-compose').waitFor({ state: 'detached' });
  await page.getByRole('status').filter({ hasText: 'Draft discarded.' }).first().waitFor();

  // --- the alias made the default, then deleted: the own address is again ---------
  if (alias) {
    await openFromDrawer(page, opts, 'Accounts');
    const again = accountCard(page, name);
    await again.getByRole('button', { name: `Make default: ${alias.address}` }).click();
    await until(page, 10000, 'the alias to be the default', async () => (await apiGet(page, '/identities'))
      .body.identities.some((i) => i.address === alias.address && i.is_default));
    await again.getByRole('button', { name: `Delete ${alias.address}` }).click();
    await page.getByRole('dialog', { name: `Delete ${alias.address}?` })
      .getByRole('button', { name: 'Delete address' }).click();
    await again.locator('.identity').filter({ hasText: alias.address }).waitFor({ state: 'detached' });
    const left = (await apiGet(page, '/identities')).body.identities;
    assert.deepEqual(left.map((i) => [i.address, i.is_default]), [[acc.email, true]]);
  }
}

// Run alone: node compose.mjs [desktop|phone]
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const base = process.env.HOMEPOST_URL;
  if (!base || !process.env.COMPOSE_OPTS) {
    console.error('compose.mjs: set HOMEPOST_URL and COMPOSE_OPTS (a JSON file of opts)');
    process.exit(2);
  }
  const size = process.argv[2] === 'phone' ? 'phone' : 'desktop';
  const opts = JSON.parse(await readFile(process.env.COMPOSE_OPTS, 'utf8'));
  await ensureOut();
  const browser = await launchBrowser();
  const context = await browser.newContext({ ...(size === 'phone' ? PHONE : DESKTOP) });
  await singleMessages(context);
  const watcher = watch(context, `compose-${size}`);
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  let n = 0;
  try {
    await page.goto(`${base}/`);
    const unlock = page.getByRole('heading', { name: 'Unlock Homepost' });
    const inbox = page.getByRole('heading', { level: 1, name: 'Inbox' });
    await unlock.or(inbox).waitFor();
    if (await unlock.isVisible()) {
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Unlock' }).click();
      await inbox.waitFor();
    }
    await composeFlow(page, {
      ...opts,
      phone: size === 'phone',
      onScreen: async (name) => {
        n += 1;
        await page.screenshot({ path: path.join(OUT, `compose-${size}-${String(n).padStart(2, '0')}-${name}.png`) });
      },
    });
    assert.deepEqual(watcher.problems, []);
    assert.deepEqual(watcher.external, [], 'requests left 127.0.0.1');
    console.log(`compose flow (${size}): ok`);
  } catch (err) {
    console.log(`compose flow (${size}): FAIL\n${err.stack}`);
    await page.screenshot({ path: path.join(OUT, `compose-${size}-failure.png`) }).catch(() => {});
    process.exitCode = 1;
  } finally {
    await context.close();
    await browser.close();
  }
}
