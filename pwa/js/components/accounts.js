// Mail accounts: <hp-accounts> lists them with what their servers are doing (from
// the shared accounts poll, every 3 s while shown), with Sync now, Edit, Delete and,
// when a server shows a certificate Homepost cannot verify, the fingerprint and a
// "Trust this certificate" button, and the addresses it sends as (identities.js:
// its own and its aliases, signatures, the default); below them, the OpenPGP keys
// (own-keys.js). "Add account" opens <hp-account-add> (account-add.js: the
// wizard's steps, from the address and password).
// <hp-account-form> edits one: every setting by hand.

import { api } from '../api.js';
import { field, h, icon, replace, syncList, titleRow } from '../dom.js';
import { ICONS } from '../icons.js';
import { fullDate, shortDateTime } from '../format.js';
import { accountHash } from '../router.js';
import { announce } from '../mail-actions.js';
import { lastAccounts, refreshAccounts, wantFastAccounts } from '../poll.js';
import { confirmSheet } from './sheet.js';
import { identitiesBlock } from './identities.js';
import { PORTS } from './wizard-servers.js';
import './own-keys.js';

/** "plain" is only allowed for a server on this box. */
const SECURITY = [
  ['tls', 'TLS (also called SSL)'],
  ['starttls', 'STARTTLS'],
  ['plain', 'None (server on this box only)'],
];
const DEFAULT_POLL_SECONDS = 300;

// --- the list ---------------------------------------------------------------------

/** A server's state in plain words. */
function stateWords(state, side) {
  switch (state) {
    case 'idle': return side === 'incoming' ? 'Up to date' : 'Ready';
    case 'connecting': return 'Connecting';
    case 'syncing': return side === 'incoming' ? 'Fetching mail' : 'Sending';
    case 'waiting': return 'Waiting';
    case 'error': return 'Problem';
    case 'stopped': return 'Stopped';
    default: return state || 'Unknown';
  }
}

/** What one side (incoming or outgoing) of an account is doing. */
function statusBlock(account, side) {
  const server = account[side];
  const st = account.status && account.status[side];
  const what = side === 'incoming'
    ? `Incoming: ${server.protocol === 'pop3' ? 'POP3' : 'IMAP'} ${server.host}`
    : `Outgoing: SMTP ${server.host}`;
  const lines = [h('h3', { class: 'server-title' }, what)];
  if (!st) {
    lines.push(h('p', { class: 'card-line muted' }, 'No news from this server yet.'));
    return h('section', { class: 'server' }, lines);
  }
  // An untrusted certificate is explained in its own warning below.
  const untrusted = st.error && st.error.code === 'untrusted_certificate';
  lines.push(h('p', { class: 'card-line' },
    h('span', { class: `state-badge state-${st.state}` }, stateWords(st.state, side)),
    st.detail && !untrusted ? ` ${st.detail}` : ''));
  if (st.progress && st.progress.total > 0) {
    const { done, total } = st.progress;
    lines.push(h('p', { class: 'card-line progress-line' },
      h('progress', { value: String(done), max: String(total), 'aria-label': `${what}: progress` }),
      ` ${done.toLocaleString()} of ${total.toLocaleString()}`));
  }
  if (st.error && st.error.code !== 'untrusted_certificate') {
    lines.push(h('p', { class: 'card-line error-text' }, st.error.message || st.error.code));
  }
  lines.push(h('p', { class: 'card-line muted' }, st.last_success
    ? `Last worked: ${fullDate(st.last_success)}.`
    : 'Has not worked yet.'));
  if (st.next_attempt) {
    lines.push(h('p', { class: 'card-line muted' },
      `${st.state === 'error' ? 'Tries again' : 'Next check'} at ${shortDateTime(st.next_attempt)}.`));
  }
  if (st.error && st.error.code === 'untrusted_certificate') lines.push(certificateWarning(account, side, st.error));
  return h('section', { class: 'server' }, lines);
}

/** The untrusted-certificate warning, with the fingerprint and the trust button. */
function certificateWarning(account, side, error) {
  const fp = error.fingerprint;
  const host = account[side].host;
  return h('div', { class: 'cert-warning' },
    h('p', { class: 'cert-title' }, icon(ICONS.warning), `${host} shows a certificate Homepost cannot verify`),
    h('p', {}, 'Its certificate does not validate. '
      + 'This is normal for a server with a self-signed certificate, such as one you run yourself. '
      + 'It is also exactly what someone intercepting the connection to steal your password would show.'),
    fp ? [
      h('p', {}, 'The certificate’s SHA-256 fingerprint:'),
      h('p', { class: 'fingerprint' }, fp),
      h('button', {
        type: 'button', class: 'button danger', dataset: { focusKey: `trust-${side}` },
        onclick: () => trust(account, side, fp),
      }, 'Trust this certificate…'),
    ] : h('p', {}, 'The server gave no fingerprint to check.'));
}

