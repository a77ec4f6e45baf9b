// The wizard's existing-mail step: what Homepost fetches of the mail already on the
// server (which folders, how far back, whether old mail is marked as read there and
// here), then the account is created (POST /accounts, with the servers, user names
// and certificate pins that worked in the account step) and the host moves on to
// "remote" with the account's id (<hp-wizard>; <hp-account-add> goes back to the
// Accounts screen: see wizard-frame.js). After a reload the password is asked again:
// it is never kept in the browser.

import { api, ApiError } from '../api.js';
import { h } from '../dom.js';
import { sentence } from '../format.js';
import { domainOf, errorLine, field, nextId, statusLine } from './wizard-frame.js';

const DAYS = 30;
/** The box keeps a trusted certificate's pin only within 30 minutes of a test that used it. */
const RETEST_AFTER_MS = 20 * 60 * 1000;
const DEFAULT_POLL_SECONDS = 300;
/** Folders "all folders" leaves out. */
const SKIPPED = new Set(['junk', 'trash']);

/** The choice in words, for this step's button and the summary. */
export function choiceWords(choice) {
  if (!choice) return 'Not chosen here.';
  const where = choice.folders === 'all' ? `all ${choice.folderCount} folders` : 'the inbox';
  const what = {
    all: `Everything in ${where}`,
    recent: `The last ${DAYS} days of ${where}`,
    none: 'No old mail: only new mail from now on',
  }[choice.scope];
  return `${what}${choice.scope !== 'none' && choice.markRead ? ', marked as read' : ''}.`;
}

