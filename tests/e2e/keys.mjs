// The OpenPGP key screens of the PWA at phone size (390x844, touch), in real
// Chromium against a real `homepost serve`. The box is prepared with the CLI before
// the server starts (a vault, an account for me@example.org, keys and mail made
// with GnuPG in a throwaway GNUPGHOME, an Autocrypt Setup Message from a second
// vault), then driven through the UI:
//
// - a message signed by a correspondent's changed key (trust on first use) that
//   waits for a decision: the reader warns (and does not call it the sender's
//   signature); their key sheet shows both fingerprints and where each came from, a
//   409 answered by reloading and saying so, accepting after the confirm step. Then
//   GET /peers has the new key pinned, GET /messages no longer flags the change and
//   calls the signature the sender's, and the reader says so without the warning;
// - a correspondent whose only key has expired (their key sheet says why mail to
//   them cannot be encrypted, from `key_status`);
// - the Autocrypt Setup Message card: a short code and a wrong code are refused in
//   words, the right one (typed with spaces) imports the key; GET /keys has it active;
// - the accounts screen's "Encryption key": both keys, the download of the public
//   key, "Move key to another app" and the code sheet (36 digits, the server's code);
// - a PGP/MIME signature is not listed as an attachment (the indexes are kept);
// - key lookups in the reader, the key sheet and compose. The main server runs with
//   `--key-lookup off` and GET /status says so: from the start, no screen offers a
//   lookup (they say why), not even Gina's sheet, whose mail named an address for her
//   key (the server refuses that lookup too);
// - compose: a recipient whose changed key waits gets "Review" (their key sheet; an
//   accepted key is then used), not "Look up keys";
// - a failed "Move key to another app" (`no_smtp`) in words.
//
// Two more servers run on copies of the prepared box, so that lookups are allowed
// for real (GET /status's `key_lookup` is the server's, not the test's):
// - `--key-lookup wkd`: the reader, the key sheet and compose offer lookups that name
//   no keys.openpgp.org (nor Gina's address) and have no "Only ask their own mail
//   domain";
// - `--key-lookup all`: that choice is offered, also in the reader, and sends
//   `keyserver: false`; a `lookups_off` answer (the setting changed since the page
//   loaded) is said in words and the button goes; Gina's sheet names her address
//   first; compose looks the recipients up one after the other.
// What a lookup that reached the network found is answered by the test (page.route on
// the two lookup endpoints, the server's LookupView shape): nothing leaves the machine.
//
// axe-core checks each new screen (light and dark); any CSP violation, uncaught
// error, or request leaving 127.0.0.1 fails the run.
//
//   HOMEPOST_BIN=/path/to/homepost node keys.mjs

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  OUT, PASSPHRASE, PHONE, launchBrowser, startServer, homepostCli, watch, ensureOut, requireBin, axeCheck,
  freePort, singleMessages,
} from './lib.mjs';

const LABEL = 'keys';
const ME = 'me@example.org';
const BOB = 'bob@example.net';
const CAROL = 'carol@example.com';
const DAN = 'dan@example.com';
const FAY = 'fay@example.com';
/** Signs with a key the box lacks; her mail names where her key is (`OpenPGP: id=<fingerprint>; url=`). */
const GINA = 'gina@example.org';
const GINA_URL = 'https://keys.example.org/gina.asc';
/** The reader's and the sheet's "Only ask their own mail domain" checkbox. */
const DOMAIN_ONLY = 'Only ask their own mail domain, not keys.openpgp.org';
/** What the screens say on a box without lookups (peer-key.js). */
const LOOKUPS_OFF = 'Key lookups are turned off on this box: keys arrive only with their mail.';

const bare = (fp) => String(fp || '').replace(/[^0-9a-f]/gi, '').toUpperCase();
const groups = (fp) => (bare(fp).match(/.{1,4}/g) || []).join(' ');

// --- GnuPG, for a correspondent's keys and signed mail ----------------------------

/** Runs gpg in `home` with `input` on stdin; resolves to stdout (a string). */
function gpg(home, args, input = '') {
  return new Promise((resolve, reject) => {
    const child = spawn('gpg', ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      env: { ...process.env, GNUPGHOME: home },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`gpg ${args.join(' ')}: ${err}`))));
    child.stdin.on('error', () => {}); // gpg may exit before reading: its exit code tells
    child.stdin.end(input);
  });
}

async function gpgHome() {
  const home = await mkdtemp(path.join(os.tmpdir(), 'homepost-e2e-gpg-'));
  await chmod(home, 0o700);
  return home;
}

/**
 * A new key in `home`: by default for signing only (ed25519, no encryption subkey);
 * `{encrypt: true}` adds one; `{expired: true}` makes it in 2020, valid for a year.
 */
async function newKey(home, uid, address, { encrypt = false, expired = false } = {}) {
  const faked = expired ? ['--faked-system-time', '20200101T000000'] : [];
  await gpg(home, [...faked, '--quick-gen-key', uid, encrypt ? 'default' : 'ed25519',
    encrypt ? 'default' : 'sign', expired ? '1y' : 'never']);
  const colons = await gpg(home, ['--with-colons', '--fingerprint', address]);
  const fpr = colons.split('\n').find((l) => l.startsWith('fpr:')).split(':')[9];
  const armored = await gpg(home, ['--armor', '--export', address]);
  return { fpr, armored };
}

const crlf = (text) => text.replace(/\r?\n/g, '\r\n');

/**
 * A mail from `from` whose body is cleartext-signed by `signer` (inline PGP); `when`:
 * gpg's faked time; `headers`: more header lines.
 */
async function clearSigned(home, signer, { from, subject, mid, text, when = null, headers = '' }) {
  const faked = when ? ['--faked-system-time', when] : [];
  const signed = await gpg(home, [...faked, '--clearsign', '--digest-algo', 'SHA256', '--local-user', signer], text);
  const date = when ? 'Mon, 01 Jun 2020 09:00:00 +0000' : 'Mon, 15 Jan 2024 09:00:00 +0000';
  return crlf(`From: ${from}\nTo: Me <${ME}>\nSubject: ${subject}\nMessage-ID: <${mid}>\n`
    + `Date: ${date}\n${headers}\n`) + crlf(signed);
}

/** A PGP/MIME (RFC 3156) signed mail: multipart/signed with an application/pgp-signature part. */
async function mimeSigned(home, signer, { from, subject, mid, text }) {
  const part = crlf(`Content-Type: text/plain; charset=utf-8\n\n${text}\n`);
  const signature = await gpg(home, ['--detach-sign', '--armor', '--digest-algo', 'SHA256', '--local-user', signer], part);
  return crlf(`From: ${from}\nTo: Me <${ME}>\nSubject: ${subject}\nMessage-ID: <${mid}>\n`
    + 'Date: Tue, 16 Jan 2024 09:00:00 +0000\nMIME-Version: 1.0\n'
    + 'Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="sig-b"\n\n'
    + '--sig-b\n') + part + crlf('\n--sig-b\nContent-Type: application/pgp-signature; name="signature.asc"\n'
    + 'Content-Disposition: attachment; filename="signature.asc"\n\n') + crlf(signature) + crlf('\n--sig-b--\n');
}

// --- the box --------------------------------------------------------------------

/** What the preparation made, for the checks. */
const made = {};

/** Adds the me@example.org account (which makes its key); its servers are closed loopback ports. */
async function addMe(dir, withSmtp) {
  const closed = await freePort();
  const args = ['account', 'add', '--name', 'Me', '--email', ME, '--imap', `127.0.0.1:${closed}`];
  if (withSmtp) args.push('--smtp', `127.0.0.1:${closed}`);
  await homepostCli(dir, args, { HOMEPOST_INCOMING_PASSWORD: 'x', HOMEPOST_OUTGOING_PASSWORD: 'x' });
}

