// Shared by the browser tests: the Chromium launch, a server started from
// $HOMEPOST_BIN on a free loopback port, and the watchers that fail a run on a CSP
// violation, an uncaught error or a request that leaves 127.0.0.1.

import assert from 'node:assert/strict';
import { spawn, execFile, execFileSync } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '../..');
export const OUT = process.env.E2E_OUT || path.join(HERE, 'out');
/** The corpora live beside the clone (see tests/run). */
export const CORPUS = path.resolve(REPO, '../shared/corpus');
export const PASSPHRASE = process.env.E2E_PASSPHRASE || 'correct horse battery staple';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export const PHONE = {
  viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0.0.0 Mobile Safari/537.36',
};
/** A small phone (360x740, touch): the width every page must fit. */
export const SMALL_PHONE = { ...PHONE, viewport: { width: 360, height: 740 } };

/**
 * Fails when anything of the page `scope` (a selector, e.g. 'hp-backups') or an
 * open dialog reaches past the right edge of the screen, or the page scrolls sideways.
 */
export async function fitsTheScreen(page, what, scope) {
  const wide = await page.evaluate((sel) => {
    const width = window.innerWidth;
    const out = [];
    if (document.documentElement.scrollWidth > width) out.push(`the page is ${document.documentElement.scrollWidth}px wide`);
    const pane = document.querySelector('.page-pane');
    if (pane && pane.scrollWidth > pane.clientWidth) out.push(`the page pane scrolls sideways (${pane.scrollWidth}px)`);
    for (const el of document.querySelectorAll(`${sel} *, dialog[open] *`)) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > width + 1 && !el.closest('.visually-hidden, .clipboard-scratch')) {
        out.push(`${el.tagName.toLowerCase()}.${el.className} ends at ${Math.round(r.right)}px`);
      }
    }
    return out.slice(0, 5);
  }, scope);
  assert.deepEqual(wide, [], `${what}: wider than the ${page.viewportSize().width}px screen`);
}

/**
 * A screenshot into `file`: the open sheet as it is, or else the whole page
 * (it scrolls inside its pane), the window made as tall as the page for it and
 * then put back to `viewport`.
 */
export async function fullPageShot(page, file, viewport = SMALL_PHONE.viewport) {
  if (await page.locator('dialog[open]').count()) {
    await page.screenshot({ path: file });
    return;
  }
  const tall = await page.evaluate(() => document.querySelector('.page-pane').scrollHeight
    + document.querySelector('.topbar').offsetHeight);
  await page.setViewportSize({ width: viewport.width, height: Math.max(tall, viewport.height) });
  await page.waitForTimeout(100);
  await page.screenshot({ path: file });
  await page.setViewportSize(viewport);
}

export const DESKTOP = { viewport: { width: 1280, height: 800 } };

const run = promisify(execFile);

export function requireBin() {
  const bin = process.env.HOMEPOST_BIN;
  if (!bin) throw new Error('HOMEPOST_BIN must name the homepost binary');
  return bin;
}

/**
 * Makes `context`'s pages show the list as single messages (the Settings'
 * choice, in localStorage) instead of conversations, the default: for the flows
 * that test what is done to one message row. conversations.mjs tests the default.
 */
export async function singleMessages(context) {
  await context.addInitScript(() => {
    try {
      if (!window.localStorage.getItem('homepost.grouping')) window.localStorage.setItem('homepost.grouping', 'messages');
    } catch {
      // storage off: the app's default applies
    }
  });
}

/**
 * After "Create vault" in the app: the rest of the first-run wizard skipped (no
 * account, no remote access; wizard.mjs tests it) when the box shows it, then the inbox.
 */
export async function skipWizard(page) {
  const account = page.getByRole('heading', { name: 'Connect your mail account', level: 1 });
  const inbox = page.getByRole('heading', { name: 'Inbox', level: 1 });
  await inbox.or(account).waitFor();
  if (await account.isVisible()) {
    await page.getByRole('button', { name: 'Skip, I\u2019ll import mail instead' }).click();
    await page.getByRole('button', { name: 'Not now' }).click();
    await page.getByRole('button', { name: 'Open my inbox' }).click();
  }
  await inbox.waitFor();
}

export async function launchBrowser(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * A browser whose default profile is the returned context (so tabs opened by
 * another client over --remote-debugging-port share its cookies). Returns
 * {context, close()}; the profile lives in a temporary directory.
 */
export async function launchPersistent(extraArgs = [], options = {}) {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'homepost-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs], ...options,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** This machine's first non-loopback IPv4 address (to reach a box as a phone on the LAN would). */
export function lanAddress() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  throw new Error('this test needs a non-loopback IPv4 address to reach the box from (none found)');
}

/** Polls `fn` every 100 ms until it returns something truthy (returned), or fails after `ms`. */
export async function until(what, ms, fn) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => { setTimeout(r, 100); });
  }
}

