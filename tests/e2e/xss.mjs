// Every XSS payload of ../shared/corpus/xss, sent as an HTML mail, imported with the
// CLI and opened in the PWA in real headless Chromium, in the text view and in the
// formatted view (the server's sanitised HTML in a sandboxed iframe), must execute
// no script and make no network request. The run stops at the first payload that
// does, and says which one and what happened.
//
//   HOMEPOST_BIN=/path/to/homepost node xss.mjs
//
// It starts its own server (fresh data directory). XSS_SETTLE_MS (default 50) is how
// long to keep watching after the formatted view's load event; XSS_TIMING=1 prints
// the time taken by each message.
//
// Payloads: DOMPurify's test/fixtures/expect.json (every `payload`), the h5sc
// (html5sec.org) vectors, and the h5sc carrier files: test.html as an HTML body,
// test.svg as an inline body part (alone and cid-referenced from HTML) and as an
// attachment, test.eml as it is.
//
// How it watches, through the DevTools protocol (not through anything in the page,
// which would itself be a script in the frames under test):
// - scripts: `Debugger.scriptParsed` (and `scriptFailedToParse`) in the page and in
//   every target it spawns (the sandboxed iframe is an out-of-process frame in
//   current Chromium; child targets are auto-attached and held until the debugger
//   is on). Any script is a failure except the app's own modules (/js/... in the
//   top frame), its service worker, and Playwright's isolated utility world. An inline script, an event
//   handler, a javascript: URL or an eval all count, in any frame.
// - requests: Playwright's request events for the whole context and
//   `Network.requestWillBeSent` in every attached target. Allowed: the app's shell
//   and /api/v1/... requests from the top frame, and in the iframe only the
//   navigation to /api/v1/messages/<the message>/html. Anything else fails (data:
//   URLs are not requests); requests to other hosts are also aborted.
// - dialogs (alert, confirm, prompt, print), popups, uncaught errors, and console
//   messages saying the CSP or the sandbox blocked something (the sanitiser let it
//   through; the server's second wall caught it) also fail.
// A positive control proves the watchers see what they are meant to (see
// positiveControl: an inline script, an eval, an event handler and a javascript:
// URL in the top frame, an out-of-process and an in-process iframe, a foreign
// request, an alert, what the CSP and the sandbox block); and at the end, code evaluated in the app page and in its last
// formatted-view iframe must be seen by the watchers of that very page.

import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  OUT, CORPUS, PASSPHRASE, DESKTOP,
  launchBrowser, startServer, importMail, ensureOut, requireBin, skipWizard,
} from './lib.mjs';

const XSS = path.join(CORPUS, 'xss');
/** After the iframe's load event, how long to wait for late handlers (animations, toggles). */
const SETTLE_MS = Number(process.env.XSS_SETTLE_MS || 50);
const FROM = 'XSS corpus <xss-corpus@homepost.test>';

// ------------------------------------------------------------------ the mailbox

/** `data` as base64 in lines of 76 characters. */
function base64Lines(data) {
  return Buffer.from(data).toString('base64').replace(/.{76}/g, '$&\n').replace(/\n?$/, '\n');
}

/** One message's headers (RFC 5322, LF line ends) for case number `seq`. */
function headers(seq, subject, messageId) {
  const date = new Date(Date.UTC(2024, 0, 1) + seq * 60000).toUTCString().replace('GMT', '+0000');
  return [
    `From: ${FROM}`,
    'To: Homepost test <test@homepost.test>',
    `Subject: ${subject}`,
    `Date: ${date}`,
    `Message-ID: <${messageId}@homepost.test>`,
    'MIME-Version: 1.0',
  ].join('\n');
}

/** A single-part HTML mail whose body is `html`, byte for byte (base64). */
function htmlMail(seq, subject, messageId, html) {
  return `${headers(seq, subject, messageId)}\nContent-Type: text/html; charset=utf-8\n`
    + `Content-Transfer-Encoding: base64\n\n${base64Lines(html)}`;
}

