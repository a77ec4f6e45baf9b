// The wizard's account step: the person types only their address and password (and,
// if they like, their name); Homepost finds the servers (POST /accounts/discover),
// shows them with where they came from and any provider hints, and tries them
// (POST /accounts/test) before anything is saved. "Change" edits the servers by hand
// (wizard-servers.js), which is also where a failed discovery lands, with its log.
// A certificate that cannot be verified is shown by its fingerprint, in groups to
// compare with what the provider shows, and trusting it tries again with the pin.
// Once both servers work the settings go to the host (kept for the next step, which
// creates the account) and it moves to "mail". The host is <hp-wizard> in the first
// run or <hp-account-add> on the Accounts screen (see wizard-frame.js).

import { api, ApiError } from '../api.js';
import { h, replace } from '../dom.js';
import { sentence } from '../format.js';
import {
  domainOf, errorLine, field, groupedFingerprint, nextId, plainInput, statusLine,
} from './wizard-frame.js';
import { ServerEditor, securityWords } from './wizard-servers.js';

const PROTOCOLS = { imap: 'IMAP', pop3: 'POP3', smtp: 'SMTP' };
const SIDES = { incoming: 'Incoming mail', outgoing: 'Outgoing mail' };
const HINT_TITLES = {
  app_password: 'You may need an app password',
  oauth2: 'This provider prefers its own sign-in',
  enable_access: 'Mail access may need to be turned on first',
  no_access: 'This provider does not let other mail apps in',
};
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$|^[^\s@]+@[^\s@.]+$/;

/** One server as a line: "IMAP · imap.example.org · port 993 · TLS". */
function serverLine(server, protocol) {
  return `${PROTOCOLS[protocol] || protocol} \u00b7 ${server.host} \u00b7 port ${server.port} \u00b7 ${securityWords(server.security)}`;
}

/** What went wrong on one side, in plain words. */
function checkWords(side, server, check) {
  const e = check.error || {};
  const where = `${server.host} (port ${server.port})`;
  const kind = PROTOCOLS[server.protocol || 'smtp'];
  switch (e.code) {
    case 'wrong_password':
      return `The ${side} server refused the password (or the user name ${check.username || server.username}). `
        + 'Check the password; if your provider asks for an app password (see above), use that one.';
    case 'server_not_found': return `There is no server called ${server.host}. Check its name.`;
    case 'blocked_port':
      return `The connection to ${where} was blocked, perhaps by a firewall on your network or by your internet `
        + 'provider. Try the other security setting, which uses another port.';
    case 'no_answer': return `${where} did not answer. Check the server name and port, or try again in a moment.`;
    case 'untrusted_certificate':
      return `${server.host} shows a certificate that Homepost cannot check. Look at it below.`;
    case 'tls':
      return `No secure connection could be made with ${where}. Try the other security setting (TLS or STARTTLS).`;
    case 'protocol': return `${where} answered, but not as a ${kind} server does. Check the port.`;
    case 'plain_refused':
      return `${server.host} would take the password only without encryption, and Homepost never sends it that `
        + 'way. Choose TLS or STARTTLS.';
    default: return e.message ? sentence(e.message) : `The ${side} server did not work.`;
  }
}