/** `n` different free loopback ports, held together while picked. */
export async function freePorts(n) {
  const held = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  })));
  const ports = held.map((s) => s.address().port);
  await Promise.all(held.map((s) => new Promise((r) => { s.close(r); })));
  return ports;
}

/** Whether an IMAP greeting comes on `port` (plain IMAP: the ports answer before Dovecot's auth is ready). */
function imapGreets(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(2000, () => { s.destroy(); resolve(false); });
    s.on('data', (d) => { s.destroy(); resolve(/^\* OK/.test(String(d))); });
    s.on('error', () => resolve(false));
  });
}

/**
 * Dovecot (tests/peers/dovecot-up) in `home`, on free ports, in a process group of
 * its own; resolves once it greets on IMAP. Returns {imap, imaps, pop3, pop3s, home,
 * cert, key, maildir(user), deliver(user, raw), stop()}.
 */
export async function startDovecot(home) {
  const peers = path.join(REPO, 'tests/peers');
  const [imap, imaps, pop3, pop3s] = await freePorts(4);
  const dovecot = spawn(path.join(peers, 'dovecot-up'), [home, imap, imaps, pop3, pop3s].map(String),
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  dovecot.stderr.on('data', (d) => { stderr += d; });
  const stop = async () => {
    try {
      process.kill(-dovecot.pid, 'SIGTERM');
    } catch {
      // gone already
    }
    await new Promise((r) => { setTimeout(r, 300); });
  };
  const cert = path.join(home, 'cert.pem');
  const end = Date.now() + 30000;
  for (;;) {
    if (dovecot.exitCode !== null) {
      await stop();
      throw new Error(`dovecot-up exited: ${stderr}`);
    }
    if (existsSync(cert) && await imapGreets(imap)) break;
    if (Date.now() > end) {
      await stop();
      throw new Error(`Dovecot did not greet on IMAP: ${stderr}`);
    }
    await new Promise((r) => { setTimeout(r, 100); });
  }
  return {
    imap, imaps, pop3, pop3s, home, cert, key: path.join(home, 'key.pem'), stop,
    maildir: (user) => path.join(home, 'home', user, 'Maildir'),
    deliver: (user, raw) => execFileSync(path.join(peers, 'deliver'), [home, user, '-'], { input: raw }),
  };
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Waits until GET /api/v1/status answers (any JSON), or fails after `ms`; returns
 * null early once `gone()` says the server process has exited.
 */
export async function waitForServer(base, ms = 30000, gone = () => false) {
  const end = Date.now() + ms;
  let last = null;
  while (Date.now() < end) {
    if (gone()) return null;
    try {
      const res = await fetch(`${base}/api/v1/status`);
      if (res.ok) return res.json();
      last = new Error(`status ${res.status}`);
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server at ${base} did not answer: ${last && last.message}`);
}

/**
 * Starts `homepost serve` on a fresh data dir; returns {base, dir, stop()}.
 * `prepare(dir)`, if given, runs first (e.g. the CLI making the vault and its mail);
 * `args` are more options of `serve` (e.g. `--key-lookup off`).
 */
export async function startServer(label, { prepare = null, args = [] } = {}) {
  const bin = requireBin();
  const dir = await mkdtemp(path.join(os.tmpdir(), `homepost-e2e-${label}-`));
  if (prepare) {
    try {
      await prepare(dir);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
  await mkdir(OUT, { recursive: true });
  // The free port can be taken by another process before the server binds it: a
  // server that exits before it answers is started again on another port.
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const logPath = path.join(OUT, `server-${label}.log`);
    const log = openSync(logPath, 'w');
    const child = spawn(bin, ['--data', dir, 'serve', '--listen', `127.0.0.1:${port}`, '--kdf', 'insecure-test-only', ...args],
      { stdio: ['ignore', log, log] });
    closeSync(log); // the child has its own copy
    let exited = null;
    child.on('exit', (code) => { exited = code ?? -1; });
    try {
      await waitForServer(base, 60000, () => exited !== null);
    } catch (err) {
      child.kill('SIGTERM');
      throw err;
    }
    if (exited !== null) {
      const text = await readFile(logPath, 'utf8').catch(() => '');
      if (attempt < 3 && /address already in use/i.test(text)) continue;
      throw new Error(`homepost serve exited (${exited}) before answering:\n${text}`);
    }
    return serverHandle(base, dir, child, () => exited);
  }
}

/** What `startServer` returns: the address, the data directory and `stop()`. */
function serverHandle(base, dir, child, exited) {
  return {
    base,
    dir,
    async stop() {
      if (exited() === null) {
        child.kill('SIGTERM');
        await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000); });
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `homepost --data DIR ARGS…` with the test passphrase (and `env`); resolves to
 * {stdout, stderr}, rejects when it fails. With a server on DIR, it must be locked.
 */
export async function homepostCli(dir, args, env = {}) {
  const bin = requireBin();
  return run(bin, ['--data', dir, ...args], {
    env: { ...process.env, HOMEPOST_PASSPHRASE: PASSPHRASE, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** Imports mail with the CLI (the server must be locked). */
export async function importMail(dir, paths) {
  const { stdout, stderr } = await homepostCli(dir, ['import', ...paths]);
  return `${stdout}${stderr}`.trim();
}

/**
 * Runs axe-core (WCAG 2.1 A and AA) on the page in the light and the dark theme and
 * fails on any violation. Lighthouse sees only the light one; contrast in dark mode
 * is checked here. The script goes in through the DevTools protocol, so the page's
 * CSP stays on.
 */
export async function axeCheck(page, what) {
  const source = await axeSource();
  const found = [];
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    await page.evaluate(source);
    const violations = await page.evaluate(async () => {
      const r = await window.axe.run(document, {
        runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
      });
      return r.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    });
    found.push(...violations.map((v) => `${what}, ${colorScheme}: ${v}`));
  }
  await page.emulateMedia({ colorScheme: null });
  if (found.length) throw new Error(`axe found accessibility problems:\n${found.join('\n')}`);
}

let axeText = null;
async function axeSource() {
  if (axeText === null) {
    axeText = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  }
  return axeText;
}

/**
 * Watches a browser context: CSP violations (from the page's own
 * `securitypolicyviolation` events and the console), uncaught errors, console
 * errors, and every request to a host other than 127.0.0.1.
 * `expectedStatus(url, status)` tells which failed requests a test provoked on purpose.
 */
export function watch(context, label) {
  const problems = [];
  const external = [];
  const responses = [];
  let requests = 0;
  context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  const onRequest = (request) => {
    requests += 1;
    const url = new URL(request.url());
    if (url.protocol === 'data:' || url.protocol === 'blob:' || url.protocol === 'about:') return;
    if (url.hostname !== '127.0.0.1') external.push(request.url());
  };
  context.on('request', onRequest);
  context.on('response', (response) => {
    responses.push({ path: new URL(response.url()).pathname, status: response.status() });
  });
  const attach = (page) => {
    page.on('pageerror', (err) => {
      // Where it happened: the first frame of the stack.
      const at = String(err.stack || '').split('\n').find((l) => /^\s+at /.test(l));
      problems.push(`[${label}] uncaught error: ${err.message}${at ? ` (${at.trim()})` : ''}`);
    });
    page.on('console', (msg) => {
      const text = msg.text();
      if (/Content[- ]Security[- ]Policy|CSP violation|Refused to (load|execute|apply|frame|connect)/i.test(text)) {
        problems.push(`[${label}] CSP: ${text}`);
      } else if (msg.type() === 'error' && !/Failed to load resource: (the server responded with a status of (400|401|403|404|409|429)|net::ERR_INTERNET_DISCONNECTED|net::ERR_CONNECTION_REFUSED)/.test(text)) {
        problems.push(`[${label}] console error: ${text}`);
      }
    });
  };
  context.on('page', attach);
  for (const page of context.pages()) attach(page);
  return {
    problems,
    external,
    /** {path, status} of every response seen, in order. */
    responses,
    get requests() { return requests; },
  };
}

export async function ensureOut() {
  await mkdir(OUT, { recursive: true });
}

/**
 * The named steps of one stage. Each outcome is logged and kept for the stage's
 * summary; a failing step screenshots the stage's current page (`page`, when the
 * stage names a `failedShot` file) and is thrown on. `run` is bound, so a stage
 * can call it as a plain `step(name, fn)`.
 */
export class Steps {
  constructor(label, failedShot = null) {
    this.label = label;
    this.failedShot = failedShot;
    this.results = [];
    this.failures = 0;
    this.page = null;
    this.run = this.run.bind(this);
  }

  async run(name, fn) {
    try {
      await fn();
      this.results.push(`ok   [${this.label}] ${name}`);
      console.log(`ok   [${this.label}] ${name}`);
    } catch (err) {
      this.fail(`${name}: ${err.message}`);
      console.log(`FAIL [${this.label}] ${name}\n${err.stack}`);
      if (this.page && this.failedShot) {
        await this.page.screenshot({ path: path.join(OUT, this.failedShot) }).catch(() => {});
      }
      throw err;
    }
  }

  /** Records a failure found outside a step (the watcher's findings, setup). */
  fail(message) {
    this.failures += 1;
    this.results.push(`FAIL [${this.label}] ${message}`);
  }
}