/** The h5sc carrier files, each wrapped as the brief says. */
async function carrierMails(seqStart) {
  const dir = path.join(XSS, 'h5sc');
  const html = await readFile(path.join(dir, 'test.html'));
  const svg = await readFile(path.join(dir, 'test.svg'));
  const eml = await readFile(path.join(dir, 'test.eml'));
  let seq = seqStart;
  const out = [];
  const add = (n, raw, snippet, subject = `xss h5sc-carrier ${n}`) => {
    out.push({ source: 'h5sc-carrier', n, subject, raw: Buffer.from(raw), snippet });
    seq += 1;
  };
  add('test.html', htmlMail(seq, `xss h5sc-carrier test.html`, 'xss-h5sc-carrier-test.html', html),
    html.toString('utf8'));
  add('test.svg-body',
    `${headers(seq, 'xss h5sc-carrier test.svg-body', 'xss-h5sc-carrier-test.svg-body')}\n`
    + 'Content-Type: image/svg+xml\nContent-Disposition: inline; filename="test.svg"\n'
    + `Content-Transfer-Encoding: base64\n\n${base64Lines(svg)}`,
    `(image/svg+xml body) ${svg}`);
  const b1 = 'xss-related-boundary';
  add('test.svg-inline',
    `${headers(seq, 'xss h5sc-carrier test.svg-inline', 'xss-h5sc-carrier-test.svg-inline')}\n`
    + `Content-Type: multipart/related; type="text/html"; boundary="${b1}"\n\n`
    + `--${b1}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n`
    + base64Lines('<p>test.svg inline:</p><img src="cid:test-svg@homepost.test" alt="test.svg">'
      + '<object data="cid:test-svg@homepost.test"></object>')
    + `--${b1}\nContent-Type: image/svg+xml\nContent-ID: <test-svg@homepost.test>\n`
    + 'Content-Disposition: inline; filename="test.svg"\n'
    + `Content-Transfer-Encoding: base64\n\n${base64Lines(svg)}--${b1}--\n`,
    `(multipart/related, inline part, cid) ${svg}`);
  const b2 = 'xss-mixed-boundary';
  add('test.svg-attachment',
    `${headers(seq, 'xss h5sc-carrier test.svg-attachment', 'xss-h5sc-carrier-test.svg-attachment')}\n`
    + `Content-Type: multipart/mixed; boundary="${b2}"\n\n`
    + `--${b2}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n`
    + base64Lines('<p>test.svg attached.</p>')
    + `--${b2}\nContent-Type: image/svg+xml; name="test.svg"\n`
    + 'Content-Disposition: attachment; filename="test.svg"\n'
    + `Content-Transfer-Encoding: base64\n\n${base64Lines(svg)}--${b2}--\n`,
    `(attachment) ${svg}`);
  // As it is: no Subject, no Message-ID (it is found as the one message left over).
  add('test.eml', eml, eml.toString('utf8'), null);
  return out;
}

/** Every case: {source, n, subject, raw, snippet}. */
async function buildCases() {
  const dompurify = JSON.parse(await readFile(path.join(XSS, 'dompurify/expect.json'), 'utf8'));
  const vectors = JSON.parse(await readFile(path.join(XSS, 'h5sc/vectors.json'), 'utf8'));
  assert.ok(Array.isArray(dompurify) && dompurify.length > 100, 'dompurify/expect.json: expected a list of payloads');
  assert.ok(Array.isArray(vectors) && vectors.length > 100, 'h5sc/vectors.json: expected a list of vectors');
  const cases = [];
  let seq = 0;
  dompurify.forEach((entry, i) => {
    assert.equal(typeof entry.payload, 'string', `dompurify ${i} has no payload`);
    const subject = `xss dompurify ${i}`;
    cases.push({ source: 'dompurify', n: i, subject, snippet: entry.payload,
      raw: Buffer.from(htmlMail(seq, subject, `xss-dompurify-${i}`, entry.payload)) });
    seq += 1;
  });
  for (const v of vectors) {
    assert.equal(typeof v.vector, 'string', `h5sc ${v.id} has no vector`);
    const subject = `xss h5sc ${v.id}`;
    cases.push({ source: 'h5sc', n: v.id, subject, snippet: v.vector,
      raw: Buffer.from(htmlMail(seq, subject, `xss-h5sc-${v.id}`, v.vector)) });
    seq += 1;
  }
  cases.push(...await carrierMails(seq));
  return cases;
}