async function prepare(dir) {
  const started = Date.now();
  const work = await mkdtemp(path.join(os.tmpdir(), 'homepost-e2e-keys-work-'));
  const homes = [await gpgHome(), await gpgHome()];
  try {
    await homepostCli(dir, ['init', '--kdf', 'insecure-test-only']);
    await addMe(dir, true);

    // Bob's first key is trusted; a second one arrives later and waits for a decision.
    const bobOld = await newKey(homes[0], `Bob <${BOB}>`, BOB);
    const bobNew = await newKey(homes[1], `Bob <${BOB}>`, BOB);
    const carol = await newKey(homes[1], `Carol <${CAROL}>`, CAROL);
    made.gina = (await newKey(homes[1], `Gina <${GINA}>`, GINA)).fpr;
    made.bobOld = bobOld.fpr;
    made.bobNew = bobNew.fpr;
    made.carol = carol.fpr;
    await writeFile(path.join(work, 'bob-old.asc'), bobOld.armored);
    await writeFile(path.join(work, 'bob-new.asc'), bobNew.armored);
    await homepostCli(dir, ['key', 'import', path.join(work, 'bob-old.asc')]);
    const second = await homepostCli(dir, ['key', 'import', path.join(work, 'bob-new.asc')]);
    assert.match(second.stdout, /waits for you/, `the second key of Bob is not a pending change: ${second.stdout}`);

    // Dan (keys that can encrypt): his change waits too, for compose's "Review".
    const danOld = await newKey(homes[0], `Dan <${DAN}>`, DAN, { encrypt: true });
    const danNew = await newKey(homes[1], `Dan <${DAN}>`, DAN, { encrypt: true });
    made.danOld = danOld.fpr;
    made.danNew = danNew.fpr;
    // Fay's only key expired at the start of 2021.
    const fay = await newKey(homes[0], `Fay <${FAY}>`, FAY, { encrypt: true, expired: true });
    made.fay = fay.fpr;
    for (const [name, key] of [['dan-old.asc', danOld], ['dan-new.asc', danNew], ['fay.asc', fay]]) {
      await writeFile(path.join(work, name), key.armored);
      await homepostCli(dir, ['key', 'import', path.join(work, name)]);
    }

    const mails = {
      'new-phone.eml': await clearSigned(homes[1], BOB, {
        from: `Bob <${BOB}>`, subject: 'New phone, new key', mid: 'new-phone@example.net',
        text: 'I have a new phone, so a new key.\n',
      }),
      'carol.eml': await clearSigned(homes[1], CAROL, {
        from: `Carol <${CAROL}>`, subject: 'Carol signs her mail', mid: 'carol@example.com',
        text: 'Signed with a key you do not have yet.\n',
      }),
      'gina.eml': await clearSigned(homes[1], GINA, {
        from: `Gina <${GINA}>`, subject: 'Gina names her key', mid: 'gina@example.org',
        text: 'My key is where my OpenPGP header says.\n', headers: `OpenPGP: id=${made.gina}; url=${GINA_URL}\n`,
      }),
      'fay.eml': await clearSigned(homes[0], FAY, {
        from: `Fay <${FAY}>`, subject: 'Signed in 2020', mid: 'fay-2020@example.com',
        text: 'Signed while my key was still valid.\n', when: '20200601T000000',
      }),
      'pgp-mime.eml': await mimeSigned(homes[0], BOB, {
        from: `Bob <${BOB}>`, subject: 'Signed the PGP/MIME way', mid: 'pgp-mime@example.net',
        text: 'The signature is a part of its own.',
      }),
    };

    // "Another app" (a second vault with the same address) makes a Setup Message.
    const other = await mkdtemp(path.join(os.tmpdir(), 'homepost-e2e-keys-other-'));
    try {
      await homepostCli(other, ['init', '--kdf', 'insecure-test-only']);
      await addMe(other, false);
      const setup = path.join(work, 'setup.eml');
      const printed = await homepostCli(other, ['key', 'setup-message', setup]);
      made.setupCode = printed.stdout.trim().split('\n').pop().trim();
      assert.match(made.setupCode, /^\d{4}(-\d{4}){8}$/, `no setup code printed: ${printed.stdout}`);
    } finally {
      await rm(other, { recursive: true, force: true });
    }

    const files = [];
    for (const [name, text] of Object.entries(mails)) {
      files.push(path.join(work, name));
      await writeFile(files[files.length - 1], text);
    }
    files.push(path.join(work, 'setup.eml'));
    await homepostCli(dir, ['import', ...files]);
    console.log(`     prepared the box with the CLI and gpg in ${Date.now() - started} ms`);
  } finally {
    for (const home of homes) {
      await new Promise((resolve) => {
        const kill = spawn('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home }, stdio: 'ignore' });
        kill.on('close', resolve);
        kill.on('error', resolve);
      });
      await rm(home, { recursive: true, force: true });
    }
    await rm(work, { recursive: true, force: true });
  }
}

// --- the browser ------------------------------------------------------------------

const results = [];
let failures = 0;

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push(`ok   [${LABEL}] ${name} (${Date.now() - started} ms)`);
    console.log(`ok   [${LABEL}] ${name}`);
  } catch (err) {
    failures += 1;
    results.push(`FAIL [${LABEL}] ${name}: ${err.message}`);
    console.log(`FAIL [${LABEL}] ${name}\n${err.stack}`);
    if (err && typeof err === 'object') err.reported = true;
    throw err;
  }
}

let shots = 0;
async function shot(page, name) {
  shots += 1;
  await page.screenshot({ path: path.join(OUT, `keys-phone-${String(shots).padStart(2, '0')}-${name}.png`) });
}

function api(page, method, apiPath, body) {
  return page.evaluate(async ({ m, p, b }) => {
    const init = { method: m, credentials: 'same-origin', headers: {} };
    if (b !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(b);
    }
    const res = await fetch(`/api/v1${p}`, init);
    return { status: res.status, body: await res.json().catch(() => null) };
  }, { m: method, p: apiPath, b: body });
}
const apiGet = (page, p) => api(page, 'GET', p);

/** The id of the one message that `query` finds. */
async function messageId(page, query) {
  const found = await apiGet(page, `/search?q=${encodeURIComponent(query)}&limit=2`);
  const list = found.body.messages || found.body.results || [];
  assert.equal(list.length, 1, `${query} should find one message: ${JSON.stringify(found.body).slice(0, 300)}`);
  return list[0].id;
}

async function openMessage(page, id) {
  await page.evaluate((hash) => { window.location.hash = hash; }, `#/message/${id}`);
  await page.locator(`hp-message-view[data-id="${id}"] .reader-title`).waitFor();
}

/**
 * Runs `fn(page, watcher)` in a browser context of its own (the servers share
 * 127.0.0.1, and cookies do not tell ports apart), unlocked on `server`; then checks
 * that nothing broke the rules. `mode`: the server's --key-lookup (named in steps).
 */
async function onServer(browser, server, mode, fn) {
  const context = await browser.newContext({ ...PHONE, serviceWorkers: 'allow' });
  await singleMessages(context);
  const watcher = watch(context, `${LABEL} ${mode}`);
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  try {
    await step(`lookups ${mode}: unlock the prepared box; GET /status has key_lookup "${mode}" (only with a session)`, async () => {
      const before = await (await fetch(`${server.base}/api/v1/status`)).json();
      assert.equal(before.key_lookup ?? null, null, JSON.stringify(before));
      await page.goto(`${server.base}/`);
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Unlock' }).click();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      const status = (await apiGet(page, '/status')).body;
      assert.equal(status.key_lookup, mode, JSON.stringify(status));
    });
    await fn(page, watcher);
    await step(`lookups ${mode}: no CSP violation, no uncaught error, no request off 127.0.0.1`, async () => {
      assert.deepEqual(watcher.problems, []);
      assert.deepEqual(watcher.external, [], 'requests left 127.0.0.1');
      console.log(`     ${watcher.requests} requests, all to 127.0.0.1`);
    });
  } finally {
    await context.close();
  }
}

