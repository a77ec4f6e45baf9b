// Sieve on the Filter rules page (rules.js). "Import Sieve script…": a sheet to
// paste a script or read a .sieve file (as text, here in the browser), previewed
// first (POST /rules/sieve with dry_run: the rules it would make, and each line left
// out with the reason), then "Add these N rules" appends them. "Export as Sieve":
// the rules as one script (GET /rules/sieve), saved as homepost.sieve, and what could
// not be written in Sieve, in words.

import { api } from '../api.js';
import {
  field, formError, h, icon, replace,
} from '../dom.js';
import { ICONS } from '../icons.js';
import { count, sentence } from '../format.js';
import { announce } from '../mail-actions.js';
import { openSheet } from './sheet.js';
import { actionWords, emptyActions } from './rule-form.js';

/** The largest script read from a file (a rules file is a few kilobytes). */
const MAX_FILE = 1024 * 1024;

/** A rule of a preview: its name, its search, what it does. */
function previewRule(r) {
  return h('li', { class: 'sieve-rule' },
    h('span', { class: 'sieve-rule-name' }, r.name || '(no name)'),
    h('code', { class: 'rule-query' }, r.query || ''),
    h('span', { class: 'card-sub' }, actionWords({ ...emptyActions(), ...(r.actions || {}) })));
}

/** A line the import leaves out: "Line 12: redirect "x@y";" and why. */
function skippedLine(s) {
  return h('li', { class: 'sieve-skipped' },
    h('span', { class: 'sieve-line' }, `Line ${s.line}: `, h('code', {}, s.text || '')),
    h('span', { class: 'sieve-reason' }, sentence(s.reason)));
}

/**
 * Opens the import sheet. Resolves to the number of rules added (0 when none were),
 * once the sheet is closed.
 */