/** The messages as one mboxrd file (From_ lines, `>From ` quoting). */
function mbox(cases) {
  const parts = [];
  for (const c of cases) {
    // latin1 keeps every byte as it is; only ASCII is rewritten.
    let text = c.raw.toString('latin1').replace(/^(>*From )/gm, '>$1');
    if (!text.endsWith('\n')) text += '\n';
    parts.push(Buffer.from(`From xss-corpus@homepost.test Mon Jan  1 00:00:00 2024\n${text}\n`, 'latin1'));
  }
  return Buffer.concat(parts);
}

// ------------------------------------------------------------------ the watchers

/** A DevTools session reached through Target.sendMessageToTarget (auto-attach, not flattened). */
class Session {
  constructor(name, type, url, sendRaw) {
    this.name = name;
    this.type = type;
    this.url = url;
    this.sendRaw = sendRaw;
    this.pending = new Map();
    this.children = new Map();
    this.contexts = new Map();
    this.nextId = 1;
  }

  send(method, params = {}) {
    const id = this.nextId;
    this.nextId += 1;
    const reply = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.sendRaw({ id, method, params });
    return reply;
  }

  handle(message) {
    if (message.id !== undefined) {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiter) return;
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
      return;
    }
    this.onEvent(message.method, message.params || {});
  }
}

/** The app's shell: what the top frame may load besides /api/v1/. */
const SHELL = /^\/(|index\.html|manifest\.webmanifest|sw\.js|css\/[\w.-]+\.css|js\/[\w./-]+\.js|icons\/[\w.-]+\.(svg|png))$/;

/**
 * Watches one page (and every frame and worker it spawns) for scripts and requests.
 * `allowed({url, mainFrame, navigation})` decides which requests are the app's own;
 * `isAppScript(url, mainFrame, session)` which parsed scripts are the app's.
 */