/** The lookup requests the page made (none may be made unless a test answers them). */
function lookupsAsked(watcher) {
  return watcher.responses.filter((r) => /\/lookup$/.test(r.path));
}

/** The box as prepared, with lookups off: everything but what a lookup finds. */
async function offFlow(page, watcher) {
  const S = step;

  let keysBefore;
  await S('the API has the routes, the key of me@example.org and Bob\'s waiting change', async () => {
    keysBefore = (await apiGet(page, '/keys')).body.keys;
    assert.equal(keysBefore.length, 1, JSON.stringify(keysBefore));
    assert.equal(keysBefore[0].address, ME);
    assert.equal(keysBefore[0].active, true);
    const peer = (await apiGet(page, `/peers/${encodeURIComponent(BOB)}`)).body;
    assert.equal(bare(peer.pinned), bare(made.bobOld), JSON.stringify(peer));
    assert.equal(bare(peer.changed), bare(made.bobNew), JSON.stringify(peer));
    // While the change waits, `key` is the key trusted first: the box keeps a copy of it and
    // where it came from, and gpg's ed25519 "sign" key cannot encrypt.
    assert.equal(bare(peer.key), bare(made.bobOld), JSON.stringify(peer));
    assert.equal(peer.key_source, 'imported', JSON.stringify(peer));
    assert.equal(peer.key_status, 'no_encryption_key', JSON.stringify(peer));
    assert.equal(peer.changed_source, 'imported', JSON.stringify(peer));
  });

  // --- a changed key ------------------------------------------------------
  let phoneId;
  await S('reader: a message signed by the waiting key warns, and is not called the sender\'s', async () => {
    phoneId = await messageId(page, 'subject:"New phone"');
    const msg = (await apiGet(page, `/messages/${phoneId}`)).body;
    assert.equal(msg.crypto.signature, 'good', JSON.stringify(msg.crypto));
    assert.equal(bare(msg.crypto.signer), bare(made.bobNew), JSON.stringify(msg.crypto));
    assert.equal(msg.crypto.key_changed, true, JSON.stringify(msg.crypto));
    assert.equal(msg.crypto.signer_is_sender, false, JSON.stringify(msg.crypto));
    await openMessage(page, phoneId);
    const status = page.getByRole('region', { name: 'Encryption and signature' });
    await status.getByText('Encryption key changed', { exact: true }).waitFor();
    await status.getByText(`${BOB}\u2019s encryption key changed since you last wrote`).waitFor();
    await status.getByRole('button', { name: 'Compare and decide\u2026' }).waitFor();
    await status.getByText('Signed with a key you have not accepted for the sender').waitFor();
    assert.equal(await status.getByText('Signed by the sender').count(), 0);
    await shot(page, 'changed-key-message');
  });

  await S('reader: the sender\'s key sheet shows the change with both fingerprints and their sources', async () => {
    const status = page.getByRole('region', { name: 'Encryption and signature' });
    await status.getByRole('button', { name: 'Sender\u2019s key', exact: true }).click();
    const sheet = page.getByRole('dialog', { name: `Key of ${BOB}` });
    await sheet.getByText('Their key changed').waitFor();
    const first = sheet.locator('.key-pinned .fingerprint');
    const next = sheet.locator('.key-new .fingerprint');
    assert.equal((await first.textContent()).trim(), groups(made.bobOld));
    assert.equal((await next.textContent()).trim(), groups(made.bobNew));
    // Trusted first comes before the new one.
    const order = await sheet.locator('.key-compare .key-compare-label').allTextContents();
    assert.deepEqual(order, ['Trusted first', 'New key']);
    // What is known of each: the trusted key's status (its source is not recorded), the new key's source.
    assert.equal(await sheet.locator('.key-pinned .key-compare-source').textContent(), 'Imported by you. It can only sign, not encrypt.');
    assert.equal(await sheet.locator('.key-new .key-compare-source').textContent(), 'Imported by you.');
    await sheet.getByText(/another way/).first().waitFor();
    await sheet.getByText(/\d+ signed, \d+ encrypted, \d+ with Autocrypt/).waitFor();
    await sheet.getByText('Not until you decide about the new key.').waitFor();
    await shot(page, 'key-change-sheet');
    await axeCheck(page, 'key-change sheet');
  });

  await S('accept: a 409 (the key changed again) reloads the sheet and says so', async () => {
    const sheet = page.getByRole('dialog', { name: `Key of ${BOB}` });
    let asked = 0;
    await page.route('**/api/v1/peers/*/accept', async (route) => {
      asked += 1;
      await route.fulfill({
        status: 409, contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'other_key', message: 'the key waiting is another one' } }),
      });
    });
    await sheet.getByRole('button', { name: 'I compared it: accept the new key' }).click();
    const confirm = page.getByRole('dialog', { name: 'Accept the new key?' });
    assert.equal(bare(await confirm.locator('.fingerprint-list').textContent()), bare(made.bobNew));
    await confirm.getByRole('button', { name: 'Accept the new key' }).click();
    await sheet.getByText('Their key changed again while you were looking').waitFor();
    await sheet.getByText('Their key changed', { exact: true }).waitFor();
    assert.equal(asked, 1);
    await page.unroute('**/api/v1/peers/*/accept');
  });

  await S('accept after comparing: GET /peers has the new key pinned; the sheet says why it cannot encrypt', async () => {
    const sheet = page.getByRole('dialog', { name: `Key of ${BOB}` });
    const accepted = page.waitForResponse((r) => r.url().endsWith('/accept') && r.request().method() === 'POST');
    await sheet.getByRole('button', { name: 'I compared it: accept the new key' }).click();
    await page.getByRole('dialog', { name: 'Accept the new key?' }).getByRole('button', { name: 'Accept the new key' }).click();
    const res = await accepted;
    assert.equal(res.status(), 200);
    assert.deepEqual(res.request().postDataJSON(), { fingerprint: made.bobNew });
    // Accepted, but Bob's key cannot encrypt: the notice does not promise encryption.
    await sheet.locator('.peer-notice').getByText('You accepted the new key.', { exact: true }).waitFor();
    assert.equal(await sheet.getByText('Their key changed', { exact: true }).count(), 0);
    assert.equal(await sheet.locator('.key-compare').count(), 0);
    const peer = (await apiGet(page, `/peers/${encodeURIComponent(BOB)}`)).body;
    assert.equal(bare(peer.pinned), bare(made.bobNew), JSON.stringify(peer));
    assert.equal(bare(peer.key), bare(made.bobNew), JSON.stringify(peer));
    assert.equal(peer.changed, null, JSON.stringify(peer));
    assert.equal(peer.changed_source, null, JSON.stringify(peer));
    assert.equal(peer.key_source, 'imported', JSON.stringify(peer));
    // Bob's keys (gpg's ed25519 "sign") have no encryption subkey.
    assert.equal(peer.key_status, 'no_encryption_key', JSON.stringify(peer));
    assert.equal(peer.recommendation, 'disable', JSON.stringify(peer));
    const facts = sheet.locator('.peer-facts');
    assert.equal((await facts.locator('.fingerprint').textContent()).trim(), groups(made.bobNew));
    await facts.getByText('Imported by you').waitFor();
    await facts.getByText('Mail to them cannot be encrypted: their key cannot encrypt (it is only for signing).').waitFor();
    // A key that cannot encrypt: a newer one may be found, but not by this box.
    await sheet.getByText(LOOKUPS_OFF).waitFor();
    assert.equal(await sheet.getByRole('button', { name: /Look up/ }).count(), 0);
    await shot(page, 'key-accepted');
  });

  await S('after accepting: the reader\'s warning is gone and the signature is the sender\'s (asked again)', async () => {
    const sheet = page.getByRole('dialog', { name: `Key of ${BOB}` });
    await sheet.getByRole('button', { name: 'Close' }).click();
    await sheet.waitFor({ state: 'detached' });
    const status = page.getByRole('region', { name: 'Encryption and signature' });
    await status.getByText('Signed by the sender').waitFor();
    assert.equal(await status.getByText('Encryption key changed', { exact: true }).count(), 0);
    assert.equal(await page.locator('hp-message-view .crypto-alert').count(), 0);
    const msg = (await apiGet(page, `/messages/${phoneId}`)).body;
    assert.equal(msg.crypto.key_changed, false, JSON.stringify(msg.crypto));
    assert.equal(msg.crypto.signer_is_sender, true, JSON.stringify(msg.crypto));
    // And from scratch: what the server now says, not what the page remembered.
    await page.reload();
    await page.locator(`hp-message-view[data-id="${phoneId}"] .reader-title`).waitFor();
    const again = page.getByRole('region', { name: 'Encryption and signature' });
    await again.getByText('Signed by the sender').waitFor();
    assert.equal(await again.getByText('Encryption key changed', { exact: true }).count(), 0);
    assert.equal(await page.locator('hp-message-view .crypto-alert').count(), 0);
    await shot(page, 'changed-key-accepted-message');
  });

  // --- a Setup Message ----------------------------------------------------
  let setupId;
  await S('reader: the Setup Message card refuses a short and a wrong code in words', async () => {
    setupId = await messageId(page, 'subject:"Autocrypt Setup Message"');
    await openMessage(page, setupId);
    const card = page.getByRole('region', { name: 'Autocrypt Setup Message' });
    await card.getByText('a key from another of your mail apps').waitFor();
    const field = card.getByLabel('Setup code');
    assert.equal(await field.getAttribute('inputmode'), 'numeric');
    await card.getByText(`it starts with ${made.setupCode.slice(0, 2)}`).waitFor();
    await shot(page, 'setup-card');
    await axeCheck(page, 'setup message card');

    await field.fill('1234-5678');
    await card.getByRole('button', { name: 'Import the key' }).click();
    await card.getByRole('alert').filter({ hasText: 'A setup code has 36 digits; this has 8.' }).waitFor();

    const wrong = made.setupCode.startsWith('9') ? '1' : '9';
    const wrongCode = wrong + made.setupCode.replace(/-/g, '').slice(1);
    const answered = page.waitForResponse((r) => r.url().endsWith(`/messages/${setupId}/setup-message`));
    await field.fill(wrongCode);
    await card.getByRole('button', { name: 'Import the key' }).click();
    assert.equal((await answered).status(), 400);
    await card.getByRole('alert').filter({ hasText: 'That code does not open this message' }).waitFor();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    await shot(page, 'setup-wrong-code');
  });

  let imported;
  await S('the right code (typed with spaces) imports the key: GET /keys has it active', async () => {
    const card = page.getByRole('region', { name: 'Autocrypt Setup Message' });
    const answered = page.waitForResponse((r) => r.url().endsWith(`/messages/${setupId}/setup-message`));
    await card.getByLabel('Setup code').fill(made.setupCode.replace(/-/g, ' '));
    await card.getByRole('button', { name: 'Import the key' }).click();
    const res = await answered;
    assert.equal(res.status(), 200);
    imported = (await res.json()).fingerprint;
    await card.getByText(`Imported. This key is now yours for ${ME}:`).waitFor();
    assert.equal((await card.locator('.setup-result .fingerprint').textContent()).trim(), groups(imported));
    const keys = (await apiGet(page, '/keys')).body.keys;
    const now = keys.find((k) => bare(k.fingerprint) === bare(imported));
    assert.ok(now && now.active, `the imported key is not active: ${JSON.stringify(keys)}`);
    assert.notEqual(bare(imported), bare(keysBefore[0].fingerprint));
    const old = keys.find((k) => bare(k.fingerprint) === bare(keysBefore[0].fingerprint));
    assert.ok(old && !old.active, `the older key should stay, inactive: ${JSON.stringify(keys)}`);
    await shot(page, 'setup-imported');
  });

  // --- a PGP/MIME signature -----------------------------------------------
  await S('reader: the PGP/MIME signature part is not listed as an attachment', async () => {
    const id = await messageId(page, 'subject:"PGP/MIME way"');
    const msg = (await apiGet(page, `/messages/${id}`)).body;
    assert.ok(msg.crypto, 'the PGP/MIME message has no crypto object');
    const sig = (msg.attachments || []).filter((a) => a.content_type === 'application/pgp-signature');
    await openMessage(page, id);
    await page.getByRole('region', { name: 'Encryption and signature' }).waitFor();
    await page.locator('.body-text').filter({ hasText: 'The signature is a part of its own.' }).waitFor();
    assert.equal(await page.getByText('signature.asc').count(), 0, 'signature.asc is listed');
    const others = (msg.attachments || []).filter((a) => a.content_type !== 'application/pgp-signature');
    assert.equal(await page.locator('.att-list .att').count(), others.length);
    console.log(`     the API lists ${sig.length} signature part(s); the reader none`);
  });

  // --- lookups, on a box that has them turned off ----------------------------
  await S('lookups off, from the start: the reader offers no lookup for an unknown key and says why', async () => {
    const id = await messageId(page, 'subject:"Carol signs"');
    const msg = (await apiGet(page, `/messages/${id}`)).body;
    assert.equal(msg.crypto.signature, 'unknown_key', JSON.stringify(msg.crypto));
    await openMessage(page, id);
    const status = page.getByRole('region', { name: 'Encryption and signature' });
    await status.getByText('Signed with a key we do not have').waitFor();
    await status.getByText(LOOKUPS_OFF).waitFor();
    assert.equal(await status.getByText(LOOKUPS_OFF).count(), 1, 'said twice');
    assert.equal(await status.getByRole('button', { name: /Look up/ }).count(), 0);
    assert.equal(await status.getByRole('checkbox').count(), 0);
    assert.doesNotMatch(await status.textContent(), /keys\.openpgp\.org|learns? whose key/);
    // The sender's key sheet is still there.
    await status.getByRole('button', { name: 'Sender\u2019s key', exact: true }).waitFor();
    assert.deepEqual(lookupsAsked(watcher), [], 'a lookup was asked for');
    await shot(page, 'unknown-key-lookups-off');
    await axeCheck(page, 'unknown key, lookups off');
  });

  await S('lookups off: an expired key\'s sheet says why mail cannot be encrypted, and offers no lookup', async () => {
    const peer = (await apiGet(page, `/peers/${encodeURIComponent(FAY)}`)).body;
    assert.equal(bare(peer.key), bare(made.fay), JSON.stringify(peer));
    assert.equal(peer.key_status, 'expired', JSON.stringify(peer));
    assert.equal(peer.recommendation, 'disable', JSON.stringify(peer));
    assert.equal(peer.announced_url, null, JSON.stringify(peer));
    const id = await messageId(page, 'subject:"Signed in 2020"');
    await openMessage(page, id);
    const status = page.getByRole('region', { name: 'Encryption and signature' });
    await status.getByRole('button', { name: 'Sender\u2019s key', exact: true }).click();
    const sheet = page.getByRole('dialog', { name: `Key of ${FAY}` });
    await sheet.getByText('Mail to them cannot be encrypted: their key has expired.').waitFor();
    assert.equal((await sheet.locator('.peer-facts .fingerprint').textContent()).trim(), groups(made.fay));
    await sheet.getByText(LOOKUPS_OFF).waitFor();
    assert.equal(await sheet.getByText(LOOKUPS_OFF).count(), 1, 'said twice');
    assert.equal(await sheet.getByRole('button', { name: /Look up/ }).count(), 0);
    assert.equal(await sheet.getByRole('checkbox').count(), 0);
    await shot(page, 'expired-key-sheet');
    await axeCheck(page, 'expired key sheet');
    await sheet.getByRole('button', { name: 'Close' }).click();
    await sheet.waitFor({ state: 'detached' });
    assert.deepEqual(lookupsAsked(watcher), [], 'a lookup was asked for');
  });

  await S('lookups off: someone whose mail named an address for their key gets no lookup either (the box refuses it)', async () => {
    const peer = (await apiGet(page, `/peers/${encodeURIComponent(GINA)}`)).body;
    assert.equal(peer.announced_url, GINA_URL, JSON.stringify(peer));
    assert.equal(peer.key, null, JSON.stringify(peer));
    // The server asks no one on this box, not even that address: its own answer.
    const refused = await page.evaluate(async (address) => {
      const { csrf_token: token } = await (await fetch('/api/v1/session')).json();
      const res = await fetch('/api/v1/keys/lookup', {
        method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token },
        body: JSON.stringify({ address }),
      });
      return { status: res.status, body: await res.json().catch(() => null) };
    }, GINA);
    assert.equal(refused.status, 400, JSON.stringify(refused));
    assert.equal(refused.body.error.code, 'lookups_off', JSON.stringify(refused));
    const id = await messageId(page, 'subject:"Gina names her key"');
    await openMessage(page, id);
    const status = page.getByRole('region', { name: 'Encryption and signature' });
    await status.getByText(LOOKUPS_OFF).waitFor();
    assert.equal(await status.getByRole('button', { name: /Look up/ }).count(), 0);
    await status.getByRole('button', { name: 'Sender\u2019s key', exact: true }).click();
    const sheet = page.getByRole('dialog', { name: `Key of ${GINA}` });
    await sheet.locator('.peer-url').getByText(GINA_URL, { exact: true }).waitFor();
    await sheet.getByText(LOOKUPS_OFF).waitFor();
    assert.equal(await sheet.getByRole('button', { name: /Look up/ }).count(), 0);
    assert.equal(await sheet.getByRole('checkbox').count(), 0);
    await shot(page, 'announced-key-sheet-off');
    await sheet.getByRole('button', { name: 'Close' }).click();
    await sheet.waitFor({ state: 'detached' });
  });

  // --- own keys -------------------------------------------------------------
  await S('accounts: "Encryption key" lists both keys; the public key downloads', async () => {
    await page.evaluate(() => { window.location.hash = '#/accounts'; });
    const section = page.getByRole('region', { name: 'Encryption key' });
    const card = section.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3, name: ME }) });
    await card.getByText('In use').waitFor();
    const rows = card.locator('.own-key');
    assert.equal(await rows.count(), 2);
    assert.equal((await rows.nth(0).locator('.fingerprint').textContent()).trim(), groups(imported));
    assert.match(await rows.nth(0).textContent(), /In use/);
    assert.equal((await rows.nth(1).locator('.fingerprint').textContent()).trim(), groups(keysBefore[0].fingerprint));
    assert.match(await rows.nth(1).textContent(), /Older/);
    const href = await rows.nth(0).getByRole('link', { name: /^Download public key/ }).getAttribute('href');
    assert.equal(href, `/api/v1/keys/${imported}/public`);
    const download = await page.evaluate(async (u) => {
      const res = await fetch(u);
      return { status: res.status, type: res.headers.get('Content-Type'), disposition: res.headers.get('Content-Disposition'), text: await res.text() };
    }, href);
    assert.equal(download.status, 200);
    assert.match(download.type, /application\/pgp-keys/);
    assert.match(download.disposition || '', /attachment/);
    assert.match(download.text, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    assert.doesNotMatch(download.text, /PRIVATE/);
    await section.scrollIntoViewIfNeeded();
    await shot(page, 'own-keys');
    await axeCheck(page, 'own keys');
  });

  await S('accounts: "Move key to another app" sends a Setup Message and shows its 36-digit code once', async () => {
    const section = page.getByRole('region', { name: 'Encryption key' });
    await section.getByRole('button', { name: 'Move key to another app\u2026' }).click();
    const ask = page.getByRole('dialog', { name: 'Move your key to another app?' });
    await ask.getByText(/Autocrypt Setup Message/).waitFor();
    await shot(page, 'move-key-ask');
    const sent = page.waitForResponse((r) => r.url().endsWith('/api/v1/keys/setup-message'));
    await ask.getByRole('button', { name: 'Send the Setup Message' }).click();
    const res = await sent;
    assert.equal(res.status(), 202);
    const answer = await res.json();
    const sheet = page.getByRole('dialog', { name: 'Your setup code' });
    await sheet.getByText('Homepost does not keep it').waitFor();
    const shown = await sheet.locator('.setup-code li').allTextContents();
    assert.equal(shown.length, 9, shown.join(' '));
    const digits = shown.join('').replace(/\D/g, '');
    assert.equal(digits.length, 36);
    assert.equal(digits, answer.code.replace(/\D/g, ''), 'the code shown is not the server\'s');
    assert.equal(bare(answer.fingerprint), bare(imported), 'the Setup Message should carry the key in use');
    await shot(page, 'setup-code');
    await axeCheck(page, 'setup code sheet');
    // A tap beside the sheet does not lose the code.
    await page.mouse.click(195, 20);
    await sheet.waitFor();
    await sheet.getByRole('button', { name: 'I wrote it down' }).click();
    await sheet.waitFor({ state: 'detached' });
    // A closed <dialog> leaves the page on its close event, a moment after it is hidden.
    await page.locator('.setup-code').waitFor({ state: 'detached', timeout: 10000 })
      .catch(() => assert.fail('the code stayed in the page'));
    const text = await page.evaluate(() => document.body.innerText.replace(/\D/g, ''));
    assert.ok(!text.includes(digits), 'the code stayed in the page');
    const outbox = (await apiGet(page, '/outbox')).body;
    const items = outbox.items || outbox.messages || outbox.outbox || [];
    assert.ok(JSON.stringify(items).includes(`"id":${answer.outbox_id}`), `outbox: ${JSON.stringify(outbox).slice(0, 400)}`);
  });

  // After the real one: its error toast stays 9 s over the bottom of the screen (compose reloads the page).
  await S('accounts: "Move key to another app" refused (no_smtp) says why in words', async () => {
    // The account lost its SMTP server meanwhile (answered by the test: this one has one).
    await page.route('**/api/v1/keys/setup-message', (route) => route.fulfill({
      status: 400, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'no_smtp', message: 'the account "Me" has no outgoing (SMTP) server' } }),
    }));
    const section = page.getByRole('region', { name: 'Encryption key' });
    await section.getByRole('button', { name: 'Move key to another app\u2026' }).click();
    const ask = page.getByRole('dialog', { name: 'Move your key to another app?' });
    await ask.getByRole('button', { name: 'Send the Setup Message' }).click();
    await page.locator('.toast').getByText('The Setup Message was not sent: this account has no outgoing (SMTP) server '
      + 'to send it with. Add one in the account\u2019s settings.').waitFor();
    assert.equal(await page.getByRole('dialog', { name: 'Your setup code' }).count(), 0);
    await page.unroute('**/api/v1/keys/setup-message');
  });

  await S('lookups off: compose gives a changed key "Review" and offers no "Look up keys", from the start', async () => {
    const askedBefore = lookupsAsked(watcher).length;
    await page.evaluate(() => { window.location.hash = '#/compose'; });
    await page.getByRole('heading', { level: 1, name: 'New message' }).waitFor();
    await page.getByRole('combobox', { name: 'To' }).fill(`${DAN}, dave@example.com, erin@example.com`);
    const box = page.getByRole('region', { name: 'Encryption' });
    const review = box.getByRole('button', { name: `Review the changed key of ${DAN}` });
    await review.waitFor();
    // The server's warning names Dan and no longer sends the person to a command line.
    const warning = box.getByRole('alert').filter({ hasText: 'This would be sent unencrypted' });
    await warning.getByText(`The encryption key of ${DAN} changed`).waitFor();
    assert.doesNotMatch(await warning.textContent(), /homepost key/);
    await box.locator('.crypto-state').getByText(
      `no usable key for dave@example.com, erin@example.com; the changed key of ${DAN} waits for your review`,
      { exact: false }).waitFor();
    const draftId = Number((await page.evaluate(() => window.location.hash)).match(/(\d+)$/)[1]);
    const crypto = (await apiGet(page, `/drafts/${draftId}/crypto`)).body;
    const dan = crypto.recipients.find((r) => r.address === DAN);
    assert.deepEqual([dan.key_changed, dan.key], [true, null], JSON.stringify(dan));
    assert.ok(crypto.recipients.filter((r) => r.address !== DAN).every((r) => r.key_changed === false && r.key === null),
      JSON.stringify(crypto.recipients));
    // Two recipients lack a key, but this box looks up no one: it says so, once.
    await box.locator('.lookup-progress').getByText(LOOKUPS_OFF).waitFor();
    assert.equal(await box.getByText(LOOKUPS_OFF).count(), 1, 'said more than once');
    assert.equal(await box.getByRole('button', { name: 'Look up keys' }).count(), 0);
    assert.equal(await box.getByRole('checkbox', { name: DOMAIN_ONLY }).count(), 0);
    assert.doesNotMatch(await box.textContent(), /keys\.openpgp\.org|learns? whose key/);
    assert.deepEqual(lookupsAsked(watcher).slice(askedBefore), [], 'a lookup was asked for');
    await review.scrollIntoViewIfNeeded();
    await shot(page, 'compose-review');
    await axeCheck(page, 'compose review, lookups off');
  });

  await S('compose: "Review" opens Dan\'s key sheet; once accepted, his key is used and "Review" goes', async () => {
    const box = page.getByRole('region', { name: 'Encryption' });
    await box.getByRole('button', { name: `Review the changed key of ${DAN}` }).click();
    const sheet = page.getByRole('dialog', { name: `Key of ${DAN}` });
    await sheet.getByText('Their key changed', { exact: true }).waitFor();
    assert.equal((await sheet.locator('.key-pinned .fingerprint').textContent()).trim(), groups(made.danOld));
    assert.equal((await sheet.locator('.key-new .fingerprint').textContent()).trim(), groups(made.danNew));
    assert.equal(await sheet.locator('.key-new .key-compare-source').textContent(), 'Imported by you.');
    // Dan's first key still works, and where it came from is kept.
    assert.equal(await sheet.locator('.key-pinned .key-compare-source').textContent(), 'Imported by you.');
    const dp = (await apiGet(page, `/peers/${encodeURIComponent(DAN)}`)).body;
    assert.deepEqual([dp.key_status, dp.key_source, dp.changed_source], ['usable', 'imported', 'imported'], JSON.stringify(dp));
    const recheck = page.waitForResponse((r) => /\/api\/v1\/drafts\/\d+\/crypto$/.test(r.url()));
    await sheet.getByRole('button', { name: 'I compared it: accept the new key' }).click();
    await page.getByRole('dialog', { name: 'Accept the new key?' }).getByRole('button', { name: 'Accept the new key' }).click();
    await sheet.getByText('You accepted the new key').waitFor();
    await sheet.getByText('You accepted the new key. Mail to them can be encrypted again.').waitFor();
    await sheet.locator('.peer-facts').getByText('Mail to them can be encrypted.', { exact: true }).waitFor();
    const answer = await (await recheck).json();
    const dan = answer.recipients.find((r) => r.address === DAN);
    assert.equal(dan.key_changed, false, JSON.stringify(dan));
    assert.equal(bare(dan.key), bare(made.danNew), JSON.stringify(dan));
    await sheet.getByRole('button', { name: 'Close' }).click();
    await sheet.waitFor({ state: 'detached' });
    assert.equal(await box.getByRole('button', { name: /^Review the changed key/ }).count(), 0);
    const danRow = box.locator('.crypto-key').filter({ hasText: DAN });
    assert.equal((await danRow.locator('.fingerprint').textContent()).trim(), groups(made.danNew));
    assert.doesNotMatch(await danRow.textContent(), /changed/);
    // The focus did not fall to the page: the button pressed is gone. (The
    // sheet counts as gone as soon as it closes; its close event, which moves
    // the focus, runs a moment later.)
    await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'compose-crypto-state');
    await box.getByText(/no usable key for dave@example\.com, erin@example\.com\./).waitFor();
    assert.equal(await box.getByRole('alert').filter({ hasText: DAN }).count(), 0);
  });

  // Last: its "Draft discarded" toast would cover buttons at the bottom of the screen.
  await S('compose: discard the draft', () => discardDraft(page));
}