export function importSieve() {
  return new Promise((resolve) => {
    let added = 0;
    let previewed = null; // the script the preview shows
    const previewHeading = h('h3', { class: 'sheet-subhead', tabindex: '-1' }, 'What it makes');
    const preview = h('div', { class: 'sieve-preview', hidden: true });
    const addButton = h('button', {
      type: 'button', class: 'button primary', hidden: true, onclick: () => add(),
    }, icon(ICONS.plus), 'Add these rules');
    const script = h('textarea', {
      id: 'sieve-script', class: 'sieve-script', rows: '10', autocomplete: 'off', autocapitalize: 'off',
      spellcheck: 'false', 'aria-describedby': 'sieve-error',
      oninput: () => { previewed = null; preview.hidden = true; addButton.hidden = true; },
    });
    const fileInput = h('input', {
      id: 'sieve-file', type: 'file', accept: '.sieve,.siv,.txt,application/sieve,text/plain', class: 'visually-hidden',
      onchange: () => readFile(),
    });
    const fileNote = h('p', { class: 'field-hint', role: 'status' });
    const errorLine = h('p', { class: 'form-error', id: 'sieve-error', role: 'alert', tabindex: '-1', hidden: true });
    const previewButton = h('button', { type: 'submit', class: 'button primary' }, icon(ICONS.search), 'Preview');

    async function readFile() {
      const file = fileInput.files && fileInput.files[0];
      fileInput.value = '';
      if (!file) return;
      if (file.size > MAX_FILE) {
        formError(errorLine, `${file.name} is too large for a Sieve script (over 1 MB).`);
        return;
      }
      script.value = await file.text();
      script.dispatchEvent(new Event('input'));
      fileNote.textContent = `Read ${file.name}: press Preview to see what it makes.`;
      errorLine.hidden = true;
    }

    async function run(dryRun) {
      const text = script.value;
      errorLine.hidden = true;
      script.removeAttribute('aria-invalid');
      if (!text.trim()) { formError(errorLine, 'Paste a Sieve script, or choose a file.', script); return null; }
      previewButton.disabled = true;
      addButton.disabled = true;
      try {
        return { text, answer: await api.importSieve(text, dryRun) };
      } catch (err) {
        if (err.status === 401) dialog.close();
        else formError(errorLine, sentence(err.message), err.code === 'bad_sieve' ? script : null);
        return null;
      } finally {
        previewButton.disabled = false;
        addButton.disabled = false;
      }
    }

    async function showPreview(event) {
      event.preventDefault();
      const done = await run(true);
      if (!done) return;
      previewed = done.text;
      const rules = done.answer.rules || [];
      const skipped = done.answer.skipped || [];
      replace(preview,
        previewHeading,
        h('p', {}, rules.length
          ? `It makes ${count(rules.length, 'rule')}, added after the ones you have:`
          : 'It makes no rule Homepost can run.'),
        rules.length ? h('ol', { class: 'sieve-rules' }, rules.map(previewRule)) : null,
        skipped.length ? [
          h('p', { class: 'sieve-skipped-title' }, `${count(skipped.length, 'line')} left out:`),
          h('ul', { class: 'sieve-skipped-list' }, skipped.map(skippedLine)),
        ] : null);
      preview.hidden = false;
      replace(addButton, icon(ICONS.plus), rules.length === 1 ? 'Add this rule' : `Add these ${rules.length} rules`);
      addButton.hidden = rules.length === 0;
      previewHeading.focus();
      preview.scrollIntoView({ block: 'start' });
    }

    async function add() {
      if (previewed === null || previewed !== script.value) return;
      const done = await run(false);
      if (!done) return;
      added = (done.answer.rules || []).length;
      announce(`Added ${count(added, 'rule')} from the Sieve script.`);
      dialog.close();
    }

    const dialog = openSheet({
      title: 'Import a Sieve script',
      className: 'sieve-sheet',
      closeOnBackdrop: false,
      content: h('form', { novalidate: true, onsubmit: showPreview },
        h('p', { class: 'field-hint sieve-intro' }, 'Rules from another mail service, written in Sieve. You see what it makes '
          + 'before anything is added; what Homepost cannot do (forwarding, replies) is left out, and said.'),
        errorLine,
        field('Sieve script', script),
        h('div', { class: 'sieve-file' },
          h('label', { class: 'button', for: 'sieve-file' }, icon(ICONS.upload), 'Choose a .sieve file'),
          fileInput,
          fileNote),
        h('div', { class: 'sheet-actions' },
          h('button', { type: 'button', class: 'button', onclick: () => dialog.close() }, 'Cancel'),
          previewButton),
        preview,
        h('div', { class: 'sheet-actions' }, addButton)),
    });
    dialog.addEventListener('close', () => resolve(added));
    script.focus();
  });
}

/**
 * "Export as Sieve": saves the rules as homepost.sieve and says in `report` what was
 * exported and what could not be.
 */
export async function exportSieve(report) {
  let answer;
  try {
    answer = await api.exportSieve();
  } catch (err) {
    if (err.status !== 401) replace(report, h('p', { class: 'form-error' }, `Not exported: ${err.message}`));
    return;
  }
  const url = URL.createObjectURL(new Blob([answer.script || ''], { type: 'application/sieve' }));
  const link = h('a', { href: url, download: 'homepost.sieve', class: 'visually-hidden' }, 'homepost.sieve');
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  const left = answer.not_exported || [];
  replace(report,
    h('p', {}, 'Saved as homepost.sieve.',
      left.length ? ` ${count(left.length, 'rule')} could not be written in Sieve:` : ''),
    left.length ? h('ul', { class: 'sieve-not-exported' }, left.map((n) => h('li', {},
      h('span', { class: 'sieve-rule-name' }, `\u201c${n.rule}\u201d`), `: ${n.reason}`))) : null);
  announce(left.length ? `Exported; ${count(left.length, 'rule')} could not be.` : 'Exported as homepost.sieve.');
}
