// The Remote access page (#/remote) at a small phone's size (360x740, touch), against
// a real `homepost serve` with a fresh data directory. The drawer and the Settings
// sheet lead to it. The relay, for real: set up to a frontend that does not exist
// (a closed port on 127.0.0.1), the page shows the address, the self-signed
// certificate's fingerprint in pairs (the server's, pair by pair) and a status of
// connecting or not connected with the server's own message, kept fresh by the poll;
// a bad kite name shows the server's error beside the form; the relay's address
// changes without retyping the secret (none is sent); removing asks, then shows the
// empty setup form. The onion service: turned on, its .onion address, QR image and
// a status (no Tor network here: it stays "starting"); pairing a device shows its key
// once (copied to the clipboard, its QR image, the line for Orbot or C-tor) and lists
// it; unpairing removes it; "only paired devices" with none paired warns; turned
// off. axe (light and dark), no console error, no CSP violation, nothing wider than
// the screen.
//
//   HOMEPOST_BIN=/path/to/homepost node remote.mjs

import assert from 'node:assert/strict';
import path from 'node:path';
import {
  OUT, PASSPHRASE, launchBrowser, startServer, watch, ensureOut, requireBin, axeCheck, freePort, skipWizard,
  SMALL_PHONE, fitsTheScreen, fullPageShot,
} from './lib.mjs';

const KITE = 'mybox.example.net';

const results = [];
let failures = 0;
let currentPage = null;
let shots = 0;

async function step(name, fn) {
  try {
    await fn();
    results.push(`ok   [remote] ${name}`);
    console.log(`ok   [remote] ${name}`);
  } catch (err) {
    failures += 1;
    results.push(`FAIL [remote] ${name}: ${err.message.split('\n')[0]}`);
    console.log(`FAIL [remote] ${name}\n${err.stack}`);
    if (currentPage) await currentPage.screenshot({ path: path.join(OUT, `remote-failed-${shots += 1}.png`), fullPage: true }).catch(() => {});
  }
}

/** A numbered screenshot of the page or the open sheet. */
async function shot(page, name) {
  shots += 1;
  await fullPageShot(page, path.join(OUT, `remote-phone-${String(shots).padStart(2, '0')}-${name}.png`));
}

/** GET /api/v1/remote from the page (its session cookie). */
function remote(page) {
  return page.evaluate(async () => (await fetch('/api/v1/remote', { cache: 'no-store' })).json());
}

/** The server's words as the page shows them (remote-relay.js `sentence`). */
function sentence(text) {
  const t = String(text || '').trim();
  return t ? `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}` : '';
}