/** Leaves no draft behind (compose is open). */
async function discardDraft(page) {
  await page.getByRole('button', { name: 'Discard' }).click();
  await page.getByRole('dialog', { name: 'Discard this message?' }).getByRole('button', { name: 'Discard' }).click();
  await page.getByRole('heading', { level: 1, name: 'New message' }).waitFor({ state: 'detached' });
}

/** Answers a lookup endpoint like the server would, after a while (`ms`), with `answer`; returns the bodies sent. */
async function answerLookups(page, pattern, answer, { ms = 0, status = 200 } = {}) {
  const bodies = [];
  await page.route(pattern, async (route) => {
    assert.equal(route.request().method(), 'POST');
    bodies.push(route.request().postData() === null ? null : route.request().postDataJSON());
    if (ms) await new Promise((r) => setTimeout(r, ms));
    await route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(answer) });
  });
  return bodies;
}

const CAROL_WKD = 'https://openpgpkey.example.com/.well-known/openpgpkey/example.com/hu/x?l=carol';

/** The same box with `--key-lookup wkd`: lookups ask the address's domain only. */
async function wkdFlow(page) {
  const S = step;
  const region = () => page.getByRole('region', { name: 'Encryption and signature' });
  const hint = 'Looking up asks the address\u2019s mail domain; it learns whose key you looked for.';

  await S('lookups wkd: the reader\'s "Look up the sender\'s key" names only their domain; found, the status checked again', async () => {
    const id = await messageId(page, 'subject:"Carol signs"');
    const msg = (await apiGet(page, `/messages/${id}`)).body;
    assert.equal(msg.crypto.signature, 'unknown_key', JSON.stringify(msg.crypto));
    await openMessage(page, id);
    const status = region();
    await status.getByText('Signed with a key we do not have').waitFor();
    const button = status.getByRole('button', { name: 'Look up the sender\u2019s key' });
    await button.waitFor();
    await status.getByText(hint, { exact: true }).waitFor();
    // keys.openpgp.org is never asked: no choice about it, no word of it.
    assert.equal(await status.getByRole('checkbox').count(), 0);
    assert.doesNotMatch(await status.textContent(), /keys\.openpgp\.org/);
    await shot(page, 'unknown-key-wkd');
    await axeCheck(page, 'unknown key, domain lookups');
    const bodies = await answerLookups(page, `**/api/v1/messages/${id}/crypto/lookup`, {
      address: CAROL, found: true, fingerprint: made.carol, source: 'wkd-advanced', key_changed: false,
      attempts: [{ source: 'wkd-advanced', url: CAROL_WKD, outcome: 'found' }],
      peer: null,
      crypto: { ...msg.crypto, signature: 'good', signature_words: 'good signature', signer: made.carol, signer_is_sender: true },
    }, { ms: 300 }); // a lookup takes a while
    await button.click();
    await status.getByRole('button', { name: 'Looking up\u2026' }).waitFor();
    await status.getByText('Looking up the sender\u2019s key: asking their mail domain\u2026', { exact: true }).waitFor();
    await status.getByText('Found on the sender\u2019s domain (WKD).').waitFor();
    await status.getByText('Signed by the sender').waitFor();
    assert.equal(await status.getByRole('button', { name: 'Look up the sender\u2019s key' }).count(), 0);
    // Nothing to leave out: no body.
    assert.deepEqual(bodies, [null]);
    await shot(page, 'lookup-found');
    await page.unroute(`**/api/v1/messages/${id}/crypto/lookup`);
  });

  await S('lookups wkd: a reader lookup that finds nothing says so and lists where it looked', async () => {
    const id = await messageId(page, 'subject:"Carol signs"');
    await answerLookups(page, `**/api/v1/messages/${id}/crypto/lookup`, {
      address: CAROL, found: false, fingerprint: null, source: null, key_changed: false, peer: null, crypto: null,
      attempts: [
        { source: 'wkd-advanced', url: CAROL_WKD, outcome: 'no key there' },
        { source: 'wkd-direct', url: 'https://example.com/.well-known/openpgpkey/hu/x?l=carol', outcome: '<b>no key there</b>' },
      ],
    });
    await page.reload();
    const status = region();
    await status.getByRole('button', { name: 'Look up the sender\u2019s key' }).click();
    await status.getByText(`No key found for ${CAROL}.`).waitFor();
    const tried = await status.locator('.lookup-attempts li').allTextContents();
    assert.deepEqual(tried, [
      'Their domain, WKD advanced (openpgpkey.example.com): no key there',
      'Their domain, WKD direct (example.com): <b>no key there</b>', // server text is shown as text
    ]);
    await status.getByRole('button', { name: 'Look up the sender\u2019s key' }).waitFor();
    assert.doesNotMatch(await status.textContent(), /keys\.openpgp\.org/);
    await shot(page, 'lookup-none');
    await page.unroute(`**/api/v1/messages/${id}/crypto/lookup`);
  });

  await S('lookups wkd: the key sheet\'s "Look up a newer key" names only their domain and sends no keyserver choice', async () => {
    const id = await messageId(page, 'subject:"Signed in 2020"');
    await openMessage(page, id);
    await region().getByRole('button', { name: 'Sender\u2019s key', exact: true }).click();
    const sheet = page.getByRole('dialog', { name: `Key of ${FAY}` });
    await sheet.getByText('Mail to them cannot be encrypted: their key has expired.').waitFor();
    const button = sheet.getByRole('button', { name: 'Look up a newer key' });
    await button.waitFor();
    await sheet.getByText(hint, { exact: true }).waitFor();
    assert.equal(await sheet.getByRole('checkbox').count(), 0);
    assert.doesNotMatch(await sheet.textContent(), /keys\.openpgp\.org/);
    await shot(page, 'expired-key-sheet-wkd');
    await axeCheck(page, 'expired key sheet, domain lookups');
    const bodies = await answerLookups(page, '**/api/v1/keys/lookup', {
      address: FAY, found: false, fingerprint: null, source: null, key_changed: false, peer: null, crypto: null,
      attempts: [{ source: 'wkd-direct', url: 'https://example.com/.well-known/openpgpkey/hu/y?l=fay', outcome: 'no key there' }],
    });
    await button.click();
    await sheet.getByText(`No key found for ${FAY}.`).waitFor();
    assert.deepEqual(bodies, [{ address: FAY }]);
    await page.unroute('**/api/v1/keys/lookup');
    await sheet.getByRole('button', { name: 'Close' }).click();
    await sheet.waitFor({ state: 'detached' });
  });

  await S('lookups wkd: the sheet of someone whose mail named an address for their key does not name it (only "all" asks it)', async () => {
    const id = await messageId(page, 'subject:"Gina names her key"');
    await openMessage(page, id);
    await region().getByRole('button', { name: 'Sender\u2019s key', exact: true }).click();
    const sheet = page.getByRole('dialog', { name: `Key of ${GINA}` });
    await sheet.locator('.peer-url').getByText(GINA_URL, { exact: true }).waitFor();
    await sheet.getByRole('button', { name: 'Look up their key' }).waitFor();
    await sheet.getByText(hint, { exact: true }).waitFor();
    assert.equal(await sheet.getByRole('checkbox').count(), 0);
    await sheet.getByRole('button', { name: 'Close' }).click();
    await sheet.waitFor({ state: 'detached' });
  });

  await S('lookups wkd: compose\'s "Look up keys" names only their domain, with no choice', async () => {
    await page.evaluate(() => { window.location.hash = '#/compose'; });
    await page.getByRole('heading', { level: 1, name: 'New message' }).waitFor();
    await page.getByRole('combobox', { name: 'To' }).fill('erin@example.com');
    const box = page.getByRole('region', { name: 'Encryption' });
    await box.getByRole('button', { name: 'Look up keys' }).waitFor();
    await box.getByText(hint, { exact: true }).waitFor();
    assert.equal(await box.getByRole('checkbox', { name: DOMAIN_ONLY }).count(), 0);
    assert.doesNotMatch(await box.textContent(), /keys\.openpgp\.org/);
    await discardDraft(page);
  });
}

