// The app on a throttled phone, measured against a running `homepost serve`
// (bench/pwa/run starts one): Lighthouse's performance category at phone size, RUNS
// times with each of two throttlings, and the time until the list's first row is
// drawn, measured with Playwright under CPU throttling. Medians go to
// OUT/results.md (and results.json, with every run).
//
//   E2E_PASSPHRASE=... node bench/pwa/measure.mjs URL OUT [RUNS]
//
// Every load is a first visit for the app's files (the HTTP cache, the service
// worker and its cache cleared before it) but keeps the session cookie, so the app
// opens on the unlocked list; the "warm" rows are the installed app opened again
// (service worker and caches in place; the worker still asks the box first).
//
// - Lighthouse, simulated: its default for mobile (Moto G Power screen, 4x CPU
//   slowdown and a slow 4G network: 150 ms RTT, 1.6 Mbit/s), computed by Lantern
//   from an unthrottled load; the unthrottled load's own numbers are reported as
//   "observed".
// - Lighthouse, devtools 4x CPU: the CPU slowed 4x for real
//   (Emulation.setCPUThrottlingRate), the network not throttled: the box on the
//   home network, which is what "on localhost" means here.
// - List visible: from the start of navigation (performance.timeOrigin) to the
//   first frame after the first `hp-message-list li.msg-row` entered the page,
//   in Chromium at phone size (lib.mjs's PHONE) with the CPU slowed 1x and 4x.
//
// Lighthouse and Playwright come from tests/e2e/node_modules (tests/e2e/run installs
// them); Chromium is Debian's, as for the tests.

import { writeFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  REPO, PHONE, PASSPHRASE, CHROMIUM, launchBrowser, launchPersistent, freePort,
} from '../../tests/e2e/lib.mjs';

const require = createRequire(path.join(REPO, 'tests/e2e/package.json'));
const { default: lighthouse } = await import(pathToFileURL(require.resolve('lighthouse')).href);
const LH_VERSION = JSON.parse(readFileSync(require.resolve('lighthouse/package.json'), 'utf8')).version;

const [base, out, runsArg = '5'] = process.argv.slice(2);
if (!base || !out) {
  console.error('usage: node bench/pwa/measure.mjs URL OUT [RUNS]');
  process.exit(2);
}
const RUNS = Number(runsArg);
const ROW = 'hp-message-list li.msg-row';
const LISTS = new Set(['/api/v1/conversations', '/api/v1/search']);

const CONFIGS = [
  {
    name: 'simulated',
    flags: { throttlingMethod: 'simulate' }, // Lighthouse's own default, spelled out
  },
  {
    name: 'devtools-cpu4',
    flags: {
      throttlingMethod: 'devtools',
      throttling: {
        cpuSlowdownMultiplier: 4,
        rttMs: 0, throughputKbps: 0, requestLatencyMs: 0, downloadThroughputKbps: 0, uploadThroughputKbps: 0,
      },
    },
  },
];

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Unlocks the box in this page's browser context (its cookie jar); returns GET /status. */
async function unlock(page) {
  await page.goto(`${base}/`);
  const status = await page.evaluate(async (passphrase) => {
    const now = await (await fetch('/api/v1/status')).json();
    if (now.state === 'no_vault') throw new Error('the box has no vault');
    if (!(now.state === 'unlocked' && now.session)) {
      const res = await fetch('/api/v1/session', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ passphrase }),
      });
      if (!res.ok) throw new Error(`unlock failed: ${res.status} ${await res.text()}`);
    }
    return (await fetch('/api/v1/status')).json();
  }, PASSPHRASE);
  if (!status.session) throw new Error('no session after unlocking');
  // The list once, so the server's first query (index and store caches) is not measured.
  await page.reload();
  await page.locator(ROW).first().waitFor({ timeout: 120000 });
  return status;
}

/** The messages in the Inbox, the conversations in its first page, as the app lists them. */
async function boxSize(page) {
  return page.evaluate(async () => {
    const j = await (await fetch('/api/v1/conversations?q=in:inbox&limit=50')).json();
    const all = await (await fetch('/api/v1/search?limit=1')).json();
    return { inbox: j.total_messages, all: all.total };
  });
}

