// Conversations at phone size, in real headless Chromium against a real
// `homepost serve` holding the lkml Maildir (210 real messages in long threads):
// the list shows one row per thread with its message count; a conversation reads
// as one page, its unread messages open and its read ones folded; opening it
// marks it read; archiving it from its toolbar takes every message out of the
// inbox and Undo gives the inbox back to exactly those that had it; conversations
// selected in the list are archived together; the Settings switch to single
// messages and back.
//
//   HOMEPOST_BIN=/path/to/homepost node conversations.mjs

import assert from 'node:assert/strict';
import path from 'node:path';
import {
  CORPUS, OUT, PASSPHRASE, PHONE, launchBrowser, startServer, homepostCli, importMail, watch, ensureOut,
  requireBin, axeCheck,
  Steps,
} from './lib.mjs';

const MAILDIR = path.join(CORPUS, 'mail/notmuch/lkml');

const steps = new Steps('conversations', 'conversations-failed.png');
const step = steps.run;

/** An API call from inside the page (its cookie and CSRF token). */
function api(page, method, apiPath, body) {
  return page.evaluate(async ([m, p, b]) => {
    const headers = { Accept: 'application/json' };
    if (m !== 'GET') {
      headers['Content-Type'] = 'application/json';
      headers['X-CSRF-Token'] = (await (await fetch('/api/v1/session')).json()).csrf_token;
    }
    const res = await fetch(`/api/v1${p}`, { method: m, headers, body: b ? JSON.stringify(b) : undefined });
    return res.json();
  }, [method, apiPath, body]);
}

const inboxThreads = async (page, limit = 100) => (await api(page, 'GET', `/conversations?q=in:inbox&limit=${limit}`)).results;