/** The same box with `--key-lookup all`: the domain, then keys.openpgp.org, unless the person says no. */
async function allFlow(page) {
  const S = step;
  await S('lookups all: the sheet of someone whose mail named an address for their key names it first; the choice leaves it out too', async () => {
    const id = await messageId(page, 'subject:"Gina names her key"');
    await openMessage(page, id);
    await page.getByRole('region', { name: 'Encryption and signature' })
      .getByRole('button', { name: 'Sender\u2019s key', exact: true }).click();
    const sheet = page.getByRole('dialog', { name: `Key of ${GINA}` });
    await sheet.locator('.peer-url').getByText(GINA_URL, { exact: true }).waitFor();
    await sheet.getByText('Looking up asks the address their mail named for their key, then the address\u2019s mail domain, '
      + 'then keys.openpgp.org; they learn whose key you looked for.', { exact: true }).waitFor();
    const domainOnly = sheet.getByRole('checkbox', { name: DOMAIN_ONLY });
    assert.equal(await domainOnly.isChecked(), false);
    await shot(page, 'announced-key-sheet');
    await axeCheck(page, 'announced key sheet');
    // What the box would find there is answered by the test.
    const bodies = await answerLookups(page, '**/api/v1/keys/lookup', {
      address: GINA, found: false, fingerprint: null, source: null, key_changed: false, peer: null, crypto: null,
      attempts: [
        { source: 'announced', url: GINA_URL, outcome: 'no key there' },
        { source: 'wkd-direct', url: 'https://example.org/.well-known/openpgpkey/hu/z?l=gina', outcome: 'no key there' },
        { source: 'keys.openpgp.org', url: 'https://keys.openpgp.org/vks/v1/by-email/gina%40example.org', outcome: 'no key there' },
      ],
    });
    await sheet.getByRole('button', { name: 'Look up their key' }).click();
    await sheet.getByText(`No key found for ${GINA}.`).waitFor();
    assert.deepEqual((await sheet.locator('.lookup-attempts li').allTextContents())[0],
      'Address their mail named (keys.example.org): no key there');
    // The sheet was drawn again: a new choice, unticked; ticked, it sends keyserver: false.
    await sheet.getByRole('checkbox', { name: DOMAIN_ONLY }).check();
    const again = page.waitForResponse((r) => r.url().endsWith('/api/v1/keys/lookup'));
    await sheet.getByRole('button', { name: 'Look up their key' }).click();
    await again;
    await sheet.getByText(`No key found for ${GINA}.`).waitFor();
    assert.deepEqual(bodies, [{ address: GINA }, { address: GINA, keyserver: false }]);
    await page.unroute('**/api/v1/keys/lookup');
    await sheet.getByRole('button', { name: 'Close' }).click();
    await sheet.waitFor({ state: 'detached' });
  });

  await S('lookups all: the reader offers "Only ask their own mail domain" (keyserver: false); a lookups_off answer is said in words', async () => {
    const id = await messageId(page, 'subject:"Carol signs"');
    await openMessage(page, id);
    const status = page.getByRole('region', { name: 'Encryption and signature' });
    const button = status.getByRole('button', { name: 'Look up the sender\u2019s key' });
    await button.waitFor();
    await status.getByText('Looking up asks the address\u2019s mail domain, then keys.openpgp.org; they learn whose key you looked for.',
      { exact: true }).waitFor();
    const domainOnly = status.getByRole('checkbox', { name: DOMAIN_ONLY });
    assert.equal(await domainOnly.isChecked(), false);
    await shot(page, 'unknown-key-all');
    await axeCheck(page, 'unknown key, all lookups');
    await domainOnly.check();
    // The box was restarted with lookups off since the page loaded: it refuses.
    const bodies = await answerLookups(page, `**/api/v1/messages/${id}/crypto/lookup`, {
      error: { code: 'lookups_off', message: 'key lookups are turned off on this box (homepost serve --key-lookup)' },
    }, { ms: 300, status: 400 });
    await button.click();
    await status.getByText('Looking up the sender\u2019s key: asking their mail domain\u2026', { exact: true }).waitFor();
    await status.getByText(LOOKUPS_OFF).waitFor();
    assert.deepEqual(bodies, [{ keyserver: false }]);
    assert.equal(await status.getByRole('button', { name: /Look up/ }).count(), 0);
    assert.equal(await status.getByRole('checkbox').count(), 0);
    assert.equal(await status.getByText(LOOKUPS_OFF).count(), 1, 'said twice');
    // The result, not the document, has the focus (the button pressed is gone).
    assert.ok(await page.evaluate(() => document.activeElement && document.activeElement.classList.contains('crypto-live')));
    await shot(page, 'lookup-off');
    await page.unroute(`**/api/v1/messages/${id}/crypto/lookup`);
  });

  await S('lookups all: compose looks up the recipients without a key (not Dan, whose change waits), one after the other', async () => {
    const calls = [];
    await page.route('**/api/v1/keys/lookup', async (route) => {
      const body = route.request().postDataJSON();
      const { address } = body;
      const call = { address, body, start: Date.now() };
      calls.push(call);
      await new Promise((r) => setTimeout(r, 300));
      call.end = Date.now();
      const found = address === 'dave@example.com';
      await route.fulfill({
        status: 200, contentType: 'application/json',
        body: JSON.stringify({
          address, found, fingerprint: found ? made.carol : null, source: found ? 'wkd-direct' : null,
          key_changed: false, peer: null, crypto: null,
          attempts: [{ source: 'wkd-direct', url: `https://example.com/.well-known/openpgpkey/hu/x?l=${address}`, outcome: found ? 'found' : 'no key there' }],
        }),
      });
    });
    // A fresh page: the step before learnt that lookups are off.
    await page.evaluate(() => { window.location.hash = '#/compose'; });
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'New message' }).waitFor();
    await page.getByRole('combobox', { name: 'To' }).fill(`${DAN}, dave@example.com, erin@example.com`);
    const box = page.getByRole('region', { name: 'Encryption' });
    const review = box.getByRole('button', { name: `Review the changed key of ${DAN}` });
    await review.waitFor();
    const button = box.getByRole('button', { name: 'Look up keys' });
    await button.waitFor();
    await box.getByText(/they learn whose key you looked for/).waitFor();
    await box.locator('.crypto-state').getByText(
      `no usable key for dave@example.com, erin@example.com; the changed key of ${DAN} waits for your review`,
      { exact: false }).waitFor();
    await box.getByText('Looking up asks the address\u2019s mail domain, then keys.openpgp.org; they learn whose key you looked for.',
      { exact: true }).waitFor();
    const domainOnly = box.getByRole('checkbox', { name: DOMAIN_ONLY });
    assert.equal(await domainOnly.isChecked(), false);
    await button.scrollIntoViewIfNeeded();
    await shot(page, 'compose-lookup-ask');
    await axeCheck(page, 'compose review and lookup');

    await domainOnly.check();
    const recheck = page.waitForResponse((r) => /\/api\/v1\/drafts\/\d+\/crypto$/.test(r.url())
      && calls.length === 2 && calls[1].end !== undefined);
    await button.click();
    await box.getByText(/^Looking up 1 of 2: dave@example\.com/).waitFor();
    await recheck;
    await box.getByText('Looked up 2 addresses: 1 key found.').waitFor();
    // Dan is not looked up: his key is there, waiting for a decision.
    assert.deepEqual(calls.map((c) => c.address), ['dave@example.com', 'erin@example.com']);
    assert.deepEqual(calls.map((c) => c.body.keyserver), [false, false]);
    assert.ok(calls[1].start >= calls[0].end, 'the lookups overlapped');
    const rows = box.locator('.lookup-row');
    await rows.filter({ hasText: 'dave@example.com' }).filter({ hasText: 'found on their domain (WKD)' }).waitFor();
    await rows.filter({ hasText: 'erin@example.com' }).filter({ hasText: 'no key found' }).waitFor();
    await shot(page, 'compose-lookup');
    await page.unroute('**/api/v1/keys/lookup');
    await discardDraft(page);
  });
}