/** Waits until `check()` resolves truthy (polled), or fails with `what`. */
async function eventually(what, check, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} (last: ${JSON.stringify(last)})`);
}

async function main() {
  requireBin();
  await ensureOut();
  const started = Date.now();
  const server = await startServer('remote');
  const browser = await launchBrowser();
  const context = await browser.newContext(SMALL_PHONE);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
  const watcher = watch(context, 'remote');
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  currentPage = page;
  const relaySection = page.locator('section[aria-labelledby="relay-title"]');
  const onionSection = page.locator('section[aria-labelledby="onion-title"]');
  const heading = page.getByRole('heading', { name: 'Remote access', level: 1 });
  try {
    await step('the drawer leads to Remote access; nothing is set up', async () => {
      await page.goto(`${server.base}/`);
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Create vault' }).click();
      await skipWizard(page);
      await page.getByRole('button', { name: 'Tags and folders' }).click();
      await page.locator('hp-mail[data-drawer="open"]').waitFor();
      await page.locator('#drawer').getByRole('link', { name: 'Remote access' }).click();
      await heading.waitFor();
      await page.locator('hp-mail[data-drawer="closed"]').waitFor();
      assert.equal(new URL(page.url()).hash, '#/remote');
      await relaySection.getByText('No relay is set up.').waitFor();
      assert.equal(await page.locator('#drawer a[data-page="remote"]').getAttribute('aria-current'), 'page');
      await shot(page, 'empty');
      await fitsTheScreen(page, 'the empty page', 'hp-remote');
      await axeCheck(page, 'remote access, nothing set up');
      await onionSection.getByText('The onion service is off.').waitFor();
    });

    await step('the Settings sheet leads there too, and the heading gets the focus', async () => {
      await page.evaluate(() => { window.location.hash = '#/search?q=in%3Ainbox'; });
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      await page.getByRole('button', { name: 'Tags and folders' }).click();
      await page.getByRole('button', { name: 'Settings', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Settings' });
      await dialog.getByRole('link', { name: /Remote access/ }).click();
      await heading.waitFor();
      await dialog.waitFor({ state: 'detached' });
      await page.locator('hp-mail[data-drawer="closed"]').waitFor();
      await eventually('the page heading has the focus',
        () => page.evaluate(() => document.activeElement && document.activeElement.matches('hp-remote h1')));
    });

    const closed = await freePort();
    await step('a relay to a frontend that does not answer: address, fingerprint in pairs, status and message', async () => {
      await relaySection.getByLabel('Relay address').fill(`127.0.0.1:${closed}`);
      await relaySection.getByLabel('Name of your box').fill(KITE);
      await relaySection.getByLabel('Kite secret').fill('kite-secret-for-the-test');
      await relaySection.getByRole('button', { name: 'Set up relay' }).click();
      await relaySection.getByRole('link', { name: `https://${KITE}/` }).waitFor();
      const pk = (await remote(page)).pagekite;
      assert.equal(pk.frontend, `127.0.0.1:${closed}`);
      assert.equal(pk.url, `https://${KITE}/`);
      assert.equal(pk.own_certificate, false);
      assert.equal(pk.fingerprint.length, 95, pk.fingerprint);
      const pairs = await relaySection.locator('.fp-pairs li').allTextContents();
      assert.equal(pairs.length, 32);
      assert.equal(pairs.join(':'), pk.fingerprint.toUpperCase());
      await relaySection.getByText('compare its SHA-256 fingerprint').waitFor();
      assert.equal(await relaySection.locator('.remote-facts dd.remote-mono').textContent(), `127.0.0.1:${closed}`);
      // The state line is a polite live region, and says what the server says.
      const live = relaySection.locator('#relay-state');
      assert.equal(await live.getAttribute('role'), 'status');
      assert.equal(await live.getAttribute('aria-live'), 'polite');
      const seen = await eventually('the page shows the state and message the server has', async () => {
        const now = (await remote(page)).pagekite;
        const badge = await live.locator('.state-badge').textContent();
        const message = await relaySection.locator('#relay-message').textContent();
        const words = { connecting: 'Connecting', disconnected: 'Not connected' }[now.state];
        return words && badge === words && message === sentence(now.message) ? { state: now.state, message } : null;
      });
      assert.ok(['connecting', 'disconnected'].includes(seen.state), seen.state);
      assert.ok(seen.message.length > 10, seen.message);
      await shot(page, 'relay');
      await fitsTheScreen(page, 'the relay', 'hp-remote');
      await axeCheck(page, 'remote access, relay set up');
    });

    await step('the page polls GET /remote every few seconds while it is open', async () => {
      const count = () => watcher.responses.filter((r) => r.path === '/api/v1/remote').length;
      const before = count();
      await page.mouse.move(10, 10); // someone is there: the poller runs
      await page.waitForTimeout(7000);
      const polls = count() - before;
      assert.ok(polls >= 2 && polls <= 5, `${polls} polls in 7 s`);
    });

    await step('a bad kite name shows the server\u2019s error beside the form', async () => {
      await relaySection.getByRole('button', { name: 'Change\u2026' }).click();
      await relaySection.getByRole('heading', { name: 'Change the relay' }).waitFor();
      await relaySection.getByLabel('Name of your box').fill('not a kite name!');
      const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/remote/pagekite') && r.request().method() === 'PUT');
      await relaySection.getByRole('button', { name: 'Save' }).click();
      const res = await answer;
      assert.equal(res.status(), 400);
      const { error } = await res.json();
      assert.equal(error.code, 'bad_settings');
      const alert = relaySection.locator('form').getByRole('alert');
      await alert.waitFor();
      assert.equal(await alert.textContent(), sentence(error.message));
      await eventually('the error line has the focus', () => page.evaluate(() => document.activeElement.matches('.remote-form .form-error')));
      assert.equal((await remote(page)).pagekite.kite, KITE);
      // The poll does not take the form away from under the typing.
      await page.waitForTimeout(3500);
      assert.equal(await relaySection.getByLabel('Name of your box').inputValue(), 'not a kite name!');
      await fitsTheScreen(page, 'the change form with its error', 'hp-remote');
    });

    const closed2 = await freePort();
    await step('the relay\u2019s address changes without retyping the secret', async () => {
      await relaySection.getByLabel('Name of your box').fill(KITE);
      await relaySection.getByLabel('Relay address').fill(`127.0.0.1:${closed2}`);
      assert.equal(await relaySection.getByLabel('Kite secret').inputValue(), '');
      await relaySection.getByText('A secret is saved. Leave this empty to keep it').waitFor();
      const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/remote/pagekite') && r.request().method() === 'PUT');
      await relaySection.getByRole('button', { name: 'Save' }).click();
      const res = await answer;
      assert.equal(res.status(), 200);
      assert.deepEqual(JSON.parse(res.request().postData()), { frontend: `127.0.0.1:${closed2}`, kite: KITE });
      await relaySection.locator('.remote-facts dd.remote-mono').getByText(`127.0.0.1:${closed2}`).waitFor();
      const pk = (await remote(page)).pagekite;
      assert.equal(pk.frontend, `127.0.0.1:${closed2}`);
      await eventually('the new relay is tried',
        async () => ['connecting', 'disconnected'].includes((await remote(page)).pagekite.state));
    });

    await step('removing the relay asks first, then shows the empty setup form', async () => {
      await relaySection.getByRole('button', { name: 'Remove relay\u2026' }).click();
      let dialog = page.getByRole('dialog', { name: 'Remove the relay?' });
      await dialog.getByText(`https://${KITE}/ no longer reaches it`).waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.ok((await remote(page)).pagekite, 'Cancel removed the relay');
      await relaySection.getByRole('button', { name: 'Remove relay\u2026' }).click();
      dialog = page.getByRole('dialog', { name: 'Remove the relay?' });
      await dialog.getByRole('button', { name: 'Remove relay' }).click();
      await relaySection.getByText('No relay is set up.').waitFor();
      for (const label of ['Relay address', 'Name of your box', 'Kite secret']) {
        assert.equal(await relaySection.getByLabel(label).inputValue(), '', label);
      }
      await relaySection.getByRole('button', { name: 'Set up relay' }).waitFor();
      assert.equal((await remote(page)).pagekite, null);
    });

    let address = null;
    await step('the onion service turned on: its .onion address, QR image and status', async () => {
      await onionSection.getByRole('button', { name: 'Turn on the onion service' }).click();
      const shown = onionSection.locator('#onion-address');
      await shown.waitFor();
      address = await shown.textContent();
      assert.match(address, /^[a-z2-7]{56}\.onion$/);
      const onion = (await remote(page)).onion;
      assert.equal(onion.address, address);
      assert.equal(onion.url, `http://${address}/`);
      const qr = onionSection.locator('img.qr');
      await eventually('the QR image loads', () => qr.evaluate((img) => img.complete && img.naturalWidth > 0));
      assert.ok((await qr.getAttribute('src')).startsWith('data:image/svg+xml'));
      assert.match(await qr.getAttribute('alt'), /QR code of the address/);
      // No Tor network here: it stays starting; the page says what the server says.
      const seen = await eventually('the page shows the state and message the server has', async () => {
        const now = (await remote(page)).onion;
        const badge = await onionSection.locator('.remote-state .state-badge').textContent();
        const message = await onionSection.locator('.remote-message').textContent();
        const words = { starting: 'Starting', publishing: 'Publishing' }[now.state];
        return words && badge === words && message === sentence(now.message) ? { state: now.state, message } : null;
      });
      assert.ok(seen.message.length > 5, seen.message);
      await shot(page, 'onion');
      await fitsTheScreen(page, 'the onion service', 'hp-remote');
      await axeCheck(page, 'remote access, onion service on');
    });

    await step('pairing a device shows its key once and lists the device', async () => {
      await onionSection.getByLabel('Name of the device to pair').fill('Anna\u2019s phone');
      const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/remote/onion/clients') && r.request().method() === 'POST');
      await onionSection.getByRole('button', { name: 'Pair a device' }).click();
      const res = await answer;
      assert.equal(res.status(), 201);
      const paired = await res.json();
      assert.match(paired.key, /^[A-Z2-7]{52}$/);
      assert.match(paired.auth_private, /^[a-z2-7]{56}:descriptor:x25519:[A-Z2-7]{52}$/);
      const dialog = page.getByRole('dialog', { name: 'Key for Anna\u2019s phone' });
      await dialog.waitFor();
      assert.equal(await dialog.locator('#pair-key').textContent(), paired.key);
      await eventually('the key\u2019s QR image loads',
        () => dialog.locator('img.qr').evaluate((img) => img.complete && img.naturalWidth > 0));
      await dialog.getByRole('button', { name: 'Copy key' }).click();
      await dialog.getByText('Key copied.').waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), paired.key);
      await dialog.getByText('For Orbot, or Tor on a computer').click();
      assert.equal(await dialog.getByLabel('The key as a line for Orbot or Tor').inputValue(), paired.auth_private);
      await shot(page, 'paired-key');
      await fitsTheScreen(page, 'the key sheet', 'hp-remote');
      await axeCheck(page, 'the key of a paired device');
      await dialog.getByRole('button', { name: 'Done: the key is on the device' }).click();
      await dialog.waitFor({ state: 'detached' });
      const row = onionSection.locator('.device').filter({ hasText: 'Anna\u2019s phone' });
      await row.waitFor();
      await page.waitForTimeout(3500); // a poll: the device stays, the key does not come back
      assert.equal(await row.count(), 1);
      assert.ok(!(await page.content()).includes(paired.key), 'the key is still on the page');
      const onion = (await remote(page)).onion;
      assert.deepEqual(onion.clients.map((c) => c.name), ['Anna\u2019s phone']);
      assert.ok(!JSON.stringify(onion).includes(paired.key), 'GET /remote shows the key');
    });

    await step('unpairing asks, then removes the device', async () => {
      const row = onionSection.locator('.device').filter({ hasText: 'Anna\u2019s phone' });
      await row.getByRole('button', { name: 'Unpair\u2026' }).click();
      const dialog = page.getByRole('dialog', { name: 'Unpair Anna\u2019s phone?' });
      await dialog.getByRole('button', { name: 'Unpair' }).click();
      await row.waitFor({ state: 'detached' });
      await onionSection.getByText('No device is paired yet.').waitFor();
      assert.deepEqual((await remote(page)).onion.clients, []);
    });

    await step('"only paired devices" with no device paired warns, and is on', async () => {
      const toggle = onionSection.getByRole('switch', { name: 'Only paired devices can find the box' });
      assert.equal(await toggle.isChecked(), false);
      await toggle.click();
      const dialog = page.getByRole('dialog', { name: 'No device is paired yet' });
      await dialog.getByText('no device can reach the box').waitFor();
      await dialog.getByRole('button', { name: 'Turn it on anyway' }).click();
      const warning = onionSection.locator('#onion-warning');
      await warning.getByText('No device is paired, so no device can reach the box through Tor now.').waitFor();
      assert.equal(await warning.getAttribute('role'), 'alert');
      await eventually('the switch shows on', () => toggle.isChecked());
      assert.equal((await remote(page)).onion.restricted, true);
      await shot(page, 'restricted');
      await fitsTheScreen(page, 'restricted with no device', 'hp-remote');
      await axeCheck(page, 'remote access, restricted with no device');
    });

    await step('turning the onion service off asks, then shows it off', async () => {
      await onionSection.getByRole('button', { name: 'Turn off the onion service\u2026' }).click();
      const dialog = page.getByRole('dialog', { name: 'Turn off the onion service?' });
      await dialog.getByRole('button', { name: 'Turn off' }).click();
      await onionSection.getByText('The onion service is off.').waitFor();
      assert.equal((await remote(page)).onion, null);
    });
  } finally {
    const problems = [...watcher.problems, ...watcher.external.map((u) => `request left the box: ${u}`)];
    if (problems.length > 0) {
      failures += 1;
      results.push(`FAIL [remote] console errors, CSP violations or requests elsewhere: ${problems.join('; ')}`);
    } else {
      results.push('ok   [remote] no console error, no CSP violation, no request elsewhere');
    }
    await browser.close();
    await server.stop();
    results.push(`     [remote] ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

main().catch((err) => {
  failures += 1;
  results.push(`FAIL [remote] ${err.message}`);
}).finally(() => {
  console.log(`\n${results.join('\n')}`);
  process.exitCode = failures > 0 ? 1 : 0;
});
