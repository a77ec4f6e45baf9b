// Saved searches and filter rules at a small phone's size (360x740, touch), against
// a real `homepost serve` holding ../shared/corpus/mail/mailpile/tests.mbx (imported
// with the CLI). A search saved from its results ("Save search": a name asked for,
// prefilled with the search; a search that does not parse refused in the sheet, on its
// field) shows in the drawer with its unread count and opens; a saved search naming
// a tag no message has carries a warning mark, moves up in the drawer's Edit mode and
// is deleted after a confirm. "Mail like this…" in a message's More menu opens a new
// rule for its sender; with a tag added and "Archive it" it is saved, and "Run on
// existing mail…" says first how many messages it changes, then shows the run's
// progress (answered in the test while it runs) and "Done: N messages changed"; the
// tag is then on the message, and it left the Inbox. Settings leads to the rules; a
// pasted Sieve script is previewed (its redirect line left out, with the reason) and
// its rules added; "Export as Sieve" downloads homepost.sieve with `fileinto`. axe
// (light and dark) on each new screen, nothing wider than the screen, no console
// error, no CSP violation, no request beyond 127.0.0.1.
//
//   HOMEPOST_BIN=/path/to/homepost node rules.mjs

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  CORPUS, OUT, PASSPHRASE, SMALL_PHONE, launchBrowser, startServer, homepostCli, importMail, watch, ensureOut,
  requireBin, axeCheck, singleMessages, fitsTheScreen, fullPageShot, until,
  Steps,
} from './lib.mjs';

const MBOX = path.join(CORPUS, 'mail/mailpile/tests.mbx'); // 8 real messages
/** Bjarni's three messages: the saved search. */
const SAVED_QUERY = 'from:bre@slinky';
/** Brennan Novak's two messages: the rule made with "Mail like this…". */
const SENDER = { name: 'Brennan Novak', address: 'hi@brennannovak.com', subject: 'Email That Is Signed' };
const RULE_NAME = `Mail from ${SENDER.name}`;
const SIEVE = [
  'require ["fileinto"];',
  '# Bills go to their own folder.',
  'if address :is "from" "billing@example.com" {',
  '    fileinto "bills";',
  '}',
  'if header :contains "subject" "forward me" {',
  '    redirect "someone@example.net";',
  '}',
  '',
].join('\n');

const steps = new Steps('rules', 'rules-phone-failed.png');
const step = steps.run;
let shots = 0;

/** A screenshot: a page of its own (`whole`) all of it, else the screen as it is (a drawer, a sheet). */
async function shot(page, name, whole = false) {
  shots += 1;
  const file = path.join(OUT, `rules-phone-${String(shots).padStart(2, '0')}-${name}.png`);
  if (whole) await fullPageShot(page, file);
  else await page.screenshot({ path: file });
}

/** A request from the page (its session; the CSRF token from GET /session for a change): {status, body}. */
function call(page, method, apiPath, body) {
  return page.evaluate(async ([m, p, b]) => {
    const headers = { Accept: 'application/json' };
    if (m !== 'GET') {
      headers['X-CSRF-Token'] = (await (await fetch('/api/v1/session', { cache: 'no-store' })).json()).csrf_token;
    }
    if (b !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`/api/v1${p}`, {
      method: m, headers, cache: 'no-store', body: b === undefined ? undefined : JSON.stringify(b),
    });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  }, [method, apiPath, body]);
}

/** How many messages `q` finds. */
async function total(page, q) {
  const { body } = await call(page, 'GET', `/search?${new URLSearchParams({ q, limit: '1' })}`);
  return body.total;
}