async function watchPage(page, { allowed, isAppScript }) {
  const found = { scripts: [], requests: [], blocked: [], dialogs: [], errors: [], popups: [] };
  let phase = 'setup';
  let mainFrameId = null;
  let iframeTargets = 0;
  const seenRequests = new Set();

  const recordRequest = (where, url, mainFrame, navigation, type) => {
    if (url.startsWith('data:')) return;
    if (allowed({ url, mainFrame, navigation })) return;
    const key = `${phase} ${url} ${mainFrame} ${navigation}`;
    if (seenRequests.has(key)) return; // the same request seen by Playwright and by CDP
    seenRequests.add(key);
    found.requests.push({ phase, where, url, type, frame: mainFrame ? 'top' : 'subframe' });
  };

  const cdp = await page.context().newCDPSession(page);
  const root = new Session('page', 'page', page.url(), (m) => cdp.send(m.method, m.params).then(
    (result) => root.handle({ id: m.id, result }),
    (err) => root.handle({ id: m.id, error: { message: err.message } })));

  const setup = async (session) => {
    session.onEvent = (method, params) => onEvent(session, method, params);
    await Promise.all([
      session.send('Runtime.enable'),
      session.send('Debugger.enable'),
      session.send('Network.enable'),
      session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: false }),
    ]);
  };

  const onScript = (session, params, failed) => {
    const aux = params.executionContextAuxData || {};
    const context = session.contexts.get(params.executionContextId);
    // Playwright's own utility world (isolated; nothing in a page can create one).
    if (aux.type === 'isolated' && context && context.name.startsWith('__playwright_utility_world')) return;
    const mainFrame = session === root && aux.frameId === mainFrameId;
    if (isAppScript(params.url, mainFrame, session)) return;
    found.scripts.push({
      phase, target: `${session.name} ${session.url}`.trim(), url: params.url, failedToParse: failed,
      world: aux.type || 'none', frame: mainFrame ? 'top' : (aux.frameId ? 'subframe' : session.type),
      scriptId: params.scriptId, session,
    });
  };

  const onEvent = (session, method, params) => {
    switch (method) {
      case 'Target.receivedMessageFromTarget': {
        const child = session.children.get(params.sessionId);
        if (child) child.handle(JSON.parse(params.message));
        break;
      }
      case 'Target.attachedToTarget': {
        const { sessionId, targetInfo, waitingForDebugger } = params;
        const child = new Session(`${session.name}>${targetInfo.type}`, targetInfo.type, targetInfo.url,
          (m) => session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify(m) }).catch(() => {}));
        session.children.set(sessionId, child);
        if (targetInfo.type === 'iframe') iframeTargets += 1;
        setup(child)
          .catch(() => {}) // a target that went away at once
          .finally(() => { if (waitingForDebugger) child.send('Runtime.runIfWaitingForDebugger').catch(() => {}); });
        break;
      }
      case 'Target.detachedFromTarget':
        session.children.delete(params.sessionId);
        break;
      case 'Runtime.executionContextCreated':
        session.contexts.set(params.context.id, params.context);
        break;
      case 'Debugger.scriptParsed':
        onScript(session, params, false);
        break;
      case 'Debugger.scriptFailedToParse':
        onScript(session, params, true);
        break;
      case 'Network.requestWillBeSent': {
        // The app's service worker fetches the shell for the top frame.
        const mainFrame = (session === root && params.frameId === mainFrameId) || session.type === 'service_worker';
        recordRequest(`cdp ${session.name}`, params.request.url, mainFrame, params.type === 'Document', params.type);
        break;
      }
      default:
    }
  };

  for (const event of ['Target.receivedMessageFromTarget', 'Target.attachedToTarget', 'Target.detachedFromTarget',
    'Runtime.executionContextCreated', 'Debugger.scriptParsed', 'Debugger.scriptFailedToParse',
    'Network.requestWillBeSent']) {
    cdp.on(event, (params) => root.handle({ method: event, params }));
  }
  await setup(root);
  mainFrameId = (await root.send('Page.getFrameTree')).frameTree.frame.id;

  // Playwright's view of the same requests (every frame, out-of-process ones too).
  const onRequest = (request) => {
    if (request.serviceWorker()) {
      recordRequest('service worker', request.url(), true, false, request.resourceType());
      return;
    }
    let frame = null;
    try { frame = request.frame(); } catch { /* no frame */ }
    if (frame && frame.page() !== page) return;
    const mainFrame = frame === page.mainFrame();
    recordRequest('playwright', request.url(), mainFrame, request.isNavigationRequest(), request.resourceType());
  };
  page.context().on('request', onRequest);
  page.on('dialog', (dialog) => {
    found.dialogs.push({ phase, type: dialog.type(), message: dialog.message() });
    dialog.dismiss().catch(() => {});
  });
  page.on('popup', (popup) => {
    found.popups.push({ phase, url: popup.url() });
    popup.close().catch(() => {});
  });
  page.on('pageerror', (err) => found.errors.push({ phase, message: err.message, stack: err.stack }));
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content[- ]Security[- ]Policy|Refused to|Blocked script execution|sandboxed and the 'allow-|Blocked (form submission|opening|autofocusing)/i.test(text)) {
      found.blocked.push({ phase, frame: msg.location().url, text });
    }
  });

  return {
    found,
    get phase() { return phase; },
    set phase(p) { phase = p; },
    get iframeTargets() { return iframeTargets; },
    /** The first lines of a script that ran, for the report. */
    async source(script) {
      try {
        const { scriptSource } = await script.session.send('Debugger.getScriptSource', { scriptId: script.scriptId });
        return scriptSource.slice(0, 200);
      } catch (err) {
        return `(source not available: ${err.message})`;
      }
    },
    async detach() {
      page.context().off('request', onRequest);
      await cdp.detach().catch(() => {});
    },
  };
}