async function main() {
  requireBin();
  await ensureOut();
  const server = await startServer('conversations', {
    prepare: async (dir) => {
      await homepostCli(dir, ['init', '--kdf', 'insecure-test-only']);
      await importMail(dir, [MAILDIR]);
    },
  });
  const browser = await launchBrowser();
  const context = await browser.newContext(PHONE);
  const watcher = watch(context, 'conversations');
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  steps.page = page;
  const rows = page.locator('hp-message-list li.msg-row');
  try {
    let threads;
    await step('the inbox lists conversations: fewer rows than messages, each with its count', async () => {
      await page.goto(`${server.base}/`);
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Unlock' }).click();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      await rows.first().waitFor();
      threads = await inboxThreads(page);
      const messages = threads.reduce((n, c) => n + c.thread.messages, 0);
      assert.ok(threads.length < messages, `${threads.length} conversations for ${messages} messages`);
      assert.equal(await rows.count(), Math.min(threads.length, 50));
      const big = threads.find((c) => c.thread.messages > 2);
      assert.ok(big, 'no conversation with more than two messages');
      const row = page.locator(`li.msg-row[data-id="${big.thread.thread_id}"]`);
      assert.equal((await row.locator('.msg-count').textContent()).replace(/\D/g, ''), String(big.thread.messages));
      assert.equal(await row.locator('.msg-link').getAttribute('href'), `#/thread/${big.thread.thread_id}`);
      await page.screenshot({ path: path.join(OUT, 'conversations-phone-list.png') });
      await axeCheck(page, 'conversation list');
    });

    let thread;
    let ids;
    await step('a conversation reads as one page: unread open, read folded; opening it reads it', async () => {
      const big = threads.find((c) => c.thread.messages > 2);
      thread = big.thread.thread_id;
      const all = (await api(page, 'GET', `/threads/${thread}`)).messages;
      ids = all.map((m) => m.id);
      // Read the first one, so it starts folded.
      await api(page, 'POST', '/messages/tags', { ids: [ids[0]], add: ['read'] });
      await page.locator(`li.msg-row[data-id="${thread}"] .msg-link`).click();
      const view = page.locator('hp-conversation-view');
      await view.locator('.conv-item').first().waitFor();
      assert.equal(await view.locator('.conv-item').count(), ids.length);
      const heads = view.locator('.conv-head');
      assert.equal(await heads.nth(0).getAttribute('aria-expanded'), 'false', 'the read first message is open');
      assert.equal(await heads.nth(1).getAttribute('aria-expanded'), 'true', 'an unread message is folded');
      assert.equal(await heads.last().getAttribute('aria-expanded'), 'true', 'the newest is folded');
      await view.locator('.conv-item').nth(1).locator('.conv-text').waitFor();
      // A tap unfolds a folded one, with its text.
      await heads.nth(0).click();
      await view.locator('.conv-item').nth(0).locator('.conv-text').waitFor();
      await page.screenshot({ path: path.join(OUT, 'conversations-phone-thread.png') });
      await axeCheck(page, 'conversation view');
      const after = (await inboxThreads(page)).find((c) => c.thread.thread_id === thread);
      assert.equal(after.thread.unread, 0, 'opening the conversation did not mark it read');
    });

    await step('archive the conversation: every message leaves the inbox; Undo restores exactly', async () => {
      // One message filed away before: Undo must not put it in the inbox.
      await api(page, 'POST', '/messages/tags', { ids: [ids[1]], remove: ['inbox'] });
      await page.locator('hp-conversation-view').getByRole('button', { name: 'Archive' }).click();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      await page.locator(`li.msg-row[data-id="${thread}"]`).waitFor({ state: 'detached' });
      const inInbox = async () => (await api(page, 'GET',
        `/search?q=${encodeURIComponent('in:inbox')}&limit=200`)).results.filter((m) => m.thread_id === thread).length;
      assert.equal(await inInbox(), 0);
      await page.getByRole('button', { name: 'Undo' }).click();
      await page.locator(`li.msg-row[data-id="${thread}"]`).waitFor();
      assert.equal(await inInbox(), ids.length - 1, 'Undo should give the inbox back to all but the filed one');
    });

    await step('select two conversations and archive them together, then Undo', async () => {
      const [a, b] = (await inboxThreads(page, 2)).map((c) => c.thread.thread_id);
      await page.locator(`li.msg-row[data-id="${a}"] .row-select`).click();
      await page.locator(`li.msg-row[data-id="${b}"] .row-select`).click();
      await page.locator('.selection-bar').getByRole('button', { name: 'Archive' }).click();
      await page.locator(`li.msg-row[data-id="${a}"]`).waitFor({ state: 'detached' });
      await page.locator(`li.msg-row[data-id="${b}"]`).waitFor({ state: 'detached' });
      const left = (await inboxThreads(page)).map((c) => c.thread.thread_id);
      assert.ok(!left.includes(a) && !left.includes(b), 'archived conversations are still in the inbox');
      await page.getByRole('button', { name: 'Undo' }).click();
      await page.locator(`li.msg-row[data-id="${a}"]`).waitFor();
    });

    await step('the star on a conversation flags its newest message only', async () => {
      const c = (await inboxThreads(page)).find((x) => x.thread.messages > 1);
      const id = c.thread.thread_id;
      await page.locator(`li.msg-row[data-id="${id}"] .star-button`).click();
      await page.locator(`li.msg-row[data-id="${id}"] .star-button[aria-pressed="true"]`).waitFor();
      const flagged = (await api(page, 'GET', `/threads/${id}`)).messages.filter((m) => m.tags.includes('flagged'));
      assert.deepEqual(flagged.map((m) => m.id), [c.latest.id]);
    });

    await step('Settings: single messages, then conversations again', async () => {
      const before = await rows.count();
      const choose = async (label) => {
        await page.getByRole('button', { name: 'Tags and folders' }).click();
        await page.getByRole('button', { name: 'Settings', exact: true }).click();
        const dialog = page.getByRole('dialog', { name: 'Settings' });
        await dialog.getByLabel(label, { exact: true }).check();
        await dialog.getByRole('button', { name: 'Close' }).click();
        await dialog.waitFor({ state: 'detached' });
        if (await page.locator('hp-mail[data-drawer="open"]').count()) await page.keyboard.press('Escape');
        await page.locator('hp-mail[data-drawer="closed"]').waitFor();
        await page.waitForFunction(() => getComputedStyle(document.querySelector('.drawer')).visibility === 'hidden');
      };
      await choose('Single messages');
      await page.waitForFunction((n) => document.querySelectorAll('hp-message-list li.msg-row').length > n, before);
      assert.equal(await page.locator('hp-message-list .msg-count').count(), 0);
      await choose('Conversations (one row per thread)');
      await page.waitForFunction((n) => document.querySelectorAll('hp-message-list li.msg-row').length === n, before);
      assert.ok(await page.locator('hp-message-list .msg-count').count() > 0);
    });
  } finally {
    const problems = [...watcher.problems, ...watcher.external.map((u) => `request left the box: ${u}`)];
    if (problems.length > 0) {
      steps.fail(problems.join('; '));
    }
    await browser.close();
    await server.stop();
  }
}

main().catch(() => {}).finally(() => {
  console.log(`\n${steps.results.join('\n')}`);
  process.exitCode = steps.failures > 0 ? 1 : 0;
});
