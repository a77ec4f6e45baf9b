// <hp-rules>: the Filter rules page (#/rules), reached from Settings. The rules in
// the order they run on arriving mail (after the spam filter; a rule that stops ends
// the list for that message), each with its search, what it does in words, the box's
// warnings, an On switch, Move up / Move down, Change, "Run on existing mail…" and
// Delete (after a confirm). "Run on existing mail…" first says how many stored
// messages it changes (GET /rules/{id}/matches), then starts the run (POST
// /rules/{id}/run) and shows its progress: GET /rules/run is polled while the page is
// open (poll.js: only while someone looks), every second while a run goes on, else
// every 30 s. "New rule", Sieve import and export (rules-sieve.js). With an id
// (#/rules/3, #/rules/new) it shows the editor instead (rule-form.js).

import { api } from '../api.js';
import {
  h, icon, replace, titleRow,
} from '../dom.js';
import { ICONS } from '../icons.js';
import { ago, count, sentence } from '../format.js';
import { RULES_HASH, ruleHash } from '../router.js';
import { announce } from '../mail-actions.js';
import { poll, pollRound } from '../poll.js';
import { confirmSheet } from './sheet.js';
import { RuleForm, actionWords } from './rule-form.js';
import { exportSieve, importSieve } from './rules-sieve.js';
import { sameOrNext } from './saved-searches.js';

const RUNNING_MS = 1000;
const IDLE_MS = 30000;
/** After "Run": the polls to wait, at most, for the run to show in GET /rules/run. */
const START_POLLS = 30;

/** The rule the list puts the focus on when it shows next (one just saved in the editor). */
let focusNext = null;

/** A run's progress in words, in steps of ten percent (a live region says each once). */
function progressWords(r) {
  if (!r.total) return `Running \u201c${r.name}\u201d on existing mail\u2026`;
  const percent = Math.min(100, Math.floor((r.done / r.total) * 10) * 10);
  return `Running \u201c${r.name}\u201d on existing mail: ${percent}% done`;
}

/** Sets `el`'s text only when it changes (a live region then speaks only news). */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
  el.hidden = !text;
}