async function lighthouseRuns() {
  const port = await freePort();
  const browser = await launchPersistent([`--remote-debugging-port=${port}`], { viewport: null });
  const { context } = browser;
  const responses = [];
  context.on('response', (r) => responses.push({ path: new URL(r.url()).pathname, status: r.status() }));
  const page = await context.newPage();
  const results = {};
  let size;
  try {
    await unlock(page);
    size = await boxSize(page);
    // Nothing of the app left running beside Lighthouse's tab (its pollers).
    await page.goto('about:blank');
    // The cases take turns, so the machine's other load falls on each alike.
    for (const cfg of CONFIGS) results[cfg.name] = [];
    for (let i = 1; i <= RUNS; i += 1) {
      for (const cfg of CONFIGS) {
        const seen = responses.length;
        const r = await lighthouse(`${base}/`, {
          port,
          output: 'json',
          logLevel: 'error',
          onlyCategories: ['performance'],
          formFactor: 'mobile', // the default screen: Moto G Power, 412x823
          // Storage reset stays on: Lighthouse 11 clears the HTTP cache, the service
          // worker and Cache Storage but not cookies, so the session is kept.
          ...cfg.flags,
        });
        const lhr = r.lhr;
        if (lhr.runtimeError) throw new Error(`${cfg.name} run ${i}: ${lhr.runtimeError.message}`);
        const listed = responses.slice(seen).some((x) => LISTS.has(x.path) && x.status === 200);
        if (!listed) throw new Error(`${cfg.name} run ${i}: Lighthouse did not see the mail list load`);
        await writeFile(path.join(out, `lighthouse-${cfg.name}-${i}.json`), r.report);
        const a = lhr.audits;
        const m = a.metrics.details.items[0];
        const summary = a['resource-summary'].details.items;
        const script = summary.find((x) => x.resourceType === 'script') || {};
        const run = {
          fcp: a['first-contentful-paint'].numericValue,
          lcp: a['largest-contentful-paint'].numericValue,
          tti: a.interactive.numericValue ?? null, // none when the page never went quiet
          tbt: a['total-blocking-time'].numericValue ?? null,
          si: a['speed-index'].numericValue,
          score: lhr.categories.performance.score,
          observedFcp: m.observedFirstContentfulPaint,
          observedLcp: m.observedLargestContentfulPaint,
          jsBytes: script.transferSize,
          jsRequests: script.requestCount,
          allBytes: (summary.find((x) => x.resourceType === 'total') || {}).transferSize,
          chain: a['critical-request-chains'].details.longestChain.length,
          benchmarkIndex: lhr.environment.benchmarkIndex,
        };
        results[cfg.name].push(run);
        const ms = (x) => (x == null ? '–' : `${Math.round(x)} ms`);
        console.log(`${cfg.name} ${i}/${RUNS}: FCP ${ms(run.fcp)}, LCP ${ms(run.lcp)}, TTI ${ms(run.tti)}, `
          + `TBT ${ms(run.tbt)}, JS ${Math.round(run.jsBytes / 1024)} KiB`);
      }
    }
  } finally {
    await browser.close();
  }
  return { results, size };
}

/**
 * Records, in every page of the context, when the list's first row entered the
 * page and the first frame after it (rAF, then a task: after that frame's paint).
 */
function listProbe(selector) {
  // Whether the service worker answers this load (it claims a page it installed
  // from later, so this is read at the start).
  const controlled = Boolean(navigator.serviceWorker && navigator.serviceWorker.controller);
  // The page's own Largest Contentful Paint so far, and what it was.
  new PerformanceObserver((list) => {
    const e = list.getEntries().at(-1);
    const el = e.element;
    const what = el ? `${el.localName}${el.className ? `.${String(el.className).trim().split(/\s+/).join('.')}` : ''}` : null;
    window.__hpLcp = { at: e.startTime, what };
  }).observe({ type: 'largest-contentful-paint', buffered: true });
  const found = () => {
    const inserted = performance.now();
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        const paint = performance.getEntriesByName('first-contentful-paint')[0];
        window.__hpList = {
          inserted, visible: performance.now(), fcp: paint ? paint.startTime : null, controlled,
        };
      };
      channel.port2.postMessage(null);
    });
  };
  const observer = new MutationObserver(() => {
    if (document.querySelector(selector)) {
      observer.disconnect();
      found();
    }
  });
  observer.observe(document, { childList: true, subtree: true });
}

async function listVisibleRuns() {
  const browser = await launchBrowser();
  const context = await browser.newContext({ ...PHONE });
  await context.addInitScript(listProbe, ROW);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const origin = new URL(base).origin;
  const cases = [
    { name: 'cold, CPU 1x', rate: 1, cold: true },
    { name: 'cold, CPU 4x', rate: 4, cold: true },
    { name: 'warm, CPU 4x', rate: 4, cold: false },
  ];
  const results = {};
  try {
    await unlock(page);
    for (const c of cases) results[c.name] = [];
    for (let i = 1; i <= RUNS; i += 1) {
      for (const c of cases) {
        await page.goto('about:blank');
        await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
        if (c.cold) {
          await cdp.send('Network.clearBrowserCache');
          await cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'service_workers,cache_storage' });
        } else {
          // The installed app: the worker active and its cache filled, as after a visit.
          await page.goto(`${base}/`);
          await page.locator(ROW).first().waitFor({ timeout: 120000 });
          await page.evaluate(() => navigator.serviceWorker.ready);
          await page.goto('about:blank');
        }
        await cdp.send('Emulation.setCPUThrottlingRate', { rate: c.rate });
        await page.goto(`${base}/`, { waitUntil: 'commit' });
        const t = await (await page.waitForFunction(() => window.__hpList, null, { timeout: 120000 })).jsonValue();
        // The largest paint settles once the first screen of rows is drawn.
        await page.waitForTimeout(1000);
        t.lcp = await page.evaluate(() => window.__hpLcp || null);
        if (t.controlled === c.cold) throw new Error(`${c.name}: the service worker ${t.controlled ? 'answered' : 'did not answer'} the load`);
        results[c.name].push(t);
        console.log(`list visible, ${c.name}, ${i}/${RUNS}: ${Math.round(t.visible)} ms (FCP ${Math.round(t.fcp)} ms)`);
      }
    }
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
  } finally {
    await browser.close();
  }
  return results;
}