/** What the watcher found in `phase`, as report lines (empty when nothing). */
async function describe(watcher, phase) {
  const lines = [];
  const f = watcher.found;
  for (const s of f.scripts.filter((x) => x.phase === phase)) {
    lines.push(`script ${s.failedToParse ? 'failed to parse (attempted)' : 'executed'} in ${s.frame} (${s.target}, world ${s.world}), url ${JSON.stringify(s.url)}: ${JSON.stringify(await watcher.source(s))}`);
  }
  for (const r of f.requests.filter((x) => x.phase === phase)) lines.push(`request from ${r.frame} (${r.where}, ${r.type}): ${r.url}`);
  for (const d of f.dialogs.filter((x) => x.phase === phase)) lines.push(`dialog ${d.type}: ${JSON.stringify(d.message)}`);
  for (const p of f.popups.filter((x) => x.phase === phase)) lines.push(`popup: ${p.url}`);
  for (const e of f.errors.filter((x) => x.phase === phase)) lines.push(`uncaught error: ${e.message}\n${e.stack}`);
  for (const b of f.blocked.filter((x) => x.phase === phase)) lines.push(`blocked by the browser (${b.frame}): ${b.text}`);
  return lines;
}

// ------------------------------------------------------------------ the positive control

/**
 * A throwaway page, watched the same way, that does what a payload must not: its
 * top frame runs an inline script and an alert; its sandboxed iframe (allow-scripts,
 * so that something does run; out of process like the formatted view) runs an inline
 * script, an eval and an event handler and asks for a foreign image; a plain
 * same-origin iframe (in process) follows a javascript: URL (sandboxed frames never
 * run those); a last iframe, sandboxed without scripts and under a CSP like the
 * formatted view's, holds a script and an image that the browser blocks. The watchers
 * must see every one of these, or this test proves nothing.
 */
