// The first-run wizard at phone size, in real headless Chromium, against a real
// `homepost serve` that listens beyond loopback (TLS, self-signed; reached by this
// machine's LAN address, so the setup code is needed), real Dovecot and the aiosmtpd
// submission server of tests/peers (one certificate for both), and a DNS server on
// loopback (below) that knows only the SRV records of wizard.test:
//
//   claim (a wrong code refused; a second browser refused with `claimed`; a reload
//   resumes at the passphrase) -> passphrase (a weak one shown low and refused) ->
//   account (an address of nowhere: the form to type the servers, with what was tried;
//   alice@wizard.test + password only: found by SRV, shown with its source,
//   an untrusted certificate trusted by its fingerprint, the user name falling back
//   to "alice") -> reload: resumes at "existing mail" -> everything -> remote access:
//   not now -> the summary -> the inbox with the three delivered messages -> a reply
//   that reaches the submission server's spool -> Accounts, "Add account": the same
//   steps in a page of their own for bob@wizard.test (password only: SRV, Change by
//   hand, the certificate trusted again for the new account, existing mail) -> the
//   Accounts screen lists bob with its state.
//
//   HOMEPOST_BIN=/path/to/homepost node wizard.mjs
//
// The flow's time is printed (the goal is under a minute), never asserted.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import {
  OUT, PHONE, REPO, axeCheck, ensureOut, launchBrowser, requireBin, singleMessages, watch,
  Steps, freePorts, startDovecot,
  lanAddress, until,
} from './lib.mjs';

const PEERS = path.join(REPO, 'tests/peers');
const PASSPHRASE = 'lantern moss quarry heron 7 blue';
const WEAK = 'password1234';
const ADDRESS = 'alice@wizard.test';
const SECOND = 'bob@wizard.test';
const SUBJECTS = ['Wizard test one', 'Wizard test two', 'Wizard test three'];

const steps = new Steps('wizard');
const step = steps.run;

// --- the DNS server -------------------------------------------------------------

/** A name in DNS wire format (no compression). */
function encodeName(name) {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])), Buffer.from([0])]);
}

/**
 * A DNS server on 127.0.0.1 (UDP) that answers SRV for the names in `srv`
 * ({name: {port, target}}), NOERROR with no answer for other questions about those
 * names, and NXDOMAIN for anything else. Resolves to {port, log, close()}.
 */
function startDns(srv) {
  const socket = dgram.createSocket('udp4');
  const log = [];
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    let offset = 12;
    const labels = [];
    while (offset < msg.length && msg[offset] !== 0) {
      const len = msg[offset];
      labels.push(msg.subarray(offset + 1, offset + 1 + len).toString('latin1'));
      offset += 1 + len;
    }
    offset += 1;
    const qtype = msg.readUInt16BE(offset);
    const question = msg.subarray(12, offset + 4);
    const name = labels.join('.').toLowerCase();
    log.push(`${name} ${qtype}`);
    const record = srv[name];
    const known = record || Object.keys(srv).some((n) => n.endsWith(`.${name}`));
    const answers = [];
    if (record && qtype === 33) {
      const target = encodeName(record.target);
      const rdata = Buffer.alloc(6);
      rdata.writeUInt16BE(0, 0); // priority
      rdata.writeUInt16BE(1, 2); // weight
      rdata.writeUInt16BE(record.port, 4);
      const head = Buffer.alloc(10);
      head.writeUInt16BE(33, 0);
      head.writeUInt16BE(1, 2);
      head.writeUInt32BE(60, 4);
      head.writeUInt16BE(rdata.length + target.length, 8);
      answers.push(Buffer.concat([Buffer.from([0xc0, 0x0c]), head, rdata, target]));
    }
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    const rd = msg[2] & 0x01;
    header[2] = 0x84 | rd; // QR, AA, RD as asked
    header[3] = 0x80 | (known ? 0 : 3); // RA; NXDOMAIN for names it does not know
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address);
  });
  return new Promise((resolve) => {
    socket.bind(0, '127.0.0.1', () => resolve({
      port: socket.address().port,
      log,
      close: () => new Promise((r) => { socket.close(r); }),
    }));
  });
}

// --- the mail servers -----------------------------------------------------------

/** Waits for an IMAPS greeting (the port opens before Dovecot's auth is ready). */
async function imapsGreeting(port) {
  await until('the IMAPS greeting', 30000, () => new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {});
    s.setTimeout(2000, () => { s.destroy(); resolve(false); });
    s.on('data', (d) => { s.destroy(); resolve(/^\* OK/.test(String(d))); });
    s.on('error', () => resolve(false));
  }));
}

