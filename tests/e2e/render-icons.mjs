// Renders the PWA's PNG icons from their SVG sources with headless Chromium:
//   node tests/e2e/render-icons.mjs
// pwa/icons/icon.svg     -> icon-192.png, icon-512.png (transparent corners)
// pwa/icons/maskable.svg -> maskable-512.png, apple-touch-icon.png (180, full bleed)
// The PNGs are committed; run this again only after changing an SVG.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const icons = path.resolve(here, '../../pwa/icons');

const jobs = [
  ['icon.svg', 'icon-192.png', 192],
  ['icon.svg', 'icon-512.png', 512],
  ['maskable.svg', 'maskable-512.png', 512],
  ['maskable.svg', 'apple-touch-icon.png', 180],
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  for (const [source, target, px] of jobs) {
    const svg = await readFile(path.join(icons, source), 'utf8');
    const page = await browser.newPage({ viewport: { width: px, height: px } });
    const dataUrl = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
    await page.setContent(`<html><body style="margin:0;background:transparent">
      <img src="${dataUrl}" width="${px}" height="${px}" style="display:block"></body></html>`);
    await page.locator('img').evaluate((img) => img.decode());
    await page.screenshot({ path: path.join(icons, target), omitBackground: true });
    await page.close();
    console.log(`pwa/icons/${target} (${px}x${px})`);
  }
} finally {
  await browser.close();
}
