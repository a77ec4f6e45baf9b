// Loads the PWA in headless Chromium N times, direct and through the onion
// service (Chromium behind C-tor's SOCKS port, names resolved by Tor), and
// prints the median time to the load event of each, as JSON.
//   node pwa-load.mjs DIRECT_URL ONION_URL SOCKS_PORT [N]
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tests/e2e/package.json'));
const { chromium } = require('playwright-core');

const [direct, onion, socks, n = '5'] = process.argv.slice(2);
const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'];

async function loads(url, proxy) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args,
    proxy,
  });
  const times = [];
  try {
    for (let i = 0; i < Number(n); i++) {
      // A new context each time: nothing cached, a new connection.
      const context = await browser.newContext();
      const page = await context.newPage();
      const started = Date.now();
      await page.goto(url, { waitUntil: 'load', timeout: 120000 });
      times.push(Date.now() - started);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const directMs = await loads(direct);
const onionMs = await loads(onion, { server: `socks5://127.0.0.1:${socks}` });
console.log(JSON.stringify({ direct_ms: directMs, onion_ms: onionMs, ratio: onionMs / directMs }));