function report({ lh, list, size, load }) {
  const ms = (x) => (x == null ? '–' : `${Math.round(x).toLocaleString('en')} ms`);
  const kib = (x) => (x == null ? '–' : `${(x / 1024).toFixed(1)} KiB`);
  const med = (runs, key) => median(runs.map((r) => r[key]));
  const sim = lh.simulated;
  const dev = lh['devtools-cpu4'];
  const chromium = execFileSync(CHROMIUM, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  const cpu = (os.cpus()[0] || {}).model || 'unknown CPU';
  const lines = [
    `# The app on a throttled phone (bench/pwa/run)`,
    '',
    `${base}, ${size.all.toLocaleString('en')} messages (${size.inbox.toLocaleString('en')} in the Inbox); `
      + `${chromium}, Lighthouse ${LH_VERSION}; ${os.cpus().length} x ${cpu}. Medians of ${RUNS} runs each; `
      + 'every load a first visit for the app\'s files (HTTP cache, service worker and its cache cleared), '
      + `the session kept. Load average (1 min) ${load[0]} at the start, ${load[1]} at the end.`,
    '',
    '| Lighthouse, mobile | simulated: slow 4G, 4x CPU | devtools: 4x CPU, network not throttled | observed: no throttling |',
    '|---|---|---|---|',
    `| First Contentful Paint | ${ms(med(sim, 'fcp'))} | ${ms(med(dev, 'fcp'))} | ${ms(med(sim, 'observedFcp'))} |`,
    `| Largest Contentful Paint | ${ms(med(sim, 'lcp'))} | ${ms(med(dev, 'lcp'))} | ${ms(med(sim, 'observedLcp'))} |`,
    `| Time to Interactive | ${ms(med(sim, 'tti'))} | ${ms(med(dev, 'tti'))} | |`,
    `| Total Blocking Time | ${ms(med(sim, 'tbt'))} | ${ms(med(dev, 'tbt'))} | |`,
    `| Speed Index | ${ms(med(sim, 'si'))} | ${ms(med(dev, 'si'))} | |`,
    `| Performance score | ${Math.round(100 * med(sim, 'score'))} | ${Math.round(100 * med(dev, 'score'))} | |`,
    `| JS transferred (resource summary) | ${kib(med(sim, 'jsBytes'))} in ${med(sim, 'jsRequests')} requests | `
      + `${kib(med(dev, 'jsBytes'))} in ${med(dev, 'jsRequests')} requests | |`,
    `| All bytes transferred | ${kib(med(sim, 'allBytes'))} | ${kib(med(dev, 'allBytes'))} | |`,
    '',
    'The JS is the page\'s own requests (the service worker fetching the shell again to cache it is not '
      + `counted), gzipped as the box sends them. Longest chain of requests: ${med(sim, 'chain')}. Lighthouse's CPU `
      + `benchmark index here: ${Math.round(med([...sim, ...dev], 'benchmarkIndex'))}.`,
    '',
    `| List visible (first \`${ROW}\` drawn, from navigation), phone size | median | min | max | FCP | LCP |`,
    '|---|---|---|---|---|---|',
  ];
  for (const [name, runs] of Object.entries(list)) {
    const v = runs.map((r) => r.visible);
    lines.push(`| ${name} | ${ms(median(v))} | ${ms(Math.min(...v))} | ${ms(Math.max(...v))} | `
      + `${ms(median(runs.map((r) => r.fcp)))} | ${ms(median(runs.map((r) => r.lcp && r.lcp.at)))} |`);
  }
  const lcpWhat = [...new Set(Object.values(list).flat().map((r) => r.lcp && r.lcp.what))];
  lines.push('', `FCP and LCP (medians) as the page itself saw them; the largest paint was \`${lcpWhat.join('`, `')}\`. `
    + 'Warm: the service worker and its cache in place, as when the installed app is opened again.');
  lines.push('', 'Every run: `results.json`; Lighthouse\'s reports: `lighthouse-*.json`.', '');
  return lines.join('\n');
}

await mkdir(out, { recursive: true });
const loadBefore = os.loadavg()[0];
const lhPart = await lighthouseRuns();
const list = await listVisibleRuns();
const load = [loadBefore, os.loadavg()[0]].map((x) => x.toFixed(1));
const all = { base, load, runs: RUNS, size: lhPart.size, lighthouse: lhPart.results, listVisible: list };
await writeFile(path.join(out, 'results.json'), `${JSON.stringify(all, null, 1)}\n`);
const md = report({ lh: lhPart.results, list, size: lhPart.size, load });
await writeFile(path.join(out, 'results.md'), md);
console.log(`\n${md}`);
