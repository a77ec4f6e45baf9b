// The wizard's "Change" form (wizard-account.js): a mail account's two servers typed
// or corrected by hand, for when discovery found nothing or found the wrong thing.
// Only what a person may need to change: the incoming protocol, and for each server
// its name, security, port and user name. The port follows the protocol and the
// security until someone types their own.

import { h } from '../dom.js';
import { field, nextId, plainInput } from './wizard-frame.js';

/** Usual ports: [protocol][security]. */
export const PORTS = {
  imap: { tls: 993, starttls: 143, plain: 143 },
  pop3: { tls: 995, starttls: 110, plain: 110 },
  smtp: { tls: 465, starttls: 587, plain: 587 },
};

const SECURITY = [
  ['tls', 'TLS (also called SSL)'],
  ['starttls', 'STARTTLS'],
  ['plain', 'None (server on this box only)'],
];

/** The words for a server's security. */
export function securityWords(security) {
  return { tls: 'TLS', starttls: 'STARTTLS', plain: 'no encryption' }[security] || security;
}

function select(prefix, options, value) {
  const el = h('select', { id: nextId(prefix), class: 'select' },
    options.map(([v, label]) => h('option', { value: v }, label)));
  el.value = value;
  return el;
}

/** One server's fields; `protocol()` says which protocol's usual ports apply. */
class ServerFields {
  constructor(prefix, server, protocol, example) {
    this.protocol = protocol;
    this.host = plainInput(`${prefix}-host`, { inputmode: 'url', value: server.host || '', required: true });
    this.security = select(`${prefix}-security`, SECURITY, server.security || 'tls');
    this.port = h('input', {
      id: nextId(`${prefix}-port`), type: 'number', min: '1', max: '65535', inputmode: 'numeric',
      class: 'port-input', value: String(server.port || PORTS[protocol()][this.security.value]),
    });
    this.autoPort = !server.port || server.port === PORTS[protocol()][server.security];
    this.port.addEventListener('input', () => { this.autoPort = !this.port.value; });
    this.security.addEventListener('change', () => this.usualPort());
    this.username = plainInput(`${prefix}-user`, { value: server.username || '' });
    this.nodes = [
      field('Server name', this.host, `For example ${example}`),
      h('div', { class: 'field-row' }, field('Security', this.security), field('Port', this.port)),
      field('User name', this.username, 'Usually your whole email address, sometimes only the part before the @.'),
    ];
  }

  /** Sets the usual port for the protocol and security, unless one was typed. */
  usualPort() {
    if (this.autoPort || !this.port.value) {
      this.port.value = String(PORTS[this.protocol()][this.security.value]);
      this.autoPort = true;
    }
  }

  value() {
    return {
      host: this.host.value.trim(),
      port: Number(this.port.value),
      security: this.security.value,
      username: this.username.value.trim(),
    };
  }

  /** [control, message] of the first thing wrong, or null. */
  problem(side) {
    if (!/^[A-Za-z0-9.:[\]-]+$/.test(this.host.value.trim())) {
      return [this.host, `Type the ${side} server\u2019s name, like mail.example.org.`];
    }
    const port = Number(this.port.value);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return [this.port, `The ${side} server\u2019s port is a number from 1 to 65535.`];
    }
    return null;
  }
}

/**
 * The form's fields for `settings` ({incoming: Server, outgoing: Server}, either
 * possibly empty); `email` fills the user names and example names.
 */
export class ServerEditor {
  constructor(settings, email) {
    const domain = String(email).split('@').pop() || 'example.org';
    const incoming = settings.incoming || { protocol: 'imap', host: `imap.${domain}`, port: 993, security: 'tls', username: email };
    const outgoing = settings.outgoing || { host: `smtp.${domain}`, port: 465, security: 'tls', username: email };
    this.protocolSelect = select('in-protocol', [['imap', 'IMAP (recommended)'], ['pop3', 'POP3']], incoming.protocol || 'imap');
    this.incoming = new ServerFields('in', incoming, () => this.protocolSelect.value, `imap.${domain}`);
    this.outgoing = new ServerFields('out', outgoing, () => 'smtp', `smtp.${domain}`);
    this.protocolSelect.addEventListener('change', () => this.incoming.usualPort());
    this.el = h('div', { class: 'wizard-servers' },
      h('fieldset', { class: 'form-section' },
        h('legend', {}, 'Incoming mail'),
        field('Kind of server', this.protocolSelect,
          'IMAP keeps your folders in step with the server; POP3 only fetches the inbox.'),
        this.incoming.nodes),
      h('fieldset', { class: 'form-section' },
        h('legend', {}, 'Outgoing mail (SMTP)'),
        this.outgoing.nodes));
  }

  /** The settings as typed, or null after marking the first field that is wrong. */
  value(showError) {
    for (const el of this.el.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const problem = this.incoming.problem('incoming') || this.outgoing.problem('outgoing');
    if (problem) {
      problem[0].setAttribute('aria-invalid', 'true');
      showError(problem[1]);
      problem[0].focus();
      return null;
    }
    return {
      incoming: { protocol: this.protocolSelect.value, ...this.incoming.value() },
      outgoing: this.outgoing.value(),
    };
  }

  focus() {
    this.incoming.host.focus();
  }
}