async function trust(account, side, fingerprint) {
  const ok = await confirmSheet({
    title: 'Trust this certificate?',
    message: `Compare this fingerprint, character by character, with the one your mail provider publishes or `
      + `your own server shows for ${account[side].host} (for example on its admin page). Trust it only if they `
      + 'are the same: if they differ, someone may be reading your mail and your password.',
    details: [fingerprint],
    detailsClass: 'fingerprint-list',
    confirmLabel: 'They match: trust it',
    danger: true,
  });
  if (!ok) return;
  try {
    await api.trustCertificate(account.id, side, fingerprint);
    announce(`Trusted the certificate of ${account[side].host}.`);
  } catch (err) {
    if (err.status === 401) return;
    announce(err.code === 'invalid_state'
      ? 'The server now shows a different certificate: compare the new fingerprint.'
      : err.message, 'error');
  }
  refreshAccounts();
}

class HpAccounts extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.heading = h('h1', { class: 'page-title', id: 'accounts-title', tabindex: '-1' }, 'Accounts');
    this.list = h('ul', { class: 'card-list', 'aria-labelledby': 'accounts-title' });
    this.note = h('p', { class: 'list-empty' }, 'Loading…');
    this.errorLine = h('p', { class: 'form-error', role: 'alert', hidden: true });
    replace(this,
      h('div', { class: 'page-head' }, this.heading,
        h('a', { class: 'button primary', href: accountHash('new') }, icon(ICONS.plus), 'Add account')),
      h('p', { class: 'page-intro' }, 'The mail servers Homepost fetches your mail from and sends it through.'),
      this.errorLine, this.note, this.list,
      h('hp-own-keys'));
    this.identities = [];
    this.onAccounts = (event) => this.show(event.detail);
    window.addEventListener('hp:accounts', this.onAccounts);
    this.loadIdentities();
    wantFastAccounts(true);
    if (lastAccounts()) this.show(lastAccounts());
    refreshAccounts();
  }

  disconnectedCallback() {
    window.removeEventListener('hp:accounts', this.onAccounts);
    wantFastAccounts(false);
  }

  show(answer) {
    if (answer.error) {
      if (answer.error.status !== 401) {
        this.errorLine.textContent = `Accounts could not be loaded: ${answer.error.message}`;
        this.errorLine.hidden = false;
      }
      return;
    }
    this.errorLine.hidden = true;
    this.answer = answer;
    const accounts = answer.accounts || [];
    // An account's own address is one of its identities: a changed account
    // (or one added or removed) may have changed them.
    const addresses = JSON.stringify(accounts.map((a) => [a.id, a.email, a.display_name]));
    if (this.addresses !== undefined && addresses !== this.addresses) this.loadIdentities();
    this.addresses = addresses;
    this.note.hidden = accounts.length > 0;
    this.note.textContent = 'No accounts yet. Add one to fetch your mail and to send.';
    const cards = accounts.map((a) => ({ ...a, identities: this.identities.filter((i) => i.account_id === a.id) }));
    syncList(this.list, cards, (a) => a.id, (a) => this.card(a));
  }

  /** Fetches the identities (GET /identities) and redraws the cards. */
  async loadIdentities() {
    try {
      this.identities = (await api.identities()).identities || [];
    } catch (err) {
      if (err.status === 401) return;
      this.identities = [];
    }
    if (this.answer) this.show(this.answer);
  }

  card(a) {
    const titleId = `account-${a.id}`;
    return h('li', { class: 'card', 'aria-labelledby': titleId },
      h('div', { class: 'card-head' },
        h('h2', { class: 'card-title', id: titleId, tabindex: '-1' }, a.name || a.email),
        h('span', { class: 'card-sub' }, a.display_name ? `${a.display_name} <${a.email}>` : a.email)),
      a.incoming ? statusBlock(a, 'incoming') : h('p', { class: 'card-line muted' }, 'No incoming server: this account only sends.'),
      a.outgoing ? statusBlock(a, 'outgoing') : h('p', { class: 'card-line muted' }, 'No outgoing server: this account only receives.'),
      identitiesBlock(a, a.identities || [], () => this.loadIdentities()),
      h('div', { class: 'card-actions' },
        h('button', {
          type: 'button', class: 'button', dataset: { focusKey: 'sync' }, 'aria-describedby': titleId,
          onclick: () => this.sync(a),
        }, icon(ICONS.sync), 'Sync now'),
        h('a', {
          class: 'button', href: accountHash(a.id), dataset: { focusKey: 'edit' }, 'aria-describedby': titleId,
        }, icon(ICONS.edit), 'Edit'),
        h('button', {
          type: 'button', class: 'button', dataset: { focusKey: 'delete' }, 'aria-describedby': titleId,
          onclick: () => this.remove(a),
        }, icon(ICONS.trash), 'Delete')));
  }

  async sync(a) {
    try {
      await api.syncAccount(a.id);
      announce(`Checking ${a.name || a.email} now.`);
    } catch (err) {
      if (err.status === 401) return;
      announce(err.code === 'account_busy' ? `${a.name || a.email} is already being checked.` : err.message,
        err.code === 'account_busy' ? 'info' : 'error');
    }
    refreshAccounts();
  }

  async remove(a) {
    const ok = await confirmSheet({
      title: `Delete the account “${a.name || a.email}”?`,
      message: 'Homepost stops fetching and sending with it and forgets its passwords. '
        + 'The mail already fetched stays in your box; nothing is deleted from the server.',
      confirmLabel: 'Delete account',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteAccount(a.id);
      announce(`Deleted the account ${a.name || a.email}.`);
      this.heading.focus();
    } catch (err) {
      if (err.status !== 401) announce(err.message, 'error');
    }
    refreshAccounts();
  }
}