async function positiveControl(context) {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (req.url === '/') {
      res.end('<!doctype html><p>control</p><script>var controlTop = 1; alert("control")</script>'
        + '<iframe sandbox="allow-scripts" src="/frame"></iframe><iframe src="/plain"></iframe>'
        + '<iframe sandbox src="/blocked"></iframe>');
    } else if (req.url === '/frame') {
      res.end('<!doctype html><p>frame</p>'
        + '<script>var controlFrame = 1; eval("var control" + "Eval = 1")</script>'
        + '<img src="data:," onerror="var controlHandler = 2" alt="">'
        + '<img src="http://xss-control.invalid/beacon.png" alt="">');
    } else if (req.url === '/plain') {
      res.end('<!doctype html><a id="j" href="javascript:void(window.controlJs = 1)">j</a>'
        + '<script>setTimeout(() => document.getElementById("j").click())</script>');
    } else if (req.url === '/blocked') {
      res.setHeader('content-security-policy', "default-src 'none'; img-src data:");
      res.end('<!doctype html><p>blocked</p><script>var controlBlocked = 1</script><img src="/beacon.png" alt="">');
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const page = await context.newPage();
  try {
    const watcher = await watchPage(page, {
      allowed: ({ url }) => new URL(url).origin === origin,
      isAppScript: () => false,
    });
    watcher.phase = 'control';
    await page.goto(`${origin}/`);
    const sources = new Map();
    const seen = async () => {
      const f = watcher.found;
      for (const script of f.scripts) {
        if (!sources.has(script)) sources.set(script, await watcher.source(script));
      }
      const ran = (frame, marker) => f.scripts.some((x) => (frame === 'top') === (x.frame === 'top')
        && !x.failedToParse && sources.get(x).includes(marker));
      return {
        'inline script (top)': ran('top', 'controlTop'),
        'inline script (sandboxed iframe)': ran('iframe', 'controlFrame'),
        'eval (sandboxed iframe)': ran('iframe', 'controlEval'),
        'event handler (sandboxed iframe)': ran('iframe', 'controlHandler'),
        'javascript: URL (in-process iframe)': ran('iframe', 'controlJs'),
        'foreign request (sandboxed iframe)': f.requests.some((r) => r.frame === 'subframe' && r.url === 'http://xss-control.invalid/beacon.png'),
        'alert (top)': f.dialogs.some((d) => d.type === 'alert' && d.message === 'control'),
        'script blocked by the sandbox': f.blocked.some((b) => /Blocked script execution/.test(b.text)),
        'image blocked by the CSP': f.blocked.some((b) => /image .*Content Security Policy/.test(b.text)),
      };
    };
    const end = Date.now() + 10000;
    let got = await seen();
    while (Object.values(got).includes(false) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      got = await seen();
    }
    const missing = Object.keys(got).filter((k) => !got[k]);
    assert.deepEqual(missing, [], `the positive control was not seen in full:\n${(await describe(watcher, 'control')).join('\n')}`);
    await watcher.detach();
    return `${Object.keys(got).join(', ')} (iframe targets ${watcher.iframeTargets})`;
  } finally {
    await page.close();
    server.close();
  }
}

// ------------------------------------------------------------------ the run

async function apiJson(context, base, apiPath) {
  const res = await context.request.get(`${base}/api/v1${apiPath}`);
  assert.ok(res.ok(), `GET /api/v1${apiPath}: ${res.status()}`);
  return res.json();
}

/** Every message id with its subject: all mail, and spam and trash (hidden from an empty query). */
async function listMessages(context, base) {
  const byId = new Map();
  for (const q of ['', 'tag:spam', 'tag:trash']) {
    let cursor = null;
    do {
      const params = new URLSearchParams({ q, limit: '200' });
      if (cursor) params.set('cursor', cursor);
      const page = await apiJson(context, base, `/search?${params}`);
      for (const r of page.results) byId.set(r.id, r.subject ?? null);
      cursor = page.next_cursor;
    } while (cursor);
  }
  return byId;
}

const short = (s, n = 160) => {
  const one = JSON.stringify(s);
  return one.length > n ? `${one.slice(0, n)}…"` : one;
};

async function main() {
  requireBin();
  await ensureOut();
  const started = Date.now();
  const cases = await buildCases();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'homepost-xss-'));
  const mboxPath = path.join(tmp, 'xss.mbox');
  await writeFile(mboxPath, mbox(cases));
  console.log(`== ${cases.length} XSS mails (${cases.filter((c) => c.source === 'dompurify').length} DOMPurify, `
    + `${cases.filter((c) => c.source === 'h5sc').length} h5sc, ${cases.filter((c) => c.source === 'h5sc-carrier').length} carriers) in ${mboxPath}`);

  const server = await startServer('xss');
  const base = server.base;
  console.log(`== server ${base} (data ${server.dir})`);
  const browser = await launchBrowser();
  // Should Chromium itself go away, say so (a closed target is all Playwright says).
  browser.on('disconnected', () => console.log('     xss: the browser process went away'));
  const context = await browser.newContext({ ...DESKTOP, serviceWorkers: 'allow' });
  // The default list (conversations): an init script would itself count as a
  // script run in the page, which is what this test watches for.
  context.on('page', (p) => p.on('crash', () => console.log(`     xss: a page crashed (${p.url()})`)));
  // Nothing leaves the machine, whatever gets through: other hosts are refused here
  // (and still counted by the watchers, which see the request first).
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort('blockedbyclient'));
  const stats = { payloads: 0, textViews: 0, htmlViews: 0, textOnly: [] };
  let failed = false;
  try {
    const control = await positiveControl(context);
    console.log(`ok   positive control seen: ${control}`);

    const page = await context.newPage();
    page.setDefaultTimeout(30000);
    let currentId = null;
    const watcher = await watchPage(page, {
      allowed: ({ url, mainFrame, navigation }) => {
        const u = new URL(url);
        if (u.origin !== base) return false;
        if (mainFrame) return u.pathname.startsWith('/api/v1/') || SHELL.test(u.pathname);
        return navigation && currentId !== null && u.pathname === `/api/v1/messages/${currentId}/html` && !u.search;
      },
      isAppScript: (url, mainFrame, session) => (mainFrame && url.startsWith(`${base}/js/`))
        // The worker itself, and the shell it caches (compiled there for the code
        // cache: modules "fail to parse" as classic scripts).
        || (session.type === 'service_worker' && (url === `${base}/sw.js` || url.startsWith(`${base}/js/`))),
    });
    const check = async (what) => {
      const lines = await describe(watcher, watcher.phase);
      if (lines.length) throw new Error(`${what}:\n  ${lines.join('\n  ')}`);
    };

    // The vault, then the import while locked (as e2e.mjs does), then unlock.
    watcher.phase = 'setup';
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Choose your passphrase' }).waitFor();
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Create vault' }).click();
    await skipWizard(page);
    await page.getByRole('button', { name: 'Lock', exact: true }).click();
    await page.getByRole('heading', { name: 'Unlock Homepost' }).waitFor();
    await check('setting up the vault');
    const out = await importMail(server.dir, [mboxPath]);
    const m = /imported (\d+)/.exec(out);
    assert.ok(m, `no count in the import output: ${out}`);
    console.log(`ok   import: ${out.split('\n').find((l) => /imported \d+/.test(l)).trim()}`);
    assert.equal(Number(m[1]), cases.length, `imported ${m[1]} of ${cases.length} mails:\n${out}`);
    watcher.phase = 'inbox';
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    await page.locator('hp-message-list li.msg-row').first().waitFor();
    await check('the inbox listing the XSS mails');

    // Message ids by subject; test.eml has none and is the one left over.
    const listed = await listMessages(context, base);
    assert.equal(listed.size, cases.length, `${listed.size} messages listed, ${cases.length} imported`);
    const idBySubject = new Map([...listed].map(([id, subject]) => [subject, id]));
    const used = new Set();
    for (const c of cases.filter((x) => x.subject)) {
      c.id = idBySubject.get(c.subject);
      assert.ok(c.id, `no message with subject ${c.subject}`);
      used.add(c.id);
    }
    const rest = [...listed.keys()].filter((id) => !used.has(id));
    assert.equal(rest.length, 1, `left over after matching subjects: ${rest}`);
    cases.find((c) => !c.subject).id = rest[0];
    for (const c of cases) c.hasHtml = (await apiJson(context, base, `/messages/${c.id}`)).body.has_html;

    const loopStart = Date.now();
    let lastFrame = null;
    for (const c of cases) {
      const label = `${c.source} ${c.n}`;
      watcher.phase = label;
      currentId = c.id;
      const t0 = Date.now();
      try {
        // The text view.
        await page.goto(`${base}/#/message/${c.id}`);
        const view = page.locator(`hp-message-view[data-id="${c.id}"]`);
        await view.locator('.body-section .body-text').waitFor();
        if (c.subject) assert.equal((await view.locator('h1.reader-title').textContent()).trim(), c.subject);
        stats.textViews += 1;
        const toggle = view.getByRole('button', { name: 'Formatted view' });
        if (c.hasHtml) {
          // The formatted view: the sanitised HTML in the sandboxed iframe.
          const htmlUrl = `${base}/api/v1/messages/${c.id}/html`;
          // Waited for from node only: an element handle would put Playwright's
          // script into the page's main world.
          const response = page.waitForResponse((r) => r.url() === htmlUrl);
          const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f.url() === htmlUrl });
          // A real mouse click; the view is rendered, so no actionability wait.
          await toggle.click({ force: true });
          assert.equal((await response).status(), 200, `${htmlUrl}`);
          assert.match(await view.locator('.body-switch .field-hint').textContent(), /formatted view is shown/,
            'the caption says which view is shown');
          const frame = await navigated;
          assert.ok(frame.parentFrame() === page.mainFrame(), 'the formatted view is not a frame of the page');
          await frame.waitForLoadState('load');
          lastFrame = frame;
          stats.htmlViews += 1;
          await page.waitForTimeout(SETTLE_MS);
        } else {
          assert.equal(await toggle.count(), 0, 'a formatted view without has_html');
          stats.textOnly.push(label);
        }
        stats.payloads += 1;
        if (process.env.XSS_TIMING) console.log(`     ${label}: ${Date.now() - t0} ms`);
        await check(`payload ${label} ${short(c.snippet)}`);
      } catch (err) {
        failed = true;
        console.log(`FAIL ${label} (message ${c.id}): payload ${short(c.snippet, 400)}\n     ${err.message}`);
        break;
      }
    }
    const loopMs = Date.now() - loopStart;

    if (!failed) {
      // The watchers were live on this very page to the end: code run in the top frame
      // and in the last formatted view's frame (through Playwright) must be seen.
      watcher.phase = 'control-app';
      await page.evaluate('1 + 1');
      assert.ok(lastFrame, 'no formatted view was opened');
      await lastFrame.evaluate('2 + 2');
      // The watcher hears of both scripts asynchronously: wait for them (10 s at most).
      const controls = () => {
        const seen = watcher.found.scripts.filter((s) => s.phase === 'control-app');
        return [seen.filter((s) => s.frame === 'top').length, seen.filter((s) => s.frame !== 'top').length];
      };
      const until = Date.now() + 10000;
      while (controls().includes(0) && Date.now() < until) await page.waitForTimeout(50);
      const [top, sub] = controls();
      assert.ok(top > 0 && sub > 0, `control in the app page not seen: top ${top}, iframe ${sub}`);
      console.log(`ok   control in the app page seen: scripts top ${top}, formatted-view iframe ${sub}`);
      // Nothing found in any phase but the control.
      const counts = watcher.found;
      const leftover = [...counts.scripts, ...counts.requests, ...counts.dialogs, ...counts.popups,
        ...counts.errors, ...counts.blocked].filter((x) => x.phase !== 'control-app');
      assert.deepEqual(leftover.map((x) => x.phase), [], 'findings outside the per-payload checks');
    }

    const total = (Date.now() - started) / 1000;
    const notControl = (list) => list.filter((x) => x.phase !== 'control-app').length;
    console.log('\n== xss summary');
    console.log(`payloads tested      ${stats.payloads} of ${cases.length}`);
    console.log(`views opened         ${stats.textViews + stats.htmlViews} (${stats.textViews} text, ${stats.htmlViews} formatted)`);
    if (stats.textOnly.length) console.log(`no HTML body         ${stats.textOnly.join(', ')} (text view only)`);
    console.log(`iframe targets       ${watcher.iframeTargets} attached (out-of-process frames watched)`);
    console.log(`scripts executed     ${notControl(watcher.found.scripts)}`);
    console.log(`foreign requests     ${notControl(watcher.found.requests)}`);
    console.log(`dialogs, popups      ${notControl(watcher.found.dialogs)}, ${notControl(watcher.found.popups)}`);
    console.log(`blocked by CSP/sandbox ${notControl(watcher.found.blocked)}`);
    console.log(`uncaught errors      ${notControl(watcher.found.errors)}`);
    console.log(`time                 ${total.toFixed(1)} s (${(loopMs / 1000).toFixed(1)} s for the messages)`);
    await writeFile(path.join(OUT, 'xss-report.json'), `${JSON.stringify({
      payloads: stats.payloads, cases: cases.length, textViews: stats.textViews, htmlViews: stats.htmlViews,
      textOnly: stats.textOnly, iframeTargets: watcher.iframeTargets,
      scripts: notControl(watcher.found.scripts), foreignRequests: notControl(watcher.found.requests),
      seconds: total, failed,
    }, null, 2)}\n`);
    await watcher.detach();
  } finally {
    await context.close();
    await browser.close();
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  }
  if (failed) {
    console.log('xss: FAILED');
    process.exit(1);
  }
  console.log('xss: every payload inert in both views');
}

await main();