/** A radio button with its label, and its hint under it (described by, not named by). */
function radio(name, value, label, hint, checked = false) {
  const input = h('input', { id: nextId(name), type: 'radio', name, value, checked });
  const hintEl = hint ? h('p', { class: 'field-hint choice-hint', id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', {}, h('div', { class: 'check' }, input, h('label', { for: input.id }, label)), hintEl);
}

export class MailStep {
  /** `host`: what drives the step (draft, advance, frame; wizard-frame.js). */
  constructor(host) {
    this.host = host;
    this.draft = host.draft;
    this.error = errorLine();
    this.status = statusLine();
    if (!this.draft) {
      this.buildLost();
      return;
    }
    const d = this.draft;
    const imap = d.incoming.protocol === 'imap';
    const listed = (d.folders || []).filter((f) => !SKIPPED.has(f.special));
    const inbox = listed.find((f) => f.name.toUpperCase() === 'INBOX');
    // The inbox first: new mail is watched for in the first folder.
    this.allFolders = [inbox ? inbox.name : 'INBOX', ...listed.filter((f) => f !== inbox).map((f) => f.name)];
    const sent = (d.folders || []).find((f) => f.special === 'sent');
    this.sentFolder = imap && sent ? sent.name : null;
    const folderName = nextId('folders');
    this.scopeName = nextId('scope');
    this.folderName = folderName;
    this.markRead = h('input', { id: nextId('mark-read'), type: 'checkbox' });
    const folderChoice = imap && this.allFolders.length > 1 ? h('fieldset', { class: 'choices' },
      h('legend', {}, 'Which folders'),
      radio(folderName, 'all', `All folders (${this.allFolders.length})`,
        'Everything but junk and trash, so your folders look the same here.', true),
      h('details', { class: 'wizard-folders' }, h('summary', {}, 'Show the folders'),
        h('ul', {}, this.allFolders.map((f) => h('li', {}, f)))),
      radio(folderName, 'inbox', 'Only the inbox')) : null;
    this.password = null;
    let passwordField = null;
    if (!d.password) {
      this.password = h('input', {
        id: nextId('mail-password'), type: 'password', autocomplete: 'current-password', required: true,
      });
      passwordField = field(`Password of ${d.email}`, this.password,
        'Asked again because the page was reloaded: your browser never keeps it.');
    }
    this.submit = h('button', { type: 'submit', class: 'button primary wide' }, host.saveLabel || 'Continue');
    // A POP3 server cannot tell old mail from new before fetching it: it is all fetched.
    const howMuch = imap ? [
      h('fieldset', { class: 'choices' },
        h('legend', {}, 'How much of it'),
        radio(this.scopeName, 'all', 'Everything', 'All your old mail; a large mailbox can take a while.', true),
        radio(this.scopeName, 'recent', `The last ${DAYS} days`),
        radio(this.scopeName, 'none', 'Nothing: only new mail from now on')),
      h('div', { class: 'check' }, this.markRead,
        h('label', { for: this.markRead.id }, 'Mark old mail as read (here and on the server)')),
    ] : h('p', {}, 'Homepost fetches everything in the inbox: a POP3 server cannot tell old mail from new.');
    this.form = h('form', { class: 'auth-form', novalidate: true, onsubmit: (e) => this.save(e) },
      passwordField,
      folderChoice,
      howMuch,
      this.error.el,
      this.status,
      this.submit);
    this.form.addEventListener('change', () => {
      this.markRead.disabled = this.value(this.scopeName) === 'none';
    });
    const frame = host.frame('mail', 'Your existing mail',
      h('p', {}, `Both servers of ${d.email} work. `, imap
        ? 'Choose what Homepost fetches of the mail already there. It stays on the server too.'
        : 'Choose what Homepost fetches of the mail already in the inbox.'),
      this.form);
    this.el = frame.el;
    this.heading = frame.heading;
  }

  /** Reloaded in another tab, or the settings were cleared: back to the account step. */
  buildLost() {
    const back = h('button', {
      type: 'button', class: 'button primary wide',
      onclick: async () => {
        try {
          await this.host.advance('account');
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 401) this.error.show(sentence(err.message));
        }
      },
    }, 'Connect the account again');
    const frame = host.frame('mail', 'Your existing mail',
      h('p', {}, 'This browser no longer has the settings of the account you connected (passwords are never '
        + 'kept in it). Connect it once more; it takes a moment.'),
      this.error.el, back);
    this.el = frame.el;
    this.heading = frame.heading;
  }

  value(name) {
    const checked = this.form.querySelector(`input[name="${name}"]:checked`);
    return checked ? checked.value : 'all';
  }

  /** The Account of POST /accounts. */
  body(password) {
    const d = this.draft;
    const imap = d.incoming.protocol === 'imap';
    const scope = imap ? this.value(this.scopeName) : 'all';
    const folders = this.value(this.folderName) === 'inbox' || d.incoming.protocol !== 'imap'
      ? [this.allFolders[0]] : this.allFolders;
    const server = (s) => {
      const out = { host: s.host, port: s.port, security: s.security, username: s.username, password };
      if (s.pinned_sha256) out.pinned_sha256 = s.pinned_sha256;
      return out;
    };
    return {
      name: this.host.accountName ? this.host.accountName(d.email) : domainOf(d.email) || 'Mail',
      email: d.email,
      display_name: d.display_name || null,
      incoming: {
        protocol: d.incoming.protocol,
        ...server(d.incoming),
        folders,
        sent_folder: this.sentFolder,
        policy: { kind: 'keep' },
        poll_seconds: DEFAULT_POLL_SECONDS,
        first_sync: { scope, days: DAYS, mark_read: imap && scope !== 'none' && this.markRead.checked },
      },
      outgoing: server(d.outgoing),
    };
  }

  async save(event) {
    event.preventDefault();
    this.error.clear();
    const d = this.draft;
    const password = d.password || (this.password && this.password.value);
    if (!password) {
      this.password.setAttribute('aria-invalid', 'true');
      this.error.show(`Type the password of ${d.email}.`);
      this.password.focus();
      return;
    }
    const body = this.body(password);
    this.submit.disabled = true;
    try {
      const stale = Date.now() - (d.tested_at || 0) > RETEST_AFTER_MS;
      if ((!d.password || stale) && !(await this.stillWorks(body))) return;
      this.status.textContent = `Saving ${d.email}\u2026`;
      // The pins the test logged in with go along: the server keeps them (docs/api-mail-accounts.md).
      const account = await api.createAccount(body);
      if (this.host.setChoice) {
        this.host.setChoice({
          scope: body.incoming.first_sync.scope,
          folders: body.incoming.folders.length > 1 ? 'all' : 'inbox',
          folderCount: body.incoming.folders.length,
          markRead: body.incoming.first_sync.mark_read,
        });
      }
      await this.host.advance('remote', account.id);
    } catch (err) {
      this.status.textContent = '';
      if (err instanceof ApiError && err.status === 401) return;
      this.error.show(sentence(err.message));
      this.error.el.focus();
    } finally {
      this.submit.disabled = false;
    }
  }

  /**
   * After a reload (the password typed again) or a long pause (the box keeps a pin
   * only briefly after its test), the servers are tried again before the account is saved.
   */
  async stillWorks(body) {
    this.status.textContent = 'Checking the servers again\u2026';
    const side = (s) => {
      const { folders: _f, sent_folder: _s, policy: _p, poll_seconds: _t, first_sync: _x, ...rest } = s;
      return rest;
    };
    const answer = await api.testAccount({ email: body.email, incoming: side(body.incoming), outgoing: side(body.outgoing) });
    this.status.textContent = '';
    if (answer.incoming.ok && answer.outgoing.ok) return true;
    const failed = answer.incoming.ok ? answer.outgoing : answer.incoming;
    const wrong = failed.error && failed.error.code === 'wrong_password';
    this.error.show(wrong && this.password
      ? 'The server refused this password. Type it again.'
      : `The servers did not work this time: ${sentence(failed.error ? failed.error.message : '')}`);
    if (wrong && this.password) {
      this.password.setAttribute('aria-invalid', 'true');
      this.password.focus();
    } else {
      this.error.el.focus();
    }
    return false;
  }
}