export class AccountStep {
  /** `host`: what drives the step (draft, setDraft, advance, frame; wizard-frame.js). */
  constructor(host) {
    this.host = host;
    this.pins = { incoming: null, outgoing: null };
    this.editor = null;
    const draft = host.draft || {};
    this.email = plainInput('email', {
      type: 'email', inputmode: 'email', autocomplete: 'email', required: true, value: draft.email || '',
    });
    this.password = h('input', {
      id: nextId('mail-password'), type: 'password', autocomplete: 'current-password', required: true,
      spellcheck: 'false', autocapitalize: 'off',
    });
    this.displayName = h('input', {
      id: nextId('display-name'), type: 'text', autocomplete: 'name', autocapitalize: 'words',
      value: draft.display_name || '',
    });
    this.error = errorLine();
    this.status = statusLine();
    this.findButton = h('button', { type: 'submit', class: 'button primary wide' }, 'Find my mail servers');
    this.form = h('form', { class: 'auth-form', novalidate: true, onsubmit: (e) => this.find(e) },
      field('Email address', this.email),
      field('Password', this.password, 'The password of this email account, as you use it in other mail apps. '
        + 'It is stored encrypted in your box.'),
      field('Your name (optional)', this.displayName, 'Shown to the people you write to.'),
      this.findButton);
    this.found = h('div', { class: 'wizard-found', hidden: true });
    const frame = host.frame('account', 'Connect your mail account',
      h('p', {}, 'Homepost fetches your mail from the account you already have and sends through it. '
        + 'Type its address and password; Homepost finds the rest.'),
      this.form,
      this.status,
      this.error.el,
      this.found,
      host.offersSkip ? h('p', { class: 'wizard-skip' },
        h('button', { type: 'button', class: 'link-button', onclick: () => this.skip() },
          'Skip, I\u2019ll import mail instead')) : null);
    this.el = frame.el;
    this.heading = frame.heading;
    this.card = frame.card;
  }

  setBusy(busy, words = '') {
    this.card.setAttribute('aria-busy', busy ? 'true' : 'false');
    for (const b of this.card.querySelectorAll('button')) b.disabled = busy;
    this.status.textContent = words;
  }

  /** The address and password, or null after saying what is missing. */
  credentials() {
    this.email.removeAttribute('aria-invalid');
    this.password.removeAttribute('aria-invalid');
    const email = this.email.value.trim();
    if (!EMAIL.test(email)) {
      this.email.setAttribute('aria-invalid', 'true');
      this.error.show('Type your whole email address, like alice@example.org.');
      this.email.focus();
      return null;
    }
    if (!this.password.value) {
      this.password.setAttribute('aria-invalid', 'true');
      this.error.show('Type the password of this email account.');
      this.password.focus();
      return null;
    }
    return { email, password: this.password.value };
  }