// --- the form -----------------------------------------------------------------------

let formCount = 0;

function textInput(id, props = {}) {
  return h('input', {
    id, type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', ...props,
  });
}

function selectInput(id, options, value) {
  const select = h('select', { id, class: 'select' },
    options.map(([v, label]) => h('option', { value: v }, label)));
  select.value = value;
  return select;
}

/** The fields of one server (host, port, security, user, password). */
function serverFields(prefix, server, protocol, example) {
  const host = textInput(`${prefix}-host`, { inputmode: 'url', value: server ? server.host : '' });
  const security = selectInput(`${prefix}-security`, SECURITY, server ? server.security : 'tls');
  const port = h('input', {
    id: `${prefix}-port`, type: 'number', min: '1', max: '65535', inputmode: 'numeric', class: 'port-input',
    value: String(server ? server.port : PORTS[protocol].tls),
  });
  // The port follows the protocol and security until someone types their own.
  port.dataset.auto = server && server.port !== PORTS[protocol][server.security] ? 'false' : 'true';
  port.addEventListener('input', () => { port.dataset.auto = port.value ? 'false' : 'true'; });
  const username = textInput(`${prefix}-username`, { value: server ? server.username || '' : '' });
  const saved = Boolean(server && server.has_password);
  const password = h('input', {
    id: `${prefix}-password`, type: 'password', autocomplete: 'off', spellcheck: 'false',
    placeholder: saved ? 'saved' : '',
  });
  return {
    host, port, security, username, password,
    /** Sets the usual port for `proto` and the chosen security, unless one was typed. */
    defaultPort(proto) {
      if (port.dataset.auto === 'true' || !port.value) {
        port.value = String(PORTS[proto][security.value]);
        port.dataset.auto = 'true';
      }
    },
    nodes: [
      field('Server', host, `For example ${example}`),
      h('div', { class: 'field-row' },
        field('Security', security),
        field('Port', port)),
      field('User name', username, 'Often your whole email address.'),
      field('Password', password, saved
        ? 'A password is saved. Leave this empty to keep it; type a new one to change it.'
        : 'Stored encrypted in your box; it is never shown again.'),
    ],
    value() {
      const out = {
        host: host.value.trim(), port: Number(port.value), security: security.value, username: username.value.trim(),
      };
      if (password.value) out.password = password.value;
      return out;
    },
  };
}

