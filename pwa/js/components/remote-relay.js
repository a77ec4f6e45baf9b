// The relay part of the Remote access page (remote-access.js): setting up a PageKite
// relay (PUT /remote/pagekite), what it is doing now (from the page's poll of
// GET /remote), the address to open on the phone and, for the certificate the box
// made itself, its fingerprint in pairs to compare with what the phone's browser
// shows; changing it (the saved secret kept when none is typed) and removing it.

import { api } from '../api.js';
import { field, formError, h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { copyButton } from '../clipboard.js';
import { announce } from '../mail-actions.js';
import { sentence } from '../format.js';
import { confirmSheet } from './sheet.js';

/** The relay's states in words: [badge, sentence, badge class]. */
const STATES = {
  connecting: ['Connecting', 'Connecting to the relay\u2026', 'state-connecting'],
  registered: ['Working', 'Working: the address below reaches your box from anywhere.', 'state-idle'],
  refused: ['Refused', 'The relay refused this box. What it said is below.', 'state-error'],
  disconnected: ['Not connected', 'The relay cannot be reached right now. The box keeps trying by itself.', 'state-waiting'],
  stopped: ['Stopped', 'The relay connection is stopped.', ''],
};

function stateWords(state) {
  return STATES[state] || [state || 'Unknown', '', ''];
}

/** "AB:CD:…" as its pairs of hex digits. */
export function fingerprintPairs(fingerprint) {
  return String(fingerprint || '').toUpperCase().split(/[^0-9A-F]+/).filter((p) => p.length === 2);
}

export class RelaySection {
  /** `refresh()`: asks the page to poll GET /remote now. */
  constructor({ refresh }) {
    this.refresh = refresh;
    /** The PagekiteBody shown, null when there is no relay, undefined before the first answer. */
    this.body = undefined;
    this.editing = false;
    this.busy = false;
    this.heading = h('h2', { class: 'section-title', id: 'relay-title', tabindex: '-1' }, 'Through a relay (PageKite)');
    this.content = h('div', { class: 'remote-content' }, h('p', { class: 'muted' }, 'Loading\u2026'));
    // What a relay is: shown while there is none to set up.
    this.intro = h('p', { class: 'remote-intro' },
      'A relay is a server on the internet that passes your phone\u2019s visits on to your box. You need an '
      + 'account with a PageKite relay: it gives you its address, a name for your box and a secret. Your mail '
      + 'stays encrypted all the way; the relay only sees when you connect.');
    this.el = h('section', { class: 'remote-section', 'aria-labelledby': 'relay-title' },
      h('div', { class: 'remote-head' }, icon(ICONS.remote), this.heading),
      this.intro,
      this.content);
  }

  /** Shows `body` (a PagekiteBody or null): the poll's answer, or a change's. */
  update(body) {
    const had = this.body;
    this.body = body;
    if (this.busy) return;
    if (had === undefined || Boolean(had) !== Boolean(body)) {
      const formShown = this.form && this.form.isConnected;
      // The setup form is up already; and what someone is typing stays.
      if (!body && formShown && !this.editing) return;
      if (formShown && this.dirty()) return;
      this.editing = false;
      this.render();
      return;
    }
    if (!body || this.editing) return;
    if (configKey(had) !== configKey(body)) this.render();
    else this.showState(body);
  }

  render() {
    this.intro.hidden = Boolean(this.body);
    if (this.body && !this.editing) replace(this.content, this.view(this.body));
    else replace(this.content, this.buildForm(this.body));
  }

  // --- the relay as it is ----------------------------------------------------------

  view(b) {
    this.stateBadge = h('span', { class: 'state-badge' });
    this.stateText = h('span', {});
    this.stateLine = h('p', { class: 'remote-state', role: 'status', 'aria-live': 'polite', id: 'relay-state' },
      this.stateBadge, ' ', this.stateText);
    this.message = h('p', { class: 'remote-message', id: 'relay-message' });
    this.showState(b);
    const urlId = 'relay-url';
    return [
      this.stateLine,
      this.message,
      h('dl', { class: 'remote-facts' },
        h('dt', {}, 'Address to open on your phone'),
        h('dd', {}, h('a', { id: urlId, class: 'remote-url', href: b.url, target: '_blank', rel: 'noopener' }, b.url),
          copyButton('Copy address', () => b.url, 'Address', urlId)),
        h('dt', {}, 'Relay'),
        h('dd', { class: 'remote-mono' }, b.frontend)),
      b.own_certificate ? h('p', { class: 'remote-note' }, icon(ICONS.shieldCheck),
        'The box shows your own certificate for this name: the phone checks it like any website\u2019s.')
        : this.fingerprintBlock(b.fingerprint),
      h('div', { class: 'card-actions' },
        h('button', {
          type: 'button', class: 'button', 'aria-describedby': 'relay-title', onclick: () => this.edit(),
        }, icon(ICONS.edit), 'Change\u2026'),
        h('button', {
          type: 'button', class: 'button', 'aria-describedby': 'relay-title', onclick: () => this.remove(),
        }, icon(ICONS.trash), 'Remove relay\u2026')),
    ];
  }

  /** Updates the state line and the message in place (the live region speaks only when they change). */
  showState(b) {
    if (!this.stateLine) return;
    const [badge, words, cls] = stateWords(b.state);
    if (this.stateBadge.textContent !== badge) {
      this.stateBadge.className = `state-badge ${cls}`.trim();
      this.stateBadge.textContent = badge;
    }
    if (this.stateText.textContent !== words) this.stateText.textContent = words;
    const message = b.message ? sentence(b.message) : '';
    if (this.message.textContent !== message) this.message.textContent = message;
    this.message.hidden = !message;
  }

  /** The self-signed certificate's fingerprint, in pairs, with what to do with it. */
  fingerprintBlock(fingerprint) {
    const pairs = fingerprintPairs(fingerprint);
    return h('div', { class: 'remote-cert', role: 'group', 'aria-labelledby': 'relay-cert-title' },
      h('h3', { class: 'remote-subtitle', id: 'relay-cert-title' }, icon(ICONS.shield),
        'Check the box\u2019s fingerprint the first time'),
      h('p', {}, 'Your box made its own certificate for this name. The first time your phone opens the address, '
        + 'its browser warns that the connection is not private or the certificate is not trusted: that is expected. '
        + 'Before you go on, open the certificate\u2019s details from the warning and compare its SHA-256 '
        + 'fingerprint with the one below, pair by pair.'),
      h('ol', { class: 'fp-pairs', 'aria-label': `SHA-256 fingerprint, ${pairs.length} pairs` },
        pairs.map((p) => h('li', {}, p))),
      h('p', { class: 'remote-note' }, icon(ICONS.warning),
        'Go on only if every pair is the same. If one differs, something between your phone and your box is '
        + 'pretending to be it: do not type your passphrase there.'));
  }

  // --- the form ----------------------------------------------------------------------

  /** The setup form (no relay yet), or the change form for `b`. */
  buildForm(b) {
    const changing = Boolean(b);
    this.frontend = h('input', {
      id: 'relay-frontend', type: 'text', inputmode: 'url', autocomplete: 'off', autocapitalize: 'none',
      spellcheck: 'false', value: b ? b.frontend : '', placeholder: 'relay.example.net:443',
    });
    this.kite = h('input', {
      id: 'relay-kite', type: 'text', inputmode: 'url', autocomplete: 'off', autocapitalize: 'none',
      spellcheck: 'false', value: b ? b.kite : '', placeholder: 'mybox.example.net',
    });
    this.secret = h('input', {
      id: 'relay-secret', type: 'password', autocomplete: 'new-password', spellcheck: 'false',
      placeholder: changing ? 'saved' : '',
    });
    this.errorLine = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'button primary' }, changing ? 'Save' : 'Set up relay');
    this.initial = this.values();
    this.form = h('form', { class: 'remote-form', novalidate: true, onsubmit: (e) => this.save(e) },
      changing ? h('h3', { class: 'remote-subtitle', id: 'relay-form-title', tabindex: '-1' }, 'Change the relay')
        : h('p', { class: 'remote-state', id: 'relay-form-title' }, h('span', { class: 'state-badge' }, 'Off'),
          ' No relay is set up.'),
      this.errorLine,
      field('Relay address', this.frontend,
        'The relay\u2019s name and port, as your PageKite service gives it, for example relay.example.net:443.'),
      field('Name of your box', this.kite,
        'The name your phone will open (the \u201ckite\u201d), for example mybox.example.net.'),
      field('Kite secret', this.secret, changing
        ? 'A secret is saved. Leave this empty to keep it; type a new one to change it.'
        : 'The secret that goes with this name. It proves to the relay that this box is yours; it stays on the box.'),
      h('div', { class: 'form-actions' },
        changing ? h('button', { type: 'button', class: 'button', onclick: () => this.cancelEdit() }, 'Cancel') : null,
        this.submit));
    return this.form;
  }

  values() {
    return { frontend: this.frontend.value.trim(), kite: this.kite.value.trim(), secret: this.secret.value };
  }

  /** Whether the form holds something the person typed. */
  dirty() {
    return JSON.stringify(this.values()) !== JSON.stringify(this.initial);
  }

  edit() {
    this.editing = true;
    this.render();
    this.form.querySelector('#relay-form-title').focus();
  }

  cancelEdit() {
    this.editing = false;
    this.render();
    this.heading.focus();
  }

  showError(message, control = null) {
    formError(this.errorLine, message, control);
  }

  async save(event) {
    event.preventDefault();
    this.form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
    this.errorLine.hidden = true;
    const v = this.values();
    const changing = Boolean(this.editing && this.body);
    if (!v.frontend) return this.showError('Type the relay\u2019s address, like relay.example.net:443.', this.frontend);
    if (!v.kite) return this.showError('Type the name of your box, like mybox.example.net.', this.kite);
    if (!v.secret && !changing) return this.showError('Type the kite secret the relay gave you.', this.secret);
    this.busy = true;
    this.submit.disabled = true;
    try {
      const body = await api.setRelay(v);
      this.busy = false;
      this.editing = false;
      this.body = body;
      this.render();
      this.heading.focus();
      announce(changing ? 'Relay settings saved. The box connects to it again.' : 'Relay set up. The box is connecting to it.');
    } catch (err) {
      this.busy = false;
      if (!this.form.isConnected) return;
      this.submit.disabled = false;
      if (err.status === 401) return;
      this.showError(err.code === 'bad_settings' || err.code === 'bad_certificate'
        ? sentence(err.message) : `The relay could not be set up: ${err.message}`);
    } finally {
      this.refresh();
    }
    return undefined;
  }

  async remove() {
    const ok = await confirmSheet({
      title: 'Remove the relay?',
      message: `Your box stops connecting to ${this.body.frontend}, and ${this.body.url} no longer reaches it. `
        + 'The box forgets the relay\u2019s settings and secret; to use it again, set it up again.',
      confirmLabel: 'Remove relay',
      danger: true,
    });
    if (!ok) return;
    this.busy = true;
    try {
      await api.removeRelay();
    } catch (err) {
      // 404: it was removed already (another tab); anything else is worth saying.
      if (err.status !== 404) {
        this.busy = false;
        if (err.status !== 401) announce(`The relay was not removed: ${err.message}`, 'error');
        return;
      }
    }
    this.busy = false;
    this.body = null;
    this.editing = false;
    this.render();
    this.heading.focus();
    announce('Relay removed.');
    this.refresh();
  }
}

/** What of a relay's answer needs the view rebuilt (the state only updates it). */
function configKey(b) {
  return b ? JSON.stringify([b.frontend, b.kite, b.url, b.fingerprint, b.own_certificate]) : '';
}
