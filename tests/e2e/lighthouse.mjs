// Lighthouse 11 (PWA + accessibility) on the unlocked app, at phone and desktop
// size, and on the unlock screen. Lighthouse connects to the Chromium that
// Playwright launched (--remote-debugging-port), so the session cookie set by
// unlocking in that browser is there when Lighthouse loads the page.
//
//   HOMEPOST_BIN=... [HOMEPOST_URL=http://127.0.0.1:PORT HOMEPOST_DATA=DIR] node lighthouse.mjs
//
// Without HOMEPOST_URL it starts its own server and imports a small mbox first.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import lighthouse from 'lighthouse';
import {
  OUT, CORPUS, PASSPHRASE, launchPersistent, freePort, startServer, importMail, ensureOut, watch,
} from './lib.mjs';

/** The PWA audits of Lighthouse 11 that can pass or fail (the rest are manual). */
const PWA_AUDITS = [
  'installable-manifest', 'splash-screen', 'themed-omnibox', 'content-width', 'viewport', 'maskable-icon',
];
const MIN_ACCESSIBILITY = 0.95;

const DESKTOP_FLAGS = {
  formFactor: 'desktop',
  screenEmulation: { mobile: false, width: 1280, height: 800, deviceScaleFactor: 1, disabled: false },
};

/** Brings the server into the wanted state through the API, inside the browser (its cookie jar). */
async function setState(page, base, want) {
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.querySelector('hp-app main'));
  return page.evaluate(async ({ want: w, passphrase }) => {
    const json = async (res) => (res.status === 204 ? null : res.json());
    const status = await json(await fetch('/api/v1/status'));
    if (w === 'unlocked') {
      if (status.state === 'no_vault') {
        const made = await json(await fetch('/api/v1/vault', {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ passphrase }),
        }));
        // The mail, not the first-run wizard (wizard.mjs audits that with axe).
        await fetch('/api/v1/setup', {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': made.csrf_token },
          body: JSON.stringify({ step: 'done' }),
        });
      } else if (!(status.state === 'unlocked' && status.session)) {
        const res = await fetch('/api/v1/session', {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ passphrase }),
        });
        if (!res.ok) throw new Error(`unlock failed: ${res.status} ${await res.text()}`);
      }
    } else if (w === 'locked' && status.state === 'unlocked' && status.session) {
      const { csrf_token: token } = await json(await fetch('/api/v1/session'));
      await fetch('/api/v1/lock', { method: 'POST', headers: { 'X-CSRF-Token': token } });
    }
    return json(await fetch('/api/v1/status'));
  }, { want, passphrase: PASSPHRASE });
}

async function audit(name, base, port, flags, watcher, expectMail) {
  const seen = watcher.responses.length;
  const result = await lighthouse(`${base}/`, {
    port,
    output: ['html', 'json'],
    logLevel: 'error',
    onlyCategories: ['pwa', 'accessibility'],
    disableStorageReset: true, // keep the session cookie of the unlocked browser
    throttlingMethod: 'provided',
    ...flags,
  });
  const [html, json] = result.report;
  const htmlPath = path.join(OUT, `lighthouse-${name}.html`);
  const jsonPath = path.join(OUT, `lighthouse-${name}.json`);
  await writeFile(htmlPath, html);
  await writeFile(jsonPath, json);
  const lhr = result.lhr;
  const problems = [];
  if (lhr.runtimeError) problems.push(`runtime error: ${lhr.runtimeError.message}`);
  const a11y = lhr.categories.accessibility.score;
  const pwa = lhr.categories.pwa.score;
  console.log(`${name}: accessibility ${Math.round(a11y * 100)}, pwa ${Math.round(pwa * 100)}`);
  console.log(`     ${path.relative(process.cwd(), htmlPath)}\n     ${path.relative(process.cwd(), jsonPath)}`);
  // Make sure Lighthouse saw the screen meant: the mail list (conversations, or
  // single messages) loads only when unlocked.
  const lists = new Set(['/api/v1/conversations', '/api/v1/search']);
  const searched = watcher.responses.slice(seen).some((r) => lists.has(r.path) && r.status === 200);
  if (searched !== expectMail) {
    problems.push(expectMail ? 'Lighthouse did not see the unlocked mail view' : 'Lighthouse saw mail, not the unlock screen');
  }
  if (a11y < MIN_ACCESSIBILITY) problems.push(`accessibility ${a11y} < ${MIN_ACCESSIBILITY}`);
  for (const ref of lhr.categories.accessibility.auditRefs) {
    const a = lhr.audits[ref.id];
    if (ref.weight > 0 && a.score !== null && a.score < 1) {
      const items = (a.details && a.details.items) || [];
      const where = items.slice(0, 3).map((i) => (i.node && (i.node.snippet || i.node.selector)) || '').join(' | ');
      problems.push(`a11y audit ${ref.id} failed: ${a.title} ${where}`);
    }
  }
  for (const id of PWA_AUDITS) {
    const a = lhr.audits[id];
    if (!a) {
      problems.push(`PWA audit ${id} missing from the report`);
    } else if (a.scoreDisplayMode === 'notApplicable') {
      console.log(`     n/a  ${id} (not applicable to ${flags.formFactor || 'mobile'})`);
    } else if (a.score !== 1) {
      const items = (a.details && a.details.items) || [];
      const why = items.map((i) => i.reason || i.errorId || '').filter(Boolean).join('; ');
      problems.push(`PWA audit ${id} did not pass: ${a.title} ${a.explanation || ''} ${why}`.trim());
    } else {
      console.log(`     pass ${id}`);
    }
  }
  return { name, a11y, pwa, problems };
}