class HpAccountForm extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.load();
  }

  async load() {
    const id = Number(this.dataset.id);
    let account = null;
    replace(this, h('p', { class: 'reader-loading', role: 'status' }, 'Loading…'));
    try {
      const answer = lastAccounts() || await api.accounts();
      account = (answer.accounts || []).find((a) => a.id === id) || null;
    } catch (err) {
      if (err.status === 401) return;
    }
    if (!account) {
      const heading = h('h1', { class: 'page-title', tabindex: '-1' }, 'Account not found');
      replace(this, h('div', { class: 'page-body' }, heading,
        h('p', {}, h('a', { href: accountHash() }, 'Back to the accounts'))));
      heading.focus();
      return;
    }
    this.account = account;
    this.build(account);
  }

  build(a) {
    formCount += 1;
    const p = `acc${formCount}`;
    const inc = a.incoming;
    const out = a.outgoing;
    this.name = textInput(`${p}-name`, { value: a.name, required: true, autocapitalize: 'sentences', spellcheck: 'true' });
    this.email = textInput(`${p}-email`, { type: 'email', inputmode: 'email', value: a.email, required: true });
    this.displayName = textInput(`${p}-display`, { value: a.display_name || '', autocapitalize: 'words' });

    // Incoming: IMAP, POP3 or none.
    this.protocol = selectInput(`${p}-protocol`,
      [['imap', 'IMAP'], ['pop3', 'POP3'], ['', 'None: this account only sends']], inc ? inc.protocol : 'imap');
    this.incoming = serverFields(`${p}-in`, inc, inc ? inc.protocol : 'imap', 'imap.example.org');
    this.folders = textInput(`${p}-folders`, { value: inc && inc.folders && inc.folders.length ? inc.folders.join(', ') : 'INBOX' });
    this.sentFolder = textInput(`${p}-sent`, { value: inc && inc.sent_folder ? inc.sent_folder : '' });
    const policy = inc && inc.policy ? inc.policy : { kind: 'keep' };
    this.days = h('input', {
      id: `${p}-days`, type: 'number', min: '1', max: '3650', inputmode: 'numeric', class: 'days-input',
      value: String(policy.kind === 'delete_after' ? policy.days : 30), 'aria-label': 'Days',
    });
    const radio = (kind, ...label) => {
      const input = h('input', {
        id: `${p}-policy-${kind}`, type: 'radio', name: `${p}-policy`, value: kind, checked: policy.kind === kind,
      });
      return h('div', { class: 'check' }, input, h('label', { for: input.id }, ...label));
    };
    this.policyBox = h('fieldset', { class: 'choices' },
      h('legend', {}, 'After fetching, on the server'),
      radio('keep', 'Keep the mail there'),
      h('div', { class: 'check with-input' },
        h('input', {
          id: `${p}-policy-delete_after`, type: 'radio', name: `${p}-policy`, value: 'delete_after',
          checked: policy.kind === 'delete_after',
        }),
        h('label', { for: `${p}-policy-delete_after` }, 'Delete it after'), this.days, h('span', {}, 'days')),
      radio('delete_when_stored', 'Delete it once it is safely stored here'));
    this.imapOnly = [
      field('Folders to fetch', this.folders, 'Separated by commas. New mail is watched for in the first one.'),
      field('Folder for sent mail', this.sentFolder, 'A copy of what you send is put there (for example Sent). Leave empty for no copy on the server.'),
    ];
    this.incomingBox = h('div', { class: 'server-fields' }, this.incoming.nodes, this.imapOnly, this.policyBox);

    // Outgoing: SMTP submission or none.
    this.smtp = selectInput(`${p}-smtp`, [['smtp', 'SMTP'], ['', 'None: this account only receives']], out ? 'smtp' : '');
    this.outgoing = serverFields(`${p}-out`, out, 'smtp', 'smtp.example.org');
    this.outgoingBox = h('div', { class: 'server-fields' }, this.outgoing.nodes);

    this.protocol.addEventListener('change', () => this.protocolChanged());
    this.incoming.security.addEventListener('change', () => this.incoming.defaultPort(this.protocol.value));
    this.smtp.addEventListener('change', () => { this.outgoingBox.hidden = !this.smtp.value; });
    this.outgoing.security.addEventListener('change', () => this.outgoing.defaultPort('smtp'));

    this.errorLine = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'button primary' }, 'Save');
    const heading = h('h1', { class: 'page-title', tabindex: '-1' }, `Edit ${a.name || a.email}`);
    this.form = h('form', { class: 'account-form', novalidate: true, onsubmit: (e) => this.save(e) },
      this.errorLine,
      field('Account name', this.name, 'Just for you, e.g. Home or Work.'),
      field('Email address', this.email),
      field('Your name', this.displayName, 'Shown to the people you write to.'),
      h('fieldset', { class: 'form-section' },
        h('legend', {}, 'Incoming mail'),
        field('Server type', this.protocol),
        this.incomingBox),
      h('fieldset', { class: 'form-section' },
        h('legend', {}, 'Outgoing mail'),
        field('Server type', this.smtp, 'Mail is sent through your provider’s submission server.'),
        this.outgoingBox),
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', class: 'button', onclick: () => this.leave() }, 'Cancel'),
        this.submit));
    replace(this, h('div', { class: 'page-body' },
      titleRow(heading, () => this.leave(), 'Back to the accounts'),
      this.form));
    this.protocolChanged(true);
    this.outgoingBox.hidden = !this.smtp.value;
    heading.focus();
  }

  /** Back to the list of accounts (through history when it is the page before). */
  leave() {
    this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true, detail: { target: accountHash() } }));
  }

  protocolChanged(first = false) {
    const proto = this.protocol.value;
    this.incomingBox.hidden = !proto;
    for (const node of this.imapOnly) node.hidden = proto !== 'imap';
    if (proto && !first) this.incoming.defaultPort(proto);
  }

  /**
   * The Account body of POST/PUT /accounts, or null after showing everything that is
   * wrong at once (each field marked, the first one focused).
   */
  collect() {
    const problems = [];
    const problem = (control, message) => {
      control.setAttribute('aria-invalid', 'true');
      problems.push({ control, message });
    };
    this.form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
    if (!this.name.value.trim()) problem(this.name, 'Give the account a name.');
    if (!/^[^\s@]+@[^\s@]+$/.test(this.email.value.trim())) problem(this.email, 'Type the email address, like alice@example.org.');
    const check = (server, side) => {
      if (!server.host.value.trim()) problem(server.host, `Type the ${side} server’s name.`);
      const port = Number(server.port.value);
      if (!Number.isInteger(port) || port < 1 || port > 65535) problem(server.port, `The ${side} server’s port is a number from 1 to 65535.`);
    };
    const body = {
      name: this.name.value.trim(),
      email: this.email.value.trim(),
      display_name: this.displayName.value.trim() || null,
      incoming: null,
      outgoing: null,
    };
    const proto = this.protocol.value;
    if (proto) {
      check(this.incoming, 'incoming');
      const kind = this.form.querySelector(`input[name$="-policy"]:checked`).value;
      const days = Number(this.days.value);
      if (kind === 'delete_after' && (!Number.isInteger(days) || days < 1)) problem(this.days, 'Type a number of days, 1 or more.');
      const folders = proto === 'imap' ? this.folders.value.split(',').map((f) => f.trim()).filter(Boolean) : ['INBOX'];
      body.incoming = {
        protocol: proto,
        ...this.incoming.value(),
        folders: folders.length ? folders : ['INBOX'],
        policy: kind === 'delete_after' ? { kind, days } : { kind },
        sent_folder: proto === 'imap' ? this.sentFolder.value.trim() || null : null,
        poll_seconds: this.account.incoming ? this.account.incoming.poll_seconds : DEFAULT_POLL_SECONDS,
      };
    }
    if (this.smtp.value) {
      check(this.outgoing, 'outgoing');
      body.outgoing = this.outgoing.value();
    }
    if (problems.length > 0) {
      replace(this.errorLine, problems.length === 1
        ? problems[0].message
        : [h('span', {}, `${problems.length} things to fix:`),
          h('ul', {}, problems.map((p) => h('li', {}, p.message)))]);
      this.errorLine.hidden = false;
      problems[0].control.focus();
      return null;
    }
    this.errorLine.hidden = true;
    return body;
  }

  async save(event) {
    event.preventDefault();
    const body = this.collect();
    if (!body) return;
    this.submit.disabled = true;
    try {
      await api.updateAccount(this.account.id, body);
      announce(`Saved ${body.name}. Homepost is connecting to its servers.`);
      this.leave();
    } catch (err) {
      if (err.status === 401) return;
      this.errorLine.textContent = err.message;
      this.errorLine.hidden = false;
      this.errorLine.focus();
    } finally {
      this.submit.disabled = false;
    }
  }
}

customElements.define('hp-accounts', HpAccounts);
customElements.define('hp-account-form', HpAccountForm);
