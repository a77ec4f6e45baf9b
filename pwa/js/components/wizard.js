// <hp-wizard>: the first-run setup after the vault exists (docs/setup.md): the mail
// account (wizard-account.js), its existing mail (wizard-mail.js), remote access and
// the summary (wizard-finish.js). app.js shows it while GET /setup says the setup is
// not done, with the step to resume at (`step`) and the account made so far
// (`account`). Each move forward is saved first (PUT /setup), then the next step is
// drawn and its heading takes the focus. The claim and the passphrase come before
// the vault, in setup-screen.js and wizard-passphrase.js.
//
// Between the account step and the next, the tested settings live in memory and,
// without the password, in this tab's sessionStorage, so that a reload resumes at
// "existing mail" (asking for the password again); they go once the account exists.

import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { stepFrame } from './wizard-frame.js';
import { AccountStep } from './wizard-account.js';
import { MailStep } from './wizard-mail.js';
import { DoneStep, RemoteStep } from './wizard-finish.js';

const STEP_CLASSES = { account: AccountStep, mail: MailStep, remote: RemoteStep, done: DoneStep };
const STORE_KEY = 'homepost.setup';

/** What the steps handed on, kept across a redraw of the element (not a reload). */
let memory = { draft: null, choice: null };

function readStore() {
  try {
    return JSON.parse(window.sessionStorage.getItem(STORE_KEY) || '{}') || {};
  } catch {
    return {};
  }
}

function writeStore(draft, choice) {
  try {
    if (!draft && !choice) {
      window.sessionStorage.removeItem(STORE_KEY);
      return;
    }
    const { password: _never, ...kept } = draft || {};
    window.sessionStorage.setItem(STORE_KEY, JSON.stringify({ draft: draft ? kept : null, choice }));
  } catch {
    // storage off: a reload asks for the account again
  }
}

class HpWizard extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    const stored = readStore();
    this.draft = memory.draft || stored.draft || null;
    this.choice = memory.choice || stored.choice || null;
    const account = this.getAttribute('account');
    this.accountId = account ? Number(account) : null;
    // What the remote access parts announce (announce() in mail-actions.js).
    this.notice = h('p', { class: 'wizard-notice', role: 'status', 'aria-live': 'polite' });
    this.onAnnounce = (event) => {
      const { message, kind } = event.detail || {};
      this.notice.textContent = message || '';
      this.notice.classList.toggle('error-text', kind === 'error');
    };
    window.addEventListener('hp:announce', this.onAnnounce);
    this.show(this.getAttribute('step') || 'account');
  }

  disconnectedCallback() {
    window.removeEventListener('hp:announce', this.onAnnounce);
    if (this.step && this.step.stop) this.step.stop();
  }

  /** The steps' host (wizard-frame.js): the account step offers to skip the account. */
  get offersSkip() {
    return true;
  }

  /** Each step's page: the numbered, branded frame of the first run. */
  frame(step, title, ...children) {
    return stepFrame(step, title, ...children);
  }

  /** The account step's tested settings (with the password, which is never stored). */
  setDraft(draft) {
    this.draft = draft;
    memory.draft = draft;
    writeStore(draft, this.choice);
  }

  /** What the existing-mail step chose, for the summary. */
  setChoice(choice) {
    this.choice = choice;
    memory.choice = choice;
    writeStore(this.draft, choice);
  }

  /**
   * Saves the progress (PUT /setup) and shows `step`; `account` is the account made
   * so far (null: none). Rejects with the ApiError when the progress was not saved.
   */
  async advance(step, account = this.accountId) {
    await api.saveSetup(step, account);
    this.accountId = account;
    if (step === 'remote' || step === 'done') {
      // The account exists (or was skipped): its settings and password are not needed any more.
      this.draft = null;
      memory.draft = null;
      writeStore(null, this.choice);
    }
    this.show(step);
  }

  show(step) {
    if (this.step && this.step.stop) this.step.stop();
    const Step = STEP_CLASSES[step] || AccountStep;
    this.step = new Step(this);
    this.notice.textContent = '';
    replace(this, this.step.el, this.notice);
    window.scrollTo(0, 0);
    this.step.heading.focus();
  }

  /** The setup is done: the mail opens. */
  finish() {
    memory = { draft: null, choice: null };
    writeStore(null, null);
    this.dispatchEvent(new CustomEvent('hp-setup-done', { bubbles: true }));
  }
}

customElements.define('hp-wizard', HpWizard);