/** Waits for the answer to `method` on /api/v1{apiPath}, after `action()`. */
async function answerTo(page, method, apiPath, action) {
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/v1${apiPath}`
    && r.request().method() === method);
  await action();
  return answer;
}

async function main() {
  requireBin();
  await ensureOut();
  const started = Date.now();
  let server = null;
  let browser = null;
  let watcher = null;
  try {
    server = await startServer('rules', {
      prepare: async (dir) => {
        await homepostCli(dir, ['init', '--kdf', 'insecure-test-only']);
        await importMail(dir, [MBOX]);
      },
    });
    browser = await launchBrowser();
    const context = await browser.newContext({ ...SMALL_PHONE, acceptDownloads: true });
    await singleMessages(context);
    watcher = watch(context, 'rules');
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    steps.page = page;

    const searchBox = page.getByRole('combobox', { name: 'Search mail' });
    const listTitle = page.locator('#list-title');
    const drawerButton = page.getByRole('button', { name: 'Tags and folders' });
    const savedList = page.locator('.saved-list');
    const rulesHeading = page.getByRole('heading', { name: 'Filter rules', level: 1 });
    const search = async (q) => {
      await searchBox.fill(q);
      await searchBox.press('Enter');
      await page.locator('.list-summary').filter({ hasNotText: 'Loading' }).waitFor();
    };
    const closeDrawer = async () => {
      await page.keyboard.press('Escape');
      await page.locator('hp-mail[data-drawer="closed"]').waitFor();
    };

    await step('a search saved from its results: the name asked for, a bad search refused on its field', async () => {
      await page.goto(`${server.base}/`);
      await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Unlock' }).click();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      // Folders and tags are in the drawer already: nothing to save there.
      assert.equal(await page.locator('hp-save-search').isVisible(), false, '"Save search" offered for the Inbox');
      await search(SAVED_QUERY);
      await listTitle.getByText('Search results').waitFor();
      await page.locator('hp-save-search').getByRole('button', { name: 'Save search' }).click();
      const dialog = page.getByRole('dialog', { name: 'Save this search' });
      const name = dialog.getByLabel('Name', { exact: true });
      const query = dialog.getByLabel('Search', { exact: true });
      assert.equal(await name.inputValue(), SAVED_QUERY, 'the name is not prefilled with the search');
      assert.equal(await query.inputValue(), SAVED_QUERY);
      await name.fill('Bjarni');
      await query.fill('(budget');
      const refused = await answerTo(page, 'POST', '/saved-searches',
        () => dialog.getByRole('button', { name: 'Save search' }).click());
      assert.equal(refused.status(), 400);
      const { error } = await refused.json();
      assert.equal(typeof error === 'string' ? error : error.code, 'bad_query');
      await dialog.getByRole('alert').getByText(/parenthes/i).waitFor();
      assert.equal(await query.getAttribute('aria-invalid'), 'true');
      await until('the focus is on the search field', 5000,
        () => page.evaluate(() => document.activeElement && document.activeElement.id === 'saved-search-query'));
      await shot(page, 'save-refused');
      await axeCheck(page, 'the save-search sheet with an error');
      await query.fill(SAVED_QUERY);
      const res = await answerTo(page, 'POST', '/saved-searches',
        () => dialog.getByRole('button', { name: 'Save search' }).click());
      assert.equal(res.status(), 201);
      assert.deepEqual(JSON.parse(res.request().postData()), { name: 'Bjarni', query: SAVED_QUERY });
      await dialog.waitFor({ state: 'detached' });
      await page.locator('hp-save-search').getByText('Saved as \u201cBjarni\u201d').waitFor();
      await page.locator('.toast').getByText(/^Saved \u201cBjarni\u201d/).waitFor();
    });

    await step('the drawer lists it with its unread count; a tap opens its results', async () => {
      const { body } = await call(page, 'GET', '/saved-searches');
      const saved = body.saved.find((s) => s.name === 'Bjarni');
      assert.ok(saved, JSON.stringify(body));
      assert.equal(saved.query, SAVED_QUERY);
      assert.equal(saved.unread, await total(page, `${SAVED_QUERY} is:unread`));
      assert.ok(saved.unread > 0, 'no unread message among the saved search\u2019s');
      await search('in:inbox'); // so that the saved search's link changes what the list shows
      await listTitle.getByText('Inbox').waitFor();
      await drawerButton.click();
      const link = savedList.getByRole('link', { name: new RegExp(`^Bjarni\\s*${saved.unread}\\s*unread$`) });
      await link.waitFor();
      await page.waitForTimeout(250); // the drawer slides in
      assert.equal((await link.locator('.count').textContent()).replace(/\D/g, ''), String(saved.unread));
      await shot(page, 'drawer');
      await axeCheck(page, 'the drawer with a saved search');
      await link.click();
      await listTitle.getByText('Search results').waitFor();
      await page.locator('.list-summary').getByText(`for ${SAVED_QUERY}`).waitFor();
      assert.equal(new URLSearchParams(new URL(page.url()).hash.split('?')[1]).get('q'), SAVED_QUERY);
      assert.equal(await page.locator('hp-message-list li.msg-row').count(), await total(page, SAVED_QUERY));
    });

    await step('a warning mark, moving up in Edit mode, deleting after a confirm', async () => {
      const made = await call(page, 'POST', '/saved-searches', { name: 'Nothing', query: 'tag:nosuchtag' });
      assert.equal(made.status, 201);
      assert.ok(made.body.warnings.length > 0, 'no warning for a tag no message has');
      await page.reload();
      await listTitle.waitFor();
      await drawerButton.click();
      const entry = savedList.getByRole('link', { name: /^Nothing/ });
      await entry.waitFor();
      // The warning is a mark on screen, words for a screen reader.
      const said = (await entry.locator('.visually-hidden').allTextContents()).join(' ').toLowerCase();
      assert.ok(said.includes(made.body.warnings[0].toLowerCase()), `the warning is not said: ${said}`);
      await page.getByRole('button', { name: 'Edit saved searches' }).click();
      const up = page.getByRole('button', { name: 'Move up Nothing' });
      assert.equal(await page.getByRole('button', { name: 'Move up Bjarni' }).isDisabled(), true);
      await savedList.locator('.saved-warning').getByText(made.body.warnings[0]).waitFor();
      await shot(page, 'drawer-edit');
      await axeCheck(page, 'the drawer in Edit mode');
      const res = await answerTo(page, 'PUT', '/saved-searches/order', () => up.click());
      assert.equal(res.status(), 204);
      await until('Nothing is first', 5000, async () => (await savedList.locator('.saved-edit-name').first()
        .textContent()) === 'Nothing');
      assert.deepEqual((await call(page, 'GET', '/saved-searches')).body.saved.map((s) => s.name), ['Nothing', 'Bjarni']);
      await page.getByRole('button', { name: 'Delete Nothing' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete the saved search \u201cNothing\u201d?' });
      await dialog.getByRole('button', { name: 'Delete' }).click();
      await until('Nothing is gone', 5000, async () => (await savedList.locator('.saved-edit-name').count()) === 1);
      assert.deepEqual((await call(page, 'GET', '/saved-searches')).body.saved.map((s) => s.name), ['Bjarni']);
      await page.getByRole('button', { name: 'Done editing saved searches' }).click();
      await savedList.getByRole('link', { name: /^Bjarni/ }).waitFor();
      await closeDrawer();
    });

    let rule = null;
    await step('"Mail like this…" opens a new rule for the sender; a tag and "Archive it" saved', async () => {
      await search(`from:${SENDER.address}`);
      await page.locator('.msg-link').filter({ hasText: SENDER.subject }).click();
      await page.getByRole('heading', { name: SENDER.subject, level: 1 }).waitFor();
      // Opening marks it read, which redraws the toolbar (and would close its menu).
      await page.locator('.menu-item[data-key="read"]').filter({ hasText: 'Mark unread' }).waitFor({ state: 'attached' });
      await page.getByRole('button', { name: 'More', exact: true }).click();
      await page.getByRole('menuitem', { name: 'Mail like this\u2026' }).click();
      await page.getByRole('heading', { name: 'New rule', level: 1 }).waitFor();
      const form = page.locator('hp-rules');
      assert.equal(await form.getByLabel('Name', { exact: true }).inputValue(), RULE_NAME);
      const query = form.getByLabel('Mail it is for');
      assert.equal(await query.inputValue(), `from:${SENDER.address}`);
      const n = await total(page, `from:${SENDER.address}`);
      await form.getByRole('button', { name: 'Check the search' }).click();
      await form.getByText(`It finds ${n} messages in your mail now.`).waitFor();
      await form.getByRole('button', { name: 'Add a tag\u2026' }).click();
      const picker = page.getByRole('dialog', { name: 'Tag the mail this rule finds' });
      await picker.getByLabel('Tag name').fill('brennan');
      await picker.getByRole('button', { name: 'Add tag', exact: true }).click();
      await picker.waitFor({ state: 'detached' });
      await form.locator('.chip').filter({ hasText: 'brennan' }).waitFor();
      await form.getByLabel('Archive it').check();
      await shot(page, 'rule-editor', true);
      await fitsTheScreen(page, 'the rule editor', 'hp-rules');
      await axeCheck(page, 'the rule editor');
      const res = await answerTo(page, 'POST', '/rules', () => form.getByRole('button', { name: 'Add rule' }).click());
      assert.equal(res.status(), 201);
      const sent = JSON.parse(res.request().postData());
      assert.equal(sent.name, RULE_NAME);
      assert.deepEqual(sent.actions, {
        add_tags: ['brennan'], remove_tags: [], mark_read: false, archive: true, trash: false, spam: null, stop: false,
      });
      rule = await res.json();
      await rulesHeading.waitFor();
      assert.equal(new URL(page.url()).hash, '#/rules');
      const title = page.locator(`#rule-${rule.id}-title`);
      await title.waitFor();
      await until('the new rule has the focus', 5000, () => page.evaluate((id) => document.activeElement
        && document.activeElement.id === id, `rule-${rule.id}-title`));
      await shot(page, 'rules', true);
      await fitsTheScreen(page, 'the rules', 'hp-rules');
      await axeCheck(page, 'the rules page');
    });

    await step('"Run on existing mail…": the count first, the progress, "Done"; the tag is on the message', async () => {
      const card = page.locator('li.rule-card').filter({ has: page.locator(`#rule-${rule.id}-title`) });
      const matches = await answerTo(page, 'GET', `/rules/${rule.id}/matches`,
        () => card.getByRole('button', { name: 'Run on existing mail\u2026' }).click());
      const n = (await matches.json()).count;
      assert.ok(n > 0, 'the rule matches nothing');
      const dialog = page.getByRole('dialog', { name: `Run \u201c${RULE_NAME}\u201d on existing mail?` });
      await dialog.getByText(`This changes ${n} ${n === 1 ? 'message' : 'messages'}. Run?`, { exact: true }).waitFor();
      await shot(page, 'run-confirm');
      // While it runs (answered here: a run over two messages ends before a poll sees it).
      await page.route('**/api/v1/rules/run', (route) => (route.request().method() === 'GET'
        ? route.fulfill({ json: { running: { rule: rule.id, name: RULE_NAME, done: 1, total: 2 }, last: null } })
        : route.fallback()));
      const res = await answerTo(page, 'POST', `/rules/${rule.id}/run`,
        () => dialog.getByRole('button', { name: 'Run', exact: true }).click());
      assert.equal(res.status(), 202);
      const bar = page.locator('.rules-run progress');
      await bar.waitFor();
      await page.locator('#rules-run-text').getByText(`Running \u201c${RULE_NAME}\u201d on existing mail: 50% done`).waitFor();
      assert.equal(await bar.getAttribute('max'), '2');
      assert.equal(await bar.evaluate((b) => b.value), 1);
      await shot(page, 'running', true);
      await fitsTheScreen(page, 'a run going on', 'hp-rules');
      await axeCheck(page, 'the rules page, a run going on');
      await page.unroute('**/api/v1/rules/run');
      await bar.waitFor({ state: 'hidden', timeout: 30000 });
      const { body } = await call(page, 'GET', '/rules/run');
      assert.equal(body.running, null);
      assert.equal(body.last.rule, rule.id);
      assert.equal(body.last.error, null);
      const changed = body.last.changed;
      await page.locator('#rules-run-text')
        .getByText(`Done: ${changed} ${changed === 1 ? 'message' : 'messages'} changed`, { exact: true }).waitFor();
      assert.equal(changed, n, 'the run changed another number of messages than it said');
      const fromSender = await total(page, `from:${SENDER.address}`);
      assert.equal(await total(page, `from:${SENDER.address} tag:brennan`), fromSender);
      assert.equal(await total(page, `from:${SENDER.address} in:inbox`), 0);
      await shot(page, 'run-done', true);

      await search('tag:brennan');
      await page.locator('.msg-link').filter({ hasText: SENDER.subject }).click();
      await page.getByRole('heading', { name: SENDER.subject, level: 1 }).waitFor();
      const chips = page.locator('hp-message-view .chips');
      await chips.getByRole('link', { name: 'brennan', exact: true }).waitFor();
      assert.equal(await chips.getByRole('link', { name: 'Inbox', exact: true }).count(), 0, 'still in the Inbox');
      await shot(page, 'tagged');
    });

    await step('Settings leads to the rules; a Sieve script previewed, its redirect left out and said, its rules added',
      async () => {
        await page.getByRole('button', { name: 'Back to the list' }).click();
        await listTitle.waitFor();
        await drawerButton.click();
        await page.getByRole('button', { name: 'Settings', exact: true }).click();
        const settings = page.getByRole('dialog', { name: 'Settings' });
        await settings.getByRole('link', { name: /^Filter rules/ }).click();
        await rulesHeading.waitFor();
        await settings.waitFor({ state: 'detached' });
        const before = (await call(page, 'GET', '/rules')).body.rules.length;
        await page.getByRole('button', { name: 'Import Sieve script\u2026' }).click();
        const dialog = page.getByRole('dialog', { name: 'Import a Sieve script' });
        await dialog.getByLabel('Sieve script').fill(SIEVE);
        const res = await answerTo(page, 'POST', '/rules/sieve', () => dialog.getByRole('button', { name: 'Preview' }).click());
        assert.equal(res.status(), 200);
        assert.deepEqual(JSON.parse(res.request().postData()), { script: SIEVE, dry_run: true });
        const preview = await res.json();
        assert.ok(preview.rules.length >= 1, JSON.stringify(preview));
        assert.equal((await call(page, 'GET', '/rules')).body.rules.length, before, 'a preview added rules');
        const redirect = preview.skipped.find((s) => /redirect/.test(s.text));
        assert.ok(redirect, `the redirect line is not left out: ${JSON.stringify(preview.skipped)}`);
        const line = dialog.locator('.sieve-skipped').filter({ hasText: redirect.text });
        await line.getByText(`Line ${redirect.line}:`).waitFor();
        await line.locator('.sieve-reason').getByText(redirect.reason).waitFor();
        assert.equal(await dialog.locator('.sieve-rule').count(), preview.rules.length);
        await shot(page, 'sieve-preview');
        await axeCheck(page, 'the Sieve preview');
        const n = preview.rules.length;
        const added = await answerTo(page, 'POST', '/rules/sieve', () => dialog.getByRole('button', {
          name: n === 1 ? 'Add this rule' : `Add these ${n} rules`,
        }).click());
        assert.equal(added.status(), 200);
        assert.equal(JSON.parse(added.request().postData()).dry_run, false);
        await dialog.waitFor({ state: 'detached' });
        await until('the list shows the added rules', 10000,
          async () => (await page.locator('li.rule-card').count()) === before + n);
        assert.equal((await call(page, 'GET', '/rules')).body.rules.length, before + n);
      });

    await step('"Export as Sieve" downloads homepost.sieve with fileinto', async () => {
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Export as Sieve' }).click();
      const file = await download;
      assert.equal(file.suggestedFilename(), 'homepost.sieve');
      const text = await readFile(await file.path(), 'utf8');
      assert.ok(text.includes('fileinto'), `no fileinto in the export:\n${text}`);
      const { body } = await call(page, 'GET', '/rules/sieve');
      assert.equal(text, body.script);
      await page.locator('.rules-report').getByText(/^Saved as homepost\.sieve\./).waitFor();
      assert.equal(await page.locator('.sieve-not-exported li').count(), body.not_exported.length);
      await shot(page, 'exported', true);
      await fitsTheScreen(page, 'the rules after the import', 'hp-rules');
    });
  } finally {
    if (watcher) {
      const problems = [...watcher.problems, ...watcher.external.map((u) => `request left the box: ${u}`)];
      if (problems.length > 0) steps.fail(`console errors, CSP violations or requests elsewhere: ${problems.join('; ')}`);
      else steps.results.push('ok   [rules] no console error, no CSP violation, no request elsewhere');
    }
    if (browser) await browser.close();
    if (server) await server.stop();
    steps.results.push(`     [rules] ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

main().catch((err) => {
  if (!steps.results.some((r) => r.startsWith('FAIL'))) steps.fail(err.message);
}).finally(() => {
  console.log(`\n${steps.results.join('\n')}`);
  process.exitCode = steps.failures > 0 ? 1 : 0;
});