  async find(event) {
    event.preventDefault();
    const cred = this.credentials();
    if (!cred) return;
    this.error.clear();
    this.pins = { incoming: null, outgoing: null };
    this.setBusy(true, `Looking for the mail servers of ${domainOf(cred.email)}\u2026`);
    let answer = null;
    try {
      answer = await api.discoverAccount(cred.email);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      if (err instanceof ApiError && err.code === 'invalid_account') {
        // A domain that cannot be looked up (alice@localhost, a server on this box):
        // nothing to find, but its servers can still be typed.
        answer = { candidates: [], best: null, hints: [], log: [sentence(err.message)] };
      } else if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405)) {
        this.setBusy(false);
        this.error.show(sentence(err.message));
        this.email.focus();
        return;
      }
    }
    this.setBusy(false);
    this.showFound(cred.email, answer);
  }

  /** Discovery's answer (null: the box cannot discover): the servers, or the form to type them. */
  showFound(email, answer) {
    this.discoveredFor = email;
    const candidates = (answer && answer.candidates) || [];
    const best = answer && Number.isInteger(answer.best) ? candidates[answer.best] : null;
    const pick = (list) => (list && list.length ? { ...list[0], username: list[0].username || email } : null);
    this.settings = best ? { incoming: pick(best.incoming), outgoing: pick(best.outgoing) } : { incoming: null, outgoing: null };
    this.source = best ? best.from : null;
    const hints = (answer && answer.hints) || [];
    const complete = Boolean(best && this.settings.incoming && this.settings.outgoing);
    this.title = h('h2', { class: 'wizard-subtitle', tabindex: '-1' },
      complete ? 'Your mail servers' : 'Type your mail servers');
    this.testArea = h('div', { class: 'wizard-test' });
    // The servers' answers, under the button that asked them.
    this.testError = errorLine();
    const parts = [this.title];
    if (hints.length) {
      parts.push(h('div', { class: 'wizard-hints' }, hints.map((hint) => h('div', { class: 'warning-note' },
        h('p', {}, h('strong', {}, HINT_TITLES[hint.kind] || 'Good to know')),
        h('p', {}, sentence(hint.text))))));
    }
    if (complete) {
      parts.push(h('p', { class: 'wizard-source' }, `Found in ${best.from}.`));
      this.summary = h('dl', { class: 'wizard-servers-found' },
        h('dt', {}, SIDES.incoming), h('dd', {}, serverLine(this.settings.incoming, this.settings.incoming.protocol)),
        h('dd', { class: 'muted' }, `User name: ${this.settings.incoming.username}`),
        h('dt', {}, SIDES.outgoing), h('dd', {}, serverLine(this.settings.outgoing, 'smtp')),
        h('dd', { class: 'muted' }, `User name: ${this.settings.outgoing.username}`));
      this.editor = null;
      this.editArea = h('div', {}, this.summary);
      this.changeButton = h('button', { type: 'button', class: 'button', onclick: () => this.change() }, 'Change');
      parts.push(h('p', {}, 'Homepost will now log in to both with your password, to check that they work.'),
        this.editArea,
        h('div', { class: 'wizard-actions' },
          h('button', { type: 'button', class: 'button primary', onclick: () => this.connect() }, 'Connect'),
          this.changeButton));
    } else {
      if (best) {
        const missing = this.settings.incoming ? 'outgoing' : 'incoming';
        parts.push(h('p', { class: 'wizard-source' }, `Found in ${best.from}, but without an ${missing} server.`));
      }
      parts.push(h('p', {}, `Homepost could not find all the servers of ${domainOf(email)} by itself. Your provider\u2019s `
        + 'help pages list them: look for \u201cIMAP\u201d (or \u201cPOP3\u201d) and \u201cSMTP\u201d.'));
      const log = (answer && answer.log) || [];
      if (log.length) {
        parts.push(h('details', { class: 'wizard-log' }, h('summary', {}, 'What Homepost tried'),
          h('ol', {}, log.map((line) => h('li', {}, line)))));
      }
      this.editor = new ServerEditor(this.settings, email);
      this.editArea = h('div', {}, this.editor.el);
      parts.push(this.editArea, h('div', { class: 'wizard-actions' },
        h('button', { type: 'button', class: 'button primary', onclick: () => this.connect() }, 'Connect')));
    }
    parts.push(this.testError.el, this.testArea);
    replace(this.found, parts);
    this.found.hidden = false;
    this.title.focus();
  }

  /** "Change": the servers found, as fields to edit. */
  change() {
    this.editor = new ServerEditor(this.settings, this.discoveredFor);
    replace(this.editArea, this.editor.el);
    if (this.changeButton) this.changeButton.remove();
    this.source = null;
    this.editor.focus();
  }

  /** Logs in to both servers (POST /accounts/test) with the settings shown. */
  async connect() {
    this.error.clear();
    this.testError.clear();
    const cred = this.credentials();
    if (!cred) return;
    if (cred.email !== this.discoveredFor) {
      // The address changed since its servers were found: find those of the new one.
      this.find(new Event('submit'));
      return;
    }
    const settings = this.editor ? this.editor.value((m) => this.testError.show(m)) : this.settings;
    if (!settings) return;
    this.settings = settings;
    const side = (server, pin) => ({ ...server, password: cred.password, ...(pin ? { pinned_sha256: pin } : {}) });
    const { protocol: _smtp, ...outgoing } = settings.outgoing;
    const body = {
      email: cred.email,
      incoming: side(settings.incoming, this.pins.incoming),
      outgoing: side(outgoing, this.pins.outgoing),
    };
    this.setBusy(true, `Connecting to ${settings.incoming.host} and ${settings.outgoing.host}\u2026`);
    replace(this.testArea);
    let answer;
    try {
      answer = await api.testAccount(body);
    } catch (err) {
      this.setBusy(false);
      if (err instanceof ApiError && err.status === 401) return;
      this.testError.show(sentence(err.message));
      this.testError.el.focus();
      return;
    }
    this.setBusy(false);
    if (answer.incoming.ok && answer.outgoing.ok) {
      await this.succeed(cred, settings, answer);
      return;
    }
    this.showProblems(settings, answer);
  }

  /** Each side's outcome; one certificate prompt per distinct fingerprint. */
  showProblems(settings, answer) {
    const lines = [];
    const certs = new Map(); // fingerprint -> sides
    for (const side of ['incoming', 'outgoing']) {
      const check = answer[side];
      const server = side === 'incoming' ? settings.incoming : { ...settings.outgoing, protocol: 'smtp' };
      const label = `${SIDES[side]} (${PROTOCOLS[server.protocol]}, ${server.host})`;
      if (check.ok) {
        lines.push(h('li', { class: 'check-ok' }, h('strong', {}, `${label}: `), `works (user name ${check.username}).`));
        continue;
      }
      lines.push(h('li', { class: 'check-failed' }, h('strong', {}, `${label}: `),
        checkWords(side === 'incoming' ? 'incoming' : 'outgoing', server, check)));
      const e = check.error;
      if (e && e.code === 'untrusted_certificate' && e.fingerprint) {
        const key = groupedFingerprint(e.fingerprint).join(':');
        if (!certs.has(key)) certs.set(key, { fingerprint: e.fingerprint, sides: [], hosts: [] });
        certs.get(key).sides.push(side);
        if (!certs.get(key).hosts.includes(server.host)) certs.get(key).hosts.push(server.host);
      }
    }
    this.testError.show(h('p', {}, 'Homepost could not connect yet:'), h('ul', {}, lines));
    const blocks = [...certs.values()].map((c) => this.certificateBlock(c));
    replace(this.testArea, blocks);
    const firstButton = this.testArea.querySelector('button');
    if (firstButton) firstButton.closest('.cert-warning').querySelector('h3').focus();
    else this.testError.el.focus();
  }

  /** The fingerprint to compare, then the sentence on comparing, then the button. */
  certificateBlock({ fingerprint, sides, hosts }) {
    const titleId = nextId('cert-title');
    const groups = groupedFingerprint(fingerprint);
    return h('section', { class: 'cert-warning', 'aria-labelledby': titleId },
      h('h3', { id: titleId, tabindex: '-1', class: 'cert-title' }, `Check the certificate of ${hosts.join(' and ')}`),
      h('p', {}, `${sides.length > 1 ? 'Both servers show' : 'The server shows'} a certificate that Homepost cannot check `
        + 'with the usual authorities. That is normal for a server you run yourself; it is also exactly what '
        + 'someone who intercepts the connection to steal your password would show.'),
      h('p', {}, 'Its SHA-256 fingerprint:'),
      h('ol', { class: 'fingerprint-groups', 'aria-label': 'SHA-256 fingerprint, in groups' },
        groups.map((g) => h('li', {}, g))),
      h('p', {}, 'Compare it, group by group, with the fingerprint your provider shows (on its help pages) or your '
        + 'own server shows. Trust it only if every group is the same.'),
      h('button', {
        type: 'button', class: 'button danger',
        onclick: () => {
          for (const side of sides) this.pins[side] = fingerprint;
          this.connect();
        },
      }, 'Trust this certificate'));
  }

  /** Both servers work: hand the settings to the host and move on. */
  async succeed(cred, settings, answer) {
    const { protocol: _smtp, ...outgoing } = settings.outgoing;
    this.host.setDraft({
      email: cred.email,
      password: cred.password,
      display_name: this.displayName.value.trim() || null,
      source: this.source,
      incoming: { ...settings.incoming, username: answer.incoming.username || settings.incoming.username, pinned_sha256: this.pins.incoming },
      outgoing: { ...outgoing, username: answer.outgoing.username || outgoing.username, pinned_sha256: this.pins.outgoing },
      folders: answer.incoming.folders || [],
      tested_at: Date.now(),
    });
    this.setBusy(true, 'Both servers work.');
    try {
      await this.host.advance('mail');
    } catch (err) {
      this.setBusy(false);
      if (!(err instanceof ApiError) || err.status !== 401) this.testError.show(sentence(err.message));
    }
  }

  async skip() {
    this.error.clear();
    this.setBusy(true);
    try {
      await this.host.advance('remote', null);
    } catch (err) {
      this.setBusy(false);
      if (!(err instanceof ApiError) || err.status !== 401) this.error.show(sentence(err.message));
    }
  }
}