function message(i, subject) {
  return [
    'From: Bob Example <bob@wizard.test>',
    `To: Alice <${ADDRESS}>`,
    `Subject: ${subject}`,
    `Message-ID: <wizard-${i}@wizard.test>`,
    `Date: Tue, 0${i + 1} Dec 2026 10:00:00 +0000`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Line ${i + 1} of the mail that was already there.`,
    '',
  ].join('\r\n');
}

/** Dovecot (IMAPS), the submission server (implicit TLS, Dovecot's certificate), three messages. */
async function startMail(dir) {
  const dovecot = await startDovecot(path.join(dir, 'dovecot'));
  const { imaps, cert } = dovecot;
  const [smtps] = await freePorts(1);
  let smtp = null;
  const stop = async () => {
    if (smtp) smtp.kill('SIGTERM');
    await dovecot.stop();
  };
  try {
    smtp = spawn(path.join(PEERS, 'smtp-server'), ['--port', String(smtps), '--cert', cert,
      '--key', path.join(dir, 'dovecot/key.pem'), '--spool', path.join(dir, 'spool'), '--implicit-tls'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    let smtpOut = '';
    smtp.stdout.on('data', (d) => { smtpOut += d; });
    smtp.stderr.on('data', (d) => { smtpOut += d; });
    await until('the submission server', 30000, () => {
      if (smtp.exitCode !== null) throw new Error(`smtp-server exited: ${smtpOut}`);
      return /ready/.test(smtpOut);
    });
    await imapsGreeting(imaps);
    // Two folders beside the inbox (Maildir++), owned like the maildir: "all folders" is a choice.
    const maildir = path.join(dir, 'dovecot/home/alice/Maildir');
    const { uid, gid } = statSync(maildir);
    for (const folder of ['.Archive', '.Sent']) {
      for (const sub of ['', 'cur', 'new', 'tmp']) {
        const d = path.join(maildir, folder, sub);
        mkdirSync(d, { recursive: true });
        chownSync(d, uid, gid);
      }
    }
    for (const [i, subject] of SUBJECTS.entries()) dovecot.deliver('alice', message(i, subject));
    const fingerprint = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', cert])
      .toString().trim().split('=')[1];
    return { imaps, smtps, fingerprint, spool: path.join(dir, 'spool'), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Starts the box; resolves once its console has shown the setup code. */
async function startBox(dir, port, config) {
  const child = spawn(requireBin(), ['--data', path.join(dir, 'data'), 'serve', '--config', config,
    '--listen', `0.0.0.0:${port}`, '--tls-self-signed', '--kdf', 'insecure-test-only'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  await until('the setup code on the console', 60000, () => {
    if (child.exitCode !== null) throw new Error(`homepost serve exited:\n${out}`);
    return /setup code (\S+)/.test(out);
  });
  return { child, code: /setup code (\S+)/.exec(out)[1], log: () => out };
}

// --- the flow -------------------------------------------------------------------

async function main() {
  await ensureOut();
  const ip = lanAddress();
  const dir = await mkdtemp('/tmp/homepost-e2e-wizard-');
  await chmod(dir, 0o755); // Dovecot runs as nobody when we are root
  let mail = null;
  let dns = null;
  let box = null;
  let browser = null;
  try {
    mail = await startMail(dir);
    dns = await startDns({
      '_imaps._tcp.wizard.test': { port: mail.imaps, target: 'localhost.' },
      '_submissions._tcp.wizard.test': { port: mail.smtps, target: 'localhost.' },
    });
    const config = path.join(dir, 'homepost.toml');
    await writeFile(config, `[autoconfig]\nname_server = "127.0.0.1:${dns.port}"\nispdb = false\n`);
    const [port] = await freePorts(1);
    box = await startBox(dir, port, config);
    browser = await launchBrowser(['--ignore-certificate-errors']);
    await flow(browser, `https://${ip}:${port}`, box, mail);
  } finally {
    if (browser) await browser.close();
    if (box) {
      box.child.kill('SIGTERM');
      await new Promise((r) => { box.child.once('exit', r); setTimeout(r, 5000); });
      await writeFile(path.join(OUT, 'server-wizard.log'), box.log());
    }
    if (dns) {
      await writeFile(path.join(OUT, 'wizard-dns.log'), `${dns.log.join('\n')}\n`);
      await dns.close();
    }
    if (mail) await mail.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function flow(browser, base, box, mail) {
  const context = await browser.newContext({ ...PHONE });
  await singleMessages(context);
  const watcher = watch(context, 'wizard');
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  let checks = 0; // ms spent on screenshots and axe, left out of the flow's time
  const shot = async (name) => {
    const t = Date.now();
    await page.screenshot({ path: path.join(OUT, `wizard-${name}.png`), fullPage: true });
    checks += Date.now() - t;
  };
  const axe = async (what) => {
    const t = Date.now();
    await axeCheck(page, what);
    checks += Date.now() - t;
  };
  /** The step's heading has the focus. */
  const focusedHeading = async (name) => {
    const heading = page.getByRole('heading', { level: 1, name });
    await heading.waitFor();
    await page.waitForFunction((text) => document.activeElement && document.activeElement.tagName === 'H1'
      && document.activeElement.textContent === text, name);
  };
  const api = (p) => page.evaluate(async (url) => (await fetch(`/api/v1${url}`)).json(), p);
  const started = Date.now();
  try {
    await step('a wrong setup code is refused, in words, on the claim screen', async () => {
      await page.goto(`${base}/`);
      await focusedHeading('Claim this box');
      await page.getByLabel('Setup code').fill('AAAAA-AAAAA-AAAAA-AAAAA');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('alert').filter({ hasText: /not this box.s setup code/ }).waitFor();
      assert.equal(await page.getByLabel('Setup code').getAttribute('aria-invalid'), 'true');
      await shot('1-wrong-code');
    });

    await step('the real code claims the box for this browser: on to the passphrase', async () => {
      await page.getByLabel('Setup code').fill(box.code);
      await page.getByRole('button', { name: 'Continue' }).click();
      await focusedHeading('Choose your passphrase');
      assert.match(await page.locator('.wizard-progress').textContent(), /step 1 of 5/);
    });

    await step('a second browser with the same code is refused: the box is being set up elsewhere', async () => {
      const other = await browser.newContext({ ...PHONE });
      const page2 = await other.newPage();
      try {
        await page2.goto(`${base}/`);
        await page2.getByLabel('Setup code').fill(box.code);
        await page2.getByRole('button', { name: 'Continue' }).click();
        await page2.getByRole('alert').filter({ hasText: 'already being set up from another device' }).waitFor();
        await page2.screenshot({ path: path.join(OUT, 'wizard-2-claimed-elsewhere.png') });
      } finally {
        await other.close();
      }
    });

    await step('a reload resumes at the passphrase (the claim is this browser\'s)', async () => {
      await page.reload();
      await focusedHeading('Choose your passphrase');
      assert.equal(await page.getByLabel('Setup code').count(), 0);
      await axe('wizard passphrase');
    });

    await step('a weak passphrase shows the meter low and is refused by the box', async () => {
      await page.getByLabel('Passphrase', { exact: true }).fill(WEAK);
      await page.waitForFunction(() => {
        const m = document.querySelector('.strength-meter');
        return m && !m.closest('[hidden]') && m.dataset.score !== undefined && Number(m.value) <= 1;
      });
      assert.match(await page.locator('.strength-label').textContent(), /Weak|Very weak/);
      await page.getByLabel('Repeat the passphrase').fill(WEAK);
      await page.getByRole('button', { name: 'Create vault' }).click();
      await page.getByRole('alert').filter({ hasText: 'Choose a longer or less common passphrase' }).waitFor();
      await shot('3-weak-passphrase');
    });

    await step('a good passphrase creates the vault: on to the account', async () => {
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.waitForFunction(() => Number(document.querySelector('.strength-meter').value) >= 3);
      await page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Create vault' }).click();
      await focusedHeading('Connect your mail account');
      assert.match(await page.locator('.wizard-progress').textContent(), /step 2 of 5/);
      assert.equal((await api('/setup')).step, 'account');
    });

    await step('an address whose servers cannot be found: the form to type them, and what was tried', async () => {
      await page.getByLabel('Email address').fill('alice@nowhere.test');
      await page.getByLabel('Password', { exact: true }).fill('secret');
      await page.getByRole('button', { name: 'Find my mail servers' }).click();
      await page.getByRole('heading', { level: 2, name: 'Type your mail servers' }).waitFor();
      await page.getByText('What Homepost tried').waitFor();
      assert.equal(await page.getByLabel('Server name').count(), 2);
      await shot('4-not-found');
    });

    await step('the address alone finds the servers by SRV, shown with where they came from', async () => {
      await page.getByLabel('Email address').fill(ADDRESS);
      await page.getByLabel('Password', { exact: true }).fill('secret');
      await page.getByRole('button', { name: 'Find my mail servers' }).click();
      await page.getByRole('heading', { level: 2, name: 'Your mail servers' }).waitFor();
      assert.match(await page.locator('.wizard-source').textContent(), /SRV/);
      const found = await page.locator('.wizard-servers-found').textContent();
      assert.ok(found.includes(`port ${mail.imaps}`) && found.includes(`port ${mail.smtps}`), found);
      await shot('4-servers-found');
      await axe('wizard servers found');
    });

    await step('connecting shows the untrusted certificate once, by its fingerprint; trusting it works', async () => {
      await page.getByRole('button', { name: 'Connect' }).click();
      const warning = page.locator('.cert-warning');
      await warning.first().waitFor();
      assert.equal(await warning.count(), 1, 'one prompt for the one certificate of both servers');
      const shown = (await warning.locator('.fingerprint-groups li').allTextContents()).join(':');
      assert.equal(shown, mail.fingerprint.toUpperCase());
      await shot('5-certificate');
      await warning.getByRole('button', { name: 'Trust this certificate' }).click();
      await focusedHeading('Your existing mail');
      assert.equal((await api('/setup')).step, 'mail');
    });

    await step('a reload in the middle resumes at "existing mail", asking only for the password', async () => {
      await page.reload();
      await focusedHeading('Your existing mail');
      await page.getByLabel(`Password of ${ADDRESS}`).fill('secret');
      await shot('6-existing-mail');
      await axe('wizard existing mail');
    });

    await step('everything from all folders: the account is made, on to remote access', async () => {
      await page.getByLabel(/^All folders/).check();
      await page.getByLabel('Everything').check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await focusedHeading('Reach your mail from anywhere');
      const setup = await api('/setup');
      assert.equal(setup.step, 'remote');
      const { accounts } = await api('/accounts');
      assert.equal(accounts.length, 1);
      const [a] = accounts;
      assert.equal(setup.account, a.id);
      assert.equal(a.incoming.username, 'alice', 'the user name did not fall back to the local part');
      assert.equal(a.incoming.port, mail.imaps);
      assert.equal(a.outgoing.port, mail.smtps);
      assert.equal(String(a.incoming.pinned_sha256).toUpperCase(), mail.fingerprint.toUpperCase());
      await page.getByRole('button', { name: 'Turn on the onion service' }).waitFor();
      await shot('7-remote');
      await axe('wizard remote access');
    });

    await step('remote access: not now; the summary shows the account fetching, then the inbox', async () => {
      await page.getByRole('button', { name: 'Not now' }).click();
      await focusedHeading('Homepost is ready');
      const summary = page.locator('.wizard-summary');
      await summary.getByText(ADDRESS).waitFor();
      await summary.getByText(/Everything in all \d+ folders/).waitFor();
      await summary.getByText(/^Off/).waitFor();
      await summary.getByText(/Up to date|Fetching/).waitFor();
      await shot('8-done');
      await axe('wizard done');
      assert.equal((await api('/setup')).step, 'done');
      await page.getByRole('button', { name: 'Open my inbox' }).click();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      for (const subject of SUBJECTS) {
        await page.locator('hp-message-list li.msg-row').filter({ hasText: subject }).waitFor({ timeout: 60000 });
      }
    });
    const flowMs = Date.now() - started;
    console.log(`\nwizard: the flow from the claim screen to the inbox with its mail took ${(flowMs / 1000).toFixed(1)} s `
      + `(${((flowMs - checks) / 1000).toFixed(1)} s without screenshots and accessibility checks); the goal is under 60 s\n`);

    await step('a reply to one of them reaches the submission server', async () => {
      await page.locator('hp-message-list li.msg-row').filter({ hasText: SUBJECTS[1] }).locator('.msg-link').click();
      await page.locator('hp-message-view .body-text').waitFor();
      await page.getByRole('button', { name: 'Reply', exact: true }).click();
      await page.getByRole('heading', { level: 1, name: 'Reply' }).waitFor();
      const body = page.locator('hp-compose').getByLabel('Message', { exact: true });
      await body.fill(`Thanks, got it.\n\n${await body.inputValue()}`);
      await page.getByRole('button', { name: 'Send' }).click();
      await page.locator('hp-compose').waitFor({ state: 'detached' });
      const log = path.join(mail.spool, 'log.jsonl');
      const sent = await until('the reply in the spool', 60000, async () => {
        if (!existsSync(log)) return null;
        const lines = (await readFile(log, 'utf8')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
        return lines.length ? lines : null;
      });
      assert.equal(sent.length, 1);
      assert.deepEqual(sent[0].rcpt_tos, ['bob@wizard.test']);
      assert.equal(sent[0].auth_user, 'alice');
      const raw = await readFile(path.join(mail.spool, sent[0].file), 'utf8');
      assert.match(raw, /Subject: Re: Wizard test two/);
      await shot('9-replied');
    });

    await step('the next visit opens the mail, not the wizard', async () => {
      await page.goto(`${base}/`);
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      assert.equal(await page.locator('hp-wizard').count(), 0);
    });

    await addSecondAccount(page, { focusedHeading, shot, axe, api, mail });

    await step('no uncaught error, CSP violation or console error', async () => {
      // The browser reaches the box by its LAN address: not an outside request.
      assert.deepEqual(watcher.problems, []);
    });
  } finally {
    await context.close();
  }
}

/** "Add account" on the Accounts screen: the wizard's steps again, for bob, in a page of their own. */
async function addSecondAccount(page, { focusedHeading, shot, axe, api, mail }) {
  await step('Accounts, "Add account": the account step in a page of its own, its heading focused', async () => {
    await page.getByRole('button', { name: 'Tags and folders' }).click();
    await page.getByRole('navigation', { name: 'Folders and tags' }).getByRole('link', { name: /^Accounts\b/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor();
    await page.getByRole('link', { name: 'Add account' }).click();
    await focusedHeading('Add an account');
    assert.match(page.url(), /#\/accounts\/new$/);
    assert.match(await page.locator('hp-account-add .wizard-progress').textContent(), /step 1 of 2/);
    assert.equal(await page.getByRole('button', { name: /^Skip/ }).count(), 0, 'adding an account offers no skip');
    assert.equal(await page.getByLabel('Server name').count(), 0, 'the servers are not asked for first');
    await axe('add account');
  });

  await step('bob\'s address and password alone: his servers found by SRV; Change shows them by hand', async () => {
    await page.getByLabel('Email address').fill(SECOND);
    await page.getByLabel('Password', { exact: true }).fill('secret');
    await page.getByRole('button', { name: 'Find my mail servers' }).click();
    await page.getByRole('heading', { level: 2, name: 'Your mail servers' }).waitFor();
    assert.match(await page.locator('.wizard-source').textContent(), /SRV/);
    await page.getByRole('button', { name: 'Change' }).click();
    const hosts = page.getByLabel('Server name');
    assert.equal(await hosts.count(), 2);
    assert.equal(await page.getByLabel('Port', { exact: true }).first().inputValue(), String(mail.imaps));
    assert.equal(await page.getByLabel('Port', { exact: true }).last().inputValue(), String(mail.smtps));
    await shot('10-add-account-change');
    await axe('add account: the servers by hand');
  });

  await step('connecting asks to trust the certificate again (a new account), by its fingerprint', async () => {
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('alert').filter({ hasText: 'could not connect yet' }).waitFor();
    const warning = page.locator('hp-account-add .cert-warning');
    assert.equal(await warning.count(), 1);
    const shown = (await warning.locator('.fingerprint-groups li').allTextContents()).join(':');
    assert.equal(shown, mail.fingerprint.toUpperCase());
    await shot('11-add-account-certificate');
    await axe('add account: the certificate');
    await warning.getByRole('button', { name: 'Trust this certificate' }).click();
    await focusedHeading('Your existing mail');
    assert.match(await page.locator('hp-account-add .wizard-progress').textContent(), /step 2 of 2/);
    await axe('add account: existing mail');
  });

  await step('adding it returns to the Accounts screen, which lists bob with his servers\' state', async () => {
    await page.getByRole('button', { name: 'Add account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor();
    assert.match(page.url(), /#\/accounts$/);
    // Alice's account is called wizard.test: bob's, at the same provider, by his address.
    const card = page.locator('hp-accounts li.card').filter({
      has: page.getByRole('heading', { level: 2, name: SECOND, exact: true }),
    });
    await card.waitFor();
    await card.locator('section.server').first().locator('.state-badge')
      .filter({ hasText: /Up to date|Fetching mail/ }).waitFor({ timeout: 60000 });
    const { accounts } = await api('/accounts');
    assert.deepEqual(accounts.map((a) => a.email), [ADDRESS, SECOND]);
    const bob = accounts[1];
    assert.equal(bob.name, SECOND);
    assert.equal(bob.incoming.username, 'bob');
    assert.equal(String(bob.incoming.pinned_sha256).toUpperCase(), mail.fingerprint.toUpperCase());
    assert.equal(String(bob.outgoing.pinned_sha256).toUpperCase(), mail.fingerprint.toUpperCase());
    await shot('12-accounts');
    await axe('accounts with the added account');
  });
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
if (steps.failures || !steps.results.length) process.exit(1);