class HpRules extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    const id = this.dataset.id;
    if (id) {
      const prefill = this.dataset.params || null;
      this.form = new RuleForm(id === 'new' ? null : Number(id), {
        prefill,
        // Saved: to the list, which shows it. Cancelled: back where the editor was opened from.
        back: (saved) => {
          if (saved) focusNext = saved.id;
          const target = saved || !prefill ? RULES_HASH : null;
          this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true, detail: { target } }));
        },
      });
      replace(this, this.form.el);
      return;
    }
    this.rules = [];
    this.view = null;
    this.lastFinished = undefined;
    this.sawRunning = false;
    this.waitPolls = 0;
    this.build();
    this.loadRules();
    this.poller = poll(() => this.loadRun(), IDLE_MS);
  }

  disconnectedCallback() {
    if (this.poller) this.poller.stop();
    this.poller = null;
    if (this.abort) this.abort.abort();
  }

  build() {
    this.heading = h('h1', { class: 'page-title', id: 'rules-title', tabindex: '-1' }, 'Filter rules');
    this.errorLine = h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.runHeading = h('h2', { class: 'section-title', id: 'rules-run-title', tabindex: '-1' }, 'Run on existing mail');
    this.runText = h('p', { class: 'rules-run-text', id: 'rules-run-text', role: 'status', 'aria-live': 'polite' });
    this.bar = h('progress', {
      class: 'health-bar', max: '1', value: '0', hidden: true, 'aria-labelledby': 'rules-run-text',
    });
    this.runCount = h('p', { class: 'health-count muted', hidden: true });
    this.runDetail = h('p', { class: 'muted rules-run-detail', hidden: true });
    this.runBox = h('section', { class: 'remote-section rules-run', 'aria-labelledby': 'rules-run-title', hidden: true },
      h('div', { class: 'remote-head' }, icon(ICONS.sync), this.runHeading),
      this.runText, this.bar, this.runCount, this.runDetail);
    this.report = h('div', { class: 'rules-report', role: 'status' });
    this.list = h('ol', { class: 'card-list rule-list', 'aria-labelledby': 'rules-title' });
    this.note = h('p', { class: 'list-empty' }, 'Loading\u2026');
    replace(this, h('div', { class: 'page-body rules-page' },
      titleRow(this.heading, () => this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true }))),
      h('p', { class: 'page-intro flush' }, 'Rules run on arriving mail, in this order, after the spam filter. '
        + 'A rule that stops ends the list for that message.'),
      h('div', { class: 'rules-actions' },
        h('a', { class: 'button primary', href: ruleHash('new') }, icon(ICONS.plus), 'New rule'),
        h('button', { type: 'button', class: 'button', onclick: () => this.importSieve() },
          icon(ICONS.upload), 'Import Sieve script\u2026'),
        h('button', { type: 'button', class: 'button', onclick: () => exportSieve(this.report) },
          icon(ICONS.download), 'Export as Sieve')),
      this.errorLine,
      this.report,
      this.runBox,
      this.note,
      this.list));
  }

  /** The page's error line (pollRound's too); null hides it. */
  showError(message) {
    if (message && this.errorLine.textContent !== message) this.errorLine.textContent = message;
    this.errorLine.hidden = !message;
  }

  async loadRules() {
    try {
      const answer = await api.rules();
      this.rules = answer.rules || [];
    } catch (err) {
      if (err.status === 401) return;
      this.note.hidden = true;
      this.showError(`The rules could not be loaded: ${err.message}`);
      return;
    }
    this.render();
  }

  render() {
    const focused = this.list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    this.note.hidden = this.rules.length > 0;
    this.note.textContent = 'No rules yet. A rule tags, archives or files arriving mail by itself: '
      + 'start with \u201cNew rule\u201d, or \u201cMail like this\u2026\u201d in a message\u2019s More menu.';
    replace(this.list, this.rules.map((r, i) => this.card(r, i)));
    let again = null;
    if (focusNext !== null) {
      again = this.list.querySelector(`#rule-${focusNext}-title`);
      focusNext = null;
    } else if (focused) {
      again = sameOrNext(this.list, focused);
    }
    if (again) again.focus();
  }

  card(r, index) {
    const titleId = `rule-${r.id}-title`;
    const key = (what) => `${r.id}:${what}`;
    const toggle = h('input', {
      type: 'checkbox', id: `rule-${r.id}-on`, role: 'switch', class: 'switch-input', checked: r.enabled !== false,
      'aria-describedby': titleId, dataset: { focusKey: key('on') }, onchange: (e) => this.setEnabled(r, e.target.checked),
    });
    const move = (what, label, iconPath, delta, disabled) => h('button', {
      type: 'button', class: 'icon-button', 'aria-label': `Move \u201c${r.name}\u201d ${label}`, title: `Move ${label}`,
      disabled, dataset: { focusKey: key(what) }, onclick: () => this.move(index, delta),
    }, icon(iconPath));
    return h('li', { class: r.enabled === false ? 'card rule-card off' : 'card rule-card' },
      h('div', { class: 'card-head' },
        h('h2', { class: 'card-title', id: titleId, tabindex: '-1' }, `${index + 1}. ${r.name}`),
        r.enabled === false ? h('span', { class: 'state-badge' }, 'Off') : null),
      h('p', { class: 'card-line' }, h('code', { class: 'rule-query' }, r.query)),
      h('p', { class: 'card-line card-sub' }, actionWords(r.actions || {})),
      (r.warnings || []).map((w) => h('p', { class: 'warning-note rule-warning' }, icon(ICONS.warning),
        h('span', {}, sentence(w)))),
      h('div', { class: 'rule-controls' },
        h('label', { class: 'switch', for: toggle.id }, toggle,
          h('span', { class: 'switch-track', 'aria-hidden': 'true' }), h('span', { class: 'switch-label' }, 'Active')),
        h('span', { class: 'rule-move' },
          move('up', 'up', ICONS.arrowUp, -1, index === 0),
          move('down', 'down', ICONS.arrowDown, 1, index === this.rules.length - 1))),
      h('div', { class: 'card-actions' },
        h('a', {
          class: 'button', href: ruleHash(r.id), 'aria-describedby': titleId, dataset: { focusKey: key('edit') },
        }, icon(ICONS.edit), 'Change'),
        h('button', {
          type: 'button', class: 'button', 'aria-describedby': titleId, dataset: { focusKey: key('run') },
          onclick: () => this.run(r),
        }, icon(ICONS.play), 'Run on existing mail\u2026'),
        h('button', {
          type: 'button', class: 'button', 'aria-describedby': titleId, dataset: { focusKey: key('delete') },
          onclick: () => this.remove(r),
        }, icon(ICONS.trash), 'Delete')));
  }

  async setEnabled(rule, enabled) {
    try {
      const saved = await api.updateRule(rule.id, { enabled });
      this.rules = this.rules.map((r) => (r.id === rule.id ? saved : r));
      this.showError(null);
      announce(enabled ? `\u201c${rule.name}\u201d is on.` : `\u201c${rule.name}\u201d is off: it no longer runs on arriving mail.`);
    } catch (err) {
      if (err.status !== 401) this.showError(`Not changed: ${err.message}`);
    }
    this.render();
  }

  async move(index, delta) {
    const to = index + delta;
    if (to < 0 || to >= this.rules.length) return;
    const order = [...this.rules];
    const [moved] = order.splice(index, 1);
    order.splice(to, 0, moved);
    this.rules = order;
    this.render();
    try {
      await api.orderRules(order.map((r) => r.id));
      this.showError(null);
      announce(`\u201c${moved.name}\u201d moved ${delta < 0 ? 'up' : 'down'}: it runs ${to + 1} of ${order.length}.`);
    } catch (err) {
      if (err.status !== 401) this.showError(`The order was not saved: ${err.message}`);
    }
    await this.loadRules();
  }

  async remove(rule) {
    const ok = await confirmSheet({
      title: `Delete the rule \u201c${rule.name}\u201d?`,
      message: 'It no longer runs on arriving mail. Mail it already changed stays as it is.',
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteRule(rule.id);
      announce(`Deleted the rule \u201c${rule.name}\u201d.`);
      this.showError(null);
    } catch (err) {
      if (err.status !== 401) this.showError(`Not deleted: ${err.message}`);
      return;
    }
    await this.loadRules();
    this.heading.focus();
  }

  async importSieve() {
    const added = await importSieve();
    if (added > 0) await this.loadRules();
  }

  // --- running a rule on existing mail -------------------------------------------

  /** "Run on existing mail…": how many messages it changes, a confirm, then the run. */
  async run(rule) {
    if (this.view && this.view.running) {
      this.showError('A rule is running on existing mail already: wait until it ends.');
      this.errorLine.focus();
      return;
    }
    let n;
    try {
      n = (await api.ruleMatches(rule.id)).count;
    } catch (err) {
      if (err.status !== 401) this.showError(`The mail it matches could not be counted: ${err.message}`);
      return;
    }
    if (!n) {
      announce(`\u201c${rule.name}\u201d matches no message in your mail now: there is nothing to change.`);
      return;
    }
    const ok = await confirmSheet({
      title: `Run \u201c${rule.name}\u201d on existing mail?`,
      message: `This changes ${count(n, 'message')}. Run?`,
      details: [actionWords(rule.actions || {})],
      confirmLabel: 'Run',
    });
    if (!ok || !this.poller) return;
    try {
      const answer = await api.runRule(rule.id);
      this.waitPolls = START_POLLS;
      const total = answer && Number.isFinite(answer.count) ? answer.count : n;
      this.show({ running: { rule: rule.id, name: rule.name, done: 0, total }, last: this.view && this.view.last });
      this.showError(null);
      this.runHeading.focus();
    } catch (err) {
      if (err.status === 401) return;
      this.showError(err.code === 'busy' ? 'A rule is running on existing mail already: wait until it ends.'
        : `The rule did not start: ${err.message}`);
      this.errorLine.focus();
    }
    if (this.poller) this.poller.now();
  }

  loadRun() {
    return pollRound(this, (signal) => api.ruleRun({ signal }), 'The progress could not be read',
      (view) => this.show(view, true));
  }

  /** Shows GET /rules/run's view (`polled`: an answer of the box, not one assumed here). */
  show(view, polled = false) {
    this.view = view;
    const r = view.running;
    const last = view.last;
    if (polled) {
      // A run ended: one seen running, or an outcome newer than the one first read.
      const finished = JSON.stringify(last || null);
      const ended = this.lastFinished !== undefined && !r && (this.sawRunning || finished !== this.lastFinished);
      this.lastFinished = finished;
      this.sawRunning = Boolean(r);
      if (r || ended) this.waitPolls = 0;
      else if (this.waitPolls > 0) this.waitPolls -= 1;
      // Tags changed on stored mail: the list and the drawer's counts are read again.
      if (ended) window.dispatchEvent(new CustomEvent('hp:mail-changed', { detail: { rules: true } }));
    }

    this.runBox.hidden = !r && !last;
    this.bar.hidden = !r;
    if (r) {
      setText(this.runText, progressWords(r));
      if (r.total > 0) {
        this.bar.max = r.total;
        this.bar.value = Math.min(r.done, r.total);
      } else {
        this.bar.removeAttribute('value');
      }
      setText(this.runCount, r.total > 0 ? `${r.done.toLocaleString()} of ${count(r.total, 'message')}` : '');
      setText(this.runDetail, '');
    } else if (last) {
      setText(this.runText, last.error ? `\u201c${last.name}\u201d stopped: ${last.error}`
        : `Done: ${count(last.changed || 0, 'message')} changed`);
      this.runText.classList.toggle('error-text', Boolean(last.error));
      setText(this.runCount, '');
      setText(this.runDetail, last.finished
        ? `\u201c${last.name}\u201d, run on existing mail ${ago(last.finished)}.` : `\u201c${last.name}\u201d.`);
    }
    if (this.poller) this.poller.setInterval(r || this.waitPolls > 0 ? RUNNING_MS : IDLE_MS);
  }
}

customElements.define('hp-rules', HpRules);