async function main() {
  requireBin();
  await ensureOut();
  const started = Date.now();
  // The box as prepared, kept before any server touches it: the other servers start from copies.
  const seed = await mkdtemp(path.join(os.tmpdir(), 'homepost-e2e-keys-seed-'));
  const servers = {};
  let browser = null;
  try {
    // Lookups off: the server asks no one (and the screens must say so from the start).
    servers.off = await startServer(LABEL, {
      prepare: async (dir) => {
        await prepare(dir);
        await cp(dir, seed, { recursive: true });
      },
      args: ['--key-lookup', 'off'],
    });
    const more = await Promise.allSettled(['wkd', 'all'].map((mode) => startServer(`${LABEL}-${mode}`, {
      prepare: (dir) => cp(seed, dir, { recursive: true }), args: ['--key-lookup', mode],
    })));
    [servers.wkd, servers.all] = more.map((r) => (r.status === 'fulfilled' ? r.value : null));
    const refused = more.find((r) => r.status === 'rejected');
    if (refused) throw refused.reason;
    browser = await launchBrowser();
    const flows = [['off', offFlow], ['wkd', wkdFlow], ['all', allFlow]];
    for (const [mode, fn] of flows) {
      console.log(`== keys flow (phone), --key-lookup ${mode}, against ${servers[mode].base} (data ${servers[mode].dir})`);
      try {
        await onServer(browser, servers[mode], mode, fn);
      } catch (err) {
        if (!err.reported) throw err;
        // reported by step(); the next server's flow still runs
      }
    }
  } catch (err) {
    failures += 1;
    results.push(`FAIL [${LABEL}] ${err.message}`);
    console.log(`FAIL [${LABEL}]\n${err.stack}`);
  } finally {
    if (browser) await browser.close();
    await Promise.all(Object.values(servers).filter(Boolean).map((s) => s.stop()));
    await rm(seed, { recursive: true, force: true });
  }
  console.log('\n== keys summary');
  for (const line of results) console.log(line);
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (failures > 0) {
    console.log(`${failures} step(s) failed`);
    process.exit(1);
  }
  console.log('all steps passed');
}

await main();
