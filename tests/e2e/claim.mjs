// Claiming a new box from another device, at phone size, in real headless Chromium
// against a real `homepost serve` that listens beyond loopback (TLS, self-signed):
// the console shows the setup code, its address and a QR code; without the code the
// claim screen asks for it and refuses a wrong one; the address with `#setup=CODE`
// claims the box without typing it, and the code leaves the address bar at once.
//
//   HOMEPOST_BIN=/path/to/homepost node claim.mjs
//
// The browser reaches the box by this machine's first non-loopback IPv4 address, so
// that the server sees a remote client (loopback may skip the code).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  PASSPHRASE, PHONE, launchBrowser, freePort, requireBin, ensureOut, OUT, skipWizard,
  Steps,
} from './lib.mjs';

const steps = new Steps('claim');
const step = steps.run;

/** This machine's first non-loopback IPv4 address. */
function lanAddress() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  throw new Error('claim.mjs needs a non-loopback IPv4 address to reach the box from (none found)');
}

/** Starts the server; resolves once its console has shown the setup code. */
async function startBox(dir, port) {
  const child = spawn(requireBin(), ['--data', dir, 'serve', '--listen', `0.0.0.0:${port}`,
    '--tls-self-signed', '--kdf', 'insecure-test-only'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const end = Date.now() + 60000;
  while (!/setup code (\S+)/.test(out) || !/█|▀|▄/.test(out)) {
    if (child.exitCode !== null) throw new Error(`homepost serve exited:\n${out}`);
    if (Date.now() > end) throw new Error(`no setup code printed within a minute:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, console: () => out };
}

async function main() {
  await ensureOut();
  const ip = lanAddress();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'homepost-e2e-claim-'));
  const port = await freePort();
  const box = await startBox(dir, port);
  const base = `https://${ip}:${port}`;
  const code = /setup code (\S+)/.exec(box.console())[1];
  const browser = await launchBrowser(['--ignore-certificate-errors']);
  const context = await browser.newContext({ ...PHONE });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    await step('the console shows the setup code, the address that carries it and a QR code', async () => {
      assert.match(code, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
      assert.match(box.console(), new RegExp(`/#setup=${code}`));
    });

    await step('from another device without the code: the setup screen asks for it and refuses a wrong one', async () => {
      await page.goto(`${base}/`);
      await page.getByRole('heading', { name: 'Claim this box' }).waitFor();
      const field = page.getByLabel('Setup code');
      await field.waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('alert').filter({ hasText: 'Type the setup code' }).waitFor();
      await field.fill('AAAAA-AAAAA-AAAAA-AAAAA');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('alert').filter({ hasText: /not this box.s setup code/ }).waitFor();
      assert.equal(await field.getAttribute('aria-invalid'), 'true');
      await page.screenshot({ path: path.join(OUT, 'claim-wrong-code.png') });
    });

    await step('the setup address opened over that screen takes the code from it', async () => {
      await page.goto(`${base}/#setup=${code}`); // a fragment change: no reload
      await page.getByRole('heading', { name: 'Choose your passphrase' }).waitFor();
      await page.getByLabel('Setup code').waitFor({ state: 'detached' });
      assert.equal(new URL(page.url()).hash, '', `the code stayed in the address: ${page.url()}`);
    });

    await step('the address with #setup= claims the box without typing; the code leaves the address bar', async () => {
      await page.goto('about:blank');
      await page.goto(`${base}/#setup=${code}`);
      await page.getByRole('heading', { name: 'Choose your passphrase' }).waitFor();
      await page.waitForFunction(() => window.location.hash === '');
      assert.equal(await page.getByLabel('Setup code').count(), 0, 'asked for a code the address gave');
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Create vault' }).click();
      await skipWizard(page);
      const status = await page.evaluate(async () => (await fetch('/api/v1/status')).json());
      assert.equal(status.state, 'unlocked');
    });

    await step('no uncaught error in the page', async () => {
      assert.deepEqual(errors, []);
    });
  } finally {
    await context.close();
    await browser.close();
    box.child.kill('SIGTERM');
    await new Promise((r) => { box.child.once('exit', r); setTimeout(r, 5000); });
    await rm(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch {
  // Reported by the step that failed.
}
console.log(`\n${steps.results.join('\n')}`);
if (steps.failures || !steps.results.length) process.exit(1);
