// <hp-account-add>: "Add account" on the Accounts screen (#/accounts/new). The same
// two steps as the first-run wizard, driven by this page instead of <hp-wizard> (the
// host of wizard-frame.js): the address and password, the servers found with where
// they came from and any hints, "Change" to type them by hand, the test with its
// problems in words and the certificate to trust by its fingerprint
// (wizard-account.js); then the existing mail and the account is created
// (wizard-mail.js). Then back to the Accounts screen, which shows it with its state.
//
// The tested settings and the password live only in this page's memory: leaving or
// reloading it starts again from the address.

import { h, replace, titleRow } from '../dom.js';
import { accountHash } from '../router.js';
import { announce } from '../mail-actions.js';
import { lastAccounts, refreshAccounts } from '../poll.js';
import { domainOf } from './wizard-frame.js';
import { AccountStep } from './wizard-account.js';
import { MailStep } from './wizard-mail.js';

const STEPS = ['account', 'mail'];
const TITLES = { account: 'Add an account' };

class HpAccountAdd extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.draft = null;
    this.show('account');
  }

  setDraft(draft) {
    this.draft = draft;
  }

  /** The existing-mail step's button: it adds the account. */
  get saveLabel() {
    return 'Add account';
  }

  /**
   * The account's name: its domain, as in the wizard, unless an account already has
   * that name (a second address at one provider): then the address.
   */
  accountName(email) {
    const domain = domainOf(email) || 'Mail';
    const answer = lastAccounts();
    const taken = new Set(((answer && answer.accounts) || []).map((a) => String(a.name || '').toLowerCase()));
    return taken.has(domain.toLowerCase()) ? email : domain;
  }

  /** A step's page: the back button and the heading, where the step is, its content. */
  frame(step, title, ...children) {
    const heading = h('h1', { class: 'page-title wizard-title', tabindex: '-1' }, TITLES[step] || title);
    const card = h('div', { class: 'account-add-body' }, children);
    const el = h('div', { class: 'page-body account-add' },
      titleRow(heading, () => this.leave(), 'Back to the accounts'),
      h('p', { class: 'wizard-progress' }, `Adding an account \u00b7 step ${STEPS.indexOf(step) + 1} of ${STEPS.length}`),
      card);
    return { el, heading, body: card, card };
  }

  /**
   * The steps move on: 'account' and 'mail' are shown here; anything after 'mail'
   * means the account exists, so the Accounts screen shows it.
   */
  async advance(step) {
    if (STEPS.includes(step)) {
      this.show(step);
      return;
    }
    const email = this.draft ? this.draft.email : 'The account';
    this.draft = null;
    announce(`Added ${email}. Homepost is fetching its mail.`);
    refreshAccounts();
    this.leave();
  }

  show(step) {
    const Step = step === 'mail' ? MailStep : AccountStep;
    this.step = new Step(this);
    replace(this, this.step.el);
    this.step.heading.focus();
  }

  /** Back to the list of accounts (through history when it is the page before). */
  leave() {
    this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true, detail: { target: accountHash() } }));
  }
}

customElements.define('hp-account-add', HpAccountAdd);