async function main() {
  await ensureOut();
  let server;
  if (process.env.HOMEPOST_URL) {
    server = { base: process.env.HOMEPOST_URL, stop: async () => {} };
  } else {
    server = await startServer('lighthouse');
    // Some real mail, so the list is not empty: create the vault, lock, import.
    await fetch(`${server.base}/api/v1/vault`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ passphrase: PASSPHRASE }),
    }).then(async (res) => {
      const { csrf_token: token } = await res.json();
      const cookie = (res.headers.get('set-cookie') || '').split(';')[0];
      // The mail, not the first-run wizard (wizard.mjs audits that with axe).
      await fetch(`${server.base}/api/v1/setup`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token, Cookie: cookie },
        body: JSON.stringify({ step: 'done' }),
      });
      await fetch(`${server.base}/api/v1/lock`, { method: 'POST', headers: { 'X-CSRF-Token': token, Cookie: cookie } });
    });
    await importMail(server.dir, [path.join(CORPUS, 'mail/mailpile/tests.mbx')]);
  }

  const port = await freePort();
  const browser = await launchPersistent([`--remote-debugging-port=${port}`], { viewport: null });
  const { context } = browser;
  const watcher = watch(context, 'lighthouse');
  const page = await context.newPage();
  const runs = [];
  try {
    const state = await setState(page, server.base, 'unlocked');
    assert.equal(state.state, 'unlocked');
    assert.equal(state.session, true, 'no session in the browser Lighthouse uses');
    // Let the service worker install, as on a second visit.
    await page.reload();
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.locator('hp-message-list li.msg-row, .list-empty').first().waitFor();

    runs.push(await audit('mobile', server.base, port, {}, watcher, true));
    runs.push(await audit('desktop', server.base, port, DESKTOP_FLAGS, watcher, true));
    const locked = await setState(page, server.base, 'locked');
    assert.equal(locked.state, 'locked');
    runs.push(await audit('unlock-screen', server.base, port, {}, watcher, false));
  } finally {
    await browser.close();
    await server.stop();
  }

  let failed = false;
  console.log('\n== lighthouse summary');
  for (const r of runs) {
    console.log(`${r.name}: accessibility ${Math.round(r.a11y * 100)} (min ${MIN_ACCESSIBILITY * 100}), pwa ${Math.round(r.pwa * 100)}`);
    for (const p of r.problems) {
      failed = true;
      console.log(`  FAIL ${p}`);
    }
  }
  if (watcher.problems.length) {
    failed = true;
    for (const p of watcher.problems) console.log(`  FAIL ${p}`);
  }
  if (watcher.external.length) {
    failed = true;
    console.log(`  FAIL requests left 127.0.0.1: ${watcher.external.join(' ')}`);
  }
  if (failed) process.exit(1);
  console.log('lighthouse: all checks passed');
}

await main();
